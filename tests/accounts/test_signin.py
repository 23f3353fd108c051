"""Sign-in security: lockout, time-outs, and the end of every session at sign-out or deactivation.

Sign-ins go through the real login form (a POST through the test client); the clock is moved
with time-machine.
"""

import datetime as dt
import io
import logging

import pytest
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.core.management import call_command
from django.db import DatabaseError
from django.test import Client as PlainClient
from django.urls import reverse
from django.utils import timezone

from accounts.client_address import client_ip_address
from accounts.models import AuditEvent
from accounts.services import token_create, user_deactivate
from accounts.signin import LAST_ACTIVE_AT

from ..factories import TEST_PASSWORD
from .helpers import SignInClient as Client
from .helpers import verified_login

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_BACKGROUND_POLL": "true"}


def sign_in(client, username="nurse", password=TEST_PASSWORD, address="10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


# --- lockout ---------------------------------------------------------------------------------


def test_four_wrong_passwords_leave_the_door_open_and_a_success_clears_them(client, nurse):
    for _ in range(4):
        assert sign_in(client, password="wrong-password").status_code == 200
    assert sign_in(client).status_code == 302
    assert signed_in(client)
    assert not AccessAttempt.objects.filter(username="nurse").exists()


def test_five_wrong_passwords_lock_the_user_name_from_any_address(client, nurse):
    for attempt in range(1, 5):
        sign_in(client, password="wrong-password", address=f"10.0.0.{attempt}")
    fifth = sign_in(client, password="wrong-password", address="10.0.0.5")
    assert fifth.status_code == 429
    assert "Sign-in is locked" in fifth.content.decode()

    right_password_elsewhere = sign_in(Client(), address="192.168.7.7")
    assert right_password_elsewhere.status_code == 429
    assert not signed_in(client)


def test_five_failures_from_one_address_lock_that_address_for_every_user_name(client, nurse, nurse2):
    for name in ["nobody", "nurse2", "admin", "guest", "pharmacist"]:
        sign_in(client, username=name, password="wrong-password", address="10.9.9.9")
    from_that_address = Client()
    assert sign_in(from_that_address, address="10.9.9.9").status_code == 429
    assert not signed_in(from_that_address)
    from_another_address = Client()
    assert sign_in(from_another_address, address="10.9.9.10").status_code == 302
    assert signed_in(from_another_address)


def test_signing_in_to_ones_own_account_clears_no_failures_against_another_name_or_from_the_address(
    client, nurse, nurse2
):
    """An insider guessing a colleague's password from their workstation, signing in as themselves
    after every 4 wrong guesses, must still lock the colleague's name, and the address."""
    for _ in range(4):
        sign_in(Client(), username="nurse2", password="wrong-password", address="10.4.4.4")
    assert sign_in(Client(), username="nurse", address="10.4.4.4").status_code == 302

    fifth_guess = sign_in(Client(), username="nurse2", password="wrong-password", address="10.4.4.4")

    assert fifth_guess.status_code == 429
    assert sign_in(Client(), username="nurse2", address="192.168.7.7").status_code == 429
    assert sign_in(Client(), username="nurse", address="10.4.4.4").status_code == 429


def test_the_lockout_is_recorded_and_written_to_the_log(client, nurse, caplog):
    with caplog.at_level(logging.WARNING, logger="accounts.signin"):
        for _ in range(5):
            sign_in(client, password="wrong-password", address="10.0.0.3")
    attempt = AccessAttempt.objects.get(username="nurse")
    assert (attempt.ip_address, attempt.failures_since_start) == ("10.0.0.3", 5)
    assert "lockout username='nurse' ip=10.0.0.3" in caplog.text
    lockout = AuditEvent.objects.get(action=AuditEvent.Action.LOCKOUT)
    assert lockout.detail == {"username": "nurse", "ip": "10.0.0.3"}


def test_the_lockout_page_says_how_long_and_whom_to_call(client, nurse, settings):
    settings.SIGNIN_HELP_CONTACT = "the IT service desk on 4357"
    for _ in range(5):
        response = sign_in(client, password="wrong-password")
    body = response.content.decode()
    assert "locked for 30 minutes" in body and "the IT service desk on 4357" in body


def test_the_lockout_ends_after_the_cool_off_and_attempts_meanwhile_do_not_extend_it(client, nurse, clock):
    for _ in range(5):
        sign_in(client, password="wrong-password")
    clock.shift(dt.timedelta(minutes=20))
    assert sign_in(client).status_code == 429
    clock.shift(dt.timedelta(minutes=9))
    assert sign_in(client).status_code == 429
    clock.shift(dt.timedelta(minutes=2))
    assert sign_in(client).status_code == 302
    assert signed_in(client)


def test_an_admin_unlocking_a_name_early_is_written_to_the_audit_log(client, nurse, admin_user):
    """Lifting a lockout is a change to who may sign in: it is logged as the lockout was."""
    for _ in range(5):
        sign_in(client, password="wrong-password")
    admin = Client()
    verified_login(admin, admin_user)
    changelist = reverse("admin:accounts_user_changelist")
    admin.post(changelist, {"action": "unlock_sign_in", "_selected_action": [nurse.pk]})
    assert sign_in(client).status_code == 302
    unlocked = AuditEvent.objects.get(detail__event="unlocked")
    assert (unlocked.action, unlocked.actor_username, unlocked.object_id) == (
        AuditEvent.Action.PERMISSION_CHANGE,
        "admin",
        str(nurse.pk),
    )


def test_the_admin_unlocks_only_with_the_logged_action_not_by_deleting_the_attempt(client, nurse, admin_user):
    for _ in range(5):
        sign_in(client, password="wrong-password")
    attempt = AccessAttempt.objects.get(username="nurse")
    admin = Client()
    verified_login(admin, admin_user)
    assert admin.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    delete = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_a_successful_sign_in_is_logged_with_its_address(client, nurse):
    sign_in(client, address="10.1.2.3")
    assert AccessLog.objects.filter(username="nurse", ip_address="10.1.2.3").exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "", "password": ""},
        {"username": "nurse\x00", "password": "x"},
        {"username": "n" * 5000},
        {"username": "n" * 300, "password": "x"},
    ],
    ids=["nothing", "empty", "null-byte", "huge", "long-with-password"],
)
@pytest.mark.parametrize("page", ["login", "admin:login"])
def test_a_sign_in_form_with_garbage_gets_a_message_not_an_error(client, nurse, data, page):
    """The admin's own sign-in page too: a name over 150 characters used to reach django-axes
    there, whose column holds 255, and fail as a 500."""
    response = client.post(reverse(page), data)
    assert response.status_code == 200
    assert response.context["form"].errors


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "10.0.0.1"),  # no proxy: the header is the client's word, ignored
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # what our proxy saw, not what the client claimed
        (2, "203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "", "10.0.0.1"),  # a request that bypassed the proxies
        # Not an address (a proxy that writes "unknown", a forged header that bypassed the
        # proxies): the nearest address known, never text that the log's address column refuses.
        (1, "unknown", "10.0.0.1"),
        (2, "<script>, 10.0.0.2", "10.0.0.1"),
    ],
)
def test_the_client_address_is_read_behind_trusted_proxies_only(rf, settings, proxies, forwarded, expected):
    settings.SIGNIN_TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip_address(request) == expected


