"""Handoffs through the API: a new draft, its steps, and their refusals in the pages' words."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Unit
from coordination.handoffs.models import Handoff, HandoffActivity
from coordination.handoffs.policy import HandoffConflict
from coordination.handoffs.services import handoff_return
from coordination.models import Notification
from patients.models import CareEvent

from ..coordination.handoff_helpers import draft_handoff, home_bag_change_after, make_agency, make_home_nurse
from ..factories import OrganisationFactory, UnitFactory, UserFactory
from .helpers import bearer, token_for


def new_handoff(discharge, agency, **changes) -> dict:
    return {
        "event": discharge.pk,
        "to_unit": agency.pk,
        "illness_severity": "watcher",
        "patient_summary": "Cycle 1 day 4, no CRS.",
        "pump": "CADD-Solis 5 mL/h",
        "line": "PICC right arm",
        "contingency_plan": "Fever above 38.5 °C: call the ward.",
        "actions": [
            {
                "text": "First home visit",
                "role": "nurse",
                "due_at": (discharge.planned_at + dt.timedelta(days=1)).isoformat(),
            }
        ],
        **changes,
    }


def create(client, user, body):
    return client.post(reverse("api:handoff-list"), body, content_type="application/json", **bearer(token_for(user)))


def test_the_case_manager_makes_a_draft_handoff(client, case_manager, discharge, agency):
    response = create(client, case_manager, new_handoff(discharge, agency))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["to_unit"] == agency.pk and len(body["actions"]) == 1
    assert Handoff.objects.get(pk=body["id"]).from_person == case_manager


def test_a_draft_without_its_summary_is_refused_with_the_forms_message(client, case_manager, discharge, agency):
    response = create(client, case_manager, new_handoff(discharge, agency, patient_summary=""))
    assert response.status_code == 400
    assert response.json()["errors"]["patient_summary"] == ["Write the patient summary."]
    assert not Handoff.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"to_unit": 999999}, "to_unit"), ({"actions": [{"text": "Visit"}]}, "actions.0.role"), ({"pumps": "x"}, "pumps")],
    ids=["foreign-unit-id", "incomplete-action", "unknown-field"],
)
def test_bad_handoff_input_is_refused_at_its_field(client, case_manager, discharge, agency, changes, field):
    response = create(client, case_manager, new_handoff(discharge, agency, **changes))
    assert response.status_code == 400 and field in response.json()["errors"], response.json()
    assert not Handoff.objects.exists()


@pytest.mark.parametrize("who", ["other-organisation", "other-unit", "former-member", "nobody"])
def test_a_receiving_person_outside_the_unit_gets_one_neutral_answer(client, case_manager, discharge, agency, who):
    # Neither a name nor "no user has the id": the answer must not tell who exists, or where.
    units = {
        "other-organisation": UnitFactory(organisation=OrganisationFactory(name="Other Hospital Trust")),
        "other-unit": make_agency(agency, "Other agency"),
    }
    person = UserFactory(last_name="Secretname", unit=units.get(who, agency), is_active=who != "former-member")
    person_id = person.pk + 1000 if who == "nobody" else person.pk
    response = create(client, case_manager, new_handoff(discharge, agency, to_person=person_id))
    assert response.status_code == 400
    assert response.json()["errors"] == {"to_person": ["Choose an active member of the receiving unit."]}
    assert b"Secretname" not in response.content
    assert not Handoff.objects.exists()


@pytest.mark.parametrize("who", ["member", "stranger", "no-unit"])
def test_another_organisations_unit_gets_one_neutral_answer_whoever_is_named(
    client, case_manager, discharge, agency, who
):
    # Naming another organisation's unit with one of its members, with someone else, or a unit id
    # nobody has: one answer, about the unit, so that no pair of answers tells who works where.
    elsewhere = UnitFactory(organisation=OrganisationFactory(name="Other Hospital Trust"))
    member = UserFactory(last_name="Secretname", unit=elsewhere)
    unit_id = elsewhere.pk + 1000 if who == "no-unit" else elsewhere.pk
    person_id = member.pk if who == "member" else UserFactory(unit=agency, is_active=False).pk
    response = create(client, case_manager, new_handoff(discharge, agency, to_unit=unit_id, to_person=person_id))
    assert response.status_code == 400
    assert response.json()["errors"] == {"to_unit": ["Choose one of the units that receive this patient's handoffs."]}
    assert b"Secretname" not in response.content and not Handoff.objects.exists()


def test_an_active_member_of_the_receiving_unit_is_addressed(client, case_manager, discharge, agency):
    home_nurse = make_home_nurse(agency)
    response = create(client, case_manager, new_handoff(discharge, agency, to_person=home_nurse.pk))
    assert response.status_code == 201, response.content
    assert Handoff.objects.get().to_person == home_nurse


def test_an_event_of_another_teams_patient_is_not_found(client, outsider, discharge, agency):
    response = create(client, outsider, new_handoff(discharge, agency))
    assert response.status_code == 404
    assert not Handoff.objects.exists()


@pytest.mark.parametrize("event_is", ["done", "a-bag-change"])
def test_a_handoff_for_an_event_the_form_does_not_offer_is_refused_at_its_field(
    client, case_manager, patient, discharge, agency, event_is
):
    # The page offers the patient's events still to come that a handoff belongs to (a discharge, a
    # stop or restart, a cycle start): a discharge done already, or a bag change, is none of them.
    event = discharge
    if event_is == "done":
        CareEvent.objects.filter(pk=discharge.pk).update(status=CareEvent.Status.DONE)
    else:
        event = home_bag_change_after(discharge)
    readmitting = UnitFactory(organisation=agency.organisation, kind=Unit.Kind.INPATIENT_WARD)
    to_unit, kind = (agency, "hospital_home") if event_is == "done" else (readmitting, "home_hospital")
    response = create(client, case_manager, new_handoff(event, to_unit, kind=kind))
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["event"]
    assert not Handoff.objects.exists()


def step(client, name, handoff, user, body=None, *, secret: str = ""):
    data = json.dumps(body) if body is not None else ""
    url = reverse(f"api:handoff-{name}", args=[handoff.pk])
    return client.post(url, data, content_type="application/json", **bearer(secret or token_for(user)))


def counts() -> tuple[int, int, int]:
    return AuditEvent.objects.count(), HandoffActivity.objects.count(), Notification.objects.count()


def retried(client, name, handoff, user, body=None) -> dict:
    """The step twice, the answer to the first lost: the retry answers as the first did, and
    changes, tells and logs nothing more."""
    secret = token_for(user)
    first = step(client, name, handoff, user, body, secret=secret)
    assert first.status_code == 200, first.content
    before = counts()
    again = step(client, name, handoff, user, body, secret=secret)
    assert again.status_code == 200, again.content
    assert again.json() == first.json() and counts() == before
    return first.json()


def test_the_receiving_nurse_acknowledges_then_another_members_acknowledgement_is_a_conflict(
    client, case_manager, discharge, agency, nurse, nurse2
):
    from ..coordination.handoff_helpers import complete_checklist

    complete_checklist(discharge, workers={"nurse": nurse}, verifier=nurse2)
    handoff = draft_handoff(discharge, case_manager, agency)
    assert retried(client, "send", handoff, case_manager)["status"] == "sent"
    homenurse = make_home_nurse(agency)
    assert retried(client, "acknowledge", handoff, homenurse)["status"] == "acknowledged"
    again = step(client, "acknowledge", handoff, make_home_nurse(agency, username="homenurse2"))
    assert again.status_code == 409 and again.json()["detail"].startswith("Already acknowledged by")


def test_each_step_retried_by_whoever_took_it_with_the_same_words_answers_as_it_did(
    client, case_manager, discharge, agency, nurse, nurse2
):
    from ..coordination.handoff_helpers import SYNTHESIS, at_home, complete_checklist, first_visit_done

    complete_checklist(discharge, workers={"nurse": nurse}, verifier=nurse2)
    handoff = draft_handoff(discharge, case_manager, agency)
    step(client, "send", handoff, case_manager)
    homenurse = make_home_nurse(agency)
    step(client, "acknowledge", handoff, homenurse)
    assert retried(client, "accept", handoff, homenurse, {"synthesis": SYNTHESIS})["status"] == "accepted"
    other = step(client, "accept", handoff, homenurse, {"synthesis": "Something else."})
    assert other.status_code == 409 and other.json()["detail"].startswith("Already accepted by you")
    accepted = Handoff.objects.get(pk=handoff.pk)
    with at_home(accepted):  # the home care actions are done once the patient has left the ward
        first_visit_done(accepted, homenurse)
        visit = {"first_visit_at": timezone.now().isoformat()}
        assert retried(client, "complete", handoff, homenurse, visit)["status"] == "completed"
        later = {"first_visit_at": (timezone.now() - dt.timedelta(minutes=30)).isoformat()}
        assert step(client, "complete", handoff, homenurse, later).status_code == 409


def test_a_return_and_a_cancellation_retried_answer_as_they_did_and_another_reason_is_a_conflict(
    client, case_manager, discharge, agency, nurse, nurse2
):
    from ..coordination.handoff_helpers import complete_checklist

    complete_checklist(discharge, workers={"nurse": nurse}, verifier=nurse2)
    handoff = draft_handoff(discharge, case_manager, agency)
    step(client, "send", handoff, case_manager)
    homenurse = make_home_nurse(agency)
    # Returned, the handoff is no longer the receiving unit's to see (its window closed): an API
    # retry is a 404 before it reaches the step. The service answers a retry as it did.
    assert step(client, "return", handoff, homenurse, {"reason": "Pump not stated"}).status_code == 200
    before = counts()
    again = handoff_return(handoff=handoff, actor=homenurse, reason="Pump not stated")
    assert again.status == Handoff.Status.RETURNED and counts() == before
    with pytest.raises(HandoffConflict, match="Returned by you"):
        handoff_return(handoff=handoff, actor=homenurse, reason="Line not stated")
    assert Handoff.objects.get(pk=handoff.pk).return_reason == "Pump not stated"
    assert retried(client, "cancel", handoff, case_manager, {"reason": "Discharge postponed"})["status"] == "cancelled"
    assert step(client, "cancel", handoff, case_manager, {"reason": "Other"}).status_code == 409
    assert step(client, "cancel", handoff, nurse, {"reason": "Discharge postponed"}).status_code == 409


def test_the_sender_acknowledging_is_refused_with_the_policys_sentence(
    client, case_manager, discharge, agency, nurse, nurse2
):
    from coordination.handoffs import policy
    from coordination.handoffs.services import handoff_send

    from ..coordination.handoff_helpers import complete_checklist

    complete_checklist(discharge, workers={"nurse": nurse}, verifier=nurse2)
    handoff = handoff_send(handoff=draft_handoff(discharge, case_manager, agency), actor=case_manager)
    response = client.post(
        reverse("api:handoff-acknowledge", args=[handoff.pk]),
        content_type="application/json",
        **bearer(token_for(case_manager)),
    )
    decision = policy.can_acknowledge(case_manager, handoff)
    assert not decision
    assert response.status_code == 403 and response.json()["detail"] == decision.reason
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.SENT


@pytest.mark.parametrize("role", ["pharmacist", "oncologist"])
def test_a_member_who_may_not_take_a_handoff_over_is_not_addressed(client, case_manager, discharge, agency, role):
    # Only a nurse, case manager or coordinator acknowledges and accepts: an addressee who may not
    # would be the only one told of it, and nobody who can act would hear. As the form offers.
    person = make_home_nurse(agency, role=role)
    response = create(client, case_manager, new_handoff(discharge, agency, to_person=person.pk))
    assert response.status_code == 400
    assert response.json()["errors"] == {"to_person": ["Choose an active member of the receiving unit."]}
    assert not Handoff.objects.exists()


def test_an_action_due_out_of_range_is_refused_at_its_index(client, case_manager, discharge, agency):
    body = new_handoff(discharge, agency)
    body["actions"].append({"text": "Call the caregiver", "role": "case_manager", "due_at": "2001-12-02T09:00:00Z"})
    response = create(client, case_manager, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "actions.1.due_at": ["Each action is due between a week ago and 120 days from now."]
    }


def test_completing_before_the_first_home_visit_is_a_conflict_that_says_so(
    client, case_manager, discharge, agency, nurse, nurse2
):
    from coordination.handoffs import services as svc

    from ..coordination.handoff_helpers import SYNTHESIS, complete_checklist

    complete_checklist(discharge, workers={"nurse": nurse}, verifier=nurse2)
    handoff = svc.handoff_send(handoff=draft_handoff(discharge, case_manager, agency), actor=case_manager)
    homenurse = make_home_nurse(agency)
    svc.handoff_acknowledge(handoff=handoff, actor=homenurse)
    svc.handoff_accept(handoff=handoff, actor=homenurse, synthesis=SYNTHESIS)
    url = reverse("api:handoff-complete", args=[handoff.pk])
    response = client.post(url, content_type="application/json", **bearer(token_for(homenurse)))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Mark “First home visit” done first")
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.ACCEPTED


def _action(text, role, due_at, purpose=None) -> dict:
    action = {"text": text, "role": role, "due_at": due_at.isoformat()}
    return action if purpose is None else {**action, "purpose": purpose}


def test_a_drafts_actions_take_and_show_their_purpose(client, case_manager, discharge, agency):
    left = discharge.planned_at
    body = new_handoff(discharge, agency)
    body["actions"] = [
        _action("First home visit: pump and line check", "nurse", left + dt.timedelta(hours=20), "first_visit"),
        _action("First bag change at home", "nurse", left + dt.timedelta(hours=24), "first_bag_change"),
        _action("Call the caregiver", "case_manager", left + dt.timedelta(hours=2)),
    ]
    response = create(client, case_manager, body)
    assert response.status_code == 201, response.content
    shown = {action["text"]: action["purpose"] for action in response.json()["actions"]}
    assert shown == {
        "First home visit: pump and line check": "first_visit",
        "First bag change at home": "first_bag_change",
        "Call the caregiver": "",
    }
    handoff = Handoff.objects.get(pk=response.json()["id"])
    assert handoff.first_visit_action().text == "First home visit: pump and line check"
    fetched = client.get(reverse("api:handoff-detail", args=[handoff.pk]), **bearer(token_for(case_manager)))
    assert {action["purpose"] for action in fetched.json()["actions"]} == {"first_visit", "first_bag_change", ""}


@pytest.mark.parametrize(
    "visit_hours, bag_hours, field, words",
    [
        # The first bag change at home before the first visit (the nurse checks the pump and line first).
        (20, 4, "actions.1.due_at", "The first bag change at home comes after the first home visit"),
        # The first home visit before the patient has left the ward.
        (-3, 24, "actions.0.due_at", "The first home visit is at home, after the discharge"),
    ],
)
def test_a_draft_out_of_the_clinical_order_at_home_is_refused_at_the_action(
    client, case_manager, discharge, agency, visit_hours, bag_hours, field, words
):
    left = discharge.planned_at
    body = new_handoff(discharge, agency)
    body["actions"] = [
        _action("First home visit", "nurse", left + dt.timedelta(hours=visit_hours), "first_visit"),
        _action("First bag change at home", "nurse", left + dt.timedelta(hours=bag_hours), "first_bag_change"),
    ]
    response = create(client, case_manager, body)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == [field] and errors[field][0].startswith(words), errors
    assert not Handoff.objects.exists()


@pytest.mark.parametrize(
    "purposes, field, message",
    [
        (["first_visit", "first_visit"], "actions.1.text", "Only one action is the first home visit."),
        (["home_visit", ""], "actions.0.purpose", '"home_visit" is not a valid choice.'),
    ],
)
def test_a_purpose_given_twice_or_unknown_is_refused_at_its_action(
    client, case_manager, discharge, agency, purposes, field, message
):
    left = discharge.planned_at
    body = new_handoff(discharge, agency)
    body["actions"] = [
        _action(f"Visit {n}", "nurse", left + dt.timedelta(hours=20 + n), purpose) for n, purpose in enumerate(purposes)
    ]
    response = create(client, case_manager, body)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {field: [message]}
    assert not Handoff.objects.exists()
