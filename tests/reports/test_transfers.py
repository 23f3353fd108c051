"""A patient moved from the ward to another unit in the middle of the period: each unit's report
counts what happened while the patient was on it (at the section's own moment: the event's time, a
task's due time, an override's, a stop's…), and each CSV says what its page says."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from accounts.models import Role
from checklists.models import Checklist, OverrideJustification, Task
from checklists.services import checklists_instantiate
from coordination.reminders.models import TaskSnooze
from coordination.reports.period import Period
from coordination.reports.selectors import SECTIONS
from coordination.reports.tables import cell_csv, label_csv
from patients.models import Assessment, CareTeamMember, Interruption, Patient, PumpEvent, Transfer
from patients.selectors import stays_on_unit, unit_at

from ..accounts.helpers import verified_login
from ..checklists.helpers import make_cycle, make_event, publish_template
from ..factories import PatientFactory, UnitFactory, UserFactory
from .world import NEW_YORK, NOW, at

H = dt.timedelta(hours=1)
MOVED = at(3, 10, 12)  # the patient leaves the ward for the other unit


@pytest.fixture
def moved(ward, other_ward, time_machine):
    """Work on the ward before MOVED and on the other unit after it, all in the last 30 days; the
    ward's order of the 5 March event stays open (overdue on the ward's board until the move)."""
    time_machine.move_to(NOW, tick=False)
    nurse = UserFactory(role=Role.NURSE, unit=ward)
    oncologist = UserFactory(role=Role.ONCOLOGIST, unit=ward)
    publish_template(items=[{"text": "Weight"}, {"text": "Order verified", "role": "pharmacist"}])
    patient = PatientFactory(unit=ward)
    cycle = make_cycle(patient, start_date=dt.date(2026, 3, 1))
    before = make_event(patient, planned_at=at(3, 5, 9), cycle=cycle)
    after = make_event(patient, planned_at=at(3, 15, 9), cycle=cycle)
    checklists_instantiate(events=[before, after])
    for event in (before, after):
        Task.objects.filter(event=event, text="Weight").update(
            status=Task.Status.DONE, completed_at=event.planned_at + H, completed_by=nurse
        )
    Task.objects.filter(event=after, text="Order verified").update(
        status=Task.Status.DONE, completed_at=after.planned_at - H, completed_by=nurse
    )
    Checklist.objects.filter(event=before).update(
        overridden_by=oncologist,
        overridden_blockers=sorted(f"{task.pk}:open" for task in Task.objects.filter(event=before)),
        overridden_at=before.planned_at - H,
        override_reason="Start now",
        override_justification=OverrideJustification.CLINICAL_URGENCY,
    )
    order = Task.objects.get(event=before, text="Order verified")
    for when in (at(3, 6, 8), at(3, 16, 8)):
        TaskSnooze.objects.create(
            task=order, patient=patient, until=when + H, reason="Later", created_by=nurse, created_at=when
        )
    for stopped, cause in ((at(3, 6, 10), "adverse_reaction"), (at(3, 16, 10), "pump_or_line")):
        Interruption.objects.create(
            patient=patient,
            course=cycle.course,
            cycle=cycle,
            stopped_at=stopped,
            restarted_at=stopped + 2 * H,
            cause=cause,
            stopped_by=nurse,
        )
    for when, grade in ((at(3, 7, 9), 2), (at(3, 17, 9), 1)):
        Assessment.objects.create(
            patient=patient,
            course=cycle.course,
            assessed_at=when,
            recorded_by=nurse,
            crs_grade=grade,
            crs_rule="-",
            icans_grade=0,
            icans_rule="-",
        )
    for when in (at(3, 8, 3), at(3, 18, 14)):
        PumpEvent.objects.create(
            patient=patient,
            course=cycle.course,
            kind="occlusion_alarm",
            occurred_at=when,
            reported_by="nurse",
            action_taken="Cleared",
            recorded_by=nurse,
            out_of_hours=when.hour < 8,
        )
    Transfer.objects.create(
        patient=patient, from_unit=ward, to_unit=other_ward, reason="Needs a bed", by=nurse, at=MOVED
    )
    Patient.objects.filter(pk=patient.pk).update(unit=other_ward)
    return patient


def report(unit):
    period = Period.last_days(30, zone=NEW_YORK, now=NOW)
    return {key: build(unit, period) for key, build in SECTIONS.items()}


def rows(section, table) -> dict:
    return {row[0]: row[1:] for row in section.table(table).rows}


@pytest.mark.parametrize(
    ("unit", "week", "cause", "crs_grade", "pump_hour"),
    [
        ("ward", "2026-03-02", "Adverse reaction", 2, "03:00–03:59"),
        ("other_ward", "2026-03-09", "Pump or line problem", 1, "14:00–14:59"),
    ],
)
def test_each_unit_counts_the_moments_when_the_patient_was_on_it(
    moved, request, unit, week, cause, crs_grade, pump_hour
):
    sections = report(request.getfixturevalue(unit))

    readiness = sections["readiness"]
    events, ready, overridden, not_ready = rows(readiness, "by_kind")["All events"][:4]
    assert events == 1
    # The ward's event started on the override; the other unit's weight came an hour late.
    assert (ready, overridden, not_ready) == ((0, 1, 0) if unit == "ward" else (0, 0, 1))
    assert list(rows(readiness, "by_week")) == [week]
    overrides = len(readiness.table("overrides").rows)
    assert overrides == (1 if unit == "ward" else 0)

    due, on_time, late, not_done, left_open, still_open = rows(sections["on_time"], "by_role")["All roles"][:6]
    assert (due, on_time, late, not_done, left_open, still_open) == (
        (2, 0, 1, 0, 0, 1) if unit == "ward" else (2, 1, 1, 0, 0, 0)
    )

    breaks = rows(sections["interruptions"], "interruptions")
    assert list(breaks) == [cause] and breaks[cause][0] == 1
    (grades,) = sections["interruptions"].table("grades").rows
    assert grades[1] == 1 and grades[2 + crs_grade] == 1
    pump = {hour: counted for hour, *counted in sections["interruptions"].table("pump_by_hour").rows}
    assert sum(events for events, _ in pump.values()) == 1 and pump[pump_hour][0] == 1

    assert rows(sections["reminders"], "summary")["Snoozes made"] == [1]


def test_the_open_overdue_task_counts_on_the_ward_until_the_move_and_on_the_new_unit_after(moved, ward, other_ward):
    # The order was due at 9:00 on 5 March and is still open: overdue at the end of 5 March onwards.
    def overdue(unit):
        return {day: count for day, count in report(unit)["overdue"].table("by_day").rows if count}

    assert overdue(ward) == {f"2026-03-{day:02d}": 1 for day in range(5, 10)}
    assert overdue(other_ward) == {f"2026-03-{day:02d}": 1 for day in range(10, 21)}


def test_a_patient_moved_there_and_back_is_placed_by_each_transfer(ward, other_ward, time_machine):
    nurse = UserFactory(role=Role.NURSE, unit=ward)
    patient = PatientFactory(unit=ward)
    third = UnitFactory()
    for when, from_unit, to_unit in (
        (at(3, 2), ward, other_ward),
        (at(3, 4), other_ward, third),
        (at(3, 6), third, ward),
    ):
        Transfer.objects.create(
            patient=patient, from_unit=from_unit, to_unit=to_unit, reason="Moves", by=nurse, at=when
        )
    never_moved = PatientFactory(unit=third)

    def member(who):
        """A row of the patient (their nurse's membership of the care team), to place."""
        return CareTeamMember.objects.get_or_create(patient=who, user=nurse, role=Role.NURSE)[0]

    def placed(who, when):
        return CareTeamMember.objects.filter(pk=member(who).pk).annotate(then=unit_at(when)).get().then

    assert placed(patient, at(3, 1)) == ward.pk
    assert placed(patient, at(3, 2)) == other_ward.pk  # the moment of the transfer counts on the new unit
    assert placed(patient, at(3, 5)) == third.pk
    assert placed(patient, at(3, 7)) == ward.pk
    assert placed(never_moved, at(3, 1)) == third.pk

    # The stays (for counts at many moments) say the same, moment by moment.
    moments = [at(3, day, hour) for day in range(1, 8) for hour in (0, 12)]
    for who in (patient, never_moved):
        for unit in (ward, other_ward, third):
            stays = stays_on_unit(CareTeamMember.objects.filter(pk=member(who).pk), unit.pk)
            spans = list(stays.values_list("stay_from", "stay_until"))
            for moment in moments:
                inside = any((a is None or a <= moment) and (b is None or moment < b) for a, b in spans)
                assert inside == (placed(who, moment) == unit.pk), (who, unit, moment, spans)


@pytest.mark.parametrize("section", list(SECTIONS))
def test_each_units_csv_says_what_its_page_says(client, moved, ward, other_ward, section):
    admin = UserFactory(username="report-admin", role="", unit=None, is_staff=True, is_superuser=True)
    verified_login(client, admin)
    for unit in (ward, other_ward):
        page = client.get(reverse("reports:unit"), {"unit": unit.pk})
        shown = page.context["sections"][section]
        response = client.get(reverse("reports:csv"), {"unit": unit.pk, "section": section})
        lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert lines[1:] == [
            [table.title, label_csv(row[0]), column, *cell_csv(value)]
            for table in shown.tables
            for row in table.rows
            for column, value in zip(table.columns[1:], row[1:], strict=True)
        ]
