"""Urgent toxicity alerts (issue 13): who gets them by the roster now (across the spring-forward
change), acknowledgement, escalation down the roster on time, the ask that a grade carries, and
delivery through the reminder ledger."""

import datetime as dt
import importlib
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from accounts.models import Role
from coordination.models import Notification, Reminder
from coordination.reminders.delivery import reminders_deliver
from coordination.reminders.selectors import unread_count
from coordination.watch.models import ToxicityAlert, WatchUnitRule
from coordination.watch.services import ShiftInput, alert_acknowledge, alerts_escalate, roster_replace
from patients.grading import Consciousness, Seizure, Vasopressors
from patients.models import AccessGrant, Indication, RegimenVersion
from patients.services import (
    assessment_confirm,
    assessment_record,
    check_in_record,
    course_schedule_build,
    interruption_restart,
)

from ...accounts.helpers import verified_login
from ...factories import CourseFactory, OrganisationFactory, UnitFactory, UserFactory
from .helpers import crs_grade_3_stop

NY = zoneinfo.ZoneInfo("America/New_York")
# 02:30 on 8 March 2026 does not exist in New York: the clock jumps from 02:00 to 03:00.
# In UTC: arithmetic across the gap stays in real minutes (and compares equal across zones).
NIGHT = dt.datetime(2026, 3, 8, 1, 50, tzinfo=NY).astimezone(dt.UTC)
NORMAL_ICE = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1, "ice_attention": 1}


@pytest.fixture
def roster(ward, coordinator, time_machine):
    """Saturday 08:00 to Monday 08:00: onc0 first call, onc1 second, a third on call Sunday."""
    time_machine.move_to(NIGHT, tick=False)
    first, second = (UserFactory(role=Role.ONCOLOGIST, unit=ward, username=f"onc{n}") for n in range(2))
    start, end = dt.datetime(2026, 3, 7, 8, tzinfo=NY), dt.datetime(2026, 3, 9, 8, tzinfo=NY)
    for rank, person in ((1, first), (2, second)):
        roster_replace(
            unit=ward,
            role=Role.ONCOLOGIST,
            rank=rank,
            period_start=start,
            period_end=end,
            shifts=[ShiftInput(person, start, end)],
            actor=coordinator,
        )
    return first, second


@pytest.fixture
def night(time_machine):
    """The night of the assessments (`assess`), without a roster: nobody on call."""
    time_machine.move_to(NIGHT, tick=False)


def assess(patient, nurse, **findings):
    values = {"temperature": Decimal("37.0"), "temperature_unit": "C", **NORMAL_ICE, **findings}
    return assessment_record(patient=patient, actor=nurse, assessed_at=NIGHT - dt.timedelta(minutes=5), findings=values)


def recipients(alert, kind):
    return {r.recipient.username for r in Reminder.objects.filter(alert=alert, kind=kind)}


def test_an_ice_of_6_at_night_goes_to_first_call_and_the_coordinator(patient, nurse, coordinator, roster):
    assessment = assess(patient, nurse, ice_orientation=1, ice_naming=2)
    alert = ToxicityAlert.objects.get()
    assert (alert.assessment, alert.reason, alert.ask) == (assessment, "ICANS grade 2", "")
    assert recipients(alert, Reminder.Kind.TOXICITY_ALERT) == {"onc0", coordinator.username}
    assert alert.escalate_at == NIGHT + dt.timedelta(minutes=15)


def test_nothing_urgent_raises_no_alert(patient, nurse, roster):
    assess(patient, nurse, temperature=Decimal("38.4"))  # CRS grade 1
    assert not ToxicityAlert.objects.exists()


def test_unacknowledged_it_goes_down_the_roster_across_the_clock_change(
    patient, nurse, coordinator, roster, time_machine
):
    WatchUnitRule.objects.create(unit=patient.unit, acknowledge_minutes=20)
    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_VOICE).alerts.get()
    assert alert.escalate_at == NIGHT + dt.timedelta(minutes=20)  # 03:10 on the clock: 20 real minutes
    assert alerts_escalate(now=NIGHT + dt.timedelta(minutes=19)) == []
    assert alerts_escalate(now=alert.escalate_at) == [alert.pk]
    alert.refresh_from_db()
    assert alert.level == 1
    assert recipients(alert, Reminder.Kind.TOXICITY_ESCALATION) == {"onc1"}
    # No one left on the roster: the coordinators and the patient's own oncologists; the sweep
    # looks at the roster again after the unit's minutes.
    spent = alert.escalate_at
    alerts_escalate(now=spent)
    alert.refresh_from_db()
    assert alert.no_one_on_call and alert.escalate_at == spent + dt.timedelta(minutes=20)
    assert coordinator.username in recipients(alert, Reminder.Kind.TOXICITY_ESCALATION)


def test_acknowledged_it_stops_and_its_pending_reminders_are_skipped(patient, nurse, roster, outsider):
    first, _ = roster
    alert = assess(patient, nurse, seizure=Seizure.RESOLVED_RAPIDLY).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.INTERRUPTION  # a seizure is grade 3 ICANS
    with pytest.raises(PermissionDenied):
        alert_acknowledge(alert=alert, actor=outsider)
    alert_acknowledge(alert=alert, actor=first, note="On my way; dexamethasone ordered.")
    assert alerts_escalate(now=NIGHT + dt.timedelta(hours=1)) == []
    reminders_deliver(ids=list(Reminder.objects.filter(alert=alert).values_list("pk", flat=True)))
    assert set(Reminder.objects.filter(alert=alert).values_list("state", flat=True)) == {Reminder.State.SKIPPED}
    assert not Notification.objects.exists()


