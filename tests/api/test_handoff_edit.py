"""Editing a draft handoff through the API: PUT replaces the whole draft, its actions included,
as the page's edit form does, and is refused as the page refuses."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from coordination.handoffs.models import Handoff, HandoffActivity
from coordination.handoffs.services import handoff_return

from ..coordination.handoff_helpers import complete_checklist, draft_handoff, home_bag_change_after, make_home_nurse
from .helpers import READ, bearer, token_for
from .test_handoffs import new_handoff, step


def put(client, user, handoff, body, *, scope=None):
    secret = token_for(user, scope=scope) if scope else token_for(user)
    url = reverse("api:handoff-detail", args=[handoff.pk])
    return client.put(url, body, content_type="application/json", **bearer(secret))


def snapshot(handoff) -> tuple:
    handoff = Handoff.objects.get(pk=handoff.pk)
    actions = list(handoff.actions.order_by("pk").values_list("text", "role", "due_at"))
    return handoff.status, handoff.patient_summary, handoff.to_unit_id, actions


def two_actions(discharge) -> list[dict]:
    return [
        {
            "text": "First home visit",
            "role": "nurse",
            "due_at": (discharge.planned_at + dt.timedelta(days=1)).isoformat(),
        },
        {
            "text": "Call the caregiver about the pump alarm",
            "role": "case_manager",
            "due_at": (discharge.planned_at + dt.timedelta(hours=6)).isoformat(),
        },
    ]


def test_the_sender_replaces_a_drafts_summary_and_actions(client, case_manager, discharge, agency):
    handoff = draft_handoff(discharge, case_manager, agency)
    body = new_handoff(discharge, agency, patient_summary="Cycle 1 day 5, afebrile.", actions=two_actions(discharge))
    response = put(client, case_manager, handoff, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["status"] == "draft" and answer["patient_summary"] == "Cycle 1 day 5, afebrile."
    assert sorted(action["text"] for action in answer["actions"]) == [
        "Call the caregiver about the pump alarm",
        "First home visit",
    ]
    sent = {(a["text"], a["role"], dt.datetime.fromisoformat(a["due_at"])) for a in two_actions(discharge)}
    assert set(snapshot(handoff)[3]) == sent
    # In the handoff's history and the audit log as the page's edit is.
    assert HandoffActivity.objects.filter(handoff=handoff, actor=case_manager).exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, actor_id=case_manager.pk).exists()


def test_a_returned_handoff_edited_is_a_draft_again(client, case_manager, discharge, agency, nurse, nurse2):
    complete_checklist(discharge, workers={"nurse": nurse}, verifier=nurse2)
    handoff = draft_handoff(discharge, case_manager, agency)
    assert step(client, "send", handoff, case_manager).status_code == 200
    handoff_return(handoff=handoff, actor=make_home_nurse(agency), reason="Pump not stated")
    response = put(client, case_manager, handoff, new_handoff(discharge, agency, pump="CADD-Solis, 10 mL/h, 24 h bag"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "draft" and response.json()["pump"] == "CADD-Solis, 10 mL/h, 24 h bag"


def test_a_sent_handoff_is_not_edited_and_says_why(client, case_manager, discharge, agency, nurse, nurse2):
    complete_checklist(discharge, workers={"nurse": nurse}, verifier=nurse2)
    handoff = draft_handoff(discharge, case_manager, agency)
    assert step(client, "send", handoff, case_manager).status_code == 200
    before = snapshot(handoff)
    response = put(client, case_manager, handoff, new_handoff(discharge, agency, patient_summary="Changed."))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Only a draft can be edited")
    assert snapshot(handoff) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"actions": [{"text": "Visit", "role": "nurse"}]}, "actions.0.due_at"),
        ({"patient_summary": ""}, "patient_summary"),
        ({"to_unit": 999999}, "to_unit"),
        ({"status": "sent"}, "status"),
    ],
    ids=["incomplete-action", "no-summary", "foreign-unit", "read-only-field"],
)
def test_bad_input_is_refused_at_its_field_and_nothing_changes(client, case_manager, discharge, agency, changes, field):
    handoff = draft_handoff(discharge, case_manager, agency)
    before = snapshot(handoff)
    response = put(client, case_manager, handoff, new_handoff(discharge, agency, **changes))
    assert response.status_code == 400 and field in response.json()["errors"], response.json()
    assert snapshot(handoff) == before


def test_another_event_is_refused_at_the_event(client, case_manager, patient, discharge, agency):
    handoff = draft_handoff(discharge, case_manager, agency)
    other = home_bag_change_after(discharge)
    before = snapshot(handoff)
    response = put(client, case_manager, handoff, new_handoff(other, agency))
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "event": ["A handoff stays with its event: cancel this one and make a new one for the other event."]
    }
    assert snapshot(handoff) == before


def test_a_read_only_token_and_an_outsider_change_nothing(client, case_manager, outsider, discharge, agency):
    handoff = draft_handoff(discharge, case_manager, agency)
    before = snapshot(handoff)
    body = new_handoff(discharge, agency, patient_summary="Changed.")
    refused = put(client, case_manager, handoff, body, scope=READ)
    assert refused.status_code == 403 and refused.json()["code"] == "read_only_token"
    assert put(client, outsider, handoff, body).status_code == 404
    assert snapshot(handoff) == before


def test_a_partial_edit_is_not_offered(client, case_manager, discharge, agency):
    # PUT replaces the whole draft; a PATCH that left the actions out could not say whether it
    # meant "keep them" or "none": it is not a method of the handoff.
    handoff = draft_handoff(discharge, case_manager, agency)
    url = reverse("api:handoff-detail", args=[handoff.pk])
    response = client.patch(
        url, {"patient_summary": "x"}, content_type="application/json", **bearer(token_for(case_manager))
    )
    assert response.status_code == 405
