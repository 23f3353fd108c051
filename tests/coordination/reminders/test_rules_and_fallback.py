"""Who is reminded of a task, and when: due soon, overdue, escalated (after an hour, or 15 minutes for
a hard stop, or on the unit's own rule), and, where nobody on the care team or the unit would hear
of it, the fallback to the patient's oncologists, else the care team, with why."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from checklists.services import checklists_instantiate, task_claim
from coordination.models import Notification, Reminder, ReminderRule
from coordination.reminders.delivery import reminders_deliver
from coordination.reminders.sweep import find_candidates, reminders_sweep

from ...accounts.helpers import verified_login
from ...checklists.helpers import make_event
from ...factories import CareTeamMemberFactory, PatientFactory
from .helpers import EVENT_AT, TO_ONCOLOGISTS, TO_TEAM, Kind, _leave, _no_coordinator, recipients, reminders, task

pytestmark = pytest.mark.usefixtures("eager_celery")


def test_a_claimed_task_reminds_its_assignee_two_hours_before_it_is_due_once(event, cast, run, mailoutbox):
    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=cast["nurse"])

    run(EVENT_AT - dt.timedelta(hours=2, minutes=1))
    assert recipients(Kind.DUE_SOON, task=pump) == set()
    result = run(EVENT_AT - dt.timedelta(hours=2))

    assert recipients(Kind.DUE_SOON, task=pump) == {"nurse"}
    (reminder,) = reminders(task=pump)
    assert reminder.state == Reminder.State.SENT and reminder.channels == ["in_app", "email"]
    assert reminder.fire_at == reminder.sent_at == EVENT_AT - dt.timedelta(hours=2)
    bell = Notification.objects.get(recipient=cast["nurse"], title__contains="Pump")
    assert bell.title == "Due Wed 14 Jan, 09:00 EST: Pump programmed and locked"
    assert bell.link == f"/events/{event.pk}/#task-{pump.pk}"
    assert [m.to for m in mailoutbox if m.extra_headers["Message-ID"] == f"<reminder-{reminder.pk}@127.0.0.1>"] == [
        [cast["nurse"].email]
    ]
    assert result.created[Kind.DUE_SOON] >= 1
    # Every later sweep finds it written: nothing twice.
    for minutes in (1, 2, 30):
        run(EVENT_AT - dt.timedelta(hours=2) + dt.timedelta(minutes=minutes))
    assert len(reminders(task=pump, kind=Kind.DUE_SOON)) == 1
    assert Notification.objects.filter(recipient=cast["nurse"], title__startswith="Due Wed 14 Jan, 09:00").count() == 1


def test_an_unclaimed_task_reminds_the_care_team_members_of_its_role(event, run):
    run(EVENT_AT - dt.timedelta(hours=2))
    pump = task(event, "Pump programmed and locked")
    assert recipients(Kind.DUE_SOON, task=pump) == {"nurse", "nurse2"}
    assert recipients(Kind.DUE_SOON, task=task(event, "Order verified")) == {"pharmacist"}


def test_a_role_nobody_on_the_care_team_holds_goes_to_the_units_coordinator(event, cast, run):
    cast["pharmacist"].care_teams.all().delete()
    run(EVENT_AT - dt.timedelta(hours=3))
    assert recipients(Kind.DUE_SOON, task=task(event, "Order verified")) == {"coordinator"}


def test_an_overdue_task_reminds_at_its_due_time_then_escalates_to_the_coordinator_after_an_hour(event, cast, run):
    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=cast["nurse"])
    run(EVENT_AT - dt.timedelta(seconds=1))
    assert recipients(Kind.OVERDUE, task=pump) == set()
    run(EVENT_AT)
    assert recipients(Kind.OVERDUE, task=pump) == {"nurse"}
    run(EVENT_AT + dt.timedelta(minutes=59))
    assert recipients(Kind.ESCALATION, task=pump) == set()
    run(EVENT_AT + dt.timedelta(hours=1))
    assert recipients(Kind.ESCALATION, task=pump) == {"coordinator"}
    bell = Notification.objects.get(recipient=cast["coord"], title__startswith="Escalation", title__contains="Pump")
    assert "assigned to" in bell.body


def test_with_no_coordinator_an_overdue_task_escalates_to_the_patients_oncologist_and_the_ledger_says_why(
    event, cast, run, client, admin_user
):
    """The unit's only coordinator left: an overdue safety task escalated to nobody, and nothing
    in the ledger said so."""
    cast["coord"].is_active = False
    cast["coord"].save()
    temperature = task(event, "Temperature")  # a hard stop
    run(temperature.due_at + dt.timedelta(minutes=15))
    (escalation,) = reminders(task=temperature, kind=Kind.ESCALATION)
    assert escalation.recipient == cast["oncologist"] and escalation.state == Reminder.State.SENT
    assert escalation.note == "the patient's unit has no coordinator: to the patient's oncologists"
    bell = Notification.objects.get(
        recipient=cast["oncologist"], title__startswith="Escalation", title__contains="Temperature"
    )
    assert "hard stop · The patient's unit has no coordinator: to the patient's oncologists" in bell.body
    run(temperature.due_at + dt.timedelta(minutes=16))
    assert len(reminders(task=temperature, kind=Kind.ESCALATION)) == 1
    verified_login(client, admin_user)
    ledger = client.get(reverse("reminder_ledger"), {"kind": "escalation"}).content.decode()
    assert "unit has no coordinator: to the patient&#x27;s oncologists" in ledger


def test_with_no_coordinator_and_no_oncologist_an_overdue_task_escalates_to_the_care_team(event, cast, run):
    cast["coord"].is_active = False
    cast["coord"].save()
    cast["oncologist"].care_teams.all().delete()
    temperature = task(event, "Temperature")
    run(temperature.due_at + dt.timedelta(minutes=15))
    assert recipients(Kind.ESCALATION, task=temperature) == {"nurse", "nurse2", "pharmacist"}
    assert {r.note for r in reminders(task=temperature, kind=Kind.ESCALATION)} == {
        "the patient's unit has no coordinator nor the patient an oncologist: to the care team"
    }
    assert {r.state for r in reminders(task=temperature, kind=Kind.ESCALATION)} == {Reminder.State.SENT}


def test_a_fallback_escalation_to_another_units_oncologist_is_not_asked_again_each_minute(event, cast, run):
    """Found by the review: the sweep counted an escalation as done only when its recipient was of
    the patient's unit, so one sent to the patient's oncologist of another unit (a unit without a
    coordinator) left the task a candidate again at every sweep for a day."""
    from accounts.models import Unit
    from coordination.reminders.rules import open_tasks_without

    cast["coord"].is_active = False
    cast["coord"].save()
    cast["oncologist"].unit = Unit.objects.create(name="Oncology clinic", organisation=event.patient.unit.organisation)
    cast["oncologist"].save()
    temperature = task(event, "Temperature")
    run(temperature.due_at + dt.timedelta(minutes=15))
    assert recipients(Kind.ESCALATION, task=temperature) == {"oncologist"}
    window = {"due_after": temperature.due_at - dt.timedelta(hours=1), "due_until": temperature.due_at}
    later = temperature.due_at + dt.timedelta(minutes=16)
    candidates = open_tasks_without(Kind.ESCALATION, now=later, unless_snoozed=False, **window)
    assert temperature.pk not in {row["pk"] for row in candidates}


def test_a_task_with_nobody_to_escalate_to_is_logged_once_not_at_every_sweep(event, cast, run, caplog):
    cast["coord"].is_active = False
    cast["coord"].save()
    for member in ("oncologist", "nurse", "nurse2", "pharmacist", "casemanager"):
        event.patient.care_team.filter(user__username=member).delete()
    temperature = task(event, "Temperature")
    with caplog.at_level("WARNING", logger="coordination.reminders.rules"):
        for minute in range(15, 20):
            run(temperature.due_at + dt.timedelta(minutes=minute))
    said = [record.getMessage() for record in caplog.records if "no one to escalate to" in record.getMessage()]
    assert len([message for message in said if message.startswith(f"Task {temperature.pk} ")]) == 1


def test_a_task_of_a_role_nobody_holds_on_a_unit_without_coordinator_reminds_the_patients_oncologists(
    event, cast, run, client, admin_user
):
    _no_coordinator(cast)
    cast["pharmacist"].care_teams.all().delete()
    order = task(event, "Order verified")  # the pharmacist's, due an hour before the event
    run(order.due_at - dt.timedelta(hours=2))
    (due_soon,) = reminders(task=order, kind=Kind.DUE_SOON)
    assert due_soon.recipient == cast["oncologist"] and due_soon.state == Reminder.State.SENT
    assert due_soon.note == TO_ONCOLOGISTS
    assert Notification.objects.filter(recipient=cast["oncologist"], title__contains="Order verified").exists()
    run(order.due_at)
    assert recipients(Kind.OVERDUE, task=order) == {"oncologist"}
    assert {r.note for r in reminders(task=order, kind=Kind.OVERDUE)} == {TO_ONCOLOGISTS}
    assert {r.state for r in reminders(task=order, kind=Kind.OVERDUE)} == {Reminder.State.SENT}
    # Written once: later sweeps find it (one reminder per task, kind and recipient).
    for minutes in (1, 2, 30):
        run(order.due_at + dt.timedelta(minutes=minutes))
    assert len(reminders(task=order, kind=Kind.OVERDUE)) == len(reminders(task=order, kind=Kind.DUE_SOON)) == 1
    verified_login(client, admin_user)
    ledger = client.get(reverse("reminder_ledger"), {"kind": "overdue"}).content.decode()
    assert "unit has no coordinator: to the patient&#x27;s oncologists" in ledger


def test_with_no_oncologist_either_the_whole_care_team_is_reminded(event, cast, run):
    _no_coordinator(cast)
    cast["oncologist"].care_teams.all().delete()
    clear = task(event, "Clear to start")  # the oncologist's
    run(clear.due_at)
    assert recipients(Kind.OVERDUE, task=clear) == {"nurse", "nurse2", "pharmacist"}
    assert {r.note for r in reminders(task=clear, kind=Kind.OVERDUE)} == {TO_TEAM}
    assert {r.state for r in reminders(task=clear, kind=Kind.OVERDUE)} == {Reminder.State.SENT}


def test_the_fallback_is_only_for_nobody_the_unit_coordinator_still_comes_first(event, cast, run):
    cast["pharmacist"].care_teams.all().delete()
    order = task(event, "Order verified")
    run(order.due_at)
    assert recipients(Kind.OVERDUE, task=order) == {"coordinator"}
    assert {r.note for r in reminders(task=order, kind=Kind.OVERDUE)} == {""}


def test_a_fallback_reminder_goes_out_only_to_one_who_still_sees_the_patient_when_delivered(
    event, cast, django_capture_on_commit_callbacks, time_machine
):
    """Delivery's check is the rule's: an oncologist taken off the care team between the sweep and
    the delivery is not sent it."""
    _no_coordinator(cast)
    cast["pharmacist"].care_teams.all().delete()
    order = task(event, "Order verified")
    time_machine.move_to(order.due_at, tick=False)
    with django_capture_on_commit_callbacks(execute=False):
        reminders_sweep()  # written, not delivered
    (overdue,) = reminders(task=order, kind=Kind.OVERDUE)
    assert overdue.recipient == cast["oncologist"]
    cast["oncologist"].care_teams.all().delete()
    reminders_deliver(ids=[overdue.pk])
    overdue.refresh_from_db()
    assert overdue.state == Reminder.State.SKIPPED
    assert "no longer does this task" in overdue.skip_reason
    assert not Notification.objects.filter(recipient=cast["oncologist"], title__contains="Order verified").exists()


def test_a_task_nobody_at_all_would_hear_of_is_logged_once_not_at_every_sweep(event, cast, run, caplog):
    _no_coordinator(cast)
    event.patient.care_team.all().delete()
    order = task(event, "Order verified")
    with caplog.at_level("WARNING", logger="coordination.reminders.rules"):
        for minute in range(0, 5):
            run(order.due_at - dt.timedelta(hours=2) + dt.timedelta(minutes=minute))
        for minute in range(0, 5):
            run(order.due_at + dt.timedelta(minutes=minute))
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"Task {order.pk} ")]
    assert len([message for message in said if "due soon" in message]) == 1
    assert len([message for message in said if "overdue" in message]) == 1
    assert not reminders(task=order)


def test_the_sweep_takes_as_many_queries_for_three_patients_reminded_by_the_fallback_as_for_one(
    event, cast, ward, nurse, time_machine
):
    _no_coordinator(cast)
    cast["pharmacist"].care_teams.all().delete()

    def overdue_at_the_event():
        time_machine.move_to(EVENT_AT, tick=False)
        with CaptureQueriesContext(connection) as captured:
            found = find_candidates(EVENT_AT)
        order = [c for c in found if c.kind == Kind.OVERDUE and c.note == TO_ONCOLOGISTS]
        return len(captured), len(order)

    counts = [overdue_at_the_event()]
    time_machine.move_to(EVENT_AT - dt.timedelta(days=1), tick=False)
    for _ in range(2):
        patient = PatientFactory(unit=ward)
        CareTeamMemberFactory(patient=patient, user=nurse, role=Role.NURSE)
        CareTeamMemberFactory(patient=patient, user=cast["oncologist"], role=Role.ONCOLOGIST)
        checklists_instantiate(events=[make_event(patient, planned_at=EVENT_AT)])
    counts.append(overdue_at_the_event())
    assert [found for _, found in counts] == [1, 3]
    assert counts[0][0] == counts[1][0]


def test_a_hard_stop_item_escalates_after_15_minutes(event, run):
    temperature = task(event, "Temperature")  # due 08:45 EST
    run(temperature.due_at + dt.timedelta(minutes=14))
    assert recipients(Kind.ESCALATION, task=temperature) == set()
    run(temperature.due_at + dt.timedelta(minutes=15))
    assert recipients(Kind.ESCALATION, task=temperature) == {"coordinator"}
    assert "hard stop" in Notification.objects.get(title__contains="Temperature", title__startswith="Escalation").body


def test_a_unit_that_changed_its_rules_is_reminded_on_its_own_timings(event, patient, run):
    ReminderRule.objects.create(unit=patient.unit, due_soon_minutes=30, escalate_minutes=120)
    pump = task(event, "Pump programmed and locked")
    run(EVENT_AT - dt.timedelta(minutes=31))
    assert recipients(Kind.DUE_SOON, task=pump) == set()
    run(EVENT_AT - dt.timedelta(minutes=30))
    assert recipients(Kind.DUE_SOON, task=pump) == {"nurse", "nurse2"}
    run(EVENT_AT + dt.timedelta(minutes=119))
    assert recipients(Kind.ESCALATION, task=pump) == set()
    run(EVENT_AT + dt.timedelta(minutes=120))
    assert recipients(Kind.ESCALATION, task=pump) == {"coordinator"}


def test_work_overdue_for_longer_than_the_catch_up_window_is_not_reminded_again_and_again(event, run, settings):
    settings.REMINDER_CATCH_UP_HOURS = 2
    run(EVENT_AT + dt.timedelta(hours=3))
    assert recipients(Kind.OVERDUE, task=task(event, "Pump programmed and locked")) == set()


def test_an_assignee_taken_off_the_care_team_is_not_reminded_the_team_is(event, cast, run, patient):
    """Found by a review: the removed nurse kept getting the task's reminders, with the patient's
    name, and the nurse still on the team got none."""
    from checklists.services import task_claim
    from patients.models import CareTeamMember
    from patients.services.team import care_team_remove

    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=cast["nurse"])
    care_team_remove(member=CareTeamMember.objects.get(patient=patient, user=cast["nurse"]), actor=cast["coord"])
    run(EVENT_AT - dt.timedelta(hours=2))
    assert recipients(Kind.DUE_SOON, task=pump) == {"nurse2"}
    assert not Notification.objects.filter(recipient=cast["nurse"]).exists()


LEAVINGS = ["taken off the care team", "deactivated", "made case manager"]


@pytest.mark.parametrize("how", LEAVINGS)
def test_the_sweep_keeps_running_after_reminding_the_team_in_place_of_an_assignee_who_left(
    event, cast, run, patient, how
):
    """Found by a review: the sweep reminded the team, then, the next minute, wrote the same
    reminders again (its check for "reminded" looked for the assignee's), broke the unique
    constraint and rolled back, every minute: no reminder went out for anyone, on any unit,
    until that task was closed."""
    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=cast["nurse"])
    _leave(how, cast["nurse"], patient, cast["coord"])
    run(EVENT_AT - dt.timedelta(hours=2))
    assert run(EVENT_AT - dt.timedelta(hours=2) + dt.timedelta(minutes=1)).ran  # raised IntegrityError
    assert Reminder.objects.filter(task=pump, kind=Kind.DUE_SOON).count() == 1
    run(EVENT_AT)  # what falls due next is still written
    assert recipients(Kind.OVERDUE, task=pump) == {"nurse2"}
    assert recipients(Kind.OVERDUE, task=task(event, "Order verified")) == {"pharmacist"}


@pytest.mark.parametrize("how", LEAVINGS)
def test_the_team_is_reminded_of_the_task_of_an_assignee_who_left(event, cast, run, patient, how):
    """Found by a review: the team's reminder was skipped at delivery ("the task was given to
    someone else"), so nobody was reminded of the task."""
    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=cast["nurse"])
    _leave(how, cast["nurse"], patient, cast["coord"])
    run(EVENT_AT - dt.timedelta(hours=2))
    rows = set(Reminder.objects.filter(task=pump, kind=Kind.DUE_SOON).values_list("recipient__username", "state"))
    assert rows == {("nurse2", Reminder.State.SENT)}
    assert Notification.objects.filter(recipient=cast["nurse2"], task=pump).count() == 1
    assert not Notification.objects.filter(recipient=cast["nurse"]).exists()