def test_the_coordinator_cannot_take_an_alert_that_an_oncologist_must_answer(
    client, patient, nurse, coordinator, roster
):
    """The alert asks the oncologist to decide (CLINICAL.md: the oncologist grades, holds and stops).
    Taken by the coordinator who heard it beside first call, it went no further: no oncologist down
    the roster was ever reached."""
    alert = assess(patient, nurse, consciousness=Consciousness.UNAROUSABLE).alerts.get()  # grade 4
    with pytest.raises(PermissionDenied) as refused:
        alert_acknowledge(alert=alert, actor=coordinator)
    assert "oncologist" in str(refused.value)
    verified_login(client, coordinator)  # a coordinator signs in with a second factor
    page = client.get(f"/alerts/{alert.pk}/").text
    assert "Acknowledge: I take it" not in page and "An oncologist it went to takes this alert" in page
    assert alerts_escalate(now=alert.escalate_at) == [alert.pk]


def test_with_no_oncologist_to_reach_the_coordinator_takes_the_alert(patient, nurse, coordinator, night):
    """No one on call and no oncologist on the care team: whoever it reached answers for it."""
    alert = assess(patient, nurse, ice_orientation=2).alerts.get()
    assert recipients(alert, Reminder.Kind.TOXICITY_ALERT) == {coordinator.username}
    alert_acknowledge(alert=alert, actor=coordinator, note="Called the haematologist at home")
    alert.refresh_from_db()
    assert alert.acknowledged_by == coordinator


def test_delivery_rings_the_bell_and_emails_even_without_email_reminders(
    patient, nurse, coordinator, roster, mailoutbox
):
    first, _ = roster
    first.email = "onc0@example.org"
    first.save()
    alert = assess(patient, nurse, ice_orientation=0, ice_naming=1).alerts.get()  # ICE 4
    reminders_deliver(ids=list(Reminder.objects.filter(alert=alert).values_list("pk", flat=True)))
    bell = Notification.objects.get(recipient=first)
    assert bell.title == "URGENT: ICANS grade 2" and f"/alerts/{alert.pk}/" in bell.link
    # Urgent: by email whatever the reminder settings, to first call and the coordinator.
    assert sorted(m.to[0] for m in mailoutbox) == sorted(["onc0@example.org", coordinator.email])
    assert mailoutbox[0].subject.startswith("URGENT: ICANS grade 2 for patient")


def test_a_second_seizure_or_grade_4_asks_for_a_stop_for_good(patient, nurse, roster):
    first = assess(patient, nurse, seizure=Seizure.RESOLVED_RAPIDLY).alerts.get()
    # Seen at a later check: the same findings at the same time would be the first sent again.
    later = NIGHT - dt.timedelta(minutes=2)
    second = assess_at(patient, nurse, later, seizure=Seizure.RESOLVED_RAPIDLY).alerts.get()
    assert first.ask == ToxicityAlert.Ask.INTERRUPTION
    assert second.ask == ToxicityAlert.Ask.STOP_FOR_GOOD and "second seizure" in second.reason
    grade_4 = assess(patient, nurse, consciousness=Consciousness.UNAROUSABLE).alerts.get()
    assert grade_4.ask == ToxicityAlert.Ask.STOP_FOR_GOOD


def test_a_grade_raised_on_confirming_changes_what_the_open_alert_asks(patient, nurse, oncologist, roster):
    """ICANS grade 2 at the bedside asks the oncologist for nothing more; confirmed as grade 4, the
    same open alert asks for a stop for good."""
    assessment = assess(patient, nurse, ice_orientation=1, ice_naming=2)  # ICE 6: grade 2
    assert assessment.alerts.get().ask == ToxicityAlert.Ask.NOTHING
    assessment_confirm(
        assessment=assessment, actor=oncologist, crs_grade=0, icans_grade=4, reason="Unarousable on the round"
    )
    alert = assessment.alerts.get()
    assert (alert.reason, alert.ask) == ("ICANS grade 4", ToxicityAlert.Ask.STOP_FOR_GOOD)


def test_a_grade_lowered_on_confirming_takes_the_alert_it_no_longer_calls_for(patient, nurse, oncologist, roster):
    """One vasopressor ticked at the bedside is CRS grade 3 and asks for an interruption; the
    oncologist confirms grade 1 (the drip is for sedation). The alert must not go on down the roster
    at night asking the next oncologist to interrupt: the one who confirmed has taken it, and says why."""
    assessment = assess(patient, nurse, temperature=Decimal("38.4"), vasopressors=Vasopressors.ONE)
    alert = assessment.alerts.get()
    assert alert.ask == ToxicityAlert.Ask.INTERRUPTION
    assessment_confirm(
        assessment=assessment, actor=oncologist, crs_grade=1, icans_grade=0, reason="The drip is for sedation"
    )
    alert.refresh_from_db()
    assert not alert.is_open and alert.acknowledged_by == oncologist
    assert alert.acknowledge_note == "Grades confirmed as CRS 1, ICANS 0: The drip is for sedation"
    assert alerts_escalate(now=NIGHT + dt.timedelta(hours=1)) == []


def test_a_grade_lowered_on_confirming_but_still_urgent_changes_what_the_open_alert_asks(
    patient, nurse, oncologist, roster
):
    assessment = assess(patient, nurse, temperature=Decimal("38.4"), vasopressors=Vasopressors.ONE)
    assessment_confirm(
        assessment=assessment, actor=oncologist, crs_grade=2, icans_grade=0, reason="Fluids alone raised the pressure"
    )
    alert = assessment.alerts.get()
    assert alert.is_open and (alert.reason, alert.ask) == ("CRS grade 2", ToxicityAlert.Ask.NOTHING)


