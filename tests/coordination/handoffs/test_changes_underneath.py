"""A sent handoff whose record changes underneath it (found by a review): a discharge called off
or a course stopped for good withdraws it, accepted or not; an item of the sending checklist
undone since it was sent stops its acceptance; a receiver named in the draft who has since left
the receiving unit stops its sending."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from checklists.models import Task
from checklists.services import task_undo
from coordination.handoffs import services as svc
from coordination.handoffs.policy import HandoffConflict
from coordination.models import Handoff, Notification
from patients.models import Patient
from patients.services import course_extend, course_plan, course_stop_for_good, event_cancel

from ...factories import OrganisationFactory, UnitFactory, with_unmistakable_names
from ..handoff_helpers import SYNTHESIS, draft_handoff, make_home_nurse, ready_discharge, write_handoff


@pytest.fixture
def discharge(patient, nurse, nurse2, case_manager):
    return ready_discharge(patient, nurse=nurse, nurse2=nurse2, case_manager=case_manager)


@pytest.fixture
def sent(discharge, case_manager, agency):
    return svc.handoff_send(handoff=draft_handoff(discharge, case_manager, agency), actor=case_manager)


def sees(user, patient) -> bool:
    return Patient.objects.visible_to(user).filter(pk=patient.pk).exists()


def test_a_discharge_called_off_withdraws_its_handoff_and_closes_the_agencys_window(
    sent, home_nurse, case_manager, patient
):
    assert sees(home_nurse, patient)
    event_cancel(event=sent.event, reason="Stays in hospital: fever", actor=case_manager)
    sent.refresh_from_db()
    assert sent.status == Handoff.Status.CANCELLED and sent.cancelled_by is None
    assert (
        sent.cancel_reason
        == "Withdrawn by the tracker: its planned discharge home was cancelled (Stays in hospital: fever)"
    )
    assert not sees(home_nurse, patient)
    told = Notification.objects.filter(title="Handoff withdrawn: its event was cancelled")
    assert set(told.values_list("recipient__username", flat=True)) == {home_nurse.username, case_manager.username}
    with pytest.raises(HandoffConflict, match="Cancelled by the tracker"):
        svc.handoff_acknowledge(handoff=sent, actor=home_nurse)


def test_a_course_stopped_for_good_withdraws_even_an_accepted_handoff(sent, home_nurse, oncologist, patient):
    svc.handoff_acknowledge(handoff=sent, actor=home_nurse)
    svc.handoff_accept(handoff=sent, actor=home_nurse, synthesis=SYNTHESIS)
    course_stop_for_good(course=sent.course, stopped_at=timezone.now(), reason="Grade 4 CRS", actor=oncologist)
    sent.refresh_from_db()
    assert sent.status == Handoff.Status.CANCELLED
    assert not sees(home_nurse, patient)


def test_a_checklist_item_undone_since_sending_stops_the_acceptance(sent, home_nurse, patient):
    pump = Task.objects.get(event=sent.event, text="Pump programming verified")
    task_undo(task=pump, actor=pump.completed_by, reason="Rate was wrong: reprogramming")
    svc.handoff_acknowledge(handoff=sent, actor=home_nurse)
    with pytest.raises(ValidationError) as refused:
        svc.handoff_accept(handoff=sent, actor=home_nurse, synthesis=SYNTHESIS)
    said = " ".join(refused.value.messages)
    assert "record changed since it was sent" in said and "Pump programming verified (open, nurse)" in said
    sent.refresh_from_db()
    assert sent.status == Handoff.Status.ACKNOWLEDGED


def test_a_receiver_who_left_the_unit_after_the_draft_stops_the_sending(discharge, case_manager, agency):
    addressee = make_home_nurse(agency)
    draft = draft_handoff(discharge, case_manager, agency, to_person=addressee)
    addressee.unit = UnitFactory(name="Other Agency", organisation=OrganisationFactory(), kind=agency.kind)
    addressee.save()
    with pytest.raises(ValidationError) as refused:
        svc.handoff_send(handoff=draft, actor=case_manager)
    assert f"{addressee} no longer works in {agency}" in " ".join(refused.value.messages)
    draft.refresh_from_db()
    assert draft.status == Handoff.Status.DRAFT and not Notification.objects.filter(recipient=addressee).exists()


def test_a_bag_change_moved_after_sending_is_shown_beside_the_facts_as_sent(sent, home_nurse, case_manager, client):
    """Found by a review: the page kept showing the next bag change as sent, beside a bag calendar
    with the new time, and nothing said which was right."""
    from django.urls import reverse

    from coordination.handoffs.selectors import handoff_facts_changed, next_bag_change
    from patients.services import event_move

    assert handoff_facts_changed(sent) == []
    bag = next_bag_change(sent.event)
    event_move(event=bag, planned_at=bag.planned_at + dt.timedelta(hours=6), actor=case_manager)
    (changed,) = handoff_facts_changed(sent)
    label, as_sent, now = changed
    assert label == "Next bag change" and as_sent == dict(sent.facts)["Next bag change"] and now != as_sent
    client.force_login(home_nurse)
    page = client.get(reverse("handoff_detail", args=[sent.pk])).content.decode()
    assert "Changed on the record since it was sent" in page and f"Next bag change: {now} (sent as {as_sent})" in page


def test_an_addressee_deactivated_after_sending_does_not_stop_the_units_acceptance(discharge, case_manager, agency):
    """The addressee's leaving stops the sending (above), not the receiving unit's acceptance once
    sent: the unit is told and reminded in their place, and must be able to take the patient over."""
    addressee = make_home_nurse(agency, "addressee")
    colleague = make_home_nurse(agency, "colleague")
    handoff = draft_handoff(discharge, case_manager, agency, to_person=addressee)
    svc.handoff_send(handoff=handoff, actor=case_manager)
    addressee.is_active = False
    addressee.save()
    svc.handoff_acknowledge(handoff=handoff, actor=colleague)

    svc.handoff_accept(handoff=handoff, actor=colleague, synthesis=SYNTHESIS)

    handoff.refresh_from_db()
    assert handoff.status == Handoff.Status.ACCEPTED and handoff.accepted_by == colleague


def test_an_addressee_who_may_no_longer_accept_stops_the_sending(discharge, case_manager, agency):
    addressee = make_home_nurse(agency, "addressee")
    handoff = draft_handoff(discharge, case_manager, agency, to_person=addressee)
    addressee.role = "pharmacist"
    addressee.save()
    with pytest.raises(ValidationError) as refused:
        svc.handoff_send(handoff=handoff, actor=case_manager)
    assert f"{addressee} may no longer take handoffs over in {agency}" in " ".join(refused.value.messages)


def test_an_addressee_who_may_no_longer_accept_leaves_the_unit_told_in_their_place(discharge, case_manager, agency):
    """Named, then made a pharmacist after sending: the receiving unit's people who may act hear of
    the handoff's cancel, as they would for an addressee who left, not only someone who cannot act."""
    addressee = make_home_nurse(agency, "addressee")
    colleague = make_home_nurse(agency, "colleague")
    handoff = svc.handoff_send(
        handoff=draft_handoff(discharge, case_manager, agency, to_person=addressee), actor=case_manager
    )
    addressee.role = "pharmacist"
    addressee.save()

    svc.handoff_cancel(handoff=handoff, actor=case_manager, reason="Discharge postponed")

    told = Notification.objects.filter(title="Handoff cancelled by the sender")
    assert set(told.values_list("recipient__username", flat=True)) == {colleague.username}


