"""The receiving unit keeps the patient while the infusion runs at home: after completion its
grant lasts until the pump comes off in the cycle the handoff sent the patient home in (that
cycle's end, moved by a break or brought to a stop for good), and the usual hours after."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Role
from coordination.handoffs import services as svc
from coordination.models import Handoff
from patients.models import AccessGrant, CareEvent, Patient
from patients.services import check_in_record, course_stop_for_good, event_cancel, event_move

from ..handoff_helpers import SYNTHESIS, at_home, draft_handoff, first_visit_done, ready_discharge

HOURS_AFTER = dt.timedelta(hours=72)  # access_hours_after_completion() by default


@pytest.fixture
def discharge(patient, nurse, nurse2, case_manager):
    return ready_discharge(patient, nurse=nurse, nurse2=nurse2, case_manager=case_manager)


@pytest.fixture
def pump_off(discharge, patient):
    """The cycle's end as the schedule plans it: the pump comes off on day 28, at home."""
    cycle = discharge.cycle
    ends_at = timezone.make_aware(
        dt.datetime.combine(cycle.start_date + dt.timedelta(days=cycle.infusion_days), dt.time(9)), patient.unit.zone
    )
    return CareEvent.objects.create(
        patient=patient, cycle=cycle, kind=CareEvent.Kind.CYCLE_END, setting="home", planned_at=ends_at
    )


@pytest.fixture
def completed(discharge, case_manager, agency, home_nurse):
    handoff = draft_handoff(discharge, case_manager, agency)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    svc.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=SYNTHESIS)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        svc.handoff_complete(handoff=handoff, actor=home_nurse)
    return Handoff.objects.get(pk=handoff.pk)


def grant_end(handoff) -> dt.datetime | None:
    return AccessGrant.objects.get(pk=handoff.access_grant_id).ends_at


def sees(user, patient) -> bool:
    return Patient.objects.visible_to(user).filter(pk=patient.pk).exists()


def test_the_home_nurse_records_red_flags_up_to_the_last_home_bag_change(pump_off, completed, home_nurse, patient):
    """The review's case: 72 hours after the last handoff action the agency lost the patient,
    though the infusion ran at home to day 28; a fever with confusion never reached anyone."""
    last_bag = CareEvent.objects.filter(cycle=completed.cycle, kind="bag_change").order_by("-planned_at").first()
    with time_machine.travel(last_bag.planned_at - dt.timedelta(hours=1), tick=False):
        check = check_in_record(
            patient=patient,
            actor=home_nurse,
            checked_at=timezone.now(),
            temperature=Decimal("39.0"),
            temperature_unit="C",
            pump_status="alarm",
            signs=["confusion"],
        )
    assert check.pk
    assert grant_end(completed) == pump_off.planned_at + HOURS_AFTER
    with time_machine.travel(pump_off.planned_at + HOURS_AFTER - dt.timedelta(minutes=1), tick=False):
        assert sees(home_nurse, patient)
    with time_machine.travel(pump_off.planned_at + HOURS_AFTER + dt.timedelta(seconds=1), tick=False):
        assert not sees(home_nurse, patient)
        with pytest.raises(PermissionDenied):
            check_in_record(
                patient=patient,
                actor=home_nurse,
                checked_at=timezone.now(),
                temperature=Decimal("37.0"),
                temperature_unit="C",
                pump_status="running",
            )


def test_the_grant_follows_the_cycle_end_when_a_break_moves_it(pump_off, completed, home_nurse, patient):
    later = pump_off.planned_at + dt.timedelta(days=3)  # a three-day break extends the cycle
    event_move(event=pump_off, planned_at=later)
    assert grant_end(completed) == later + HOURS_AFTER
    with time_machine.travel(later + dt.timedelta(hours=1), tick=False):
        assert sees(home_nurse, patient)

    sooner = pump_off.planned_at - dt.timedelta(days=1)  # the plan rebuilt: the pump comes off earlier
    event_move(event=pump_off, planned_at=sooner)
    assert grant_end(completed) == sooner + HOURS_AFTER


def test_a_cycle_end_brought_to_now_ends_the_window_the_usual_hours_after(pump_off, completed):
    """A stop for good moves the pump-off to the stop: the window ends those hours after it."""
    with time_machine.travel(completed.completed_at + dt.timedelta(days=2), tick=False):
        now = timezone.now()
        event_move(event=pump_off, planned_at=now)
    assert grant_end(completed) == now + HOURS_AFTER


def test_a_stop_for_good_at_home_ends_the_window_the_usual_hours_after_the_stop(
    pump_off, completed, oncologist, home_nurse, patient
):
    stopped_at = completed.completed_at + dt.timedelta(days=1)
    with time_machine.travel(stopped_at + dt.timedelta(minutes=5), tick=False):
        course_stop_for_good(course=completed.course, stopped_at=stopped_at, reason="Grade 4 CRS", actor=oncologist)
    assert Handoff.objects.get(pk=completed.pk).status == Handoff.Status.COMPLETED
    assert grant_end(completed) == stopped_at + HOURS_AFTER
    with time_machine.travel(stopped_at + HOURS_AFTER - dt.timedelta(minutes=1), tick=False):
        assert sees(home_nurse, patient)  # the days after a grade 4 CRS, still followed at home
    with time_machine.travel(stopped_at + HOURS_AFTER + dt.timedelta(seconds=1), tick=False):
        assert not sees(home_nurse, patient)