def test_a_forwarded_address_that_is_no_address_signs_in_without_an_error(client, nurse, settings):
    """It used to reach the audit log's address column and fail there, as a 500 on every page."""
    settings.SIGNIN_TRUSTED_PROXIES = 1
    response = client.post(
        reverse("login"), {"username": "nurse", "password": TEST_PASSWORD}, HTTP_X_FORWARDED_FOR="unknown"
    )
    assert response.status_code == 302
    assert AuditEvent.objects.get(action=AuditEvent.Action.LOGIN).ip == "127.0.0.1"


# --- time-outs ---------------------------------------------------------------------------------


def test_a_session_idle_for_14_minutes_is_still_signed_in(client, nurse, clock):
    sign_in(client)
    clock.shift(dt.timedelta(minutes=14))
    assert client.get(reverse("home")).status_code == 200


def test_a_session_idle_for_15_minutes_is_signed_out_with_a_message(client, nurse, clock):
    sign_in(client)
    clock.shift(dt.timedelta(minutes=15))
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=%2Fpatients%2F"
    assert not signed_in(client)
    page = client.get(response["Location"]).content.decode()
    assert "You were signed out after 15 minutes without activity." in page


def test_an_api_call_on_a_session_idle_for_15_minutes_is_signed_out_with_a_401_not_a_redirect(client, nurse, clock):
    sign_in(client)
    clock.shift(dt.timedelta(minutes=15))
    response = client.get(reverse("api:task-list"))
    assert response.status_code == 401 and response["Content-Type"] == "application/problem+json"
    assert not signed_in(client)