def test_a_grade_lowered_after_the_alert_was_taken_pages_nobody_again(
    patient, nurse, coordinator, oncologist, roster, time_machine
):
    """Found by a review: CRS 3 at the bedside, first call takes it; the patient's oncologist then
    confirms CRS 2 (still the unit's alert grade) and a second urgent alert paged first call and
    the coordinator again for what was already answered."""
    first, _ = roster
    assessment = assess(patient, nurse, temperature=Decimal("38.6"), vasopressors=Vasopressors.ONE)
    alert_acknowledge(alert=assessment.alerts.get(), actor=first, note="Seen, fluids given")
    time_machine.move_to(NIGHT + dt.timedelta(minutes=30), tick=False)
    assessment_confirm(
        assessment=assessment, actor=oncologist, crs_grade=2, icans_grade=0, reason="Pressor was for sedation"
    )
    assert assessment.alerts.count() == 1
    assert not Reminder.objects.filter(created_at__gt=NIGHT).exists()


def test_a_grade_raised_after_the_alert_was_taken_raises_a_new_alert(patient, nurse, oncologist, roster, time_machine):
    first, _ = roster
    assessment = assess(patient, nurse, temperature=Decimal("38.6"), hypotension=True)  # CRS grade 2
    alert_acknowledge(alert=assessment.alerts.get(), actor=first, note="Fluids")
    time_machine.move_to(NIGHT + dt.timedelta(minutes=30), tick=False)
    assessment_confirm(assessment=assessment, actor=oncologist, crs_grade=3, icans_grade=0, reason="On a pressor since")
    newest = assessment.alerts.filter(acknowledged_at=None).get()
    assert (newest.reason, newest.ask) == ("CRS grade 3", ToxicityAlert.Ask.INTERRUPTION)
    assert recipients(newest, Reminder.Kind.TOXICITY_ALERT) >= {"onc0"}


def test_a_grade_raised_on_an_open_alert_tells_whom_it_reached_again_and_restarts_its_minutes(
    patient, nurse, coordinator, oncologist, roster, time_machine
):
    """The first call told "ICANS grade 2, assess and decide" must hear "grade 4, stop for good", and
    has the unit's minutes from then to take it, before it goes down the roster."""
    assessment = assess(patient, nurse, ice_orientation=1, ice_naming=2)  # ICE 6: grade 2
    alert = assessment.alerts.get()
    confirmed_at = NIGHT + dt.timedelta(minutes=10)
    time_machine.move_to(confirmed_at, tick=False)
    assessment_confirm(
        assessment=assessment, actor=oncologist, crs_grade=0, icans_grade=4, reason="Unarousable on the round"
    )
    alert.refresh_from_db()
    told_again = Reminder.objects.filter(alert=alert, kind=Reminder.Kind.TOXICITY_ALERT, due_at=confirmed_at)
    assert {reminder.recipient.username for reminder in told_again} == {"onc0", coordinator.username}
    assert alert.escalate_at == confirmed_at + dt.timedelta(minutes=15)
    assert alerts_escalate(now=NIGHT + dt.timedelta(minutes=20)) == []


def test_a_home_check_red_flag_routes_like_a_grade(patient, nurse, roster):
    check_in_record(
        patient=patient,
        actor=nurse,
        checked_at=NIGHT,
        temperature=Decimal("37.0"),
        temperature_unit="C",
        pump_status="running",
        signs=["confusion"],
    )
    alert = ToxicityAlert.objects.get()
    assert alert.reason == "Home check red flags: Confusion"
    assert "onc0" in recipients(alert, Reminder.Kind.TOXICITY_ALERT)


def test_with_no_one_on_call_it_goes_to_the_coordinators_and_the_care_team(
    patient, nurse, oncologist, coordinator, night
):
    alert = assess(patient, nurse, ice_orientation=2).alerts.get()
    assert alert.no_one_on_call and alert.escalate_at is not None  # the sweep watches for someone on call
    assert recipients(alert, Reminder.Kind.TOXICITY_ALERT) == {coordinator.username, oncologist.username}


def test_the_board_and_the_patient_page_show_the_open_alert(client, patient, nurse, coordinator, roster):
    from ...accounts.helpers import verified_login

    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    verified_login(client, coordinator)
    board = client.get("/board/").text
    assert f'href="/alerts/{alert.pk}/">ICANS grade 2</a>' in board
    assert f"(MRN {patient.mrn})" in board
    page = client.get(f"/patients/{patient.pk}/").text
    assert "Urgent, not acknowledged:" in page and "CRS 0, ICANS 2" in page


def test_an_on_call_oncologist_of_another_team_can_open_the_alert_while_it_is_open(client, patient, nurse, roster):
    first, _ = roster  # onc0: on call for the ward, not on this patient's care team
    from patients.models import Patient

    assert not Patient.objects.visible_to(first).filter(pk=patient.pk).exists()
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    assert Patient.objects.visible_to(first).filter(pk=patient.pk).exists()
    grant = first.access_grants.get()
    assert (grant.patient, grant.ends_at) == (patient, None)  # until the alert is taken
    client.force_login(first)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 200
    assert client.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "On my way"}).status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == first
    grant.refresh_from_db()
    assert grant.ends_at == alert.acknowledged_at + dt.timedelta(hours=24)  # to follow it up


def _sees(user, patient) -> bool:
    from patients.models import Patient

    return Patient.objects.visible_to(user).filter(pk=patient.pk).exists()


