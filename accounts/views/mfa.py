"""The second sign-in step and the user's Security page.

- verify: the code page after the password, for users with an authenticator app;
- setup: the QR code and key of a new authenticator, confirmed with a code, then the recovery
  codes, shown once;
- security: the user's own page: turn the second step on or off (off only when their role
  allows it), new recovery codes, change of password, personal API tokens (views/tokens.py).
"""

import logging
from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from ..forms import CodeForm, CrispyPasswordChangeForm, PasswordConfirmForm, TokenForm
from ..models import PersonalToken
from ..policy import mfa_required
from ..security_sections import security_sections
from ..services import (
    CodeRejected,
    mfa_code_check,
    mfa_device_pending,
    mfa_disable,
    mfa_enable,
    mfa_recovery_codes_new,
    recovery_codes_left,
    user_password_changed,
)
from ..signin import (
    log_event,
    safe_next,
    second_step,
    second_step_not_required,
    step_url,
    totp_device,
)

# Fewer recovery codes than this left: suggest making new ones.
RECOVERY_CODES_LOW = 3
# The authenticator being set up in this session (its id): a reload shows the same key, and no
# other session's key is ever shown or confirmed here (accounts.services.mfa_device_pending).
PENDING_DEVICE = "mfa_pending_device"


def _post_or_none(request):
    return request.POST if request.method == "POST" else None


def _passed(request, device) -> None:
    """The session has passed the second step with `device`: a new session key for the new privilege."""
    request.session.cycle_key()
    otp_login(request, device)


@never_cache
@second_step_not_required
def mfa_verify(request):
    user = request.user
    next_url = safe_next(request)
    step = second_step(user)
    if step is None:
        return redirect(next_url)
    if step == "setup":
        return redirect(step_url(step, next_url))
    form = CodeForm(_post_or_none(request), submit="Continue")
    if form.is_valid():
        try:
            device = mfa_code_check(user=user, code=form.cleaned_data["code"])
        except CodeRejected as rejected:
            form.add_error("code", str(rejected))
            log_event(request, "second_step_failed", level=logging.WARNING)
        else:
            _passed(request, device)
            if isinstance(device, StaticDevice):
                left = recovery_codes_left(user)
                log_event(request, "second_step_passed", device="recovery_code", codes_left=left)
                _recovery_code_used_message(request, left)
            else:
                log_event(request, "second_step_passed", device="authenticator")
            return redirect(next_url)
    context = {"form": form, "next": next_url, "contact": settings.SIGNIN_HELP_CONTACT}
    return render(request, "accounts/mfa_verify.html", context)


def _recovery_code_used_message(request, left: int) -> None:
    text = f"You signed in with a recovery code; it cannot be used again. {left} left."
    if left <= RECOVERY_CODES_LOW:
        text += " Make new recovery codes on your Security page."
    messages.warning(request, text)


def _qr_svg(data: str) -> str:
    """The QR code of `data` as inline SVG, drawn here: no image request, no script."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@second_step_not_required
def mfa_setup(request):
    user = request.user
    next_url = safe_next(request)
    if totp_device(user) is not None:
        # Already set up: owe the code, or nothing to do here.
        return redirect(step_url("verify", next_url) if second_step(user) else reverse("security"))
    form = CodeForm(_post_or_none(request), allow_recovery=False, submit="Turn on two-step sign-in")
    if form.is_valid():
        try:
            device, codes = mfa_enable(
                user=user, actor=user, code=form.cleaned_data["code"], device_id=request.session.get(PENDING_DEVICE)
            )
        except CodeRejected as rejected:
            form.add_error("code", str(rejected))
            log_event(request, "second_step_setup_failed", level=logging.WARNING)
        else:
            request.session.pop(PENDING_DEVICE, None)
            _passed(request, device)
            log_event(request, "second_step_enabled")
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": next_url, "first": True})
    device = mfa_device_pending(user=user, device_id=request.session.get(PENDING_DEVICE))
    request.session[PENDING_DEVICE] = device.pk
    context = {
        "form": form,
        "next": next_url,
        "required": mfa_required(user),
        # The SVG is built by qrcode from our own otpauth:// URL, its text escaped by ElementTree.
        "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308
        "secret": _grouped(b32encode(device.bin_key).decode()),
    }
    return render(request, "accounts/mfa_setup.html", context)


# --- the Security page --------------------------------------------------------------------------


def _codes_form(request, data=None):
    form = PasswordConfirmForm(data, request=request, prefix="codes", submit="Make new recovery codes")
    form.helper.form_action = reverse("mfa_recovery_codes")
    return form


def _off_form(request, data=None):
    form = PasswordConfirmForm(data, request=request, prefix="off", submit="Turn off two-step sign-in")
    form.helper.form_action = reverse("mfa_turn_off")
    return form


def _token_form(data=None):
    form = TokenForm(data)
    form.helper.form_action = reverse("token_new")
    return form


def security_page(request, *, codes_form=None, off_form=None, token_form=None):
    user = request.user
    enabled = totp_device(user) is not None
    context = {
        "enabled": enabled,
        "required": mfa_required(user),
        "codes_left": recovery_codes_left(user) if enabled else 0,
        "codes_low": RECOVERY_CODES_LOW,
        "codes_form": codes_form or _codes_form(request),
        "off_form": off_form or _off_form(request),
        "token_form": token_form or _token_form(),
        "tokens": PersonalToken.objects.filter(user=user, revoked_at__isnull=True),
        "now": timezone.now(),
        "idle_minutes": settings.SESSION_IDLE_TIMEOUT // 60,
        "absolute_hours": settings.SESSION_ABSOLUTE_TIMEOUT // 3600,
        "more_sections": security_sections(request),  # what higher apps add (accounts.security_sections)
    }
    return render(request, "accounts/security.html", context)


@never_cache
def security(request):
    return security_page(request)


@never_cache
@require_POST
def mfa_recovery_codes(request):
    user = request.user
    if totp_device(user) is None:
        messages.error(request, "Turn on two-step sign-in first; recovery codes come with it.")
        return redirect("security")
    form = _codes_form(request, request.POST)
    if not form.is_valid():
        return security_page(request, codes_form=form)
    codes = mfa_recovery_codes_new(user=user, actor=user)
    log_event(request, "recovery_codes_replaced")
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("security")})


@require_POST
def mfa_turn_off(request):
    user = request.user
    form = _off_form(request, request.POST)
    if not form.is_valid():
        return security_page(request, off_form=form)
    try:
        mfa_disable(user=user, actor=user)
    except PermissionDenied as refused:
        messages.error(request, str(refused))
    else:
        log_event(request, "second_step_disabled", level=logging.WARNING)
        messages.success(request, "Two-step sign-in is off. You can turn it on again here at any time.")
    return redirect("security")


@method_decorator(never_cache, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, checked by AUTH_PASSWORD_VALIDATORS. It keeps this session and
    ends the others: their hash was made from the old password."""

    template_name = "accounts/password_change.html"
    form_class = CrispyPasswordChangeForm
    success_url = reverse_lazy("security")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        # One transaction: a new password whose tokens were not revoked would leave a leaked
        # password's tokens working.
        with transaction.atomic():
            response = super().form_valid(form)
            user_password_changed(user=self.request.user, actor=self.request.user)
            log_event(self.request, "password_changed")
        messages.success(
            self.request,
            "Your password was changed. Any other session of yours was signed out, your API tokens revoked "
            "and your calendar links ended (make new ones below).",
        )
        return response
