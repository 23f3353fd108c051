"""Two-step sign-in: required for staff and coordinators, optional for others.

Codes are computed from the device's key with django_otp.oath.TOTP, as the user's phone would.
"""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent, User
from accounts.services import (
    RECOVERY_CODE_ALPHABET,
    USED_AUTHENTICATOR_CODE,
    USED_RECOVERY_CODE,
    WRONG_RECOVERY_CODE,
    CodeRejected,
    mfa_code_check,
    mfa_recovery_codes_new,
)

from ..factories import TEST_PASSWORD
from .helpers import SignInClient, totp_code, verified_login

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def sign_in(client, username, password=TEST_PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def stored(codes) -> list[str]:
    """Recovery codes as the database keeps them: lower case, without the dash."""
    return [code.replace("-", "").lower() for code in codes]


def setup_url(next_url="/"):
    return reverse("mfa_setup") + "?next=" + next_url.replace("/", "%2F")


def verify_url(next_url="/"):
    return reverse("mfa_verify") + "?next=" + next_url.replace("/", "%2F")


# --- who must use it -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "coordinator"])
def test_staff_and_coordinators_must_set_it_up_before_any_page(client, request, who):
    user = request.getfixturevalue(who)
    response = sign_in(client, user.username)
    assert response["Location"] == setup_url("/")
    for page in [reverse("home"), reverse("patients:list"), reverse("admin:index")]:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(reverse("mfa_setup")), page


def test_a_nurse_signs_in_with_the_password_alone(client, nurse):
    response = sign_in(client, "nurse")
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_a_user_with_an_authenticator_enters_a_code_after_the_password(client, nurse, clock):
    device = enrolled(nurse)
    response = sign_in(client, "nurse")
    assert response["Location"] == verify_url("/")
    assert client.get(reverse("patients:list"))["Location"] == verify_url("/patients/")
    response = client.post(verify_url("/patients/"), {"code": totp_code(device)})
    assert response["Location"] == "/patients/"
    assert client.get(reverse("patients:list")).status_code == 200


def test_the_admin_site_is_behind_the_second_step_too(client, admin_user, clock):
    device = enrolled(admin_user)
    client.post(reverse("admin:login"), {"username": "admin", "password": TEST_PASSWORD})
    assert client.get(reverse("admin:index"))["Location"] == verify_url("/admin/")
    client.post(verify_url("/admin/"), {"code": totp_code(device)})
    assert client.get(reverse("admin:index")).status_code == 200


# --- setting it up ---------------------------------------------------------------------------------


def test_setup_shows_a_qr_code_and_the_key_then_the_recovery_codes_once(client, coordinator, clock):
    sign_in(client, "coordinator")
    page = client.get(setup_url("/"))
    body = page.content.decode()
    assert "<svg" in body and "<script>" not in body and "<img" not in body
    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    assert page.context["secret"].replace(" ", "") in device.config_url

    response = client.post(setup_url("/"), {"code": totp_code(device)})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10
    assert "Store these codes safely now: they are shown only this once." in response.content.decode()
    stored = set(StaticToken.objects.filter(device__user=coordinator).values_list("token", flat=True))
    assert stored == {code.replace("-", "").lower() for code in codes}
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("mfa_setup"))["Location"] == reverse("security")


def test_setup_with_a_wrong_code_confirms_nothing(client, coordinator, clock):
    sign_in(client, "coordinator")
    client.get(setup_url("/"))
    response = client.post(setup_url("/"), {"code": "000000"})
    assert "That code is not right." in response.context["form"].errors["code"][0]
    assert not TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()
    assert client.get(reverse("home"))["Location"].startswith(reverse("mfa_setup"))


def test_setup_shows_the_same_key_until_it_is_confirmed(client, coordinator):
    sign_in(client, "coordinator")
    first = client.get(setup_url("/")).context["secret"]
    assert client.get(setup_url("/")).context["secret"] == first
    assert TOTPDevice.objects.filter(user=coordinator).count() == 1


def test_a_key_shown_in_another_session_is_never_the_one_confirmed(client, coordinator, clock):
    """Someone holding the password alone opens the setup page first and scans its key: the user,
    setting up in their own session, must not be shown that same key, or the stranger would pass
    the second step from then on."""
    stranger = SignInClient()
    sign_in(stranger, "coordinator")
    strangers_key = stranger.get(setup_url("/")).context["secret"]
    sign_in(client, "coordinator")
    assert client.get(setup_url("/")).context["secret"] != strangers_key
    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    assert client.post(setup_url("/"), {"code": totp_code(device)}).status_code == 200
    confirmed = TOTPDevice.objects.get(user=coordinator, confirmed=True)
    assert strangers_key.replace(" ", "") not in confirmed.config_url