def test_the_on_call_access_lasts_while_the_alert_is_open_then_a_day_for_whoever_took_it(
    patient, nurse, roster, time_machine
):
    """The day's grant ended while the alert was still open: the oncologist who took the call at
    night lost sight of the patient mid-event (its page, the watch, the interruption it asks for)."""
    first, second = roster
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    time_machine.move_to(alert.escalate_at, tick=False)
    alerts_escalate(now=alert.escalate_at)  # unanswered: second call hears it too
    later = NIGHT + dt.timedelta(hours=29)  # Monday 07:50, the roster's last minutes
    time_machine.move_to(later, tick=False)
    assert _sees(first, patient) and _sees(second, patient)
    alert_acknowledge(alert=alert, actor=second, note="Seen; dexamethasone", now=later)
    # Whoever took it follows it up for a day; the others it reached need the patient no longer.
    assert _sees(second, patient) and not _sees(first, patient)
    time_machine.move_to(later + dt.timedelta(hours=23, minutes=59), tick=False)
    assert _sees(second, patient)
    time_machine.move_to(later + dt.timedelta(hours=24), tick=False)
    assert not _sees(second, patient)


def test_the_on_call_access_stays_while_another_open_alert_of_the_patient_needs_it(
    patient, nurse, roster, time_machine
):
    from coordination.watch.services import Signal, alert_raise

    first, _ = roster
    one = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    two = alert_raise(patient=patient, signal=Signal("Home check red flags: fever"), actor=nurse, now=NIGHT)
    alert_acknowledge(alert=one, actor=first, now=NIGHT)
    time_machine.move_to(NIGHT + dt.timedelta(days=2), tick=False)
    assert _sees(first, patient)  # the second alert is still open
    alert_acknowledge(alert=two, actor=first, now=NIGHT + dt.timedelta(days=2))
    time_machine.move_to(NIGHT + dt.timedelta(days=3), tick=False)
    assert not _sees(first, patient)


def test_the_follow_up_day_of_whoever_took_an_alert_outlasts_another_alerts_taking_by_someone_else(
    patient, nurse, oncologist, roster, time_machine
):
    """The on-call oncologist took the first alert while a second one of the patient was open, so
    the grant stayed; the patient's own oncologist took the second an hour later, and the grant
    was revoked at once: the one who took the first lost their day to follow it up."""
    from coordination.watch.services import Signal, alert_raise

    first, _ = roster
    one = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    two = alert_raise(patient=patient, signal=Signal("Home check red flags: fever"), actor=nurse, now=NIGHT)
    alert_acknowledge(alert=one, actor=first, now=NIGHT)
    time_machine.move_to(NIGHT + dt.timedelta(hours=1), tick=False)
    alert_acknowledge(alert=two, actor=oncologist, now=NIGHT + dt.timedelta(hours=1))
    time_machine.move_to(NIGHT + dt.timedelta(hours=2), tick=False)
    assert _sees(first, patient)  # their day after taking the first alert
    time_machine.move_to(NIGHT + dt.timedelta(hours=24), tick=False)
    assert not _sees(first, patient)


def test_the_alert_says_who_records_what_it_asks_when_the_reader_may_not(client, patient, nurse, oncologist, roster):
    """The on-call oncologist of another team opens an alert asking for a stop for good: no button
    for them, and the page says whose decision it is, rather than nothing."""
    first, _ = roster
    CourseFactory(patient=patient, status="active")
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    ToxicityAlert.objects.filter(pk=alert.pk).update(ask=ToxicityAlert.Ask.STOP_FOR_GOOD)
    client.force_login(first)
    page = client.get(f"/alerts/{alert.pk}/").text
    assert "Stop the course for good</a>" not in page
    assert "Only the patient&#x27;s oncologist may stop the course for good." in page
    client.force_login(oncologist)
    page = client.get(f"/alerts/{alert.pk}/").text
    assert "Stop the course for good</a>" in page and "Only the patient" not in page


# --- the bell after an acknowledgement (issue 14, item 8) --------------------------------------


def deliver(alert):
    reminders_deliver(ids=list(Reminder.objects.filter(alert=alert).values_list("pk", flat=True)))


def bell(user):
    return {n.title: n.read_at for n in Notification.objects.filter(recipient=user)}


def test_an_acknowledged_alert_leaves_the_bell_of_everyone_it_reached(patient, nurse, coordinator, roster):
    first, _ = roster
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    deliver(alert)
    later = assess(patient, nurse, seizure=Seizure.RESOLVED_RAPIDLY).alerts.get()  # another alert, still open
    deliver(later)
    Notification.objects.create(recipient=first, title="Something else", link="/")
    assert (unread_count(first), unread_count(coordinator)) == (3, 2)

    acknowledged = alert_acknowledge(alert=alert, actor=first, now=NIGHT + dt.timedelta(minutes=3))
    assert bell(first) == {
        "URGENT: ICANS grade 2": acknowledged.acknowledged_at,
        f"URGENT: {later.reason}": None,
        "Something else": None,
    }
    assert bell(coordinator) == {"URGENT: ICANS grade 2": acknowledged.acknowledged_at, f"URGENT: {later.reason}": None}
    assert (unread_count(first), unread_count(coordinator)) == (2, 1)


def test_an_escalated_alert_acknowledged_down_the_roster_clears_each_bell_it_rang(
    patient, nurse, coordinator, roster, time_machine
):
    first, second = roster
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    deliver(alert)
    time_machine.move_to(alert.escalate_at, tick=False)  # second call's grant to see the patient starts then
    alerts_escalate(now=alert.escalate_at)
    deliver(alert)
    assert {n.recipient for n in Notification.objects.all()} == {first, second, coordinator}

    alert_acknowledge(alert=alert, actor=second)
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert unread_count(first) == unread_count(second) == unread_count(coordinator) == 0


def test_acknowledging_on_the_alerts_page_empties_the_bells_count(client, patient, nurse, coordinator, roster):
    first, _ = roster
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    deliver(alert)
    client.force_login(first)
    assert '1<span class="visually-hidden"> unread</span>' in client.get(f"/alerts/{alert.pk}/").text
    page = client.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "On my way"}, follow=True).text
    assert "Acknowledged: the alert goes no further." in page
    assert " unread</span>" not in page
    assert unread_count(coordinator) == 0


