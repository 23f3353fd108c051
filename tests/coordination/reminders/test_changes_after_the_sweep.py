"""What changes between a reminder's writing and its delivery, or after: the task done or moved, the
event moved or cancelled, the recipient off the team, the patient transferred; and the bell's
notifications of patients no longer seen."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import Role
from checklists.services import task_claim, task_complete
from coordination.models import Notification, Reminder
from coordination.reminders.sweep import reminders_sweep
from patients.services import event_cancel, event_move

from ...factories import UnitFactory, UserFactory
from .helpers import EVENT_AT, Kind, _leave, recipients, reminders, task

pytestmark = pytest.mark.usefixtures("eager_celery")


def test_a_task_done_before_delivery_is_skipped_and_nobody_is_disturbed(
    event, cast, django_capture_on_commit_callbacks, time_machine, mailoutbox
):
    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=cast["nurse"])
    time_machine.move_to(EVENT_AT - dt.timedelta(hours=2), tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()
    task_complete(task=pump, actor=cast["nurse"], value=True)
    for callback in callbacks:
        callback()
    (reminder,) = reminders(task=pump)
    assert reminder.state == Reminder.State.SKIPPED and reminder.skip_reason == "the task is done"
    assert not Notification.objects.filter(title__contains="Pump").exists()
    assert not [m for m in mailoutbox if m.extra_headers["Message-ID"] == f"<reminder-{reminder.pk}@127.0.0.1>"]


def test_a_moved_task_is_reminded_at_its_new_time_and_the_old_reminder_is_skipped(
    event, cast, django_capture_on_commit_callbacks, run, time_machine
):
    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=cast["nurse"])
    time_machine.move_to(EVENT_AT - dt.timedelta(hours=2), tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()
    event_move(event=event, planned_at=EVENT_AT + dt.timedelta(hours=1))
    for callback in callbacks:
        callback()
    (old,) = reminders(task=pump)
    assert old.state == Reminder.State.SKIPPED and "moved" in old.skip_reason
    run(EVENT_AT - dt.timedelta(hours=1))
    new = Reminder.objects.get(task=pump, kind=Kind.DUE_SOON, due_at=EVENT_AT + dt.timedelta(hours=1))
    assert new.state == Reminder.State.SENT


def test_a_moved_events_bell_notifications_of_its_old_time_leave_the_count(event, cast, run, client):
    """An "Overdue since Wed 09:00" stays on the nurse's bell, New, after the start was put off to
    Thursday: it sends her to work that is not due. The sweep reminds again at the new time."""
    from coordination.reminders.selectors import unread_count

    nurse = cast["nurse"]
    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=nurse)
    run(EVENT_AT)
    assert unread_count(nurse) == 2  # due soon, overdue
    event_move(event=event, planned_at=EVENT_AT + dt.timedelta(days=1))
    assert unread_count(nurse) == 0
    client.force_login(nurse)
    assert "New</span> <a" not in client.get(reverse("notifications")).content.decode()
    run(EVENT_AT + dt.timedelta(days=1, hours=-2))
    (now_due,) = Notification.objects.filter(recipient=nurse, read_at__isnull=True, task=pump)
    assert now_due.title == "Due Thu 15 Jan, 09:00 EST: Pump programmed and locked"


def test_an_event_moved_to_the_same_time_keeps_its_reminders_on_the_bell(event, cast, run):
    """Found by a review: a rebuild counts an event as moved when only its setting changed. Its
    tasks' times stay, so nothing is reminded again: its overdue reminder, retired as if about an
    old time, left the bell for good."""
    from coordination.reminders.selectors import unread_count
    from patients.hooks import notify_events_changed

    nurse = cast["nurse"]
    task_claim(task=task(event, "Pump programmed and locked"), actor=nurse)
    run(EVENT_AT)
    assert unread_count(nurse) == 2  # due soon, overdue
    notify_events_changed(moved=[event])  # as course_schedule_build does for a setting changed
    assert unread_count(nurse) == 2


def test_a_cancelled_event_gets_no_reminders(event, cast, django_capture_on_commit_callbacks, run, time_machine):
    time_machine.move_to(EVENT_AT - dt.timedelta(hours=2), tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()
    event_cancel(event=event, reason="Admitted elsewhere")
    for callback in callbacks:
        callback()
    assert Notification.objects.count() == 0
    assert {r.state for r in reminders()} == {Reminder.State.SKIPPED}
    for hours in (0, 1, 2, 5):
        run(EVENT_AT + dt.timedelta(hours=hours))
    assert Notification.objects.count() == 0
    assert {r.state for r in reminders()} == {Reminder.State.SKIPPED}


@pytest.mark.parametrize("how", ["taken off the care team", "made case manager"])
def test_a_reminder_written_before_its_recipient_left_the_team_is_not_sent_to_them(
    event, cast, patient, django_capture_on_commit_callbacks, time_machine, mailoutbox, how
):
    """Found by a review: delivery checked only that the recipient's account was active, so a
    nurse taken off the team between the sweep and the delivery (or while a snooze held the
    reminder, or while a broken mail server made it wait) still got the email about the patient."""
    time_machine.move_to(EVENT_AT - dt.timedelta(hours=2), tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()
    _leave(how, cast["nurse2"], patient, cast["coord"])
    for callback in callbacks:
        callback()
    pump = task(event, "Pump programmed and locked")
    rows = dict(Reminder.objects.filter(task=pump, kind=Kind.DUE_SOON).values_list("recipient__username", "state"))
    assert rows == {"nurse": Reminder.State.SENT, "nurse2": Reminder.State.SKIPPED}
    assert not [m for m in mailoutbox if cast["nurse2"].email in m.to]
    assert not Notification.objects.filter(recipient=cast["nurse2"]).exists()


def test_an_escalation_follows_a_patient_transferred_to_another_unit_to_its_coordinator(
    event, cast, patient, django_capture_on_commit_callbacks, run, time_machine, mailoutbox
):
    """Found by a review: an escalation written before the patient was transferred went to the old
    unit's coordinator, who no longer sees the patient (the email named them, its link answered
    404), and the new unit's coordinator never heard that the work was late."""
    from patients.services.team import patient_transfer

    pump = task(event, "Pump programmed and locked")
    task_claim(task=pump, actor=cast["nurse"])
    due = EVENT_AT + dt.timedelta(hours=1)
    time_machine.move_to(due, tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()
    assert recipients(Kind.ESCALATION, task=pump) == {"coordinator"}
    day_unit = UnitFactory(name="Infusion Clinic", organisation=patient.organisation, time_zone="America/New_York")
    UserFactory(username="daycoord", role=Role.COORDINATOR, unit=day_unit)
    patient_transfer(patient=patient, to_unit=day_unit, reason="Continues at the day clinic", actor=cast["coord"])
    for callback in callbacks:
        callback()
    run(due + dt.timedelta(minutes=1))
    rows = dict(Reminder.objects.filter(task=pump, kind=Kind.ESCALATION).values_list("recipient__username", "state"))
    assert rows == {"coordinator": Reminder.State.SKIPPED, "daycoord": Reminder.State.SENT}
    assert not Notification.objects.filter(recipient=cast["coord"], task=pump).exists()
    assert not [m for m in mailoutbox if cast["coord"].email in m.to and m.subject.startswith("Escalation")]


def test_a_nurse_taken_off_the_care_team_no_longer_reads_the_patients_name_on_her_bell(
    event, cast, run, patient, client
):
    """Found by a review: past notifications kept the name and MRN after access ended."""
    from coordination.reminders.selectors import unread_count
    from patients.models import CareTeamMember
    from patients.services.team import care_team_remove

    run(EVENT_AT - dt.timedelta(hours=2))
    nurse = cast["nurse"]
    assert Notification.objects.filter(recipient=nurse, patient=patient).exists() and unread_count(nurse)
    care_team_remove(member=CareTeamMember.objects.get(patient=patient, user=nurse), actor=cast["coord"])
    client.force_login(nurse)
    page = client.get(reverse("notifications")).content.decode()
    assert patient.family_name not in page and patient.mrn not in page
    api = client.get("/api/v1/notifications/")
    assert api.status_code in (200, 401, 403) and patient.mrn not in api.content.decode()
    # Found by a review of the pages: the bell still counted them. Opening the page retires them.
    assert unread_count(nurse) == 0


def test_the_beat_retires_the_bells_notifications_of_patients_no_longer_seen(event, cast, run, patient):
    from coordination.reminders.selectors import unread_count
    from coordination.tasks import notifications_retire
    from patients.models import CareTeamMember
    from patients.services.team import care_team_remove

    run(EVENT_AT - dt.timedelta(hours=2))
    nurse, pharmacist = cast["nurse"], cast["pharmacist"]
    still_seen = unread_count(pharmacist)
    assert unread_count(nurse) and still_seen
    care_team_remove(member=CareTeamMember.objects.get(patient=patient, user=nurse), actor=cast["coord"])
    notifications_retire()
    assert unread_count(nurse) == 0
    assert unread_count(pharmacist) == still_seen  # still on the team: nothing of theirs is touched
