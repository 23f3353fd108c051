"""Handoff services: the flow, each side's permissions, the access window, actions as tasks,
the checklist that must be complete before sending, bad input, and the coordinator's review."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuditEvent, Role
from checklists.models import Task, TemplateItem
from checklists.services import task_undo, task_verify
from coordination.handoffs import services as svc
from coordination.handoffs.models import HandoffUnitRule
from coordination.handoffs.policy import HandoffConflict
from coordination.handoffs.selectors import handoff_actions_for as actions_asked_alone
from coordination.handoffs.selectors import handoff_facts, handoffs_visible_to
from coordination.models import Handoff, HandoffAction, HandoffActivity, Notification
from patients.grading import FEVER_CELSIUS
from patients.models import AccessGrant, Patient

from ...factories import UnitFactory, UserFactory
from ..handoff_helpers import (
    SYNTHESIS,
    at_home,
    complete_checklist,
    content,
    draft_handoff,
    first_visit_done,
    make_agency,
    make_discharge,
    make_home_nurse,
    program_pump,
    publish_transition_template,
)

S = Handoff.Status


def handoff_actions_for(user):
    """The user's receiving-side actions, asked both ways and alike: alone (the selector reads whom
    the user sees) and as My work asks (with the patients it has read; compiled on PostgreSQL)."""
    alone = actions_asked_alone(user)
    seen = list(Patient.objects.visible_to(user).values_list("pk", flat=True))
    assert actions_asked_alone(user, visible_patient_ids=seen) == alone
    return alone


@pytest.fixture
def discharge(patient, nurse, nurse2, case_manager):
    publish_transition_template()
    return make_discharge(patient)


@pytest.fixture
def workers(nurse, case_manager):
    return {"nurse": nurse, "case_manager": case_manager}


@pytest.fixture
def ready(discharge, workers, nurse2):
    complete_checklist(discharge, workers=workers, verifier=nurse2)
    return discharge


@pytest.fixture
def handoff(ready, case_manager, agency):
    return draft_handoff(ready, case_manager, agency)


def sees(user, patient) -> bool:
    return Patient.objects.visible_to(user).filter(pk=patient.pk).exists()


def fresh(handoff) -> Handoff:
    return Handoff.objects.get(pk=handoff.pk)


def accepted(handoff, sender, receiver):
    svc.handoff_send(handoff=handoff, actor=sender)
    svc.handoff_acknowledge(handoff=handoff, actor=receiver)
    return svc.handoff_accept(handoff=handoff, actor=receiver, synthesis=SYNTHESIS)


# --- the flow ---------------------------------------------------------------------------------


def test_a_handoff_goes_from_draft_to_completed_and_records_who_did_each_step(handoff, case_manager, home_nurse):
    assert handoff.status == S.DRAFT and handoff.from_unit == handoff.patient.unit
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    svc.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=SYNTHESIS)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        svc.handoff_complete(handoff=handoff, actor=home_nurse)

        done = fresh(handoff)
        assert done.status == S.COMPLETED
        assert (done.from_person, done.acknowledged_by, done.accepted_by, done.completed_by) == (
            case_manager,
            home_nurse,
            home_nurse,
            home_nurse,
        )
        assert done.sent_at <= done.acknowledged_at <= done.accepted_at <= done.completed_at
        assert done.synthesis == SYNTHESIS
        assert done.time_to_acknowledge is not None and done.time_to_accept >= done.time_to_acknowledge
        assert list(done.activities.values_list("action", flat=True)) == [
            "create",
            "send",
            "acknowledge",
            "accept",
            "action_done",
            "complete",
        ]


def test_the_last_premedication_is_written_as_the_pages_write_a_moment(handoff, patient, nurse, nurse2, pharmacist):
    """Found by a walk through the demo: "2026-10-28 08:00, before the cycle start", the stored
    form, where every other fact of the handoff writes a moment with its weekday."""
    rate = program_pump(handoff.event, nurse=nurse, pharmacist=pharmacist, checker=nurse2)
    # The start's premedication, given at 07:45 on the unit's clock, as checklists.recorded stores it.
    Task.objects.filter(pk=rate.pk).update(records=TemplateItem.Records.PREMEDICATION_TIME, value="2026-03-02 07:45")
    facts = dict(handoff_facts(fresh(handoff)))
    assert facts["Last premedication"] == "Mon 2 Mar 2026, 07:45, before the cycle start"


def test_each_step_is_in_the_audit_log_under_its_name_and_actor(handoff, case_manager, home_nurse):
    accepted(handoff, case_manager, home_nurse)
    logged = set(
        AuditEvent.objects.filter(object_type="coordination_handoff", object_id=str(handoff.pk)).values_list(
            "action", "actor_id"
        )
    )
    assert {("send", case_manager.pk), ("acknowledge", home_nurse.pk), ("accept", home_nurse.pk)} <= logged
    assert AuditEvent.objects.filter(action="send", patient_id=handoff.patient_id).exists()


def test_sending_fixes_the_facts_from_the_record(handoff, case_manager, patient, nurse, nurse2, pharmacist):
    program_pump(handoff.event, nurse=nurse, pharmacist=pharmacist, checker=nurse2)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    facts = dict(fresh(handoff).facts)
    assert facts["Cycle and day"].startswith("Cycle 1 (induction), day")
    assert "discharge home on day 4" in facts["Cycle and day"].lower()
    assert facts["Bag duration"] == "48 hours outside hospital"
    assert facts["Weight"].startswith("70 kg, measured")  # as the scale showed it, not 70.00 kg
    assert facts["Pump programming"].endswith(f"by {nurse}, double-checked by {nurse2}")
    assert facts["Last premedication"] == "not recorded"  # no premedication task in this record
    assert facts["Next bag change"] != "none planned in this course"
    assert {"Inpatient days", "Last premedication"} <= facts.keys()
    assert facts["Pump and line events"] == "none recorded"
    assert facts["Contacts"].endswith("caregiver: not recorded")


def test_the_facts_carry_the_pump_log_and_the_contacts(handoff, case_manager, patient, nurse):
    from decimal import Decimal

    from patients.models import PumpEvent

    patient.caregiver_name, patient.caregiver_phone = "Sam Doe", "+1 212 555 0101"
    patient.save()
    patient.unit.phone_24h = "+1 212 555 0100"
    patient.unit.save()
    PumpEvent.objects.create(
        patient=patient,
        course=handoff.course,
        kind=PumpEvent.Kind.OCCLUSION_ALARM,
        occurred_at=timezone.now() - dt.timedelta(hours=2),
        reported_by=PumpEvent.Reporter.CAREGIVER,
        volume_left_ml=Decimal("80"),
        action_taken="Kink undone",
        out_of_hours=True,
        recorded_by=nurse,
    )
    svc.handoff_send(handoff=handoff, actor=case_manager)
    facts = dict(fresh(handoff).facts)
    assert facts["Pump and line events"].endswith("alarm: occlusion (out of hours): Kink undone")
    assert facts["Contacts"] == (
        f"{patient.unit} 24/7: +1 212 555 0100; doctor on call: not set; caregiver: Sam Doe +1 212 555 0101"
    )


def test_the_pump_fact_reads_the_recorded_pump_rate_and_its_double_check_never_an_items_text(
    handoff, nurse, nurse2, pharmacist
):
    # The discharge's "Pump programming verified" is done and double-checked, but records nothing.
    assert Task.objects.get(event=handoff.event, text="Pump programming verified").verified_by == nurse2
    assert dict(handoff_facts(handoff))["Pump programming"] == "not recorded"

    rate = program_pump(handoff.event, nurse=nurse, pharmacist=pharmacist)
    at = timezone.localtime(rate.completed_at, handoff.patient.unit.zone).strftime("%a %-d %b %Y, %H:%M")
    assert dict(handoff_facts(handoff))["Pump programming"] == f"programmed {at} by {nurse}"

    check = rate.dependents.get()
    task_verify(task=check, actor=nurse2)
    assert dict(handoff_facts(handoff))["Pump programming"] == f"programmed {at} by {nurse}, double-checked by {nurse2}"


def test_sending_tells_the_receiving_unit_and_a_return_tells_the_sender(handoff, case_manager, home_nurse, agency):
    colleague = make_home_nurse(agency, "homenurse2", Role.CASE_MANAGER)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    assert set(Notification.objects.filter(link=f"/handoffs/{handoff.pk}/").values_list("recipient", flat=True)) == {
        home_nurse.pk,
        colleague.pk,
    }
    svc.handoff_return(handoff=handoff, actor=home_nurse, reason="No bag-change dates")
    assert Notification.objects.filter(recipient=case_manager, title__startswith="Handoff returned").exists()


def test_the_acknowledge_by_deadline_follows_the_receiving_unit(handoff, case_manager, agency):
    HandoffUnitRule.objects.create(unit=agency, acknowledge_hours=2)
    now = timezone.now()
    svc.handoff_send(handoff=handoff, actor=case_manager, now=now)
    sent = fresh(handoff)
    assert sent.acknowledge_by == now + dt.timedelta(hours=2)
    assert not sent.acknowledgement_overdue(now + dt.timedelta(hours=1))
    assert sent.acknowledgement_overdue(now + dt.timedelta(hours=2, minutes=1))


def test_the_default_deadline_is_four_hours(handoff, case_manager):
    now = timezone.now()
    svc.handoff_send(handoff=handoff, actor=case_manager, now=now)
    assert fresh(handoff).acknowledge_by == now + dt.timedelta(hours=4)


# --- no sending while the checklist is open -------------------------------------------------------


def test_a_handoff_is_not_sent_while_a_required_item_is_open(discharge, workers, nurse2, case_manager, agency):
    complete_checklist(discharge, workers=workers, verifier=nurse2, leave_open=["Supplies delivered"])
    handoff = draft_handoff(discharge, case_manager, agency)
    with pytest.raises(ValidationError, match="Supplies delivered"):
        svc.handoff_send(handoff=handoff, actor=case_manager)
    assert fresh(handoff).status == S.DRAFT
    assert not AccessGrant.objects.exists()


def test_an_undone_item_blocks_sending_again(ready, case_manager, agency):
    handoff = draft_handoff(ready, case_manager, agency)
    teach_back = Task.objects.get(event=ready, text="Caregiver teach-back done")
    task_undo(task=teach_back, actor=teach_back.completed_by, reason="Caregiver was not there")
    with pytest.raises(ValidationError, match="Caregiver teach-back done"):
        svc.handoff_send(handoff=handoff, actor=case_manager)


def test_a_double_check_not_yet_done_blocks_sending(discharge, workers, case_manager, agency, nurse2):
    complete_checklist(discharge, workers=workers, verifier=nurse2)
    pump = Task.objects.get(event=discharge, text="Pump programming verified")
    Task.objects.filter(pk=pump.pk).update(verified_by=None, verified_at=None)
    handoff = draft_handoff(discharge, case_manager, agency)
    with pytest.raises(ValidationError, match="awaiting independent verification"):
        svc.handoff_send(handoff=handoff, actor=case_manager)


def test_an_optional_item_left_open_does_not_block_sending(discharge, workers, nurse2, case_manager, agency):
    complete_checklist(discharge, workers=workers, verifier=nurse2, leave_open=["Take-home leaflet given"])
    handoff = draft_handoff(discharge, case_manager, agency)
    assert svc.handoff_send(handoff=handoff, actor=case_manager).status == S.SENT


def test_a_handoff_without_pump_line_or_actions_is_not_sent(ready, case_manager, agency):
    handoff = draft_handoff(ready, case_manager, agency, pump="", line="", actions=[])
    with pytest.raises(ValidationError) as refused:
        svc.handoff_send(handoff=handoff, actor=case_manager)
    text = " ".join(refused.value.messages)
    assert "pump" in text and "line" in text and "at least one action" in text
    assert fresh(handoff).status == S.DRAFT


def test_a_handoff_whose_discharge_was_cancelled_is_not_sent(handoff, ready, case_manager):
    from patients.services import event_cancel

    event_cancel(event=ready, reason="Stays in hospital: fever", actor=case_manager)
    assert fresh(handoff).status == S.CANCELLED  # withdrawn by the tracker with its discharge
    with pytest.raises(HandoffConflict, match="Cancelled by the tracker at .*: Withdrawn by the tracker"):
        svc.handoff_send(handoff=handoff, actor=case_manager)


def test_the_starter_hospital_to_home_template_is_the_handoffs_checklist(patient, nurse, case_manager, agency):
    from checklists.starter import starter_library_load

    starter_library_load()
    event = make_discharge(patient, with_bag_changes=False)
    handoff = draft_handoff(event, case_manager, agency)
    blockers = " ".join(svc.send_blockers(handoff))
    assert "Hospital-to-home transition" in blockers
    for text in ["Pump programming verified", "Bag-change calendar handed over", "Caregiver teach-back done"]:
        assert text.split()[0] in blockers
    assert "24/7 contact" in blockers and "First home visit booked" in blockers


# --- access follows the handoff -------------------------------------------------------------------


def test_the_receiving_unit_sees_the_patient_from_sending_only(handoff, case_manager, home_nurse, patient):
    assert not sees(home_nurse, patient)
    assert not handoffs_visible_to(home_nurse).exists()  # a draft is the sending side's
    svc.handoff_send(handoff=handoff, actor=case_manager)
    assert sees(home_nurse, patient)
    assert list(handoffs_visible_to(home_nurse)) == [fresh(handoff)]
    grant = fresh(handoff).access_grant
    assert grant.unit == handoff.to_unit and grant.ends_at is None and grant.revoked_at is None


def test_another_agency_sees_nothing(handoff, case_manager, ward, patient):
    elsewhere = make_home_nurse(make_agency(ward, "Another agency"), "othernurse")
    svc.handoff_send(handoff=handoff, actor=case_manager)
    assert not sees(elsewhere, patient)
    assert not handoffs_visible_to(elsewhere).exists()


def test_a_return_closes_access_and_an_edit_makes_it_a_draft_that_can_be_sent_again(
    handoff, case_manager, home_nurse, patient, agency
):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    svc.handoff_return(handoff=handoff, actor=home_nurse, reason="No line site given")
    returned = fresh(handoff)
    assert returned.status == S.RETURNED and returned.return_reason == "No line site given"
    assert returned.access_grant.revoked_at is not None
    assert not sees(home_nurse, patient)

    svc.handoff_update(handoff=handoff, content=content(agency, line="PICC left arm"), actor=case_manager)
    assert fresh(handoff).status == S.DRAFT
    svc.handoff_send(handoff=handoff, actor=case_manager)
    resent = fresh(handoff)
    assert resent.status == S.SENT and resent.acknowledged_at is None and resent.access_grant.revoked_at is None
    assert resent.access_grant_id != returned.access_grant_id
    assert sees(home_nurse, patient)


def test_a_returned_handoff_is_sent_again_only_after_an_edit_and_its_due_times_are_checked_again(
    handoff, case_manager, home_nurse, agency
):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_return(handoff=handoff, actor=home_nurse, reason="No line site given")
    with pytest.raises(HandoffConflict, match="Edit the handoff to answer its return"):
        svc.handoff_send(handoff=handoff, actor=case_manager)
    assert fresh(handoff).status == S.RETURNED

    svc.handoff_update(handoff=handoff, content=content(agency, line="PICC left arm"), actor=case_manager)
    HandoffAction.objects.filter(handoff=handoff, text="First home visit").update(
        due_at=timezone.now() - dt.timedelta(days=8)  # the draft lay unsent for days
    )
    with pytest.raises(ValidationError, match="“First home visit” is due"):
        svc.handoff_send(handoff=handoff, actor=case_manager)
    assert fresh(handoff).status == S.DRAFT


def test_a_cancel_closes_access(handoff, case_manager, home_nurse, patient):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_cancel(handoff=handoff, actor=case_manager, reason="Discharge postponed")
    assert fresh(handoff).status == S.CANCELLED
    assert not sees(home_nurse, patient)


def test_completion_keeps_access_for_72_hours_then_it_ends(handoff, case_manager, home_nurse, patient, agency):
    accepted(handoff, case_manager, home_nurse)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        call = handoff.actions.get(text="Call the caregiver")
        svc.handoff_action_complete(action=call, actor=make_home_nurse(agency, "agencycm", Role.CASE_MANAGER))
        now = timezone.now()
        svc.handoff_complete(handoff=handoff, actor=home_nurse, now=now)
        assert fresh(handoff).access_grant.ends_at == now + dt.timedelta(hours=72)
        with time_machine.travel(now + dt.timedelta(hours=71), tick=False):
            assert sees(home_nurse, patient)
        with time_machine.travel(now + dt.timedelta(hours=72, seconds=1), tick=False):
            assert not sees(home_nurse, patient)
            assert not handoffs_visible_to(home_nurse).exists()
        assert sees(case_manager, patient)  # the care team keeps its patient


def test_the_receiving_side_keeps_access_while_its_actions_are_open_and_72_hours_after(
    ready, case_manager, home_nurse, patient, agency
):
    """A first bag change at home days after the first visit: the home nurse still sees the patient
    and the task when it is due, after the 72 hours that follow completion."""
    agency_manager = make_home_nurse(agency, "agencycm", Role.CASE_MANAGER)
    now = timezone.now()
    bag = svc.ActionSpec("First bag change at home", Role.NURSE, now + dt.timedelta(days=6))
    handoff = draft_handoff(ready, case_manager, agency, actions=[*content(agency).actions, bag])
    accepted(handoff, case_manager, home_nurse)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        svc.handoff_action_complete(action=handoff.actions.get(text="Call the caregiver"), actor=agency_manager)
        now = timezone.now()
        svc.handoff_complete(handoff=handoff, actor=home_nurse, now=now)
        # Open while the bag change is to do, and at the latest 72 hours after it was due: an action
        # nobody marks done does not keep the patient open to the unit for good.
        assert fresh(handoff).access_grant.ends_at == bag.due_at + dt.timedelta(hours=72)

        later = bag.due_at - dt.timedelta(hours=1)  # done an hour early: the window ends 72 hours on
        with time_machine.travel(later, tick=False):
            assert sees(home_nurse, patient)
            assert [a.text for a in handoff_actions_for(home_nurse)] == ["First bag change at home"]
            svc.handoff_action_complete(action=handoff.actions.get(text="First bag change at home"), actor=home_nurse)
        assert fresh(handoff).access_grant.ends_at == later + dt.timedelta(hours=72)
        with time_machine.travel(later + dt.timedelta(hours=71), tick=False):
            assert sees(home_nurse, patient)
        with time_machine.travel(later + dt.timedelta(hours=72, seconds=1), tick=False):
            assert not sees(home_nurse, patient)


def test_an_action_nobody_marks_done_does_not_keep_the_patient_open_for_good(
    ready, case_manager, home_nurse, patient, agency
):
    agency_manager = make_home_nurse(agency, "agencycm", Role.CASE_MANAGER)
    bag = svc.ActionSpec("First bag change at home", Role.NURSE, timezone.now() + dt.timedelta(days=6))
    handoff = draft_handoff(ready, case_manager, agency, actions=[*content(agency).actions, bag])
    accepted(handoff, case_manager, home_nurse)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        svc.handoff_action_complete(action=handoff.actions.get(text="Call the caregiver"), actor=agency_manager)
        svc.handoff_complete(handoff=handoff, actor=home_nurse)
        due = handoff.actions.get(text="First bag change at home").due_at
        with time_machine.travel(due + dt.timedelta(hours=71), tick=False):
            assert sees(home_nurse, patient)
        with time_machine.travel(due + dt.timedelta(hours=72, seconds=1), tick=False):
            assert not sees(home_nurse, patient) and handoff_actions_for(home_nurse) == []


def test_an_old_handoffs_open_action_stays_closed_when_a_later_grant_opens_the_patient_again(
    ready, case_manager, home_nurse, patient, agency
):
    """A handoff completed with an action still open, its window since closed (before access
    followed open actions): a later handoff to the same unit opens the patient again, but not the
    old handoff's work, which belongs to its own window."""
    handoff = draft_handoff(ready, case_manager, agency)
    accepted(handoff, case_manager, home_nurse)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        old = handoff.actions.filter(
            status=HandoffAction.Status.OPEN, role=Role.NURSE
        ).first() or handoff.actions.create(
            text="Check the line", role=Role.NURSE, due_at=timezone.now(), status=HandoffAction.Status.OPEN, order=99
        )
        Handoff.objects.filter(pk=handoff.pk).update(status=Handoff.Status.COMPLETED, completed_at=timezone.now())
        AccessGrant.objects.filter(pk=fresh(handoff).access_grant_id).update(
            ends_at=timezone.now() - dt.timedelta(hours=1)
        )
        AccessGrant.objects.create(patient=patient, unit=agency, reason="a later handoff", starts_at=timezone.now())

        assert sees(home_nurse, patient)  # the later grant
        assert old not in handoff_actions_for(home_nurse)
        with pytest.raises(HandoffConflict, match="window"):
            svc.handoff_action_complete(action=old, actor=home_nurse)