def test_a_setup_replaced_in_another_session_asks_to_scan_the_new_key(client, coordinator, clock):
    sign_in(client, "coordinator")
    client.get(setup_url("/"))
    scanned = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    other = SignInClient()
    sign_in(other, "coordinator")
    other.get(setup_url("/"))
    response = client.post(setup_url("/"), {"code": totp_code(scanned)})
    assert "reload the page" in response.context["form"].errors["code"][0]
    assert not TOTPDevice.objects.filter(user=coordinator, confirmed=True).exists()


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Enter the code from your authenticator app, or a recovery code."),
        ("   ", "Enter the code from your authenticator app, or a recovery code."),
        ("12345", "Enter the 6 digits your authenticator app shows, or a recovery code of 8 letters and digits."),
        ("abc!!<script>", "Enter the 6 digits your authenticator app shows"),
        ("9" * 500, "Enter the 6 digits your authenticator app shows"),
        ("\x00\x01", "Null characters are not allowed."),
        ("000000", "That code is not right. Enter the code that your authenticator app shows now."),
        ("abcdefgh", "That recovery code is not right. Check it against your latest list"),
    ],
    ids=["empty", "blank", "short", "garbage", "huge", "control", "wrong", "wrong-recovery"],
)
def test_a_wrong_empty_or_garbage_code_gets_a_message_at_the_field(client, nurse, clock, code, message):
    enrolled(nurse)
    mfa_recovery_codes_new(user=nurse, actor=nurse)
    sign_in(client, "nurse")
    response = client.post(verify_url("/"), {"code": code})
    assert response.status_code == 200
    assert any(error.startswith(message) for error in response.context["form"].errors["code"])
    assert client.get(reverse("home")).status_code == 302


def test_a_post_without_any_field_gets_a_message_not_an_error(client, nurse):
    enrolled(nurse)
    sign_in(client, "nurse")
    response = client.post(reverse("mfa_verify"), {})
    assert response.status_code == 200
    assert response.context["form"].errors["code"]


def test_wrong_codes_in_a_row_make_the_next_try_wait(client, nurse, clock):
    device = enrolled(nurse)
    sign_in(client, "nurse")
    client.post(verify_url("/"), {"code": "000000"})
    response = client.post(verify_url("/"), {"code": totp_code(device)})
    assert response.context["form"].errors["code"] == ["Too many wrong codes. Wait 1 second, then try again."]
    clock.shift(dt.timedelta(seconds=2))
    assert client.post(verify_url("/"), {"code": totp_code(device)})["Location"] == "/"


def test_a_code_used_twice_within_its_30_seconds_is_refused_saying_to_wait_for_the_next(client, nurse, clock):
    device = enrolled(nurse)
    sign_in(client, "nurse")
    code = totp_code(device)
    assert client.post(verify_url("/"), {"code": code})["Location"] == "/"
    other = SignInClient()
    sign_in(other, "nurse")
    response = other.post(verify_url("/"), {"code": code})
    assert response.context["form"].errors["code"] == [USED_AUTHENTICATOR_CODE]
    assert "That code was just used" in response.content.decode()
    assert "Wait for the next code in your authenticator app" in USED_AUTHENTICATOR_CODE
    clock.shift(dt.timedelta(seconds=30))
    assert other.post(verify_url("/"), {"code": totp_code(device)})["Location"] == "/"


def test_a_wrong_code_after_a_used_one_is_still_not_right(client, nurse, clock):
    device = enrolled(nurse)
    code = totp_code(device)
    mfa_code_check(user=nurse, code=code)
    clock.shift(dt.timedelta(seconds=2))  # past the wait that the refusal below does not cause
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(CodeRejected, match="That code is not right."):
        mfa_code_check(user=nurse, code=wrong)


# --- recovery codes ---------------------------------------------------------------------------------