def test_a_cycle_with_a_handoff_is_not_taken_off_the_plan_and_says_why(patient, case_manager, agency):
    """Found by a review: fewer planned cycles deleted a future cycle whose discharge had a handoff,
    which the handoff holds (its history): a 500, the plan half changed. Now a refusal at the field."""
    start = timezone.localdate() + dt.timedelta(days=3)
    course = course_plan(
        patient=patient,
        indication="relapsed_refractory",
        start_date=start,
        planned_cycles=3,
        bag_hours=48,
        outpatient_setting="home",
        actor=case_manager,
    )
    third = course.cycles.get(number=3)
    write_handoff(third.events.order_by("planned_at").first(), sender=case_manager, to_unit=agency)

    with pytest.raises(ValidationError) as refused:
        course_extend(course=course, planned_cycles=2)
    assert refused.value.message_dict["planned_cycles"] == [
        "Cycle 3 cannot be taken off the plan: its handoff must stay with it. "
        "Plan at least 3 cycles, or stop the course for good."
    ]
    course.refresh_from_db()
    assert course.planned_cycles == 3 and course.cycles.filter(number=3).exists()


def test_a_transferred_patients_open_handoffs_go_to_the_new_units_coordinator(
    sent, discharge, case_manager, coordinator, ward, agency, patient
):
    """Found by a review: a handoff stayed with the unit that the patient left. Its coordinator's
    review queue and board listed it, name and MRN, for a patient that they no longer see (the
    handoff's page answered 404), and were the ones reminded of its overdue acknowledgement; the
    new unit's coordinator, who now answers for the patient, could neither find nor review it."""
    from accounts.models import Role
    from coordination.handoffs import policy
    from coordination.handoffs.selectors import handoff_review_queue, handoffs_waiting
    from patients.services import patient_transfer

    from ...factories import UserFactory

    day_ward = UnitFactory(name="Day Ward", organisation=ward.organisation, time_zone=ward.time_zone)
    day_coordinator = UserFactory(username="daycoordinator", role=Role.COORDINATOR, unit=day_ward)
    signed = write_handoff(
        discharge,
        sender=case_manager,
        to_unit=agency,
        status=Handoff.Status.CANCELLED,
        cancel_reason="Old",
        sent_at=timezone.now(),
    )
    patient_transfer(patient=patient, to_unit=day_ward, reason="Beds: moved to the day ward", actor=coordinator)

    now = timezone.now()
    sent.refresh_from_db()
    assert sent.from_unit == day_ward
    assert [h.pk for h in handoff_review_queue(day_ward.pk, now=now)] == [sent.pk]
    assert [h.pk for h in handoffs_waiting(day_ward.pk, now=now)] == [sent.pk]
    assert sent.pk not in [h.pk for h in handoff_review_queue(ward.pk, now=now)]
    assert handoffs_waiting(ward.pk, now=now) == []
    assert policy.can_comment(day_coordinator, sent)
    assert not policy.can_comment(coordinator, sent)
    # The history says so; a handoff that is over stays where it was sent from.
    assert sent.activities.filter(detail__contains="Haematology Ward to Day Ward").exists()
    signed.refresh_from_db()
    assert signed.from_unit == ward