def test_the_period_after_completion_is_a_setting(handoff, case_manager, home_nurse, settings):
    settings.HANDOFF_ACCESS_HOURS_AFTER_COMPLETION = 24
    accepted(handoff, case_manager, home_nurse)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        handoff.actions.filter(status="open").update(status="done", done_by=home_nurse, done_at=timezone.now())
        now = timezone.now()
        svc.handoff_complete(handoff=handoff, actor=home_nurse, now=now)
        assert fresh(handoff).access_grant.ends_at == now + dt.timedelta(hours=24)


# --- actions become tasks of the receiving side ---------------------------------------------------


def test_accepting_turns_the_actions_into_tasks_of_their_roles(handoff, case_manager, home_nurse, agency):
    agency_manager = make_home_nurse(agency, "agencycm", Role.CASE_MANAGER)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    assert set(handoff.actions.values_list("status", flat=True)) == {HandoffAction.Status.PROPOSED}
    assert handoff_actions_for(home_nurse) == []

    svc.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=SYNTHESIS)
    actions = list(handoff.actions.order_by("due_at"))
    assert {a.status for a in actions} == {HandoffAction.Status.OPEN}
    assert all(a.taken_over_at for a in actions)
    assert [a.text for a in handoff_actions_for(home_nurse)] == ["First home visit"]
    assert [a.text for a in handoff_actions_for(agency_manager)] == ["Call the caregiver"]
    assert handoff_actions_for(case_manager) == []  # the sender's unit does not own them