def test_a_recovery_code_works_once_only(client, nurse, clock):
    enrolled(nurse)
    code = mfa_recovery_codes_new(user=nurse, actor=nurse)[0]
    sign_in(client, "nurse")
    response = client.post(verify_url("/"), {"code": code.upper()}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "You signed in with a recovery code; it cannot be used again. 9 left." in response.content.decode()

    later = SignInClient()
    sign_in(later, "nurse")
    response = later.post(verify_url("/"), {"code": code.lower().replace("-", "")})
    assert response.context["form"].errors["code"] == [USED_RECOVERY_CODE]
    assert "That recovery code was already used" in USED_RECOVERY_CODE
    assert "Recovery codes left: <strong>9</strong>" in client.get(reverse("security")).content.decode()


LOOK_ALIKES = "0Oo1lIi5Ss2Zz8Bb"


def test_recovery_codes_have_no_look_alike_characters_and_are_grouped_for_reading(nurse):
    codes = mfa_recovery_codes_new(user=nurse, actor=nurse)
    assert len(set(codes)) == 10
    for code in codes:
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
        assert not set(code) & set(LOOK_ALIKES), code
    assert not set(RECOVERY_CODE_ALPHABET) & set(LOOK_ALIKES)


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code,  # 7KQF-M3XR
        lambda code: code.replace("-", ""),  # 7KQFM3XR
        lambda code: code.lower(),  # 7kqf-m3xr
        lambda code: f"  {code.replace('-', ' ').lower()}\t",  # 7kqf m3xr, with spaces around
        lambda code: code[:2] + "-" + code[2:].replace("-", "").swapcase(),  # a dash elsewhere
    ],
    ids=["as-shown", "without-the-dash", "lower-case", "spaces", "dash-elsewhere"],
)
def test_a_recovery_code_is_accepted_with_or_without_the_dash_in_any_case(client, nurse, clock, typed):
    enrolled(nurse)
    code = mfa_recovery_codes_new(user=nurse, actor=nurse)[0]
    sign_in(client, "nurse")
    assert client.post(verify_url("/"), {"code": typed(code)})["Location"] == "/"


@pytest.mark.parametrize("typed", [str, str.upper, lambda code: f"{code[:4]}-{code[4:]}".upper()])
def test_recovery_codes_made_before_the_new_alphabet_still_work(client, nurse, clock, typed):
    """Codes from before were django-otp's own: 8 of a-z and 2-7, stored in lower case."""
    enrolled(nurse)
    device = StaticDevice.objects.create(user=nurse, name="Recovery codes")
    old = [StaticToken.random_token() for _ in range(10)]
    for code in old:
        StaticToken.objects.create(device=device, token=code)
    sign_in(client, "nurse")
    assert client.post(verify_url("/"), {"code": typed(old[0])})["Location"] == "/"
    with pytest.raises(CodeRejected, match="already used"):
        mfa_code_check(user=nurse, code=old[0])
    clock.shift(dt.timedelta(seconds=2))  # a refusal makes the next try wait a second
    assert mfa_code_check(user=nurse, code=old[1]) == device


def test_a_used_code_is_kept_only_as_a_mark_that_no_typed_code_can_match(nurse, clock):
    enrolled(nurse)
    code = stored(mfa_recovery_codes_new(user=nurse, actor=nurse))[0]
    mfa_code_check(user=nurse, code=code)
    mark = StaticToken.objects.get(device__user=nurse, token__contains=code).token
    assert mark != code
    clock.shift(dt.timedelta(seconds=2))
    with pytest.raises(CodeRejected) as refused:
        mfa_code_check(user=nurse, code=mark)
    assert str(refused.value) == WRONG_RECOVERY_CODE


def test_the_recovery_codes_page_offers_print_and_copy_with_scripts_from_files(client, coordinator, clock):
    sign_in(client, "coordinator")
    client.get(setup_url("/"))
    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    body = client.post(setup_url("/"), {"code": totp_code(device)}).content.decode()
    assert re.search(r'<button type="button" class="[^"]*" data-print hidden>Print the codes</button>', body)
    assert re.search(r'<button type="button" class="[^"]*" data-copy="#recovery-code-list" hidden>', body)
    assert 'id="recovery-code-list"' in body
    assert '<script src="/static/js/print.js"></script>' in body
    assert '<script src="/static/js/copy.js"></script>' in body
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), "an inline script"
    assert not re.search(r"\son[a-z]+=", body), "an inline event handler"
    # Printed alone: everything else on the page is marked not to print (static/css/app.css).
    assert 'class="alert alert-warning d-print-none"' in body
    assert '<section class="recovery-codes"' in body


def test_new_recovery_codes_need_the_password_and_replace_the_old_ones(client, nurse, clock):
    old = mfa_recovery_codes_new(user=nurse, actor=nurse)
    verified_login(client, nurse)
    wrong = client.post(reverse("mfa_recovery_codes"), {"codes-password": "not-my-password"})
    assert wrong.context["codes_form"].errors["password"] == ["That password is not right."]
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(stored(old))

    response = client.post(reverse("mfa_recovery_codes"), {"codes-password": TEST_PASSWORD})
    new = response.context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(stored(new))


