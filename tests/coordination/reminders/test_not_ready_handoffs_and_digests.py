"""The other reminders: an event within 24 hours that is not ready, a handoff not acknowledged, the
daily digest."""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from checklists.models import Task
from checklists.services import checklists_instantiate, task_claim, task_complete
from coordination.models import Handoff, Notification, Reminder
from coordination.reminders.content import patient_label
from coordination.reminders.services import reminder_preference_update
from coordination.reminders.sweep import reminders_sweep
from patients.services import access_grant_open, event_cancel, event_move

from ...checklists.helpers import make_event
from ...factories import UnitFactory, UserFactory, with_unmistakable_names
from ..handoff_helpers import write_handoff
from .helpers import EVENT_AT, TO_ONCOLOGISTS, UTC, Kind, _no_coordinator, recipients, reminders, task

pytestmark = pytest.mark.usefixtures("eager_celery")


def test_an_event_within_24_hours_that_is_not_ready_warns_the_roles_that_block_it(event, cast, run):
    for text in ("Pump programmed and locked", "Temperature"):
        nurse_task = task(event, text)
        task_complete(task=nurse_task, actor=cast["nurse"], value="37" if nurse_task.hard_stop else True)
    run(EVENT_AT - dt.timedelta(hours=24, minutes=1))
    assert recipients(Kind.GATE_NOT_READY) == set()
    run(EVENT_AT - dt.timedelta(hours=24))
    assert recipients(Kind.GATE_NOT_READY, event=event) == {"pharmacist", "oncologist"}
    bell = Notification.objects.get(recipient=cast["pharmacist"], title__startswith="Not ready")
    assert "Oncologist (1), Pharmacist (1)" in bell.body
    run(EVENT_AT - dt.timedelta(hours=20))
    assert Reminder.objects.filter(kind=Kind.GATE_NOT_READY).count() == 2


def test_an_event_held_up_by_a_role_nobody_holds_on_a_unit_without_coordinator_warns_the_oncologist_with_why(
    event, cast, run, caplog
):
    """A start held up by the pharmacist's work, with no pharmacist on the care team and no
    coordinator on the unit, warned nobody that it was not ready: now the patient's oncologist, as
    the task's own due-soon reminder does, with the ledger's note; with nobody at all, a warning in
    the log, once."""
    _no_coordinator(cast)
    cast["pharmacist"].care_teams.all().delete()
    run(EVENT_AT - dt.timedelta(hours=24))
    warned = {r.recipient.username: r.note for r in Reminder.objects.filter(kind=Kind.GATE_NOT_READY, event=event)}
    assert warned == {"nurse": "", "nurse2": "", "oncologist": ""}, "the oncologist's own blocker comes first"
    assert Reminder.objects.get(kind=Kind.GATE_NOT_READY, recipient=cast["oncologist"]).state == Reminder.State.SENT

    other = make_event(event.patient, planned_at=EVENT_AT + dt.timedelta(hours=2))
    checklists_instantiate(events=[other])
    for item_task in Task.objects.filter(event=other).exclude(role="pharmacist"):
        item_task.delete()
    run(EVENT_AT - dt.timedelta(hours=22))
    (warning,) = Reminder.objects.filter(kind=Kind.GATE_NOT_READY, event=other)
    assert (warning.recipient, warning.note) == (cast["oncologist"], TO_ONCOLOGISTS)

    for member in ("oncologist", "nurse", "nurse2", "casemanager"):
        event.patient.care_team.filter(user__username=member).delete()
    third = make_event(event.patient, planned_at=EVENT_AT + dt.timedelta(hours=4))
    checklists_instantiate(events=[third])
    with caplog.at_level("WARNING", logger="coordination.reminders.rules"):
        for minute in range(0, 5):
            run(EVENT_AT - dt.timedelta(hours=20) + dt.timedelta(minutes=minute))
    said = [record.getMessage() for record in caplog.records if f"Event {third.pk} is not ready" in record.getMessage()]
    assert len(said) == 1 and not Reminder.objects.filter(kind=Kind.GATE_NOT_READY, event=third).exists()


