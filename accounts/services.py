"""Account operations: ending a user's sessions, deactivation, the second sign-in step, and
personal API tokens.

Every session's auth hash includes `User.session_epoch` (see `User._get_session_auth_hash`):
raising the epoch makes Django flush every session of that user on its next request.
"""

import datetime as dt
import hashlib
import math
import re
import secrets
import time

import django_otp
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audited
from .credentials import credentials_revoke
from .hooks import notify_standing_changed
from .models import AuditEvent, PersonalToken, User
from .policy import can_make_token, mfa_required
from .signin import totp_device

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
WRONG_AUTHENTICATOR_CODE = "That code is not right. Enter the code that your authenticator app shows now."
USED_AUTHENTICATOR_CODE = (
    "That code was just used, and each code works once. Wait for the next code in your authenticator app "
    "(a new one every 30 seconds), then enter it."
)
WRONG_RECOVERY_CODE = (
    "That recovery code is not right. Check it against your latest list: making new codes stops the earlier ones."
)
USED_RECOVERY_CODE = "That recovery code was already used, and each works once. Enter another of your recovery codes."

# Recovery codes are 8 characters of an alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 2/Z,
# 8/B), shown as two groups of 4 ("7KQF-M3XR"). They are stored as they are checked: lower case,
# without the dash or spaces, as were the codes made before (django-otp's own: 8 of a-z and 2-7),
# which keep working.
RECOVERY_CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
RECOVERY_CODE_LENGTH = 8
RECOVERY_CODE_SHAPE = re.compile(r"[a-z0-9]{8}")  # the new codes and the earlier ones, stored
# A used recovery code is kept under this mark (django-otp deletes it), so that a second use is
# told so; the mark's colon never passes RECOVERY_CODE_SHAPE, so it is never checked as a code.
USED_RECOVERY_CODE_MARK = "used:"


class CodeRejected(Exception):
    """A second-step code that was not accepted; the message is for the user, at the field."""


def user_sessions_end(*, user: User, actor: User | None) -> None:
    """End every session of the user, in every browser (sign-out ends them all). Their API tokens
    live on: the systems that hold them keep working when the user signs out of a browser."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


@transaction.atomic
def user_signed_out_everywhere(*, user: User, actor: User | None) -> None:
    """What an admin does when an account may be in other hands (sessions_ended): end every session
    of the user and revoke their API tokens, the sessions that other systems hold, and the other
    apps' credentials (calendar links: accounts.credentials)."""
    user_sessions_end(user=user, actor=actor)
    user_tokens_revoke(user=user, actor=actor)
    credentials_revoke(user=user, actor=actor)


@transaction.atomic
def user_deactivate(*, user: User, actor: User | None) -> None:
    """Deactivate the user, end all their sessions and revoke their tokens; reactivating them later
    revives none."""
    if actor is not None and actor.pk == user.pk:
        raise ValidationError("You cannot deactivate your own account.")
    User.objects.filter(pk=user.pk).update(is_active=False, session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["is_active", "session_epoch"])
    user_tokens_revoke(user=user, actor=actor)
    # The other apps' credentials (calendar links) too: a key kept would work again on reactivation.
    credentials_revoke(user=user, actor=actor)
    user_standing_changed(user=user, actor=actor, why="deactivated")


@transaction.atomic
def user_standing_changed(*, user: User, actor: User | None, why: str) -> None:
    """The user was deactivated or given another role (`user` as they now are): the work they held
    and can no longer do goes back to their teams (accounts.hooks), never left with nobody able to
    take it. `why`: what changed, in words ("deactivated", "made case manager")."""
    notify_standing_changed(user=user, actor=actor, why=why)


def user_password_changed(*, user: User, actor: User | None) -> None:
    """After a password change (by the user, or by an admin): their tokens and the other apps'
    credentials (calendar links) stop working, as the sessions made with the old password do.
    Whoever changed it because it leaked would otherwise leave a token made with it working for up
    to a year, and a calendar link, which never expires, for good."""
    user_tokens_revoke(user=user, actor=actor)
    credentials_revoke(user=user, actor=actor)