def test_a_note_too_long_acknowledges_nothing_and_says_why(client, patient, nurse, roster):
    """Nothing half-saved: the alert is not taken with its note dropped."""
    first, _ = roster
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    client.force_login(first)
    page = client.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "x" * 501}, follow=True).text
    alert.refresh_from_db()
    assert alert.is_open
    assert "at most 500 characters" in page


def test_the_alert_list_says_on_which_day_an_alert_was_acknowledged(client, patient, nurse, roster):
    """Raised at 01:50 in the night of Sunday, taken at 02:53 on Monday night (a day and 3 minutes
    later, across the clock change): the list must not read as if it had been taken within the hour."""
    first, _ = roster
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    alert_acknowledge(alert=alert, actor=first, now=NIGHT + dt.timedelta(days=1, minutes=3))
    client.force_login(first)
    page = client.get("/alerts/").text
    assert "Acknowledged by" in page and "Mon 9 Mar, 02:53" in page


# --- ICANS grade 3 that the label stops for good (CLINICAL.md, "Interruptions and toxicity") -----


def course_from(patient, start: dt.date, indication=Indication.RELAPSED_REFRACTORY):
    course = CourseFactory(patient=patient, indication=indication, planned_cycles=2, start_date=start)
    course_schedule_build(course=course, now=dt.datetime(2026, 2, 1, tzinfo=NY))
    return course


def assess_at(patient, nurse, at, **findings):
    values = {"temperature": Decimal("37.0"), "temperature_unit": "C", **NORMAL_ICE, **findings}
    return assessment_record(patient=patient, actor=nurse, assessed_at=at, findings=values)


def test_icans_grade_3_at_the_starting_dose_asks_for_a_stop_for_good(patient, nurse, roster):
    """ "Neurological toxicity grade 3: ... stop for good if it occurred at 9 mcg/day": day 4 of
    cycle 1, before the day-8 step-up."""
    course_from(patient, dt.date(2026, 3, 5))
    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_TOUCH).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.STOP_FOR_GOOD
    assert alert.reason == "ICANS grade 3 at the starting dose, before the step-up: the label says stop for good"
    # What the oncologist is asked names this case too: it said "(grade 4, or a second seizure)".
    assert "ICANS grade 3 at the low dose" in alert.get_ask_display()


def test_icans_grade_3_at_the_full_dose_asks_for_an_interruption(patient, nurse, roster):
    course_from(patient, dt.date(2026, 2, 20))  # day 17: 28 mcg/day since day 8
    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_TOUCH).alerts.get()
    assert (alert.ask, alert.reason) == (ToxicityAlert.Ask.INTERRUPTION, "ICANS grade 3")


def test_icans_grade_3_on_day_4_without_a_step_up_asks_for_an_interruption(patient, nurse, roster):
    course_from(patient, dt.date(2026, 3, 5), indication=Indication.MRD_POSITIVE)  # 28 mcg/day from day 1
    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_TOUCH).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.INTERRUPTION


def test_icans_grade_3_at_the_restart_dose_asks_for_a_stop_for_good(patient, nurse, oncologist, roster):
    """After a grade 3 CRS the restart runs at 9 mcg/day until its re-escalation 7 days later."""
    course = course_from(patient, dt.date(2026, 2, 20))
    stopped_at = NIGHT - dt.timedelta(days=3)
    interruption = crs_grade_3_stop(course, nurse, stopped_at)
    interruption_restart(
        interruption=interruption, restarted_at=NIGHT - dt.timedelta(days=1), actor=oncologist, now=NIGHT
    )
    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_TOUCH).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.STOP_FOR_GOOD
    assert alert.reason == "ICANS grade 3 at the restart dose, before the re-escalation: the label says stop for good"


def test_icans_grade_3_while_stopped_since_the_starting_dose_asks_for_a_stop_for_good(patient, nurse, roster):
    """The infusion stopped on day 5 at 9 mcg/day (a grade 3 CRS) and has not restarted: ICANS grade
    3 on day 10, after the day the step-up would have come, followed the starting dose, the last
    that ran (schedule.low_dose_at: inside a break, the dose when it stopped)."""
    course = course_from(patient, dt.date(2026, 2, 27))  # day 8, the step-up: 6 March; NIGHT is day 10
    stopped_at = dt.datetime(2026, 3, 3, 10, tzinfo=NY)
    crs_grade_3_stop(course, nurse, stopped_at)
    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_TOUCH).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.STOP_FOR_GOOD
    assert alert.reason == "ICANS grade 3 at the starting dose, before the step-up: the label says stop for good"


def test_icans_grade_3_that_recurs_asks_for_a_stop_for_good(patient, nurse, roster):
    """ "... or recurs": grade 3, back to grade 1 or less, grade 3 again."""
    course_from(patient, dt.date(2026, 2, 20))
    first = assess_at(patient, nurse, NIGHT - dt.timedelta(days=3), consciousness=Consciousness.AWAKENS_TO_TOUCH)
    assert first.alerts.get().ask == ToxicityAlert.Ask.INTERRUPTION
    assess_at(patient, nurse, NIGHT - dt.timedelta(days=2))  # ICANS 0: resolved
    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_TOUCH).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.STOP_FOR_GOOD
    assert alert.reason.startswith("ICANS grade 3 that recurs (an earlier one, from 5 Mar, resolved)")


def test_icans_grade_3_that_never_resolved_is_the_same_episode(patient, nurse, roster):
    course_from(patient, dt.date(2026, 2, 20))
    assess_at(patient, nurse, NIGHT - dt.timedelta(hours=8), consciousness=Consciousness.AWAKENS_TO_TOUCH)
    assess_at(patient, nurse, NIGHT - dt.timedelta(hours=4), ice_orientation=1, ice_naming=2)  # ICANS 2
    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_TOUCH).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.INTERRUPTION


