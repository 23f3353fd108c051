"""The handoff as the home care agency lives it: the discharge, the first home visit (pump and line
check), then the bag changes; and the receiving side's actions done when they can have been done,
once the patient is home and not days before they are due."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from coordination.handoffs import services as svc
from coordination.handoffs.models import HandoffAction, HandoffActionDefault, HandoffUnitRule
from coordination.handoffs.policy import HandoffConflict
from patients.models import CareEvent

from ..handoff_helpers import (
    SYNTHESIS,
    at_home,
    complete_checklist,
    content,
    draft_handoff,
    form_data,
    make_discharge,
    publish_transition_template,
)

Purpose = HandoffAction.Purpose


@pytest.fixture
def ready(patient, nurse, nurse2, case_manager):
    publish_transition_template()
    event = make_discharge(patient)
    complete_checklist(event, workers={"nurse": nurse, "case_manager": case_manager}, verifier=nurse2)
    return event


def accepted(handoff, case_manager, home_nurse):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=home_nurse)
    svc.handoff_accept(handoff=handoff, actor=home_nurse, synthesis=SYNTHESIS)
    return handoff


# --- 1. the first home visit is at home ----------------------------------------------------------


def test_a_nurses_action_due_before_the_discharge_is_not_the_first_home_visit(ready, case_manager, agency):
    """ "Call the ward before leaving" is a nurse's action due on the ward: the first home visit is the
    nurses' first action once the patient has left."""
    left = ready.planned_at
    handoff = draft_handoff(
        ready,
        case_manager,
        agency,
        actions=[
            svc.ActionSpec(
                "Check the pump with the ward nurse before leaving", Role.NURSE, left - dt.timedelta(hours=2)
            ),
            svc.ActionSpec("Visit at home", Role.NURSE, left + dt.timedelta(hours=20)),
        ],
    )
    assert handoff.first_visit_action().text == "Visit at home"


def test_the_first_home_visit_cannot_be_recorded_before_the_discharge(ready, case_manager, home_nurse, agency):
    handoff = accepted(draft_handoff(ready, case_manager, agency), case_manager, home_nurse)
    with at_home(handoff):
        svc.handoff_action_complete(action=handoff.first_visit_action(), actor=home_nurse)
        with pytest.raises(ValidationError) as refused:
            svc.handoff_complete(
                handoff=handoff, actor=home_nurse, first_visit_at=ready.planned_at - dt.timedelta(hours=1)
            )
    assert "comes after the planned discharge home" in refused.value.message_dict["first_visit_at"][0]
    handoff.refresh_from_db()
    assert handoff.status == "accepted" and handoff.first_visit_at is None


# --- 2. the default actions, in the clinical order -----------------------------------------------


def test_the_default_actions_put_the_first_home_visit_before_a_sooner_first_bag_change(patient):
    """A 24-hour bag changed 6 hours after the discharge: the nurse's first visit is then, not the day
    after the bag was changed by nobody who had checked the pump."""
    event = make_discharge(patient, with_bag_changes=False)
    CareEvent.objects.create(
        patient=patient,
        cycle=event.cycle,
        kind=CareEvent.Kind.BAG_CHANGE,
        sequence=1,
        setting="home",
        planned_at=event.planned_at + dt.timedelta(hours=6),
    )
    by_purpose = {action.purpose: action for action in svc.default_actions(event)}
    visit, bag = by_purpose[Purpose.FIRST_VISIT], by_purpose[Purpose.FIRST_BAG_CHANGE]
    assert event.planned_at < visit.due_at <= bag.due_at == event.planned_at + dt.timedelta(hours=6)


def test_the_default_actions_are_data_that_an_administrator_edits(patient):
    HandoffActionDefault.objects.filter(purpose=Purpose.FIRST_VISIT).update(
        text="First home visit by the agency nurse", hours_after_discharge=12
    )
    event = make_discharge(patient)  # bag changes from 24 hours after the discharge
    visit = next(a for a in svc.default_actions(event) if a.purpose == Purpose.FIRST_VISIT)
    assert (visit.text, visit.due_at) == (
        "First home visit by the agency nurse",
        event.planned_at + dt.timedelta(hours=12),
    )
    assert all(row.source for row in HandoffActionDefault.objects.all())


def test_a_draft_with_the_first_bag_change_before_the_first_visit_is_refused_at_its_due_time(
    ready, case_manager, agency
):
    left = ready.planned_at
    actions = [
        svc.ActionSpec("First home visit", Role.NURSE, left + dt.timedelta(hours=24), Purpose.FIRST_VISIT),
        svc.ActionSpec("First bag change at home", Role.NURSE, left + dt.timedelta(hours=6), Purpose.FIRST_BAG_CHANGE),
    ]
    with pytest.raises(ValidationError) as refused:
        svc.handoff_create(event=ready, content=content(agency, actions=actions), actor=case_manager)
    assert "comes after the first home visit" in refused.value.message_dict["actions.1.due_at"][0]