def test_an_action_is_done_once_by_its_role_on_the_receiving_side(handoff, case_manager, nurse, home_nurse, agency):
    accepted(handoff, case_manager, home_nurse)
    visit = handoff.actions.get(text="First home visit")
    call = handoff.actions.get(text="Call the caregiver")
    with at_home(handoff):
        with pytest.raises(PermissionDenied):
            svc.handoff_action_complete(action=visit, actor=nurse)  # the ward's nurse
        with pytest.raises(PermissionDenied, match="case manager"):
            svc.handoff_action_complete(action=call, actor=home_nurse)
        svc.handoff_action_complete(action=visit, actor=home_nurse, note="All well")
        with pytest.raises(HandoffConflict, match="Already done by you"):
            svc.handoff_action_complete(action=visit, actor=home_nurse)
        visit.refresh_from_db()
        assert (visit.status, visit.done_by, visit.note) == ("done", home_nurse, "All well")
        assert handoff_actions_for(home_nurse) == []


def test_an_action_cannot_be_done_before_acceptance(handoff, case_manager, home_nurse):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    with pytest.raises(HandoffConflict, match="accepted first"):
        svc.handoff_action_complete(action=handoff.actions.get(role="nurse"), actor=home_nurse)


# --- permissions on each side ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["nurse", "oncologist", "case_manager"])
def test_the_sending_side_sends(handoff, request, role):
    sender = request.getfixturevalue(role)
    assert svc.handoff_send(handoff=handoff, actor=sender).status == S.SENT