def test_an_escalation_after_the_shift_changes_goes_to_whom_the_alert_has_not_reached(patient, nurse, coordinator):
    """Found by a review: the night's first call becomes the day's second at 02:00, 10 minutes
    after the alert; the escalation went by place in the call order, back to the night's first
    call who had not answered, and the day's first call never heard."""
    night, day = (UserFactory(role=Role.ONCOLOGIST, unit=patient.unit, username=name) for name in ("night1", "day1"))
    change = NIGHT + dt.timedelta(minutes=10)
    start, end = change - dt.timedelta(hours=12), change + dt.timedelta(hours=12)
    for rank, before, after in ((1, night, day), (2, day, night)):
        shifts = [ShiftInput(before, start, change), ShiftInput(after, change, end)]
        roster_replace(
            unit=patient.unit,
            role=Role.ONCOLOGIST,
            rank=rank,
            period_start=start,
            period_end=end,
            shifts=shifts,
            actor=coordinator,
        )
    with time_machine.travel(NIGHT, tick=False):
        alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    assert recipients(alert, Reminder.Kind.TOXICITY_ALERT) == {"night1", coordinator.username}
    alerts_escalate(now=alert.escalate_at)
    alert.refresh_from_db()
    assert recipients(alert, Reminder.Kind.TOXICITY_ESCALATION) == {"day1"}
    alerts_escalate(now=alert.escalate_at)  # nobody on call is left whom it has not reached
    alert.refresh_from_db()
    assert alert.no_one_on_call and alert.level == 2
    alerts_escalate(now=alert.escalate_at)  # looked at again: no one new, no one told twice
    alert.refresh_from_db()
    assert alert.level == 2 and Reminder.objects.filter(alert=alert).count() == 2 + 1 + 1


def test_with_no_roster_no_coordinator_and_no_oncologist_the_care_team_hears(patient, nurse):
    """Found by a review: such an alert was written with no one to send it to."""
    with time_machine.travel(NIGHT, tick=False):
        alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    team = set(patient.care_team.values_list("user__username", flat=True))
    assert team and recipients(alert, Reminder.Kind.TOXICITY_ALERT) == team
    assert alert.no_one_on_call


def test_a_first_caller_moved_to_another_hospital_is_passed_by_and_the_assessment_stands(
    patient, nurse, coordinator, roster
):
    """The roster keeps a shift whose holder has since moved to another organisation's unit. An
    alert must not open this patient to them (a grant never leaves the organisation), and that
    refusal must not refuse the nurse's assessment: the alert goes to the next on call."""
    first, second = roster
    first.unit = UnitFactory(organisation=OrganisationFactory(name="Another Hospital"))
    first.save()
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()  # ICE 6: ICANS grade 2
    assert recipients(alert, Reminder.Kind.TOXICITY_ALERT) == {second.username, coordinator.username}
    assert not AccessGrant.objects.filter(user=first).exists()


# --- no one on call when it was raised (review of the watch, item 1) ----------------------------


def day_oncologist_comes_on_call(patient, coordinator) -> dt.datetime:
    """`day1`, first call on the patient's unit for 12 hours from the morning after NIGHT: that
    morning."""
    day = UserFactory(role=Role.ONCOLOGIST, unit=patient.unit, username="day1")
    morning = NIGHT + dt.timedelta(hours=6)
    roster_replace(
        unit=patient.unit,
        role=Role.ONCOLOGIST,
        rank=1,
        period_start=morning,
        period_end=morning + dt.timedelta(hours=12),
        shifts=[ShiftInput(day, morning, morning + dt.timedelta(hours=12))],
        actor=coordinator,
    )
    return morning


def test_raised_with_no_one_on_call_it_reaches_the_oncologist_who_comes_on_call_once(
    patient, nurse, oncologist, coordinator
):
    """Found by a review: an alert raised with nobody on the roster went to the coordinators and
    the patient's oncologists and then never went anywhere again, even when a first call came on
    duty while it was still unacknowledged. The sweep keeps looking; those it reached already
    hear nothing twice."""
    with time_machine.travel(NIGHT, tick=False):
        alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    assert alert.no_one_on_call
    assert recipients(alert, Reminder.Kind.TOXICITY_ALERT) == {coordinator.username, oncologist.username}
    alerts_escalate(now=NIGHT + dt.timedelta(minutes=20))  # still no one on call: no one is told again
    assert not Reminder.objects.filter(alert=alert, kind=Reminder.Kind.TOXICITY_ESCALATION).exists()
    morning = day_oncologist_comes_on_call(patient, coordinator)
    alerts_escalate(now=morning + dt.timedelta(minutes=1))
    assert recipients(alert, Reminder.Kind.TOXICITY_ESCALATION) == {"day1"}
    alerts_escalate(now=morning + dt.timedelta(hours=2))  # everyone there is has it: once each
    assert Reminder.objects.filter(alert=alert, kind=Reminder.Kind.TOXICITY_ESCALATION).count() == 1
    alert.refresh_from_db()
    assert alert.level == 1 and alert.is_open


def test_an_alert_left_at_the_fallback_before_the_upgrade_is_looked_at_again_once(
    patient, nurse, oncologist, coordinator
):
    """Migration coordination 0013: an alert that reached the fallback under the former rule had no
    time to be looked at again. It now reaches the oncologist who comes on call, and the fallback,
    who heard it already, hears nothing twice."""
    from django.apps import apps

    look_again = importlib.import_module("coordination.migrations.0013_open_alerts_look_again").look_again
    with time_machine.travel(NIGHT, tick=False):
        alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    ToxicityAlert.objects.filter(pk=alert.pk).update(escalate_at=None, no_one_on_call=False)  # as left before
    morning = day_oncologist_comes_on_call(patient, coordinator)
    with time_machine.travel(morning, tick=False):
        look_again(apps, None)
    alerts_escalate(now=morning + dt.timedelta(minutes=1))
    assert recipients(alert, Reminder.Kind.TOXICITY_ESCALATION) == {"day1"}