# --- the pages before the second step -------------------------------------------------------------

MENU_AND_BELL = ['id="bell"', "Notifications", 'href="/patients/"', "My work", "Unit board", "Administration"]


def test_the_forced_setup_page_is_bare_the_product_the_name_and_sign_out(client, coordinator):
    sign_in(client, "coordinator")
    body = client.get(setup_url("/")).content.decode()
    navigation = body[body.index("<nav") : body.index("</nav>")]
    assert "Care Coordination </span>Tracker" in navigation  # the product, shortened on narrow screens
    assert str(coordinator) in navigation
    assert f'action="{reverse("logout")}"' in navigation and ">Sign out</button>" in navigation
    for part in [*MENU_AND_BELL, reverse("security"), "navbar-toggler"]:
        assert part not in body, part


def test_the_code_page_is_bare_too(client, nurse):
    enrolled(nurse)
    sign_in(client, "nurse")
    body = client.get(verify_url("/")).content.decode()
    assert ">Sign out</button>" in body
    for part in MENU_AND_BELL:
        assert part not in body, part


def test_setting_it_up_by_choice_from_the_security_page_keeps_the_whole_menu(client, nurse):
    sign_in(client, "nurse")
    body = client.get(reverse("mfa_setup")).content.decode()
    for part in MENU_AND_BELL[:4]:
        assert part in body, part


# --- the Security page ----------------------------------------------------------------------------


def test_a_nurse_turns_two_step_sign_in_on_and_off_from_the_security_page(client, nurse, clock):
    sign_in(client, "nurse")
    assert "<strong>Off.</strong>" in client.get(reverse("security")).content.decode()
    client.get(reverse("mfa_setup"))
    device = TOTPDevice.objects.get(user=nurse)
    client.post(reverse("mfa_setup"), {"code": totp_code(device)})
    assert "<strong>On.</strong>" in client.get(reverse("security")).content.decode()

    client.post(reverse("mfa_turn_off"), {"off-password": TEST_PASSWORD})
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert not StaticDevice.objects.filter(user=nurse).exists()
    assert "<strong>Off.</strong>" in client.get(reverse("security")).content.decode()


def test_the_users_name_in_the_navigation_leads_to_the_security_page(client, nurse):
    client.force_login(nurse)
    assert f'href="{reverse("security")}"' in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("who", ["admin_user", "coordinator"])
def test_staff_and_coordinators_cannot_turn_it_off(client, request, who):
    user = request.getfixturevalue(who)
    verified_login(client, user)
    assert "Turn off two-step sign-in" not in client.get(reverse("security")).content.decode()
    response = client.post(reverse("mfa_turn_off"), {"off-password": TEST_PASSWORD}, follow=True)
    assert "required for your role" in response.content.decode()
    assert TOTPDevice.objects.filter(user=user).exists()


def test_the_admin_resets_a_lost_authenticator_and_the_user_sets_up_again(client, coordinator, admin_user):
    coordinators_tablet = SignInClient()
    verified_login(coordinators_tablet, coordinator)
    verified_login(client, admin_user)
    changelist = reverse("admin:accounts_user_changelist")
    client.post(changelist, {"action": "reset_two_step", "_selected_action": [coordinator.pk]})
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    assert coordinators_tablet.get(reverse("home"))["Location"].startswith(reverse("login"))
    assert sign_in(coordinators_tablet, "coordinator")["Location"] == setup_url("/")


@pytest.mark.parametrize(
    ("model", "make"),
    [
        ("otp_totp_totpdevice", enrolled),
        ("otp_static_staticdevice", lambda user: StaticDevice.objects.create(user=user, name="Recovery codes")),
    ],
)
def test_the_admin_lists_second_step_devices_but_changes_them_only_through_the_logged_reset(
    client, nurse, admin_user, model, make
):
    """Adding an authenticator with a key of the admin's choosing, or deleting a user's, wrote no
    audit row (the devices have no trigger): the admin changes them only with "Reset two-step
    sign-in", which is logged."""
    device = make(nurse)
    verified_login(client, admin_user)
    assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{model}_add")).status_code == 403
    assert client.post(reverse(f"admin:{model}_delete", args=[device.pk]), {"post": "yes"}).status_code == 403
    assert type(device).objects.filter(pk=device.pk).exists()


# --- htmx and the way back -------------------------------------------------------------------------