@pytest.mark.parametrize("change", ["cancel", "move"])
def test_a_cancelled_or_moved_events_not_ready_warning_leaves_the_bell(event, cast, run, change):
    """A "Not ready, starts Wed 09:00" stood New on the pharmacist's bell after the start was called
    off or put off: a warning about a start that no longer comes at that time."""
    from coordination.reminders.selectors import unread_count

    run(EVENT_AT - dt.timedelta(hours=24))
    pharmacist = cast["pharmacist"]
    assert Notification.objects.filter(recipient=pharmacist, title__startswith="Not ready", read_at=None).exists()
    if change == "cancel":
        event_cancel(event=event, reason="Admission postponed", actor=cast["oncologist"])
    else:
        event_move(event=event, planned_at=EVENT_AT + dt.timedelta(days=2))
    assert not Notification.objects.filter(recipient=pharmacist, title__startswith="Not ready", read_at=None).exists()
    assert unread_count(pharmacist) == 0


def _do_everything(event, cast):
    actor = {"nurse": cast["nurse"], "pharmacist": cast["pharmacist"], "oncologist": cast["oncologist"]}
    for item_task in Task.objects.filter(event=event, status=Task.Status.OPEN):
        value = {"number": "37", "attestation": "attested"}.get(item_task.response_kind, True)
        task_complete(task=item_task, actor=actor[item_task.role], value=value)


def test_an_events_not_ready_warnings_leave_the_bell_once_it_is_ready(event, cast, run):
    """A "Not ready, starts Wed 09:00" stood New on the bells of everyone it warned after the last
    blocking task was done: the bell counted a warning about an event that was ready."""
    from coordination.reminders.selectors import unread_count

    run(EVENT_AT - dt.timedelta(hours=24))
    warned = [cast["nurse"], cast["pharmacist"], cast["oncologist"]]
    assert all(unread_count(person) == 1 for person in warned)
    for item_task in Task.objects.filter(event=event, role="pharmacist"):
        task_complete(task=item_task, actor=cast["pharmacist"], value=True)
    run(EVENT_AT - dt.timedelta(hours=23))
    assert all(unread_count(person) == 1 for person in warned), "still waiting for the nurse and the oncologist"
    _do_everything(event, cast)
    run(EVENT_AT - dt.timedelta(hours=22))
    assert [unread_count(person) for person in warned] == [0, 0, 0]
    assert not Notification.objects.filter(title__startswith="Not ready", read_at=None).exists()


def test_retiring_ready_events_warnings_takes_the_same_queries_for_one_event_as_for_three(
    event, cast, patient, run, time_machine
):
    from coordination.reminders.services import notifications_retire_ready_gates

    others = [make_event(patient, planned_at=EVENT_AT + dt.timedelta(hours=hours)) for hours in (1, 2)]
    checklists_instantiate(events=others)

    def queries_to_retire(events):
        run(EVENT_AT - dt.timedelta(hours=21))
        for each in events:
            _do_everything(each, cast)
        with CaptureQueriesContext(connection) as captured:
            retired = notifications_retire_ready_gates(now=EVENT_AT - dt.timedelta(hours=20))
        assert retired == 4 * len(events)  # the nurses, the pharmacist, the oncologist
        return len(captured)

    one = queries_to_retire([event])
    assert queries_to_retire(others) == one


def test_a_ready_event_warns_nobody(event, cast, run):
    for item_task in Task.objects.filter(event=event):
        actor = {"nurse": cast["nurse"], "pharmacist": cast["pharmacist"], "oncologist": cast["oncologist"]}
        value = {"number": "37", "attestation": "attested"}.get(item_task.response_kind, True)
        task_complete(task=item_task, actor=actor[item_task.role], value=value)
    run(EVENT_AT - dt.timedelta(hours=12))
    assert not Reminder.objects.filter(kind=Kind.GATE_NOT_READY).exists()


@pytest.fixture
def home(patient):
    unit = UnitFactory(name="HomeCare Infusion", organisation=patient.organisation, time_zone="America/New_York")
    return {
        "unit": unit,
        "homenurse": UserFactory(username="homenurse", role=Role.NURSE, unit=unit),
        "homecoord": UserFactory(username="homecoord", role=Role.COORDINATOR, unit=unit),
        "homepharmacist": UserFactory(username="homepharmacist", role=Role.PHARMACIST, unit=unit),
    }


def sent_handoff(event, cast, home, *, acknowledge_by, to_person=None) -> Handoff:
    """A sent handoff, written directly (the handoff services have their own tests); one per event.
    The receiving unit sees the patient through the handoff's grant, as `handoff_send` opens it."""
    if Handoff.objects.filter(event=event).exists():
        event = make_event(event.patient, kind="discharge_home", planned_at=acknowledge_by, cycle=event.cycle)
    return write_handoff(
        event,
        sender=cast["nurse"],
        to_unit=home["unit"],
        to_person=to_person,
        status=Handoff.Status.SENT,
        sent_at=acknowledge_by - dt.timedelta(hours=4),
        acknowledge_by=acknowledge_by,
        access_grant=access_grant_open(patient=event.patient, unit=home["unit"], reason="Handoff"),
    )


