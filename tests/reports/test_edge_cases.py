"""What a review of the report found: the numbers at the edges that the known history of world.py
does not reach (an event missed, an override that covered one checklist of two, a restart planned
for later, another unit's clock, a halfway share)."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse

from accounts.models import Role
from checklists.gate import blocker_key, event_readiness
from checklists.models import Checklist, OverrideJustification, Task, TaskActivity
from checklists.services import LeftOpenOutcome, checklists_instantiate, events_settle, task_close_left_open
from coordination.reports.period import Period
from coordination.reports.selectors import interruptions_and_toxicity, on_time, overdue_trend, readiness
from coordination.reports.tables import Share, cell_text, csv_lines
from patients.models import CareEvent, Interruption

from ..accounts.helpers import verified_login
from ..checklists.helpers import make_cycle, make_event, publish_template
from ..factories import PatientFactory, UnitFactory, UserFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=NEW_YORK)
H = dt.timedelta(hours=1)
PAGE = reverse("reports:unit")


@pytest.fixture
def period(ward, time_machine):
    time_machine.move_to(NOW, tick=False)
    return Period.last_days(30, zone=ward.zone, now=NOW)


def all_events(ward, period) -> list:
    """The readiness total: events, ready, started on an override, not ready."""
    return readiness(ward, period).table("by_kind").rows[-1][1:5]


def test_an_event_missed_because_it_was_not_ready_counts_as_not_ready(ward, period):
    nurse = UserFactory(role=Role.NURSE, unit=ward)
    publish_template(items=[{"text": "Weight"}])
    patient = PatientFactory(unit=ward)
    ready, never = (make_event(patient, planned_at=NOW - dt.timedelta(days=3, hours=n)) for n in (0, 1))
    checklists_instantiate(events=[ready, never])
    Task.objects.filter(event=ready).update(status="done", completed_at=ready.planned_at - H, completed_by=nurse)
    assert all_events(ward, period) == [2, 1, 0, 1]

    events_settle(now=NOW)  # the past settles: the one never ready is marked missed
    assert CareEvent.objects.get(pk=never.pk).status == CareEvent.Status.MISSED
    assert all_events(ward, period) == [2, 1, 0, 1]


def test_an_override_counts_only_for_the_blockers_of_its_own_checklist_that_it_named(ward, period):
    oncologist = UserFactory(role=Role.ONCOLOGIST, unit=ward)
    publish_template(name="Nursing", items=[{"text": "Weight"}])
    publish_template(name="Pharmacy", items=[{"text": "Order verified", "role": "pharmacist"}])
    event = make_event(PatientFactory(unit=ward), planned_at=NOW - 5 * H)
    checklists_instantiate(events=[event])
    nursing, pharmacy = (Checklist.objects.get(event=event, template__name=name) for name in ("Nursing", "Pharmacy"))

    def override(checklist):
        Checklist.objects.filter(pk=checklist.pk).update(
            overridden_by=oncologist,
            overridden_at=event.planned_at - H,
            override_reason="Urgent",
            override_justification=OverrideJustification.CLINICAL_URGENCY,
            overridden_blockers=[f"{task.pk}:open" for task in checklist.tasks.all()],
        )

    override(nursing)  # the pharmacy's order still blocks: the gate was not ready, nor is the report
    assert not event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks")).ready
    assert all_events(ward, period) == [1, 0, 0, 1]

    override(pharmacy)
    assert all_events(ward, period) == [1, 0, 1, 0]


def test_an_override_of_a_failed_hard_stop_does_not_count_for_its_missing_check(ward, period):
    """A dose that failed its hard stop and was never checked blocked twice: an override that named
    only the hard stop did not make the event ready at its time (the gate's rule)."""
    nurse, oncologist = UserFactory(role=Role.NURSE, unit=ward), UserFactory(role=Role.ONCOLOGIST, unit=ward)
    publish_template(
        items=[{"text": "Dose", "response_kind": "number", "min_value": 9, "max_value": 28, "hard_stop": True,
                "needs_verification": True}]
    )  # fmt: skip
    event = make_event(PatientFactory(unit=ward), planned_at=NOW - 5 * H)
    checklists_instantiate(events=[event])
    dose = Task.objects.get(event=event)
    Task.objects.filter(pk=dose.pk).update(
        status="done", value="30", hard_stop_failed=True, completed_at=event.planned_at - 2 * H, completed_by=nurse
    )

    def override(*kinds):
        Checklist.objects.filter(event=event).update(
            overridden_by=oncologist,
            overridden_at=event.planned_at - H,
            override_reason="Dose of 30 accepted",
            override_justification=OverrideJustification.CLINICAL_URGENCY,
            overridden_blockers=[blocker_key(dose.pk, kind, "30") for kind in kinds],
        )

    override("hard_stop")
    assert all_events(ward, period) == [1, 0, 0, 1]
    override("hard_stop", "unverified")
    assert all_events(ward, period) == [1, 0, 1, 0]


def test_a_restart_planned_for_later_has_not_happened_and_marks_come_from_the_regimen_version(ward, period):
    nurse = UserFactory(role=Role.NURSE, unit=ward)
    cycle = make_cycle(PatientFactory(unit=ward), start_date=dt.date(2026, 3, 1))

    def stop(stopped_at, restarted_at):
        Interruption.objects.create(
            patient=cycle.course.patient,
            course=cycle.course,
            cycle=cycle,
            stopped_at=stopped_at,
            restarted_at=restarted_at,
            cause=Interruption.Cause.PUMP_OR_LINE,
            stopped_by=nurse,
        )

    stop(NOW - 30 * H, NOW - 25 * H)  # 5 h: a supervised restart under the usual 4 h mark
    stop(NOW - H, NOW + 2 * H)  # planned for later
    section = interruptions_and_toxicity(ward, period)
    # Cause, count; as before, supervised, new cycle, stopped for good, not yet; median, p90.
    assert section.table("interruptions").rows == [["Pump or line problem", 2, 0, 1, 0, 0, 1, 5 * H, 5 * H]]
    assert section.marks == "4 h and 7 days"

    version = cycle.course.regimen_version
    type(version).objects.filter(pk=version.pk).update(supervised_restart_after_hours=6)
    section = interruptions_and_toxicity(ward, period)
    assert section.table("interruptions").rows[0][2:7] == [1, 0, 0, 0, 1]
    assert section.marks == "6 h and 7 days"


def test_an_administrators_dates_are_judged_on_the_clock_of_the_unit_reported_on(client, admin_user, time_machine):
    honolulu = UnitFactory(name="Honolulu", time_zone="Pacific/Honolulu")
    auckland = UnitFactory(name="Auckland", time_zone="Pacific/Auckland")
    verified_login(client, admin_user)  # an administrator without a unit: their own clock is UTC
    # 20:00 UTC on 20 March: 10:00 on the 20th in Honolulu, 09:00 on the 21st in Auckland.
    time_machine.move_to(dt.datetime(2026, 3, 20, 20, 0, tzinfo=dt.UTC), tick=False)
    today_there = {"period": "custom", "start": "2026-03-21", "end": "2026-03-21"}
    response = client.get(PAGE, {"unit": auckland.pk, **today_there})
    assert response.context["valid"] and str(response.context["period"].first) == "2026-03-21"
    response = client.get(PAGE, {"unit": honolulu.pk, **today_there})
    assert "The period has not begun yet" in response.context["form"].errors["start"][0]


def test_a_first_day_before_2000_is_told_at_its_field(client, admin_user, ward):
    verified_login(client, admin_user)
    response = client.get(PAGE, {"unit": ward.pk, "period": "custom", "start": "0001-01-01", "end": "0001-01-03"})
    assert response.status_code == 200
    assert response.context["form"].errors["start"] == ["Choose a day from 1 Jan 2000."]


@pytest.mark.parametrize(
    ("part", "whole", "text", "tenths"), [(1, 8, "13 %", 12.5), (3, 8, "38 %", 37.5), (1, 3, "33 %", 33.3)]
)
def test_a_share_halfway_between_two_whole_percents_rounds_up(part, whole, text, tenths):
    assert cell_text(Share(part, whole)) == text and Share(part, whole).percent == tenths


def test_a_time_in_the_report_csv_carries_its_offset_so_the_hour_repeated_when_summer_time_ends_is_told_apart(
    ward, time_machine
):
    """Two overrides at 01:30 on 1 November 2026 in New York, the first in summer time and the second
    an hour later in winter time, were both listed as "2026-11-01 01:30" in the file."""
    now = dt.datetime(2026, 11, 2, 12, 0, tzinfo=NEW_YORK)
    time_machine.move_to(now, tick=False)
    oncologist = UserFactory(role=Role.ONCOLOGIST, unit=ward)
    publish_template(items=[{"text": "Weight"}])
    patient = PatientFactory(unit=ward)
    events = [make_event(patient, planned_at=now - dt.timedelta(hours=hours)) for hours in (20, 21)]
    checklists_instantiate(events=events)
    for event, utc_hour in zip(events, (5, 6), strict=True):
        Checklist.objects.filter(event=event).update(
            overridden_by=oncologist,
            overridden_at=dt.datetime(2026, 11, 1, utc_hour, 30, tzinfo=dt.UTC),
            override_reason="Clinically urgent, start now",
            override_justification=OverrideJustification.CLINICAL_URGENCY,
        )
    section = readiness(ward, Period.last_days(7, zone=ward.zone, now=now))
    listed = section.table("overrides")
    assert [cell_text(row[0]) for row in listed.rows] == ["2026-11-01 01:30", "2026-11-01 01:30"]  # the page
    in_file = {line[1] for line in csv_lines(section.tables) if line[0] == listed.title}
    assert in_file == {"2026-11-01T01:30-05:00", "2026-11-01T01:30-04:00"}


def _mark_not_applicable(task: Task, at: dt.datetime, by) -> None:
    """As task_mark_not_applicable leaves it: the status, and the activity that says when."""
    Task.objects.filter(pk=task.pk).update(status=Task.Status.NOT_APPLICABLE, not_applicable_reason="Not needed")
    TaskActivity.objects.create(
        task=task, checklist_id=task.checklist_id, patient_id=task.patient_id, actor=by, action="not_applicable", at=at
    )


def test_a_task_marked_not_applicable_only_after_its_event_kept_the_event_from_being_ready(ward, period):
    """A nurse clearing yesterday's list the morning after: the event, started with its weighing
    open, was counted ready because its task was marked not applicable since."""
    nurse = UserFactory(role=Role.NURSE, unit=ward)
    publish_template(items=[{"text": "Weight"}])
    patient = PatientFactory(unit=ward)
    before, after = (make_event(patient, planned_at=NOW - dt.timedelta(days=2, hours=n)) for n in (0, 1))
    checklists_instantiate(events=[before, after])
    _mark_not_applicable(Task.objects.get(event=before), before.planned_at - H, nurse)
    _mark_not_applicable(Task.objects.get(event=after), after.planned_at + 10 * H, nurse)
    # Events, ready, started on an override, not ready.
    assert all_events(ward, period) == [2, 1, 0, 1]


def test_a_task_overdue_for_days_then_marked_not_applicable_counts_overdue_until_it_was_marked(ward, period):
    """The trend left such a task out of every day, though the board showed it overdue each of them."""
    nurse = UserFactory(role=Role.NURSE, unit=ward)
    publish_template(items=[{"text": "Weight"}])
    event = make_event(PatientFactory(unit=ward), planned_at=NOW - dt.timedelta(days=3))  # due 17 March, noon
    checklists_instantiate(events=[event])
    _mark_not_applicable(Task.objects.get(event=event), NOW - dt.timedelta(days=1), nurse)  # 19 March, noon
    trend = dict(overdue_trend(ward, period).table("by_day").rows)
    assert [trend[f"2026-03-{day}"] for day in (16, 17, 18, 19, 20)] == [0, 1, 1, 0, 0]


@pytest.mark.parametrize("over", [CareEvent.Status.DONE, CareEvent.Status.MISSED])
def test_a_task_left_open_when_its_event_was_done_counts_overdue_only_until_the_event(ward, period, over):
    """As the board shows it since the twelfth session: a task due by its event's time, left open
    when the event was done (or missed), is no longer overdue work from the event on
    (checklists.models.LEFT_OPEN); the trend counted it overdue on every later day."""
    publish_template(items=[{"text": "Weight", "due_offset_minutes": -24 * 60}])
    event = make_event(PatientFactory(unit=ward), planned_at=NOW - dt.timedelta(days=3))  # 17 March, noon
    checklists_instantiate(events=[event])  # its task due 16 March, noon
    CareEvent.objects.filter(pk=event.pk).update(status=over)
    trend = dict(overdue_trend(ward, period).table("by_day").rows)
    assert [trend[f"2026-03-{day}"] for day in (16, 17, 18, 19, 20)] == [1, 0, 0, 0, 0]


@pytest.mark.parametrize("over", [CareEvent.Status.DONE, CareEvent.Status.MISSED])
def test_a_task_closed_as_not_done_counts_as_not_done_and_one_left_open_as_the_board_lists_it(
    ward, period, coordinator, over
):
    """Review: two nurse tasks of an event done, one closed as not done, the other left open. The
    role row read "due 2, on time 0, late 0, still open 1" (the task not done was in no column), and
    the items most often late named only the other: a task never done must count, and a task
    left open at a done event is not overdue work on the board, so not "still open (overdue)"."""
    publish_template(items=[{"text": "Weight checked"}, {"text": "Temperature"}])
    event = make_event(PatientFactory(unit=ward), planned_at=NOW - dt.timedelta(days=2))
    checklists_instantiate(events=[event])
    happened = event.planned_at if over == CareEvent.Status.DONE else None  # a missed event never started
    CareEvent.objects.filter(pk=event.pk).update(status=over, actual_at=happened)
    weight = Task.objects.get(event=event, text="Weight checked")
    task_close_left_open(task=weight, actor=coordinator, outcome=LeftOpenOutcome.NOT_DONE, reason="Scale broken.")

    section = on_time(ward, period)
    by_role = section.table("by_role")
    counts = ["Due", "Done on time", "Done late", "Not done", "Left open at its event", "Still open (overdue now)"]
    nurse_row = dict(zip(by_role.columns, by_role.rows[0], strict=True))
    assert [nurse_row[name] for name in counts] == [2, 0, 0, 1, 1, 0]
    assert sum(nurse_row[name] for name in counts[1:]) == nurse_row["Due"]  # the columns add up
    week = dict(zip(section.table("by_week").columns, section.table("by_week").rows[0], strict=True))
    assert [week[name] for name in counts] == [2, 0, 0, 1, 1, 0]
    ranked = section.table("late_items")
    assert [(row[0], row[ranked.columns.index("Not done")]) for row in ranked.rows] == [
        ("Temperature", 0),
        ("Weight checked", 1),
    ]
    in_file = {(line[1], line[2]): line[3] for line in csv_lines(section.tables) if line[0] == by_role.title}
    assert in_file[("Nurse", "Not done")] == "1" and in_file[("All roles", "Left open at its event")] == "1"


def test_the_items_most_often_late_tell_apart_two_templates_whose_items_share_their_keys(ward, period):
    """Review: a template exported, renamed and imported as a new one kept its items' keys, and the
    ranking grouped by key alone: the two templates' items were one line, with the larger text
    and the larger template name of the two."""
    first = publish_template(name="Cycle start", items=[{"text": "Weight"}])
    shared = first.items.get().key
    publish_template(name="Cycle start (copy)", items=[{"text": "Weight (copy)", "key": shared}])
    patient = PatientFactory(unit=ward)
    event = make_event(patient, planned_at=NOW - dt.timedelta(days=2))
    checklists_instantiate(events=[event])
    assert Task.objects.filter(event=event).count() == 2
    ranked = on_time(ward, period).table("late_items").rows
    assert sorted((row[0], row[1], row[3]) for row in ranked) == [
        ("Weight", "Cycle start", 1),
        ("Weight (copy)", "Cycle start (copy)", 1),
    ]