@pytest.mark.parametrize("role", ["pharmacist", "coordinator", "home_nurse", "outsider"])
def test_others_may_not_send_or_cancel(handoff, request, role):
    someone = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        svc.handoff_send(handoff=handoff, actor=someone)
    with pytest.raises(PermissionDenied):
        svc.handoff_cancel(handoff=handoff, actor=someone, reason="x")
    assert fresh(handoff).status == S.DRAFT


def test_a_nurse_of_the_ward_who_is_not_on_the_care_team_may_not_send(handoff, ward):
    colleague = UserFactory(role=Role.NURSE, unit=ward)
    with pytest.raises(PermissionDenied):
        svc.handoff_send(handoff=handoff, actor=colleague)


@pytest.mark.parametrize("role", [Role.NURSE, Role.CASE_MANAGER, Role.COORDINATOR])
def test_the_receiving_unit_acknowledges_and_accepts(handoff, case_manager, agency, role):
    receiver = make_home_nurse(agency, f"agency-{role}", role)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=receiver)
    assert svc.handoff_accept(handoff=handoff, actor=receiver, synthesis=SYNTHESIS).status == S.ACCEPTED


@pytest.mark.parametrize("role", ["nurse", "case_manager", "coordinator", "oncologist", "outsider"])
def test_the_sending_side_and_strangers_may_not_act_for_the_receiver(handoff, case_manager, request, role):
    someone = request.getfixturevalue(role)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    for step in (
        lambda: svc.handoff_acknowledge(handoff=handoff, actor=someone),
        lambda: svc.handoff_return(handoff=handoff, actor=someone, reason="x"),
    ):
        with pytest.raises(PermissionDenied):
            step()
    assert fresh(handoff).status == S.SENT