def test_a_handoff_not_acknowledged_reminds_the_receiving_unit_then_escalates(event, cast, home, run):
    deadline = EVENT_AT + dt.timedelta(hours=3)
    handoff = sent_handoff(event, cast, home, acknowledge_by=deadline)
    run(deadline - dt.timedelta(minutes=1))
    assert recipients(Kind.HANDOFF_UNACKNOWLEDGED) == set()
    run(deadline)
    assert recipients(Kind.HANDOFF_UNACKNOWLEDGED, handoff=handoff) == {"homenurse", "homecoord"}
    run(deadline + dt.timedelta(minutes=59))
    assert recipients(Kind.HANDOFF_ESCALATION) == set()
    run(deadline + dt.timedelta(hours=1))
    assert recipients(Kind.HANDOFF_ESCALATION, handoff=handoff) == {"homecoord", "coordinator", "nurse"}
    bell = Notification.objects.get(recipient=home["homecoord"], title__startswith="Handoff not acknowledged")
    assert bell.link == f"/handoffs/{handoff.pk}/"


def test_an_acknowledged_handoffs_reminders_leave_everyones_bell(event, cast, home, run):
    """Acknowledged by one home nurse, the handoff's "to acknowledge" and "not acknowledged"
    notifications no longer stand New on her colleagues', the coordinators' and the sender's
    bells, asking them to chase an answer that came (as an acknowledged alert's do)."""
    from coordination.handoffs.services import handoff_acknowledge
    from coordination.reminders.selectors import unread_count

    deadline = EVENT_AT + dt.timedelta(hours=3)
    handoff = sent_handoff(event, cast, home, acknowledge_by=deadline)
    run(deadline + dt.timedelta(hours=1))
    told = [home["homenurse"], home["homecoord"], cast["coord"], cast["nurse"]]
    assert all(Notification.objects.filter(recipient=user, link=f"/handoffs/{handoff.pk}/") for user in told)
    before = {user.username: unread_count(user) for user in told}

    handoff_acknowledge(handoff=handoff, actor=home["homenurse"])
    handoff_ones = {
        user.username: Notification.objects.filter(recipient=user, link=f"/handoffs/{handoff.pk}/").count()
        for user in told
    }
    assert {user.username: unread_count(user) for user in told} == {
        name: before[name] - handoff_ones[name] for name in before
    }


