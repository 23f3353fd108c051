"""Personal API tokens: made, listed and revoked on the Security page; how the API signs callers in."""

import datetime as dt
import logging
import re
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.api_auth import NEEDS_SECOND_STEP, OWES_SECOND_STEP, UNKNOWN
from accounts.models import AuditEvent, PersonalToken, Role
from accounts.services import token_hash, token_revoke

from ..accounts.helpers import admin_password_change, own_password_change, verified_login
from .helpers import bearer, token_for

PATIENTS = reverse("api:patient-list")


def test_the_security_page_makes_a_token_shows_it_once_and_stores_only_its_hash(client, nurse):
    client.force_login(nurse)
    response = client.post(reverse("token_new"), {"name": "Agency sync", "days": "30", "scope": "read"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("cct_") and secret in response.content.decode()
    token = PersonalToken.objects.get(user=nurse)
    assert token.key_hash == token_hash(secret) and secret not in (token.prefix, token.key_hash)
    assert token.expires_at - token.created_at == dt.timedelta(days=30)
    page = client.get(reverse("security")).content.decode()
    assert "Agency sync" in page and secret not in page and "never" in page


def test_a_token_without_a_name_is_refused_at_its_field(client, nurse):
    client.force_login(nurse)
    response = client.post(reverse("token_new"), {"name": " ", "days": "90"})
    assert response.status_code == 200
    assert response.context["token_form"].errors["name"]
    assert not PersonalToken.objects.exists()


def test_a_coordinators_token_needs_the_second_step_when_it_is_made(client, coordinator):
    verified_login(client, coordinator)
    assert client.post(reverse("token_new"), {"name": "Board", "days": "30", "scope": "read"}).status_code == 200
    assert PersonalToken.objects.get(user=coordinator).with_second_step
    with pytest.raises(Exception, match="two steps"):
        token_for(coordinator, second_step=False)


def test_a_token_made_before_the_role_required_the_second_step_stops_working(client, nurse):
    secret = token_for(nurse, second_step=False)
    assert client.get(PATIENTS, **bearer(secret)).status_code == 200
    nurse.role = Role.COORDINATOR
    nurse.save()
    response = client.get(PATIENTS, **bearer(secret))
    assert (response.status_code, response.json()["detail"]) == (401, NEEDS_SECOND_STEP)


def test_the_token_list_shows_its_last_use(client, nurse):
    secret = token_for(nurse)
    client.get(PATIENTS, **bearer(secret))
    assert PersonalToken.objects.get(user=nurse).last_used_at is not None


def test_a_token_revoked_mid_session_stops_working_at_the_next_request(client, nurse, patient):
    secret = token_for(nurse)
    api = client.__class__()
    assert api.get(PATIENTS, **bearer(secret)).status_code == 200
    client.force_login(nurse)
    token = PersonalToken.objects.get(user=nurse)
    assert client.post(reverse("token_revoke", args=[token.pk])).status_code == 302
    response = api.get(PATIENTS, **bearer(secret))
    assert response.status_code == 401
    assert response.json()["detail"] == UNKNOWN and response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(client, nurse):
    secret = token_for(nurse, days=30)
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        assert client.get(PATIENTS, **bearer(secret)).status_code == 401


def test_nobody_revokes_another_users_token(client, nurse, nurse2):
    token_for(nurse)
    token = PersonalToken.objects.get(user=nurse)
    client.force_login(nurse2)
    assert client.post(reverse("token_revoke", args=[token.pk])).status_code == 404
    with pytest.raises(Exception, match="owner"):
        token_revoke(token=token, actor=nurse2)
    assert PersonalToken.objects.get(pk=token.pk).revoked_at is None


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer cct_nope", "Bearer a b", "Basic bnVyc2U6cGFzc3dvcmQ="],
    ids=["no-token", "unknown-token", "two-words", "basic-auth"],
)
def test_a_bad_or_missing_credential_is_a_401_in_json_not_a_redirect(client, header):
    response = client.get(PATIENTS, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401 and response.json()["detail"]


def test_a_session_that_owes_the_second_step_is_refused_in_json(client, coordinator):
    client.force_login(coordinator)  # the password only
    response = client.get(PATIENTS)
    assert response.status_code == 403 and response.json()["detail"] == OWES_SECOND_STEP


def test_the_browsers_session_reads_the_api_and_needs_the_csrf_token_to_change(nurse, patient):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(nurse)
    assert browser.get(PATIENTS).json()["results"][0]["id"] == patient.pk
    refused = browser.post(reverse("api:notification-read-all"), {}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]


def test_a_deactivated_users_token_stops_working(client, nurse):
    secret = token_for(nurse)
    nurse.is_active = False
    nurse.save()
    assert client.get(PATIENTS, **bearer(secret)).status_code == 401


def test_times_are_utc_whatever_the_unit_clock_of_the_session(client, nurse, patient):
    nurse.unit.time_zone = "America/New_York"
    nurse.unit.save()
    client.force_login(nurse)
    member = client.get(PATIENTS).json()["results"][0]["care_team"][0]
    assert member["added_at"].endswith("Z")


def test_a_token_reads_fhir_and_once_revoked_gets_a_401_operation_outcome(client, nurse, patient):
    secret = token_for(nurse)
    url = f"/fhir/R4/Patient/{patient.pk}"
    response = client.get(url, **bearer(secret))
    assert (response.status_code, response.json()["id"]) == (200, str(patient.pk))
    token_revoke(token=PersonalToken.objects.get(user=nurse), actor=nurse)
    refused = client.get(url, **bearer(secret))
    assert refused.status_code == 401 and refused["Content-Type"].startswith("application/fhir+json")
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert refused.json()["issue"][0] == {"severity": "error", "code": "login", "diagnostics": UNKNOWN}


def _revoke(nurse, token):
    token_revoke(token=token, actor=nurse)


def _expire(nurse, token):
    PersonalToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))