def test_activity_restarts_the_idle_clock(client, nurse, clock):
    sign_in(client)
    for _ in range(4):
        clock.shift(dt.timedelta(minutes=14))
        assert client.get(reverse("home")).status_code == 200
    assert signed_in(client)


def test_the_bell_polling_in_the_background_does_not_keep_a_session_alive(client, nurse, clock):
    sign_in(client)
    for _ in range(14):
        clock.shift(dt.timedelta(minutes=1))
        assert client.get(reverse("notification_bell"), **POLL).status_code == 200
    clock.shift(dt.timedelta(minutes=1))
    response = client.get(reverse("notification_bell"), **POLL)
    assert response.status_code == 200  # htmx follows HX-Redirect with a whole-page load
    assert response["HX-Redirect"].startswith(reverse("login"))
    assert not signed_in(client)


def test_activity_is_written_to_the_session_at_most_once_a_minute(client, nurse, clock):
    sign_in(client)
    signed_in_at = client.session[LAST_ACTIVE_AT]
    clock.shift(dt.timedelta(seconds=30))
    client.get(reverse("home"))
    assert client.session[LAST_ACTIVE_AT] == signed_in_at
    clock.shift(dt.timedelta(seconds=31))
    client.get(reverse("home"))
    assert client.session[LAST_ACTIVE_AT] == signed_in_at + 61


def test_the_12_hour_limit_signs_out_even_a_busy_session(client, nurse, clock):
    sign_in(client)
    for _ in range(51):  # every 14 minutes, until 11 h 54
        clock.shift(dt.timedelta(minutes=14))
        assert client.get(reverse("home")).status_code == 200
    clock.shift(dt.timedelta(minutes=6))
    response = client.get(reverse("home"), follow=True)
    assert not signed_in(client)
    assert "You were signed out 12 hours after signing in." in response.content.decode()


def test_an_htmx_request_of_an_expired_session_reloads_the_whole_page_at_sign_in(client, nurse, clock):
    sign_in(client)
    clock.shift(dt.timedelta(minutes=16))
    response = client.get(
        reverse("notification_bell"), HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/patients/"
    )
    assert response["HX-Redirect"] == reverse("login") + "?next=%2Fpatients%2F"


def test_the_time_outs_follow_the_settings(client, nurse, clock, settings):
    settings.SESSION_IDLE_TIMEOUT = 5 * 60
    sign_in(client)
    clock.shift(dt.timedelta(minutes=5))
    response = client.get(reverse("home"), follow=True)
    assert "You were signed out after 5 minutes without activity." in response.content.decode()


# --- every session of the user ends --------------------------------------------------------------