def test_a_cancelled_cycle_end_leaves_the_window_that_the_work_gives(pump_off, completed):
    """No pump-off planned any more: the window ends as the work has it (the first visit done at
    completion, nothing else open: those hours after completion), never open-ended."""
    with time_machine.travel(completed.completed_at + dt.timedelta(days=2), tick=False):
        event_cancel(event=pump_off, reason="No longer in the plan")
    assert grant_end(completed) == completed.completed_at + HOURS_AFTER


def test_a_grant_already_ended_or_revoked_is_not_opened_again(pump_off, completed, home_nurse, patient):
    AccessGrant.objects.filter(pk=completed.access_grant_id).update(revoked_at=timezone.now())
    event_move(event=pump_off, planned_at=pump_off.planned_at + dt.timedelta(days=3))
    assert not sees(home_nurse, patient)


def test_a_readmission_accepted_by_the_hospital_ends_the_home_window_at_once(
    pump_off, completed, home_nurse, patient, case_manager, ward
):
    from accounts.models import Unit

    from ...factories import UnitFactory, UserFactory

    hospital = UnitFactory(
        name="Haematology Ward 9",
        organisation=ward.organisation,
        kind=Unit.Kind.INPATIENT_WARD,
        time_zone=ward.time_zone,
    )
    ward_nurse = UserFactory(username="ward9nurse", role="nurse", unit=hospital)
    assert sees(home_nurse, patient)
    stop = CareEvent.objects.create(
        patient=patient, cycle=completed.cycle, kind=CareEvent.Kind.INTERRUPTION, planned_at=timezone.now()
    )
    readmission = Handoff.objects.create(
        patient=patient,
        course=completed.course,
        cycle=completed.cycle,
        event=stop,
        kind=Handoff.Kind.HOME_HOSPITAL,
        from_unit=patient.unit,
        from_person=case_manager,
        to_unit=hospital,
        created_by=case_manager,
        status=Handoff.Status.ACKNOWLEDGED,
        sent_at=timezone.now(),
        acknowledged_at=timezone.now(),
        acknowledged_by=ward_nurse,
        patient_summary="Back with a fever",
        contingency_plan="Call the ward",
    )
    readmission.access_grant = AccessGrant.objects.create(patient=patient, unit=hospital, reason="readmission")
    readmission.save(update_fields=["access_grant"])
    svc.handoff_accept(handoff=readmission, actor=ward_nurse, synthesis=SYNTHESIS)
    assert not sees(home_nurse, patient)
    assert sees(ward_nurse, patient)


def test_a_break_at_home_extends_the_cycle_and_the_window_with_it(
    patient, nurse, nurse2, case_manager, oncologist, agency, home_nurse
):
    """The plan as the schedule builds it: a pump occlusion at home stops the infusion for two
    days; the restart moves the cycle's end by the break, and the home window's end with it."""
    from patients.models import Interruption
    from patients.services import interruption_restart, interruption_stop

    from ...patients.helpers import rr_course
    from ..handoff_helpers import complete_checklist, publish_transition_template

    publish_transition_template()
    course = rr_course(patient, start=timezone.localdate() - dt.timedelta(days=8), cycles=1, now=timezone.now())
    discharge = CareEvent.objects.get(cycle__course=course, kind=CareEvent.Kind.DISCHARGE_HOME)
    end = CareEvent.objects.get(cycle__course=course, kind=CareEvent.Kind.CYCLE_END)
    complete_checklist(discharge, workers={"nurse": nurse, "case_manager": case_manager}, verifier=nurse2)
    # The visit is due from the discharge, not from the clock: this discharge is on day 10, a day or
    # two from now, so "30 hours from now" fell before it late in the day and no action was a visit.
    visit = svc.ActionSpec("First home visit", Role.NURSE, discharge.planned_at + dt.timedelta(hours=24))
    handoff = draft_handoff(discharge, case_manager, agency, actions=[visit])
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    svc.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=SYNTHESIS)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        handoff = svc.handoff_complete(handoff=handoff, actor=home_nurse)
    assert grant_end(handoff) == end.planned_at + HOURS_AFTER

    stopped_at = discharge.planned_at + dt.timedelta(days=2)
    stop = interruption_stop(
        course=course,
        stopped_at=stopped_at,
        cause=Interruption.Cause.PUMP_OR_LINE,
        detail="Pump occlusion alarm",
        actor=nurse,
        now=stopped_at + dt.timedelta(minutes=10),
    )
    restarted_at = stopped_at + dt.timedelta(days=2)
    interruption_restart(interruption=stop, restarted_at=restarted_at, actor=oncologist, now=restarted_at)
    end.refresh_from_db()
    assert end.planned_at > discharge.planned_at + dt.timedelta(days=20)  # moved on by the break
    assert grant_end(handoff) == end.planned_at + HOURS_AFTER


def test_the_receiving_unit_sees_no_cycles_events_page(client, completed, home_nurse, patient):
    """Found by review: through the grant the home nurse opened /cycles/<id>/events/, the plan and
    its checklists' progress by role, while the event page beside it was 404: a grant-only reader
    sees the patient, the toxicity watch and the handoffs, not the plan and its work."""
    from ...accounts.helpers import verified_login

    verified_login(client, home_nurse)
    assert Patient.objects.visible_to(home_nurse).filter(pk=patient.pk).exists()
    assert client.get(f"/events/{completed.event_id}/").status_code == 404
    assert client.get(f"/cycles/{completed.event.cycle_id}/events/").status_code == 404