def test_a_known_shift_start_is_when_the_sweep_looks_again(patient, nurse, oncologist, coordinator):
    """With the morning's first call already on the roster, the alert reaches them as the shift
    starts, not up to the unit's minutes later."""
    morning = NIGHT + dt.timedelta(minutes=7)
    roster_replace(
        unit=patient.unit,
        role=Role.ONCOLOGIST,
        rank=1,
        period_start=morning,
        period_end=morning + dt.timedelta(hours=12),
        shifts=[
            ShiftInput(UserFactory(role=Role.ONCOLOGIST, unit=patient.unit), morning, morning + dt.timedelta(hours=12))
        ],
        actor=coordinator,
    )
    with time_machine.travel(NIGHT, tick=False):
        alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    assert alert.no_one_on_call and alert.escalate_at == morning


# --- a seizure is a seizure wherever it was recorded (review of the watch, item 3) --------------


def home_check(patient, nurse, *signs, at=NIGHT - dt.timedelta(hours=2)):
    return check_in_record(
        patient=patient,
        actor=nurse,
        checked_at=at,
        temperature=Decimal("37.0"),
        temperature_unit="C",
        pump_status="running",
        signs=list(signs),
    )


def test_a_seizure_at_an_assessment_after_one_at_a_home_check_asks_for_a_stop_for_good(patient, nurse, roster):
    """CLINICAL.md: "More than one seizure, or grade 4: stop for good". Found by a review: a
    seizure the caregiver reported at the home check did not count. The day before: the same
    seizure charted again within hours is one (the next test)."""
    course_from(patient, dt.date(2026, 2, 20))
    home_check(patient, nurse, "seizure", at=NIGHT - dt.timedelta(days=1))
    alert = assess(patient, nurse, seizure=Seizure.RESOLVED_RAPIDLY).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.STOP_FOR_GOOD and "a second seizure" in alert.reason


def test_the_seizure_reported_at_home_and_charted_when_brought_in_is_one(patient, nurse, roster):
    """The caregiver reports it at the home check; brought in, the patient is assessed 2 hours
    later and the seizure charted: one seizure (`patients.selectors.SAME_SEIZURE_WITHIN`), which
    asks for an interruption, not a stop for good. Found by a clinical review."""
    course_from(patient, dt.date(2026, 2, 20))
    home_check(patient, nurse, "seizure")
    alert = assess(patient, nurse, seizure=Seizure.RESOLVED_RAPIDLY).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.INTERRUPTION and "second" not in alert.reason


def test_a_seizure_at_a_home_check_after_one_at_an_assessment_asks_for_a_stop_for_good(patient, nurse, roster):
    course_from(patient, dt.date(2026, 2, 20))
    assess_at(patient, nurse, NIGHT - dt.timedelta(days=1), seizure=Seizure.RESOLVED_RAPIDLY)
    home_check(patient, nurse, "seizure", "confusion")
    alert = ToxicityAlert.objects.get(assessment=None)
    assert alert.ask == ToxicityAlert.Ask.STOP_FOR_GOOD
    assert alert.reason == "Home check red flags: Confusion, Seizure; a second seizure"


def test_a_first_seizure_at_a_home_check_asks_for_an_interruption(patient, nurse, roster):
    """A seizure is ICANS grade 3 at least (ASTCT), and grade 3 neurological toxicity is held
    (CLINICAL.md): reported by the caregiver it asks what the same seizure at an assessment asks,
    not merely "assess and decide"."""
    course_from(patient, dt.date(2026, 2, 20))  # day 17: the full dose
    home_check(patient, nurse, "seizure")
    alert = ToxicityAlert.objects.get()
    assert alert.ask == ToxicityAlert.Ask.INTERRUPTION


def test_a_first_seizure_at_a_home_check_at_the_starting_dose_asks_for_a_stop_for_good(patient, nurse, roster):
    """Grade 3 at least, at 9 mcg/day before the step-up: the label stops it for good, as at an assessment."""
    course_from(patient, dt.date(2026, 3, 5))
    home_check(patient, nurse, "seizure")
    alert = ToxicityAlert.objects.get()
    assert alert.ask == ToxicityAlert.Ask.STOP_FOR_GOOD
    assert alert.reason.endswith("at the starting dose, before the step-up: the label says stop for good")


def test_a_seizure_of_an_earlier_course_is_not_the_second(patient, nurse, roster):
    home_check(patient, nurse, "seizure")  # before this course
    course_from(patient, dt.date(2026, 2, 20))
    alert = assess(patient, nurse, seizure=Seizure.RESOLVED_RAPIDLY).alerts.get()
    assert alert.ask == ToxicityAlert.Ask.INTERRUPTION


# --- a patient transferred with an open alert (review of the watch, item 2) ---------------------