def test_signing_out_in_one_browser_ends_the_session_in_another(client, nurse):
    tablet, workstation = client, Client()
    sign_in(tablet)
    sign_in(workstation, address="10.0.0.2")
    response = workstation.post(reverse("logout"), follow=True)
    assert "You are signed out, in this browser and in any other." in response.content.decode()
    assert tablet.get(reverse("home")).status_code == 302
    assert not signed_in(tablet)


def test_signing_out_of_the_admin_ends_every_session_too(client, admin_user):
    other = Client()
    verified_login(client, admin_user)
    verified_login(other, admin_user)
    client.post(reverse("admin:logout"))
    assert other.get(reverse("admin:index")).status_code == 302
    assert not signed_in(other)


def test_deactivating_a_user_ends_their_sessions_and_reactivating_revives_none(client, nurse, admin_user):
    sign_in(client)
    user_deactivate(user=nurse, actor=admin_user)
    assert client.get(reverse("home")).status_code == 302
    nurse.is_active = True
    nurse.save()
    assert client.get(reverse("home")).status_code == 302
    assert not signed_in(client)


def test_the_admin_action_deactivates_users_and_ends_their_sessions(client, nurse, admin_user):
    nurses_tablet = Client()
    sign_in(nurses_tablet)
    verified_login(client, admin_user)
    changelist = reverse("admin:accounts_user_changelist")
    client.post(changelist, {"action": "deactivate", "_selected_action": [nurse.pk]})
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert nurses_tablet.get(reverse("home")).status_code == 302


def change_form_data(client, user, **changes) -> dict:
    """The admin's change form of `user` as it is shown, with `changes`: what a browser posts (an
    unticked box is not sent at all)."""
    form = client.get(reverse("admin:accounts_user_change", args=[user.pk])).context["adminform"].form
    data = {name: form[name].value() for name, field in form.fields.items() if not field.disabled}
    data["last_login_0"], data["last_login_1"] = "", ""
    joined = timezone.localtime(user.date_joined)
    data["date_joined_0"], data["date_joined_1"] = f"{joined:%Y-%m-%d}", f"{joined:%H:%M:%S}"
    data.pop("last_login", None), data.pop("date_joined", None)
    data.update(changes)
    return {key: value for key, value in data.items() if value not in (None, False)}


def test_unticking_active_in_the_admin_ends_the_users_sessions(client, nurse, admin_user):
    nurses_tablet = Client()
    sign_in(nurses_tablet)
    verified_login(client, admin_user)
    response = client.post(
        reverse("admin:accounts_user_change", args=[nurse.pk]), change_form_data(client, nurse, is_active=False)
    )
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert nurses_tablet.get(reverse("home")).status_code == 302


def test_an_admin_cannot_untick_their_own_active_box_either(client, admin_user):
    """As the Deactivate action refuses: the only administrator could lock everyone out."""
    verified_login(client, admin_user)
    client.post(
        reverse("admin:accounts_user_change", args=[admin_user.pk]),
        change_form_data(client, admin_user, is_active=False),
    )
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert client.get(reverse("admin:index")).status_code == 200


def test_an_admin_cannot_deactivate_themselves(admin_user):
    with pytest.raises(Exception, match="You cannot deactivate your own account."):
        user_deactivate(user=admin_user, actor=admin_user)
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_changing_the_password_keeps_this_session_and_ends_the_others(client, nurse):
    other = Client()
    sign_in(client)
    sign_in(other, address="10.0.0.2")
    new = "a-Much-longer-passphrase-7"
    data = {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new}
    response = client.post(reverse("password_change"), data)
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    assert other.get(reverse("home")).status_code == 302