def test_a_draft_whose_first_visit_is_due_on_the_ward_is_refused_at_its_due_time(ready, case_manager, agency):
    actions = [
        svc.ActionSpec("First home visit", Role.NURSE, ready.planned_at - dt.timedelta(hours=1), Purpose.FIRST_VISIT)
    ]
    with pytest.raises(ValidationError) as refused:
        svc.handoff_create(event=ready, content=content(agency, actions=actions), actor=case_manager)
    assert "after the discharge" in refused.value.message_dict["actions.0.due_at"][0]


def test_the_form_keeps_what_each_suggested_row_is_for_and_refuses_the_bag_change_first_at_its_row(
    client, ready, case_manager, agency, patient
):
    client.force_login(case_manager)
    body = client.get(reverse("handoff_new", args=[patient.pk])).content.decode()
    assert 'name="actions-1-purpose" value="first_visit"' in body

    local = timezone.localtime(ready.planned_at, patient.unit.zone)
    data = form_data(
        ready,
        agency,
        **{
            "actions-0-purpose": "first_visit",
            "actions-1-text": "First bag change at home",
            "actions-1-role": "nurse",
            "actions-1-due_at": (local + dt.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"),
            "actions-1-purpose": "first_bag_change",
        },
    )
    response = client.post(reverse("handoff_new", args=[patient.pk]), data)
    assert response.status_code == 200
    row = response.content.decode().split('name="actions-1-due_at_0"')[1]
    assert "comes after the first home visit" in row.split("actions-2")[0]


# --- 3. done when it can have been done ----------------------------------------------------------


def test_an_action_cannot_be_marked_done_while_the_patient_is_still_on_the_ward(
    ready, case_manager, home_nurse, agency
):
    handoff = accepted(draft_handoff(ready, case_manager, agency), case_manager, home_nurse)
    visit = handoff.first_visit_action()
    with pytest.raises(HandoffConflict, match="Not before the planned discharge home"):
        svc.handoff_action_complete(action=visit, actor=home_nurse)
    visit.refresh_from_db()
    assert visit.status == HandoffAction.Status.OPEN


def test_an_action_cannot_be_marked_done_days_before_it_is_due(ready, case_manager, home_nurse, agency):
    bag = svc.ActionSpec("First bag change at home", Role.NURSE, ready.planned_at + dt.timedelta(days=3))
    handoff = draft_handoff(ready, case_manager, agency, actions=[*content(agency).actions, bag])
    accepted(handoff, case_manager, home_nurse)
    action = handoff.actions.get(text="First bag change at home")
    with at_home(handoff), pytest.raises(HandoffConflict, match="12 hours before it is due"):
        svc.handoff_action_complete(action=action, actor=home_nurse)
    svc.handoff_action_complete(action=action, actor=home_nurse, now=bag.due_at - dt.timedelta(hours=11))
    assert HandoffAction.objects.get(pk=action.pk).status == HandoffAction.Status.DONE


def test_the_margin_is_the_receiving_units_rule(ready, case_manager, home_nurse, agency):
    HandoffUnitRule.objects.create(unit=agency, done_early_hours=2)
    handoff = accepted(draft_handoff(ready, case_manager, agency), case_manager, home_nurse)
    visit = handoff.first_visit_action()
    with pytest.raises(HandoffConflict, match="2 hours before it is due"):
        svc.handoff_action_complete(action=visit, actor=home_nurse, now=visit.due_at - dt.timedelta(hours=3))
    svc.handoff_action_complete(action=visit, actor=home_nurse, now=visit.due_at - dt.timedelta(hours=1))


def test_the_page_offers_done_only_when_the_service_accepts_it_and_says_from_when(
    client, ready, case_manager, home_nurse, agency
):
    handoff = accepted(draft_handoff(ready, case_manager, agency), case_manager, home_nurse)
    client.force_login(home_nurse)
    body = client.get(reverse("handoff_detail", args=[handoff.pk])).content.decode()
    assert 'Done<span class="visually-hidden">: First home visit' not in body
    assert "Not before the planned discharge home" in body
    response = client.post(reverse("handoff_action_done", args=[handoff.first_visit_action().pk]))
    assert response.status_code in (200, 302, 409)
    assert HandoffAction.objects.get(pk=handoff.first_visit_action().pk).status == HandoffAction.Status.OPEN
    with at_home(handoff):
        client.force_login(home_nurse)
        body = client.get(reverse("handoff_detail", args=[handoff.pk])).content.decode()
    assert 'Done<span class="visually-hidden">: First home visit' in body