def test_a_handoff_addressed_to_a_person_reminds_that_person_and_an_acknowledged_one_nobody(
    event, cast, home, django_capture_on_commit_callbacks, run, time_machine
):
    deadline = EVENT_AT + dt.timedelta(hours=3)
    sent_handoff(event, cast, home, acknowledge_by=deadline, to_person=home["homenurse"])
    run(deadline)
    assert recipients(Kind.HANDOFF_UNACKNOWLEDGED) == {"homenurse"}

    other = sent_handoff(event, cast, home, acknowledge_by=deadline + dt.timedelta(hours=1))
    time_machine.move_to(deadline + dt.timedelta(hours=1), tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()
    Handoff.objects.filter(pk=other.pk).update(status=Handoff.Status.ACKNOWLEDGED)
    for callback in callbacks:
        callback()
    assert {r.skip_reason for r in Reminder.objects.filter(handoff=other)} == {"the handoff is acknowledged"}


def test_a_handoff_whose_addressee_was_deactivated_reminds_the_receiving_unit(event, cast, home, run):
    """Found by a review: the reminder went to the deactivated addressee alone and was skipped."""
    deadline = EVENT_AT + dt.timedelta(hours=3)
    handoff = sent_handoff(event, cast, home, acknowledge_by=deadline, to_person=home["homenurse"])
    home["homenurse"].is_active = False
    home["homenurse"].save()
    run(deadline)
    sent = Reminder.objects.filter(handoff=handoff, kind=Kind.HANDOFF_UNACKNOWLEDGED, state=Reminder.State.SENT)
    assert sent.exists() and home["homenurse"].pk not in set(sent.values_list("recipient_id", flat=True))


def test_a_handoffs_escalation_leaves_out_a_sender_who_no_longer_sees_the_patient(event, cast, home, run, mailoutbox):
    """Found by a review: the sender, taken off the care team since, was still emailed "handoff not
    acknowledged" about a patient they may no longer open; the coordinators of both units are."""
    deadline = EVENT_AT + dt.timedelta(hours=3)
    handoff = sent_handoff(event, cast, home, acknowledge_by=deadline)
    cast["nurse"].care_teams.all().delete()
    run(deadline + dt.timedelta(hours=1))
    assert recipients(Kind.HANDOFF_ESCALATION, handoff=handoff) == {"homecoord", "coordinator"}
    assert not [m for m in mailoutbox if cast["nurse"].email in m.to]


def test_a_handoff_reminder_is_not_delivered_to_one_who_left_the_receiving_unit_or_the_patient_since_it_was_written(
    event, cast, home, django_capture_on_commit_callbacks, run, time_machine
):
    """Delivery asks again, at the first delivery too, whether the recipient is still one the rule
    names and still sees the patient, as it does for a task's reminders."""
    deadline = EVENT_AT + dt.timedelta(hours=3)
    handoff = sent_handoff(event, cast, home, acknowledge_by=deadline)
    time_machine.move_to(deadline + dt.timedelta(hours=1), tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()  # the "not acknowledged" reminders and the escalation, written
    assert recipients(Kind.HANDOFF_ESCALATION, handoff=handoff) == {"homecoord", "coordinator", "nurse"}
    home["homenurse"].unit = UnitFactory(name="Another agency", organisation=home["unit"].organisation)
    home["homenurse"].save()
    cast["nurse"].care_teams.all().delete()
    for callback in callbacks:
        callback()
    skipped = {
        (r.kind, r.recipient.username): r.skip_reason
        for r in Reminder.objects.filter(handoff=handoff, state=Reminder.State.SKIPPED)
    }
    unseen = "the recipient no longer sees the patient (off the care team, or access ended)"
    assert skipped == {(Kind.HANDOFF_UNACKNOWLEDGED, "homenurse"): unseen, (Kind.HANDOFF_ESCALATION, "nurse"): unseen}
    sent = Reminder.objects.filter(handoff=handoff, state=Reminder.State.SENT)
    assert {(r.kind, r.recipient.username) for r in sent} == {
        (Kind.HANDOFF_UNACKNOWLEDGED, "homecoord"),
        (Kind.HANDOFF_ESCALATION, "homecoord"),
        (Kind.HANDOFF_ESCALATION, "coordinator"),
    }


def test_a_handoff_reminder_is_not_delivered_to_one_the_rule_no_longer_names(
    event, cast, home, django_capture_on_commit_callbacks, time_machine
):
    """A receiver whose role changed to one that may not acknowledge a handoff (still seeing the
    patient as a clinician of the receiving unit) is not sent the reminder written for them."""
    deadline = EVENT_AT + dt.timedelta(hours=3)
    handoff = sent_handoff(event, cast, home, acknowledge_by=deadline)
    time_machine.move_to(deadline, tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()
    home["homepharmacist"].role, home["homenurse"].role = Role.NURSE, Role.PHARMACIST
    home["homepharmacist"].save()
    home["homenurse"].save()
    for callback in callbacks:
        callback()
    (skipped,) = Reminder.objects.filter(handoff=handoff, state=Reminder.State.SKIPPED)
    assert skipped.recipient == home["homenurse"]
    assert skipped.skip_reason == "the recipient is no longer one the handoff's reminder goes to (another unit or role)"


def test_the_daily_digest_comes_at_the_chosen_hour_in_the_units_time_zone_once_a_day(event, cast, run, mailoutbox):
    with_unmistakable_names(event.patient)  # the email must not name the patient: a name no text holds
    nurse = cast["nurse"]
    reminder_preference_update(user=nurse, email=True, digest_hour=7, actor=nurse)
    task_claim(task=task(event, "Pump programmed and locked"), actor=nurse)
    seven_est = dt.datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
    run(seven_est - dt.timedelta(minutes=1))
    assert recipients(Kind.DIGEST) == set()
    mailoutbox.clear()
    run(seven_est)
    (digest,) = reminders(kind=Kind.DIGEST)
    assert digest.recipient == nurse and digest.due_at == seven_est and digest.state == Reminder.State.SENT
    (email,) = [m for m in mailoutbox if m.subject.startswith("Your open work")]
    assert email.subject == "Your open work: 0 overdue, 2 due in the next 24 hours, 0 to verify"
    assert patient_label(event.patient) in email.body and event.patient.family_name not in email.body
    assert f"- {patient_label(event.patient)}: 2 due, first at " in email.body
    for hours in (1, 5, 12):
        run(seven_est + dt.timedelta(hours=hours))
    assert len(reminders(kind=Kind.DIGEST)) == 1


def test_the_digest_gives_a_patients_next_due_time_not_the_time_of_what_is_already_overdue(event, cast):
    """A digest's "1 overdue, 1 due, first at 08:45" read at 08:50 sends the nurse to work that is not due:
    the time beside "due" is the first task still to come."""
    from coordination.reminders.content import digest_work

    now = EVENT_AT - dt.timedelta(minutes=10)  # the temperature (due 08:45) overdue, the pump due at 09:00
    (line,) = digest_work(cast["nurse"], now).lines
    assert (line.overdue, line.due) == (1, 1)
    assert line.first_due == "Wed 14 Jan, 09:00 EST"
    # The email's line: counts apart with "; ", the time's own comma not running into them.
    assert line.parts == ["1 overdue", "1 due, first at Wed 14 Jan, 09:00 EST"]


def test_the_digest_asks_to_answer_again_a_failed_hard_stop_not_to_verify_it(event, cast):
    """Found by a review: the nurse's own answer that failed its hard stop (in My work until answered
    again) was counted "to verify", which she may never do to her own work."""
    from coordination.reminders.content import _digest_message, digest_work

    now = EVENT_AT - dt.timedelta(minutes=10)
    task_complete(task=task(event, "Temperature"), actor=cast["nurse"], value="39", confirmed=True, now=now)
    work = digest_work(cast["nurse"], now)
    (line,) = work.lines
    assert (work.verify, work.answer_again, line.answer_again) == (0, 1, 1)
    reminder = Reminder(kind=Kind.DIGEST, recipient=cast["nurse"])
    assert _digest_message(reminder, work, now).title.endswith("0 to verify, 1 failed hard stop to answer again")


def test_a_failed_hard_stops_bell_gives_the_events_day_and_zone(event, cast):
    """A message is read later than it is sent, maybe on another clock: the event's time says both."""
    task_complete(task=task(event, "Temperature"), actor=cast["nurse"], value="39", confirmed=True)
    (told,) = Notification.objects.filter(title__startswith="Hard stop failed")
    assert "of Wed 14 Jan, 09:00 EST is blocked" in told.body


def test_the_digest_keeps_its_wall_clock_hour_across_daylight_saving_and_skips_a_day_without_work(patient, nurse, run):
    reminder_preference_update(user=nurse, email=True, digest_hour=7, actor=nurse)
    seven_edt = dt.datetime(2026, 3, 9, 11, 0, tzinfo=UTC)  # the day after the clocks went forward
    run(seven_edt - dt.timedelta(minutes=1))
    assert recipients(Kind.DIGEST) == set()
    run(seven_edt)
    (digest,) = reminders(kind=Kind.DIGEST)
    assert digest.due_at.astimezone(zoneinfo.ZoneInfo("America/New_York")).hour == 7
    assert digest.state == Reminder.State.SKIPPED and digest.skip_reason == "no open work"
    assert not Notification.objects.exists()


def test_a_digest_hour_the_clocks_repeat_comes_once_at_its_first_occurrence(patient, nurse, run):
    """Found by a review: at an hour the clocks repeat (New York, 1 Nov 2026, 01:00) the digest was
    written again the next minute and broke the ledger's unique constraint, rolling back every
    sweep (every unit's reminders) until three hours later."""
    reminder_preference_update(user=nurse, email=True, digest_hour=1, actor=nurse)
    first = dt.datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # 01:00 EDT; 06:00 UTC is 01:00 EST again
    run(first - dt.timedelta(minutes=1))
    assert recipients(Kind.DIGEST) == set()
    for minutes in (0, 1, 2, 60, 61, 120):
        assert run(first + dt.timedelta(minutes=minutes)).ran
    (digest,) = reminders(kind=Kind.DIGEST)
    assert digest.due_at == first


def test_a_digest_hour_the_clocks_skip_comes_once_at_the_next_real_time(patient, nurse, run):
    """New York, 8 Mar 2026: 02:00 does not exist; the digest comes at 03:00 EDT, once, and the
    next minutes' sweeps go on."""
    reminder_preference_update(user=nurse, email=True, digest_hour=2, actor=nurse)
    three_edt = dt.datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    run(three_edt - dt.timedelta(minutes=1))
    assert recipients(Kind.DIGEST) == set()
    for minutes in (0, 1, 2, 60, 179):
        assert run(three_edt + dt.timedelta(minutes=minutes)).ran
    (digest,) = reminders(kind=Kind.DIGEST)
    assert digest.due_at == three_edt
