"""A token's scope: a read-only token reads the API and FHIR and changes nothing; a read-and-write
token acts as its user, as every token did before scopes (and as those tokens still do)."""

import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.api_auth import READ_ONLY
from accounts.models import AuditEvent, PersonalToken
from accounts.services import token_create
from checklists.models import Task, TaskActivity
from checklists.services import checklists_instantiate
from coordination.handoffs.models import Handoff, HandoffActivity

from ..checklists.helpers import make_event, publish_template
from ..coordination.handoff_helpers import complete_checklist, draft_handoff, make_agency, make_discharge
from .helpers import READ, READ_WRITE, bearer, token_for

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def task(patient):
    publish_template(items=[{"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    return Task.objects.get(event=event)


@pytest.fixture
def handoff(patient, ward, case_manager, nurse, nurse2):
    publish_template(
        items=[{"text": "Caregiver teach-back done"}], name="Hospital-to-home", trigger_kind="discharge_home"
    )
    discharge = make_discharge(patient, with_bag_changes=False)
    complete_checklist(discharge, workers={"nurse": nurse}, verifier=nurse2)
    return draft_handoff(discharge, case_manager, make_agency(ward))


def call(client, url, secret, body=None):
    return client.post(
        url, json.dumps(body) if body is not None else "", content_type="application/json", **bearer(secret)
    )


def test_a_read_only_token_reads_the_tasks_and_fhir(client, nurse, patient, task):
    secret = token_for(nurse, scope=READ)
    tasks = client.get(reverse("api:task-list"), **bearer(secret))
    assert tasks.status_code == 200 and [row["id"] for row in tasks.json()["results"]] == [task.pk]
    assert client.head(reverse("api:task-detail", args=[task.pk]), **bearer(secret)).status_code == 200
    fhir = client.get(f"/fhir/R4/Patient/{patient.pk}", **bearer(secret))
    assert (fhir.status_code, fhir.json()["id"]) == (200, str(patient.pk))


@pytest.mark.parametrize(("action", "body"), [("claim", None), ("complete", {"value": 70.5})])
def test_a_read_only_token_may_not_claim_or_complete_a_task(client, nurse, task, caplog, action, body):
    secret = token_for(nurse, scope=READ)
    token = PersonalToken.objects.get(user=nurse)
    changes_before = AuditEvent.objects.exclude(action=AuditEvent.Action.TOKEN_WRITE_REFUSED).count()
    with caplog.at_level(logging.WARNING, logger="accounts.signin"):
        response = call(client, reverse(f"api:task-{action}", args=[task.pk]), secret, body)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["detail"], problem["code"]) == (403, READ_ONLY, "read_only_token")
    # Nothing written: the task, its activity, and no change row in the audit log.
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN and Task.objects.get(pk=task.pk).assignee is None
    assert not TaskActivity.objects.filter(task=task).exists()
    assert AuditEvent.objects.exclude(action=AuditEvent.Action.TOKEN_WRITE_REFUSED).count() == changes_before
    # Logged as a refused token is: the sign-in log's line, and the audit log's row under its user,
    # as a refused write (not a failed sign-in: the token was good, for reading).
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).exists()
    (refused,) = AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_WRITE_REFUSED)
    assert (refused.object_id, refused.outcome, refused.actor_id) == (str(nurse.pk), "denied", nurse.pk)
    assert refused.detail == {
        "event": "token_read_only",
        "token": token.pk,
        "method": "POST",
        "view": f"api:task-{action}",
    }
    assert f"token_read_only user=nurse ip=127.0.0.1 token={token.pk} method=POST view=api:task-{action}" in (
        caplog.text
    )


def test_a_read_only_token_may_not_act_on_a_handoff(client, case_manager, handoff):
    response = call(client, reverse("api:handoff-send", args=[handoff.pk]), token_for(case_manager, scope=READ))
    assert (response.status_code, response.json()["detail"]) == (403, READ_ONLY)
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.DRAFT
    assert not HandoffActivity.objects.filter(handoff=handoff).exclude(action="create").exists()


def test_a_read_and_write_token_claims_and_sends(client, nurse, case_manager, task, handoff):
    claimed = call(client, reverse("api:task-claim", args=[task.pk]), token_for(nurse, scope=READ_WRITE))
    assert claimed.status_code == 200 and claimed.json()["assignee"]["id"] == nurse.pk
    sent = call(client, reverse("api:handoff-send", args=[handoff.pk]), token_for(case_manager, scope=READ_WRITE))
    assert sent.status_code == 200, sent.content
    assert Handoff.objects.get(pk=handoff.pk).status == Handoff.Status.SENT