def test_a_pharmacist_of_the_receiving_unit_may_not_accept(handoff, case_manager, agency):
    pharmacist = make_home_nurse(agency, "agencypharm", Role.PHARMACIST)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    with pytest.raises(PermissionDenied):
        svc.handoff_acknowledge(handoff=handoff, actor=pharmacist)


# --- no skipped step, one outcome -----------------------------------------------------------------


def test_acceptance_needs_an_acknowledgement_first(handoff, case_manager, home_nurse):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    with pytest.raises(HandoffConflict, match="Acknowledge receipt before accepting"):
        svc.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=SYNTHESIS)
    with pytest.raises(HandoffConflict):
        svc.handoff_complete(handoff=handoff, actor=home_nurse)
    assert fresh(handoff).status == S.SENT


def test_completion_needs_acceptance(handoff, case_manager, home_nurse):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    with pytest.raises(HandoffConflict, match="Already acknowledged"):
        svc.handoff_complete(handoff=handoff, actor=home_nurse)
    assert fresh(handoff).status == S.ACKNOWLEDGED


def test_completion_waits_for_the_first_home_visit_and_is_recorded_by_a_nurse(
    handoff, case_manager, home_nurse, agency
):
    """Completing says the first home visit is done: not while its action is open, and by a nurse
    of the receiving unit (who made it), not its case manager or coordinator."""
    accepted(handoff, case_manager, home_nurse)
    with at_home(handoff):
        with pytest.raises(HandoffConflict, match="Mark “First home visit” done first"):
            svc.handoff_complete(handoff=handoff, actor=home_nurse)
        svc.handoff_action_complete(action=handoff.actions.get(text="First home visit"), actor=home_nurse)
        for role in (Role.CASE_MANAGER, Role.COORDINATOR):
            with pytest.raises(PermissionDenied, match=f"Only a nurse of {agency} records the first home visit"):
                svc.handoff_complete(handoff=handoff, actor=make_home_nurse(agency, f"agency-{role}", role))
        assert fresh(handoff).status == S.ACCEPTED
        assert svc.handoff_complete(handoff=handoff, actor=home_nurse).status == S.COMPLETED