def test_wrong_old_passwords_on_the_change_form_count_towards_the_lockout(client, nurse):
    """A session left open on a shared tablet is no way round the lockout: five wrong guesses
    at the old password lock the name, as five at the sign-in page would."""
    sign_in(client)
    guess = {
        "old_password": "wrong-password",
        "new_password1": "a-New-passphrase-77",
        "new_password2": "a-New-passphrase-77",
    }
    for _ in range(4):
        response = client.post(reverse("password_change"), guess)
        assert "Your old password was entered incorrectly." in response.context["form"].errors["old_password"][0]
    assert client.post(reverse("password_change"), guess).status_code == 429
    assert sign_in(Client(), address="192.168.7.7").status_code == 429  # the right password, elsewhere


def test_the_admins_change_password_link_is_the_same_form_with_the_lockout_and_token_revocation(client, admin_user):
    """The admin site's own "Change password" page used Django's form: wrong old passwords there
    never counted towards the lockout, and a new password left the API tokens working."""
    verified_login(client, admin_user)
    token, _ = token_create(user=admin_user, name="Agency sync", days=30, second_step_passed=True, actor=admin_user)
    guess = {
        "old_password": "wrong-password",
        "new_password1": "a-New-passphrase-77",
        "new_password2": "a-New-passphrase-77",
    }
    for _ in range(4):
        assert client.post(reverse("admin:password_change"), guess).status_code == 200
    assert client.post(reverse("admin:password_change"), guess).status_code == 429
    AccessAttempt.objects.all().delete()
    right = {**guess, "old_password": TEST_PASSWORD}
    assert client.post(reverse("admin:password_change"), right).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_admin_setting_someones_password_is_written_to_the_audit_log(client, nurse, admin_user):
    """The password hash never reaches the log, so its change writes no row of its own: setting
    another user's password (a way into their account) is logged as the user's own change is."""
    verified_login(client, admin_user)
    data = {"password1": "a-Much-longer-passphrase-7", "password2": "a-Much-longer-passphrase-7"}
    assert client.post(reverse("admin:auth_user_password_change", args=[nurse.pk]), data).status_code == 302
    changed = AuditEvent.objects.get(detail__event="password_changed")
    assert (changed.action, changed.actor_username, changed.object_id) == (
        AuditEvent.Action.PERMISSION_CHANGE,
        "admin",
        str(nurse.pk),
    )


def test_the_changepassword_command_ends_the_tokens_and_is_logged(nurse, monkeypatch):
    """Found by a review: `manage.py changepassword` (Django's) set the password and nothing more,
    so a password reset this way because it leaked left the tokens made with it working."""
    token, _ = token_create(user=nurse, name="Agency sync", days=30, second_step_passed=True, actor=nurse)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-Much-longer-passphrase-7")
    call_command("changepassword", nurse.username, stdout=io.StringIO())
    nurse.refresh_from_db()
    token.refresh_from_db()
    assert nurse.check_password("a-Much-longer-passphrase-7") and token.revoked_at is not None
    changed = AuditEvent.objects.get(detail__event="password_changed")
    assert (changed.action, changed.object_id, changed.detail["by"]) == (
        AuditEvent.Action.PERMISSION_CHANGE,
        str(nurse.pk),
        "manage.py changepassword",
    )


@pytest.mark.parametrize("by", ["user", "admin"])
def test_a_new_password_and_the_revocation_of_the_tokens_are_saved_together_or_not_at_all(
    client, nurse, admin_user, monkeypatch, by
):
    """Half a change would leave a leaked password's tokens working after the password changed."""

    def revocation_fails(**kwargs):
        raise DatabaseError("the revocation failed")

    monkeypatch.setattr("accounts.views.mfa.user_password_changed", revocation_fails)
    monkeypatch.setattr("accounts.admin.user_password_changed", revocation_fails)
    new = "a-Much-longer-passphrase-7"
    if by == "user":
        sign_in(client)
        url, data = reverse("password_change"), {"old_password": TEST_PASSWORD, "new_password1": new}
    else:
        verified_login(client, admin_user)
        url, data = reverse("admin:auth_user_password_change", args=[nurse.pk]), {"password1": new}
    with pytest.raises(DatabaseError):
        client.post(url, {**data, "new_password2": new, "password2": new})
    nurse.refresh_from_db()
    assert nurse.check_password(TEST_PASSWORD)


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("Short-pw-1", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("839201748392", "This password is entirely numeric."),
    ],
)
def test_a_weak_new_password_is_refused_at_its_field(client, nurse, new, message):
    sign_in(client)
    data = {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new}
    response = client.post(reverse("password_change"), data)
    assert response.status_code == 200
    assert message in response.context["form"].errors["new_password2"]