def test_an_htmx_request_before_the_second_step_reloads_the_page_at_the_step(client, coordinator):
    sign_in(client, "coordinator")
    response = client.get(reverse("home"), **HTMX, HTTP_HX_CURRENT_URL="http://testserver/board/")
    assert response.status_code == 200
    assert response["HX-Redirect"] == setup_url("/board/")


def test_the_bell_polling_on_the_code_page_does_not_reload_it(client, coordinator):
    sign_in(client, "coordinator")
    response = client.get(reverse("notification_bell"), **HTMX, HTTP_X_BACKGROUND_POLL="true")
    assert response.status_code == 204
    assert "HX-Redirect" not in response


def test_after_the_code_the_user_goes_on_only_within_the_site(client, nurse, clock):
    device = enrolled(nurse)
    sign_in(client, "nurse")
    response = client.post(reverse("mfa_verify") + "?next=https://evil.example/", {"code": totp_code(device)})
    assert response["Location"] == reverse("home")


def test_signing_out_before_the_second_step_ends_only_that_session(client, coordinator):
    working = SignInClient()
    verified_login(working, coordinator)
    sign_in(client, "coordinator")
    client.post(reverse("logout"))
    assert working.get(reverse("home")).status_code == 200


def test_the_second_step_and_changes_to_it_reach_the_audit_log(client, nurse, clock):
    device = enrolled(nurse)
    sign_in(client, "nurse")
    client.post(verify_url("/"), {"code": "000000"})
    clock.shift(dt.timedelta(seconds=2))
    client.post(verify_url("/"), {"code": totp_code(device)})
    client.post(reverse("mfa_turn_off"), {"off-password": TEST_PASSWORD})
    rows = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(nurse.pk)).order_by("id")
    trail = [(row.action, row.outcome, row.detail.get("event")) for row in rows]
    assert trail == [
        ("login", "success", None),
        ("login_failed", "failure", "second_step_failed"),
        ("login", "success", "second_step_passed"),
        ("permission_change", "success", "second_step_disabled"),
    ]
    assert all(row.actor_username == "nurse" for row in rows[1:])


# --- the check on every page -----------------------------------------------------------------------


def test_an_authenticator_set_up_in_another_browser_reaches_this_session_within_a_minute(client, nurse, clock):
    sign_in(client, "nurse")
    assert client.get(reverse("home")).status_code == 200  # no authenticator: asked again in a minute
    enrolled(nurse)  # from the nurse's phone, in another browser
    clock.shift(dt.timedelta(seconds=30))
    assert client.get(reverse("home")).status_code == 200
    clock.shift(dt.timedelta(seconds=31))
    assert client.get(reverse("home"))["Location"] == verify_url("/")


def test_signing_in_asks_afresh_whether_the_user_owes_the_second_step(client, nurse, clock):
    sign_in(client, "nurse")
    client.get(reverse("home"))
    client.post(reverse("logout"))
    enrolled(nurse)
    assert sign_in(client, "nurse")["Location"] == verify_url("/")
    assert client.get(reverse("home"))["Location"] == verify_url("/")


def test_a_nurse_made_coordinator_while_signed_in_must_set_it_up_at_once(client, nurse, clock):
    sign_in(client, "nurse")
    assert client.get(reverse("home")).status_code == 200  # no authenticator: not asked for a minute
    nurse.role = "coordinator"
    nurse.save()
    assert client.get(reverse("home"))["Location"] == setup_url("/")


def test_a_view_gets_the_signed_in_user_itself_marked_with_the_device_that_verified_them(client, nurse, clock):
    """accounts.middleware.SignedInUserMiddleware puts the user in place of Django's and django-otp's
    lazy stand-ins, after django-otp has marked it: the second step stays passed."""
    device = enrolled(nurse)
    sign_in(client, "nurse")
    client.post(verify_url("/patients/"), {"code": totp_code(device)})
    user = client.get(reverse("patients:list")).wsgi_request.user
    assert type(user) is User and user.pk == nurse.pk
    assert user.is_verified() and user.otp_device == device


@pytest.mark.parametrize("word", ["NaN", "abc"])
def test_a_next_that_is_a_word_is_the_home_page_not_a_500(client, nurse, clock, word):
    """Found by review: `?next=abc` on the second step was a 500 (Django's redirect() looked for a
    view named abc)."""
    device = enrolled(nurse)
    sign_in(client, "nurse")
    response = client.post(reverse("mfa_verify") + f"?next={word}", {"code": totp_code(device)})
    assert response["Location"] == reverse("home")