def test_an_open_alert_follows_the_patient_to_the_new_units_board_and_roster(
    client, patient, nurse, coordinator, roster
):
    """Found by a review: the alert stayed on the old unit's board and went down the old unit's
    roster; the old unit's coordinator could acknowledge it but got a 404 on its page. It moves
    with the patient: the new unit's first call and coordinator hear it, its board shows it, its
    roster escalates it, and the alert's page says when and why it moved."""
    from patients.services import patient_transfer

    old_first, old_second = roster
    clinic = UnitFactory(organisation=patient.unit.organisation, name="Day Clinic")
    coordinator2 = UserFactory(role=Role.COORDINATOR, unit=clinic, username="coordinator2")
    clinic_first = UserFactory(role=Role.ONCOLOGIST, unit=clinic, username="clinic1")
    start, end = NIGHT - dt.timedelta(hours=1), NIGHT + dt.timedelta(hours=12)
    roster_replace(
        unit=clinic,
        role=Role.ONCOLOGIST,
        rank=1,
        period_start=start,
        period_end=end,
        shifts=[ShiftInput(clinic_first, start, end)],
        actor=coordinator2,
    )
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    moved_at = NIGHT + dt.timedelta(minutes=5)
    patient_transfer(patient=patient, to_unit=clinic, reason="Bed on the day clinic", actor=coordinator, now=moved_at)
    alert.refresh_from_db()
    assert alert.unit == clinic and alert.escalate_at == moved_at + dt.timedelta(minutes=15)
    assert recipients(alert, Reminder.Kind.TOXICITY_ALERT) == {"onc0", coordinator.username, "clinic1", "coordinator2"}
    # The old unit's coordinator no longer sees the patient: no page, no acknowledgement, no bell.
    with pytest.raises(PermissionDenied):
        alert_acknowledge(alert=alert, actor=coordinator)
    verified_login(client, coordinator)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
    assert f"/alerts/{alert.pk}/" not in client.get("/board/").text
    verified_login(client, coordinator2)
    assert f"/alerts/{alert.pk}/" in client.get("/board/").text
    page = client.get(f"/alerts/{alert.pk}/").text
    assert "Moved with the patient from Haematology Ward to Day Clinic" in page
    assert "Bed on the day clinic" in page
    # Unacknowledged, it goes down the new unit's roster, never the old one's.
    alerts_escalate(now=alert.escalate_at)
    assert old_second.username not in recipients(alert, Reminder.Kind.TOXICITY_ESCALATION)
    assert "coordinator2" in recipients(alert, Reminder.Kind.TOXICITY_ESCALATION)


GRADE_4_CRS = {"temperature": Decimal("39.0"), "hypotension": True, "vasopressors": Vasopressors.SEVERAL}


def test_grade_4_crs_asks_for_a_stop_for_good_as_the_course_s_regimen_says(patient, nurse, roster):
    """The grade from which the watch asks for a stop for good is the regimen version's, as the
    restart's refusal reads it (the label: grade 4)."""
    course_from(patient, dt.date(2026, 2, 20))
    alert = assess(patient, nurse, **GRADE_4_CRS).alerts.get()
    assert (alert.reason, alert.ask) == ("CRS grade 4", ToxicityAlert.Ask.STOP_FOR_GOOD)


def test_a_regimen_that_does_not_stop_grade_4_crs_for_good_asks_for_an_interruption(patient, nurse, roster):
    course = course_from(patient, dt.date(2026, 2, 20))
    RegimenVersion.objects.filter(pk=course.regimen_version_id).update(crs_stop_for_good_from_grade=None)
    alert = assess(patient, nurse, **GRADE_4_CRS).alerts.get()
    assert (alert.reason, alert.ask) == ("CRS grade 4", ToxicityAlert.Ask.INTERRUPTION)


class _MailServerDown:
    """An email backend whose server cannot be reached."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        raise ConnectionRefusedError("mail server down")

    def close(self):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_an_alerts_email_retry_is_not_sent_to_someone_who_no_longer_sees_the_patient(
    patient, nurse, coordinator, roster, settings, mailoutbox
):
    """The first email to the on-call oncologist failed; meanwhile their access to the patient was
    revoked. The retry sent the patient's initials, MRN and the toxicity to someone who may no
    longer see the patient."""
    from patients.services import access_grant_close

    first, _ = roster
    settings.EMAIL_BACKEND = "tests.coordination.watch.test_alerts._MailServerDown"
    alert = assess(patient, nurse, ice_orientation=1, ice_naming=2).alerts.get()
    ids = list(Reminder.objects.filter(alert=alert).values_list("pk", flat=True))
    reminders_deliver(ids=ids, now=NIGHT)
    to_first = Reminder.objects.get(alert=alert, recipient=first)
    assert (to_first.state, to_first.attempts, to_first.channels) == ("pending", 1, ["in_app"])
    access_grant_close(grant=first.access_grants.get(patient=patient), now=NIGHT)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reminders_deliver(ids=ids, now=NIGHT + dt.timedelta(minutes=2))
    to_first.refresh_from_db()
    assert to_first.state == Reminder.State.SKIPPED
    assert to_first.skip_reason == "the recipient no longer sees the patient (off the care team, or access ended)"
    assert [m.to for m in mailoutbox] == [[coordinator.email]]  # the coordinator still sees the patient


@pytest.mark.django_db(transaction=True)
def test_an_escalation_is_not_held_up_by_someone_editing_the_patient_or_the_unit(patient, nurse, coordinator, roster):
    """Found by review: the sweep locked each due alert's unit and patient rows too, skipping
    locked ones: an alert whose patient was being weighed at that minute escalated a minute later
    (or later again), and the lock kept the unit's roster from being edited meanwhile."""
    import psycopg
    from django.db import connection

    alert = assess(patient, nurse, consciousness=Consciousness.AWAKENS_TO_VOICE).alerts.get()
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=settings["NAME"]
    ) as other:  # an update of the patient and of the unit (their lock), not yet committed
        other.execute("SELECT id FROM patients_patient WHERE id = %s FOR NO KEY UPDATE", [patient.pk])
        other.execute("SELECT id FROM accounts_unit WHERE id = %s FOR NO KEY UPDATE", [patient.unit_id])
        assert alerts_escalate(now=alert.escalate_at) == [alert.pk]
    alert.refresh_from_db()
    assert recipients(alert, Reminder.Kind.TOXICITY_ESCALATION) == {"onc1"}