@audited(AuditEvent.Action.UPDATE)
def user_tokens_revoke(*, user: User, actor: User | None, now: dt.datetime | None = None) -> int:
    """Revoke every live token of the user (sign-out everywhere, a new password, a second step
    reset, deactivation); how many were live. Each change is logged by the table's trigger."""
    now = now or timezone.now()
    return PersonalToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now).update(revoked_at=now)


# --- the second step --------------------------------------------------------------------------


SETUP_RESTARTED = (
    "This key is no longer the one being set up (the setup was started again, here or in another browser): "
    "reload the page, scan the new QR code, then enter its code."
)


def _pending(user: User, device_id: int | None) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False, pk=device_id).first() if device_id else None


def mfa_device_pending(*, user: User, device_id: int | None = None) -> TOTPDevice:
    """The authenticator being set up in one session: the one it was shown before (`device_id`, which
    the session keeps), so that a reload shows the key the user may already have scanned; else a new
    one, replacing any other pending. Never another session's: someone with the password alone who
    opened the setup first would otherwise hold the very key that the user then confirms."""
    device = _pending(user, device_id)
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


def code_normalised(code: str) -> str:
    """A second-step code as it is checked and stored: without spaces or dashes, in lower case."""
    return re.sub(r"[\s-]+", "", code).lower()


def recovery_codes_left(user) -> int:
    device = StaticDevice.objects.filter(user=user).first()
    return device.token_set.exclude(token__startswith=USED_RECOVERY_CODE_MARK).count() if device else 0


def _authenticator_code_used(device: TOTPDevice, code: str) -> str:
    """Why a code of the authenticator was refused if it is the right one, used already: django-otp
    accepts each time step's code once (`last_t`, the step last accepted)."""
    if not code.isdigit():
        return ""
    device.refresh_from_db(fields=["last_t", "drift"])
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if totp.verify(int(code), device.tolerance) and totp.t() <= device.last_t:
        return USED_AUTHENTICATOR_CODE
    return ""


def _recovery_code_used(device: StaticDevice, code: str) -> str:
    if device.token_set.filter(token=USED_RECOVERY_CODE_MARK + code).exists():
        return USED_RECOVERY_CODE
    return ""


def _verify(user: User, device: Device | None, code: str, *, wrong: str, why=None) -> Device:
    """The device if it accepts the code; else CodeRejected with `why(device, code)` if it has a
    reason, or `wrong`."""
    if device is None:
        raise CodeRejected(wrong)
    allowed, info = device.verify_is_allowed()
    if not allowed:
        until = (info or {}).get("locked_until")
        wait = max(math.ceil((until - timezone.now()).total_seconds()), 1) if until else 1
        raise CodeRejected(f"Too many wrong codes. Wait {wait} second{'s' if wait > 1 else ''}, then try again.")
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is None:
        raise CodeRejected((why and why(device, code)) or wrong)
    return verified


def mfa_code_check(*, user: User, code: str) -> Device:
    """The device that accepts the code: the authenticator for 6 digits, otherwise the recovery
    codes, where a code works once. Spaces, dashes and case do not matter. Raises CodeRejected."""
    code = code_normalised(code)
    if len(code) == 6 and code.isdigit():
        return _verify(user, totp_device(user), code, wrong=WRONG_AUTHENTICATOR_CODE, why=_authenticator_code_used)
    if not RECOVERY_CODE_SHAPE.fullmatch(code):
        raise CodeRejected(WRONG_RECOVERY_CODE)
    recovery_codes = StaticDevice.objects.filter(user=user).first()
    device = _verify(user, recovery_codes, code, wrong=WRONG_RECOVERY_CODE, why=_recovery_code_used)
    StaticToken.objects.create(device=device, token=USED_RECOVERY_CODE_MARK + code)
    return device