def test_a_second_click_is_answered_as_the_first_and_anothers_is_told_what_happened(
    handoff, case_manager, nurse, home_nurse, agency
):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    assert svc.handoff_send(handoff=handoff, actor=case_manager).status == S.SENT  # a retry: nothing more
    with pytest.raises(HandoffConflict, match=f"Already sent by {case_manager}"):
        svc.handoff_send(handoff=handoff, actor=nurse)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    assert svc.handoff_acknowledge(handoff=handoff, actor=home_nurse).status == S.ACKNOWLEDGED
    with pytest.raises(HandoffConflict, match=f"Already acknowledged by {home_nurse} at"):
        svc.handoff_acknowledge(handoff=handoff, actor=make_home_nurse(agency, "homenurse2"))
    assert handoff.activities.filter(action__in=["send", "acknowledge"]).count() == 2


def test_an_accepted_handoff_can_no_longer_be_cancelled_or_returned(handoff, case_manager, home_nurse):
    accepted(handoff, case_manager, home_nurse)
    with pytest.raises(HandoffConflict, match="Already accepted"):
        svc.handoff_cancel(handoff=handoff, actor=case_manager, reason="Changed our mind")
    with pytest.raises(HandoffConflict):
        svc.handoff_return(handoff=handoff, actor=home_nurse, reason="x")