def test_the_plain_test_client_cannot_sign_in_without_a_request(nurse):
    """Why tests/conftest.py gives login() a request: axes judges sign-ins by their request."""
    with pytest.raises(ValueError, match="requires a request"):
        PlainClient().login(username="nurse", password=TEST_PASSWORD)


def test_a_session_outlives_a_flushed_cache(client, nurse):
    """Sessions are read from the cache and kept in the database too (cached_db)."""
    client.post(reverse("login"), {"username": "nurse", "password": TEST_PASSWORD})
    cache.clear()
    response = client.get(reverse("home"))
    assert response.status_code == 200 and response.wsgi_request.user == nurse


def test_giving_a_user_admin_permissions_or_a_group_in_the_admin_is_written_to_the_audit_log(client, nurse, admin_user):
    """The user's columns are logged by their table's trigger, but groups and permissions live in
    other tables: a staff member given the right to change users (or a group that has it) left no
    trace in the audit log."""
    from django.contrib.auth.models import Group, Permission

    managers = Group.objects.create(name="User managers")
    change_user = Permission.objects.get(codename="change_user")
    verified_login(client, admin_user)
    data = change_form_data(client, nurse, groups=[managers.pk], user_permissions=[change_user.pk])
    assert client.post(reverse("admin:accounts_user_change", args=[nurse.pk]), data).status_code == 302
    (granted,) = AuditEvent.objects.filter(detail__event="admin_rights_changed")
    assert (granted.action, granted.actor_username, granted.object_id) == (
        AuditEvent.Action.PERMISSION_CHANGE,
        "admin",
        str(nurse.pk),
    )
    assert granted.detail["groups_added"] == ["User managers"]
    assert granted.detail["permissions_added"] == ["accounts.change_user"]

    group_change = reverse("admin:auth_group_change", args=[managers.pk])
    delete_patient = Permission.objects.get(codename="delete_user")
    client.post(group_change, {"name": "User managers", "permissions": [change_user.pk, delete_patient.pk]})
    (widened,) = AuditEvent.objects.filter(detail__event="group_rights_changed")
    assert (widened.action, widened.object_type, widened.object_id) == (
        AuditEvent.Action.PERMISSION_CHANGE,
        "auth.group",
        str(managers.pk),
    )
    assert widened.detail["permissions_added"] == ["accounts.change_user", "accounts.delete_user"]

    client.post(reverse("admin:accounts_user_change", args=[nurse.pk]), change_form_data(client, nurse))
    assert AuditEvent.objects.filter(detail__event="admin_rights_changed").count() == 1  # nothing changed


def test_deleting_a_group_in_the_admin_is_written_to_the_audit_log(client, admin_user):
    """Deleting a group takes its permissions from every member."""
    from django.contrib.auth.models import Group, Permission

    managers = Group.objects.create(name="User managers")
    managers.permissions.add(Permission.objects.get(codename="change_user"))
    verified_login(client, admin_user)
    assert client.post(reverse("admin:auth_group_delete", args=[managers.pk]), {"post": "yes"}).status_code == 302
    (deleted,) = AuditEvent.objects.filter(detail__event="group_rights_changed")
    assert (deleted.object_id, deleted.detail["deleted"]) == (str(managers.pk), True)
    assert deleted.detail["permissions_removed"] == ["accounts.change_user"]