def _deactivate(nurse, token):
    nurse.is_active = False
    nurse.save()


def _require_second_step(nurse, token):
    nurse.role = Role.COORDINATOR
    nurse.save()


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_revoke, "revoked"),
        (_expire, "expired"),
        (_deactivate, "user_inactive"),
        (_require_second_step, "second_step_missing"),
    ],
)
def test_a_refused_token_is_a_failed_sign_in_of_its_user_in_both_logs(client, nurse, caplog, spoil, reason):
    secret = token_for(nurse, second_step=False)
    token = PersonalToken.objects.get(user=nurse)
    spoil(nurse, token)
    with caplog.at_level(logging.WARNING, logger="accounts.signin"):
        assert client.get(PATIENTS, **bearer(secret)).status_code == 401
    (failed,) = AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED)
    assert (failed.object_id, failed.outcome) == (str(nurse.pk), AuditEvent.Outcome.FAILURE)
    assert failed.detail == {"event": "token_refused", "reason": reason, "token": token.pk}
    assert f"token_refused user=nurse ip=127.0.0.1 reason={reason} token={token.pk}" in caplog.text


@pytest.mark.parametrize("header", ["Bearer cct_nope", "Bearer a b"], ids=["unknown-token", "two-words"])
def test_a_secret_of_no_token_is_logged_in_the_sign_in_log_naming_nobody(client, nurse, caplog, header):
    with caplog.at_level(logging.WARNING, logger="accounts.signin"):
        assert client.get(PATIENTS, HTTP_AUTHORIZATION=header).status_code == 401
    assert "token_unknown user=- ip=127.0.0.1 reason=" in caplog.text and "cct_nope" not in caplog.text
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED).exists()


def _admin_action(name):
    def run(client, nurse, admin_user):
        verified_login(client, admin_user)
        changelist = reverse("admin:accounts_user_changelist")
        assert client.post(changelist, {"action": name, "_selected_action": [nurse.pk]}).status_code == 302

    return run


@pytest.mark.parametrize(
    "revoke",
    [
        own_password_change,
        admin_password_change,
        _admin_action("sign_out_everywhere"),
        _admin_action("reset_two_step"),
        _admin_action("deactivate"),
    ],
    ids=["password-change", "admin-password-change", "admin-sign-out-everywhere", "second-step-reset", "deactivate"],
)
def test_a_new_password_or_an_admins_sign_out_revokes_the_users_tokens(client, nurse, admin_user, revoke):
    # Tokens are sessions that other systems hold: an account thought to be in other hands ends them too.
    secret, api = token_for(nurse), client.__class__()
    assert api.get(PATIENTS, **bearer(secret)).status_code == 200
    revoke(client, nurse, admin_user)
    assert api.get(PATIENTS, **bearer(secret)).status_code == 401
    assert PersonalToken.objects.get(user=nurse).revoked_at is not None


def test_signing_out_of_a_browser_leaves_the_users_tokens_working(client, nurse, patient):
    # Sign-out ends every browser session of the user, not the systems fed by their tokens.
    secret = token_for(nurse)
    verified_login(client, nurse)
    client.post(reverse("logout"))
    assert client.__class__().get(PATIENTS, **bearer(secret)).status_code == 200


def test_every_authorization_header_the_readme_shows_signs_in(client, nurse):
    """The README's curl examples (REST API, FHIR) are copied by integrators: each header they show
    must be one the API and FHIR accept (a `Token` scheme there answered 401)."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    shown = re.findall(r'-H "Authorization: (\w+) \$TOKEN"', readme)
    assert len(shown) >= 3  # the REST API's two examples and FHIR's
    secret = token_for(nurse)
    for scheme in shown:
        for url in (PATIENTS, "/fhir/R4/Patient"):
            response = client.get(url, HTTP_AUTHORIZATION=f"{scheme} {secret}")
            assert response.status_code == 200, (scheme, url, response.status_code)