@pytest.mark.parametrize("scope", [READ, READ_WRITE])
def test_fhir_answers_a_change_with_its_405_whatever_the_scope(client, nurse, patient, scope):
    # FHIR is read-only: its answer to a write is the same for every token, not the scope's 403.
    response = call(client, "/fhir/R4/Patient", token_for(nurse, scope=scope), {"resourceType": "Patient"})
    assert response.status_code == 405
    assert response.json()["issue"][0]["code"] == "not-supported"


def test_a_read_only_token_gets_a_405_for_a_method_the_view_does_not_have(client, nurse, task):
    response = client.put(reverse("api:task-list"), "{}", content_type="application/json", **bearer(token_for(nurse)))
    refused = client.put(
        reverse("api:task-list"), "{}", content_type="application/json", **bearer(token_for(nurse, scope=READ))
    )
    assert response.status_code == refused.status_code == 405


def test_a_token_made_without_a_scope_reads_only_and_an_unknown_scope_is_refused(nurse):
    token, _ = token_create(user=nurse, name="Feed", days=30, second_step_passed=True, actor=nurse)
    assert token.scope == PersonalToken.Scope.READ and not token.writes
    with pytest.raises(ValidationError) as refused:
        token_create(user=nurse, name="Feed", days=30, second_step_passed=True, actor=nurse, scope="admin")
    assert list(refused.value.message_dict) == ["scope"]
    assert PersonalToken.objects.count() == 1


def test_the_audit_logs_creation_row_names_the_scope(nurse):
    token, _ = token_create(user=nurse, name="Feed", days=30, second_step_passed=True, actor=nurse, scope=READ_WRITE)
    row = AuditEvent.objects.get(object_type="accounts_personaltoken", object_id=str(token.pk))
    assert row.action == "create" and row.detail["changes"]["scope"] == "read_write"


# --- the Security page ------------------------------------------------------------------------


def test_the_form_offers_both_scopes_with_read_only_chosen(client, nurse):
    client.force_login(nurse)
    page = client.get(reverse("security")).content.decode()
    radios = dict(re.findall(r'<input type="radio"[^>]*name="scope" value="(\w+)"([^>]*)>', page))
    assert list(radios) == ["read", "read_write"]  # no blank choice
    assert "checked" in radios["read"] and "checked" not in radios["read_write"]
    assert "Read and write" in page and "can do no harm if it leaks" in page


def test_a_token_without_a_scope_is_refused_at_its_field(client, nurse):
    client.force_login(nurse)
    for sent in ({}, {"scope": "everything"}):
        response = client.post(reverse("token_new"), {"name": "Agency sync", "days": "30", **sent})
        assert response.status_code == 200
        assert response.context["token_form"].errors["scope"] == [
            "Choose what the token may do: read only, or read and write."
        ]
    assert not PersonalToken.objects.exists()


@pytest.mark.parametrize(
    ("scope", "shown", "listed"),
    [("read", "reading only", "Read only"), ("read_write", "reading and changing records", "Read and write")],
)
def test_the_token_is_shown_once_with_its_scope_and_listed_with_it(client, nurse, scope, shown, listed):
    client.force_login(nurse)
    made = client.post(reverse("token_new"), {"name": "Agency sync", "days": "30", "scope": scope})
    assert made.status_code == 200 and shown in made.content.decode()
    assert PersonalToken.objects.get(user=nurse).scope == scope
    page = client.get(reverse("security")).content.decode()
    assert f'<td class="text-nowrap">{listed}</td>' in page


# --- the tokens made before scopes -------------------------------------------------------------

OLD_TOKEN = """
import datetime as dt
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

call_command("migrate", "accounts", "0015", verbosity=0)
old = MigrationExecutor(connection).loader.project_state(("accounts", "0015_audit_outcome_id_idx")).apps
user = old.get_model("accounts", "User").objects.create(username="agency", password="!")
old.get_model("accounts", "PersonalToken").objects.create(
    user=user, name="Before scopes", prefix="cct_abcd", key_hash="0" * 64,
    expires_at=timezone.now() + dt.timedelta(days=30),
)
call_command("migrate", "accounts", "0016", verbosity=0)
from accounts.models import PersonalToken
print("scope:", PersonalToken.objects.get().scope)
"""


@pytest.mark.service
def test_a_token_made_before_scopes_reads_and_writes_after_the_migration(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", OLD_TOKEN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "scope: read_write" in done.stdout


def test_the_api_schema_says_what_a_read_only_token_may_do(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "**read-only** token (the default) may only GET" in schema["info"]["description"]
    claim = schema["paths"]["/api/v1/tasks/{id}/claim/"]["post"]["responses"]["403"]
    assert "read_only_token" in claim["description"]
