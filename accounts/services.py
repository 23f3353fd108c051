"""Account operations: ending a user's sessions, deactivation, and the second sign-in step.

Every session's auth hash includes `User.session_epoch` (see `User._get_session_auth_hash`):
raising the epoch makes Django flush every session of that user on its next request.
"""

import math

import django_otp
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User
from .policy import mfa_required
from .signin import totp_device

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
WRONG_AUTHENTICATOR_CODE = "That code is not right. Enter the code that your authenticator app shows now."
WRONG_RECOVERY_CODE = "That recovery code is not right, or it has been used already."


class CodeRejected(Exception):
    """A second-step code that was not accepted; the message is for the user, at the field."""


def user_sessions_end(*, user: User, actor: User | None) -> None:
    """End every session of the user, in every browser (sign-out ends them all)."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


def user_deactivate(*, user: User, actor: User | None) -> None:
    """Deactivate the user and end all their sessions; reactivating them later revives none."""
    if actor is not None and actor.pk == user.pk:
        raise ValidationError("You cannot deactivate your own account.")
    User.objects.filter(pk=user.pk).update(is_active=False, session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["is_active", "session_epoch"])


# --- the second step --------------------------------------------------------------------------


def mfa_device_pending(*, user: User) -> TOTPDevice:
    """The authenticator being set up: the one shown before if any, so that a reload shows the
    same key that the user may already have scanned."""
    device = totp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def _verify(user: User, device: Device | None, code: str, *, wrong: str) -> Device:
    if device is None:
        raise CodeRejected(wrong)
    allowed, info = device.verify_is_allowed()
    if not allowed:
        until = (info or {}).get("locked_until")
        wait = max(math.ceil((until - timezone.now()).total_seconds()), 1) if until else 1
        raise CodeRejected(f"Too many wrong codes. Wait {wait} second{'s' if wait > 1 else ''}, then try again.")
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is None:
        raise CodeRejected(wrong)
    return verified


def mfa_code_check(*, user: User, code: str) -> Device:
    """The device that accepts the code: the authenticator for 6 digits, otherwise the recovery
    codes, where a code works once. Raises CodeRejected."""
    if code.isdigit():
        return _verify(user, totp_device(user), code, wrong=WRONG_AUTHENTICATOR_CODE)
    recovery_codes = StaticDevice.objects.filter(user=user).first()
    return _verify(user, recovery_codes, code, wrong=WRONG_RECOVERY_CODE)


def mfa_enable(*, user: User, actor: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a code from it; returns it and new recovery codes."""
    # Verified before the transaction below, so that a wrong code's throttling is kept.
    device = _verify(user, totp_device(user, confirmed=False), code, wrong=WRONG_AUTHENTICATOR_CODE)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        return device, mfa_recovery_codes_new(user=user, actor=actor)


@transaction.atomic
def mfa_recovery_codes_new(*, user: User, actor: User | None) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODE_COUNT new ones; the old stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def mfa_disable(*, user: User, actor: User) -> None:
    """Turn the second step off for a user who may go without it."""
    if mfa_required(user):
        raise PermissionDenied("Two-step sign-in is required for your role and cannot be turned off.")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def mfa_reset(*, user: User, actor: User | None) -> None:
    """For an admin, when someone lost their phone and their codes: remove the user's devices and
    end their sessions. If the second step is required for them, they set it up at next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user_sessions_end(user=user, actor=actor)