def mfa_enable(*, user: User, actor: User, code: str, device_id: int | None) -> tuple[TOTPDevice, list[str]]:
    """Confirm the authenticator pending in this session (`device_id`, mfa_device_pending) with a code
    from it; returns it and new recovery codes."""
    pending = _pending(user, device_id)
    if pending is None:
        raise CodeRejected(SETUP_RESTARTED)
    # Verified before the transaction below, so that a wrong code's throttling is kept.
    device = _verify(user, pending, code_normalised(code), wrong=WRONG_AUTHENTICATOR_CODE, why=_authenticator_code_used)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        device.confirmed = True
        return device, mfa_recovery_codes_new(user=user, actor=actor)


@transaction.atomic
def mfa_recovery_codes_new(*, user: User, actor: User | None) -> list[str]:
    """Replace the user's recovery codes with RECOVERY_CODE_COUNT new ones, returned as they are
    shown ("7KQF-M3XR"); the old stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME)
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add("".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)))
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code_normalised(code)) for code in codes)
    return sorted(f"{code[:4]}-{code[4:]}" for code in codes)


@transaction.atomic
def mfa_disable(*, user: User, actor: User) -> None:
    """Turn the second step off for a user who may go without it."""
    if mfa_required(user):
        raise PermissionDenied("Two-step sign-in is required for your role and cannot be turned off.")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


@transaction.atomic
def mfa_reset(*, user: User, actor: User | None) -> None:
    """For an admin, when someone lost their phone and their codes: remove the user's devices, end
    their sessions and revoke their tokens (user_signed_out_everywhere). If the second step is
    required for them, they set it up at next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user_signed_out_everywhere(user=user, actor=actor)


# --- personal API tokens ---------------------------------------------------------------------------

TOKEN_PREFIX = "cct_"  # noqa: S105 (not a secret: marks ours, for secret scanners and for people)
TOKEN_LIFETIMES_DAYS = (30, 90, 365)
TOKEN_LIMIT = 20  # live tokens a user may hold: enough for every system they feed


def token_hash(secret: str) -> str:
    """What is stored of a secret: 256 random bits need no slow hash, only no way back."""
    return hashlib.sha256(secret.encode()).hexdigest()


@audited(AuditEvent.Action.CREATE)
@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    days: int,
    second_step_passed: bool,
    actor: User,
    scope: str = PersonalToken.Scope.READ,
    now: dt.datetime | None = None,
) -> tuple[PersonalToken, str]:
    """A new token for `user` and its secret, which is shown once and never stored. It reads only
    unless `scope` says read and write: the least a caller that forgot to choose can do."""
    now = now or timezone.now()
    can_make_token(user, second_step_passed=second_step_passed).enforce()
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if days not in TOKEN_LIFETIMES_DAYS:
        raise ValidationError({"days": f"Choose {', '.join(map(str, TOKEN_LIFETIMES_DAYS))} days."})
    if scope not in PersonalToken.Scope.values:
        raise ValidationError({"scope": "Choose what the token may do: read only, or read and write."})
    live = PersonalToken.objects.select_for_update(no_key=True).filter(
        user=user, revoked_at__isnull=True, expires_at__gt=now
    )
    if live.count() >= TOKEN_LIMIT:
        raise ValidationError(f"You have {TOKEN_LIMIT} tokens already: revoke one you no longer use first.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 4],
        key_hash=token_hash(secret),
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
        with_second_step=second_step_passed,
        scope=scope,
    )
    return token, secret


@audited(AuditEvent.Action.UPDATE)
@transaction.atomic
def token_revoke(*, token: PersonalToken, actor: User, now: dt.datetime | None = None) -> PersonalToken:
    """Stop the token working from its next request on; a second revocation changes nothing."""
    if actor.pk != token.user_id:
        raise PermissionDenied("Only its owner revokes a token.")
    PersonalToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now or timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token