def test_a_receiver_who_finds_it_cancelled_is_told_by_whom_and_why(handoff, case_manager, home_nurse):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    svc.handoff_cancel(handoff=handoff, actor=case_manager, reason="Discharge postponed")
    with pytest.raises(HandoffConflict, match=f"Cancelled by {case_manager} at .*: Discharge postponed"):
        svc.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=SYNTHESIS)
    assert fresh(handoff).status == S.CANCELLED


def test_a_sent_handoff_is_not_edited(handoff, case_manager, agency):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    with pytest.raises(HandoffConflict, match="Only a draft can be edited"):
        svc.handoff_update(handoff=handoff, content=content(agency), actor=case_manager)


def test_one_live_handoff_per_discharge(handoff, ready, case_manager, agency):
    with pytest.raises(ValidationError, match="already has a handoff"):
        draft_handoff(ready, case_manager, agency)
    svc.handoff_cancel(handoff=handoff, actor=case_manager, reason="Wrong agency")
    assert draft_handoff(ready, case_manager, agency).status == S.DRAFT


# --- bad input: a clear message, nothing changed --------------------------------------------------


def test_acceptance_without_a_synthesis_is_refused(handoff, case_manager, home_nurse):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    for blank in ("", "   "):
        with pytest.raises(ValidationError) as refused:
            svc.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=blank)
        assert "Write your synthesis" in refused.value.message_dict["synthesis"][0]
    unchanged = fresh(handoff)
    assert unchanged.status == S.ACKNOWLEDGED and unchanged.synthesis == "" and unchanged.accepted_at is None
    assert set(handoff.actions.values_list("status", flat=True)) == {"proposed"}


def test_a_return_without_a_reason_is_refused(handoff, case_manager, home_nurse, patient):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    with pytest.raises(ValidationError) as refused:
        svc.handoff_return(handoff=handoff, actor=home_nurse, reason=" ")
    assert "Say why you return" in refused.value.message_dict["reason"][0]
    assert fresh(handoff).status == S.SENT and sees(home_nurse, patient)


def test_a_cancel_without_a_reason_is_refused(handoff, case_manager):
    with pytest.raises(ValidationError, match="Say why the handoff is cancelled"):
        svc.handoff_cancel(handoff=handoff, actor=case_manager, reason="")
    assert fresh(handoff).status == S.DRAFT


def test_an_empty_contingency_plan_is_refused(ready, case_manager, agency):
    with pytest.raises(ValidationError) as refused:
        draft_handoff(ready, case_manager, agency, contingency_plan="  ")
    assert "contingency plan" in refused.value.message_dict["contingency_plan"][0]
    assert not Handoff.objects.exists()