def test_a_discharge_moved_after_sending_is_told_to_both_sides_and_shown_on_the_page(
    sent, home_nurse, case_manager, client
):
    """Found by a review: a discharge put off by two days left the sent handoff as it was, its
    actions due from the old time (a first home visit before the patient is home), and nobody was
    told: the receiving side planned its visit for a patient still in hospital."""
    from django.urls import reverse

    from coordination.handoffs.selectors import handoff_facts_changed
    from patients.services import event_move

    event = sent.event
    event_move(event=event, planned_at=event.planned_at + dt.timedelta(days=2), actor=case_manager)

    told = Notification.objects.filter(title__startswith="Handoff's planned discharge home moved")
    assert set(told.values_list("recipient__username", flat=True)) == {home_nurse.username, case_manager.username}
    (notice,) = told.filter(recipient=home_nurse)
    assert "check the due times of its actions" in notice.body
    changed = {label: (as_sent, now) for label, as_sent, now in handoff_facts_changed(Handoff.objects.get(pk=sent.pk))}
    as_sent, now = changed["Event and time"]
    assert as_sent == dict(sent.facts)["Event and time"] and now != as_sent
    client.force_login(home_nurse)
    page = client.get(reverse("handoff_detail", args=[sent.pk])).content.decode()
    assert f"Event and time: {now} (sent as {as_sent})" in page
    assert sent.activities.filter(detail__startswith="Its planned discharge home moved").exists()


def test_the_receiving_nurse_reads_that_the_handoff_was_withdrawn_though_the_patient_is_no_longer_hers(
    client, sent, home_nurse, case_manager, patient
):
    """The withdrawal closes the agency's window on the patient, and a notification naming a
    patient its reader no longer sees is hidden and retired: the one saying the discharge is off
    must still reach her, naming the patient as an email does (initials, the MRN's last 4), with
    no link to a page that no longer opens for her."""
    from coordination.reminders.content import patient_label
    from coordination.reminders.services import notifications_retire_unseeable

    with_unmistakable_names(patient)  # a generated family name once matched a user's on the page
    event_cancel(event=sent.event, reason="Stays in hospital: fever", actor=case_manager)
    notifications_retire_unseeable()
    client.force_login(home_nurse)
    page = client.get("/notifications/").content.decode()
    assert "Handoff withdrawn: its event was cancelled" in page and patient_label(patient) in page
    assert patient.family_name not in page and patient.mrn not in page
    (told,) = Notification.objects.filter(recipient=home_nurse, title__startswith="Handoff withdrawn")
    assert told.link == "" and told.read_at is None
    # The sender, who still sees the patient, reads the name and MRN and opens the handoff.
    (sender_told,) = Notification.objects.filter(recipient=case_manager, title__startswith="Handoff withdrawn")
    assert patient.mrn in sender_told.body and sender_told.link == f"/handoffs/{sent.pk}/"