def test_a_handoff_to_the_sending_unit_itself_is_refused(ready, case_manager, ward):
    with pytest.raises(ValidationError) as refused:
        draft_handoff(ready, case_manager, ward)
    assert "the sending unit itself" in refused.value.message_dict["to_unit"][0]
    assert not Handoff.objects.exists()


def test_the_database_refuses_a_handoff_to_its_own_unit_too(handoff):
    with pytest.raises(IntegrityError), transaction.atomic():
        Handoff.objects.filter(pk=handoff.pk).update(to_unit=handoff.from_unit)


def test_a_home_handoff_goes_to_a_home_health_agency(ready, case_manager, ward):
    clinic = UnitFactory(name="Day clinic", organisation=ward.organisation, kind="infusion_clinic")
    with pytest.raises(ValidationError, match="home-health agency"):
        draft_handoff(ready, case_manager, clinic)
    assert draft_handoff(ready, case_manager, clinic, kind="ward_clinic").to_unit == clinic


def test_oversized_text_is_refused_at_its_field(ready, case_manager, agency):
    with pytest.raises(ValidationError) as refused:
        draft_handoff(ready, case_manager, agency, patient_summary="x" * 4001)
    assert refused.value.message_dict["patient_summary"] == ["At most 4,000 characters."]


def test_a_future_first_visit_is_refused(handoff, case_manager, home_nurse):
    accepted(handoff, case_manager, home_nurse)
    with at_home(handoff):
        first_visit_done(handoff, home_nurse)
        with pytest.raises(ValidationError, match="cannot be in the future"):
            svc.handoff_complete(
                handoff=handoff, actor=home_nurse, first_visit_at=timezone.now() + dt.timedelta(hours=3)
            )
        assert fresh(handoff).status == S.ACCEPTED


# --- the coordinator's review ---------------------------------------------------------------------


def test_the_sending_units_coordinator_comments_flags_and_signs_off(handoff, case_manager, home_nurse, coordinator):
    accepted(handoff, case_manager, home_nurse)
    svc.handoff_comment(handoff=handoff, actor=coordinator, text="Acknowledged within the hour.")
    svc.handoff_flag(handoff=handoff, actor=coordinator, flagged=True, reason="Bag dates to check")
    with at_home(handoff):
        with pytest.raises(HandoffConflict, match="Only a completed handoff"):
            svc.handoff_sign_off(handoff=handoff, actor=coordinator)
        first_visit_done(handoff, home_nurse)
        svc.handoff_complete(handoff=handoff, actor=home_nurse)
        svc.handoff_sign_off(handoff=handoff, actor=coordinator)
        with pytest.raises(HandoffConflict, match="Already signed off by you"):
            svc.handoff_sign_off(handoff=handoff, actor=coordinator)
        reviewed = fresh(handoff)
        assert reviewed.flagged and reviewed.signed_off_by == coordinator
        assert reviewed.comments.get().text == "Acknowledged within the hour."
        svc.handoff_flag(handoff=handoff, actor=coordinator, flagged=False)
        assert not fresh(handoff).flagged
        assert HandoffActivity.objects.filter(handoff=handoff, action="sign_off").count() == 1


@pytest.mark.parametrize("role", ["case_manager", "nurse", "home_nurse"])
def test_only_the_coordinator_reviews(handoff, case_manager, request, role):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    someone = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        svc.handoff_comment(handoff=handoff, actor=someone, text="x")
    with pytest.raises(PermissionDenied):
        svc.handoff_flag(handoff=handoff, actor=someone, flagged=True, reason="x")


def test_a_flag_needs_a_reason(handoff, case_manager, coordinator):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    with pytest.raises(ValidationError, match="needs attention"):
        svc.handoff_flag(handoff=handoff, actor=coordinator, flagged=True, reason="")
    assert not fresh(handoff).flagged


# --- the contingency plan a new draft starts from ------------------------------------------------


def test_the_default_contingency_plan_calls_at_the_fever_that_the_grading_and_the_home_check_use():
    """CLINICAL.md: fever is a sign of CRS and of infection (seed: with a fever or chills, contact the
    doctor), and grading follows the ASTCT consensus, whose fever is 38.0 °C or more
    (patients.grading, which the home check's red flag reads too). Found by the clinical audit: a
    new handoff's contingency plan told the home to call only for a "fever above 38.5 °C", so a
    patient at 38.2 °C at home, already CRS grade 1 and a red flag at the daily check, was not to
    be called in."""
    plan = svc.DEFAULT_CONTINGENCY
    assert plan.startswith("Fever of 38.0 °C or more,")
    assert "38.5" not in plan
    assert "fever of 38.0 °C or more" in svc.REQUIRED_MESSAGES["contingency_plan"]
    assert FEVER_CELSIUS == Decimal("38.0")
