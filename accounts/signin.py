"""Sign-in plumbing shared by the views and the middleware: who needs the second step, the
session's clock, the client's address, and the sign-in log.

The sign-in log (logger `accounts.signin`) names users and addresses, never passwords or codes.
"""

import logging
from urllib.parse import urlencode

from axes.signals import user_locked_out
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect
from django_otp.plugins.otp_totp.models import TOTPDevice

from .audit import audit_record
from .client_address import client_ip_address
from .models import AuditEvent
from .policy import mfa_required

logger = logging.getLogger("accounts.signin")

# Session keys: when the user signed in, and when they were last active (Unix seconds).
SIGNED_IN_AT = "signin_signed_in_at"
LAST_ACTIVE_AT = "signin_last_active_at"
# Until when (Unix seconds) a user found without an authenticator is not asked again
# (`second_step_owed`).
NO_AUTHENTICATOR_UNTIL = "signin_no_authenticator_until"
# A user without an authenticator is asked again at most this often whether they have one, so
# that their pages cost no query for it; one set up in another browser reaches this session
# within the interval.
NO_AUTHENTICATOR_RECHECK = 60
# A request that a page makes by itself (the notification bell every 60 s) carries this
# header; it is not activity, so it does not keep an idle session alive.
BACKGROUND_HEADER = "X-Background-Poll"


def now_seconds() -> int:
    return int(timezone.now().timestamp())


@receiver(user_logged_in, dispatch_uid="signin_session_start")
def session_start(sender, request, user, **kwargs) -> None:
    """Start the session's clock: the absolute limit counts from here; and ask afresh whether
    this user owes a second step."""
    now = now_seconds()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_ACTIVE_AT] = now
    request.session.pop(NO_AUTHENTICATOR_UNTIL, None)


def is_background(request) -> bool:
    return request.headers.get(BACKGROUND_HEADER) == "true"


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- who needs the second step -------------------------------------------------------------


def totp_device(user, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-pk").first()


def second_step(user) -> str | None:
    """The step a signed-in user still owes: "verify", "setup", or None.

    A user owes "verify" when they have an authenticator and this session has not passed it,
    "setup" when they must have one and have none.
    """
    # OTPMiddleware sets otp_device: the device this session passed, or None.
    if not user.is_authenticated or getattr(user, "otp_device", None) is not None:
        return None
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return "verify"
    if mfa_required(user):
        return "setup"
    return None


def second_step_owed(request) -> str | None:
    """`second_step` of the request's signed-in user, for the pages (SecondStepMiddleware) and the
    API's session sign-in alike; a user found without an authenticator is not asked again for
    NO_AUTHENTICATOR_RECHECK seconds. Never skipped for a user who must have one: a nurse made
    coordinator or staff while signed in is sent to its setup at once."""
    session, now, user = request.session, now_seconds(), request.user
    if session.get(NO_AUTHENTICATOR_UNTIL, 0) > now and not mfa_required(user):
        return None
    step = second_step(user)
    if step is None and user.is_authenticated and getattr(user, "otp_device", None) is None:
        session[NO_AUTHENTICATOR_UNTIL] = now + NO_AUTHENTICATOR_RECHECK
    return step


# --- the client's address --------------------------------------------------------------------


# Sign-in events that also go to the audit log, as what. (Password sign-ins, their failures,
# sign-outs and lockouts reach it through accounts.audit's receivers.)
AUDITED_EVENTS = {
    "second_step_passed": (AuditEvent.Action.LOGIN, AuditEvent.Outcome.SUCCESS),
    "second_step_failed": (AuditEvent.Action.LOGIN_FAILED, AuditEvent.Outcome.FAILURE),
    "second_step_setup_failed": (AuditEvent.Action.LOGIN_FAILED, AuditEvent.Outcome.FAILURE),
    "second_step_enabled": (AuditEvent.Action.PERMISSION_CHANGE, AuditEvent.Outcome.SUCCESS),
    "second_step_disabled": (AuditEvent.Action.PERMISSION_CHANGE, AuditEvent.Outcome.SUCCESS),
    "second_step_reset": (AuditEvent.Action.PERMISSION_CHANGE, AuditEvent.Outcome.SUCCESS),
    "recovery_codes_replaced": (AuditEvent.Action.PERMISSION_CHANGE, AuditEvent.Outcome.SUCCESS),
    "password_changed": (AuditEvent.Action.PERMISSION_CHANGE, AuditEvent.Outcome.SUCCESS),
    "sessions_ended": (AuditEvent.Action.PERMISSION_CHANGE, AuditEvent.Outcome.SUCCESS),
    # Groups and Django permissions given or taken in the admin (their tables have no trigger).
    "admin_rights_changed": (AuditEvent.Action.PERMISSION_CHANGE, AuditEvent.Outcome.SUCCESS),
    # An admin lifting a lockout early (admin action "Unlock sign-in"): who may sign in changed.
    "unlocked": (AuditEvent.Action.PERMISSION_CHANGE, AuditEvent.Outcome.SUCCESS),
    # An API token that names a user but may not be used (revoked, expired, the user deactivated,
    # the second step missing): accounts.api_auth. A secret that matches no token names nobody,
    # and has its line in the sign-in log only.
    "token_refused": (AuditEvent.Action.LOGIN_FAILED, AuditEvent.Outcome.FAILURE),
    # A read-only token sent with a change (accounts.api_auth.TokenScopeAllows): the credential
    # was good but not for this request, so not a failed sign-in but a refused write, denied;
    # nothing was written.
    "token_read_only": (AuditEvent.Action.TOKEN_WRITE_REFUSED, AuditEvent.Outcome.DENIED),
}


def log_event(request, event: str, *, subject=None, level: int = logging.INFO, **detail) -> None:
    """One line in the sign-in log (and, for AUDITED_EVENTS, a row in the audit log): the event,
    whom it concerns (`subject`, by default the signed-in user), who did it, from where."""
    actor = getattr(request, "user", None)
    actor = actor if actor is not None and actor.is_authenticated else None
    subject = subject or actor
    by = f" by={actor.get_username()}" if actor is not None and subject is not None and actor.pk != subject.pk else ""
    extra = "".join(f" {key}={value}" for key, value in detail.items())
    username = subject.get_username() if subject is not None else "-"
    logger.log(level, "%s user=%s%s ip=%s%s", event, username, by, client_ip_address(request), extra)
    if event in AUDITED_EVENTS:
        action, outcome = AUDITED_EVENTS[event]
        audit_record(
            action=action,
            object_type="accounts.user",
            object_id=subject.pk if subject is not None else "",
            outcome=outcome,
            detail={"event": event, **detail},
            request=request,
        )


@receiver(user_logged_in, dispatch_uid="signin_failures_clear")
def failures_clear(sender, request, user, **kwargs) -> None:
    """A successful sign-in clears the failed sign-ins of its user name, from any address, and no
    others: the failures from the same address against other names still count towards the
    address's lockout and theirs (settings.AXES_RESET_ON_SUCCESS says why it is off)."""
    axes_reset(username=user.get_username())


@receiver(user_locked_out, dispatch_uid="signin_log_lockout")
def log_lockout(sender, request, username, ip_address, **kwargs) -> None:
    # The name is as typed, so quoted: a line break in it cannot forge a line of the log.
    logger.warning("lockout username=%r ip=%s", username, ip_address)


# --- views and redirects ---------------------------------------------------------------------


def second_step_not_required(view_func):
    """Mark a view that a signed-in user may reach before the second step (the step itself,
    sign-out), as Django's @login_not_required marks views open to anonymous visitors."""
    view_func.second_step_required = False
    return view_func


def on_this_site(request, candidate: str) -> str:
    """`candidate` if it is an address on this site (a path from its root, or a URL of its host),
    else "". A word is no address: Django's redirect() takes one for a view's name, so `next=abc`
    was a 500 and `next=home` whichever page has that name (found by review)."""
    if not candidate.startswith("/") and "://" not in candidate:
        return ""
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    return candidate


def safe_next(request) -> str:
    """The `next` of the request if it points into this site, else the home page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    return on_this_site(request, candidate) or resolve_url(settings.LOGIN_REDIRECT_URL)


def step_url(step: str, next_url: str = "") -> str:
    return with_next(reverse("mfa_verify" if step == "verify" else "mfa_setup"), next_url)


def redirect_to(request, url: str) -> HttpResponse:
    """A redirect that htmx follows as a whole page (HX-Redirect) instead of swapping it into a fragment."""
    if is_htmx(request):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def return_path(request) -> str:
    """Where to come back to after a detour (sign-in, second step): the page itself for a plain
    GET, the page that made an htmx request, nothing for a form post."""
    if is_htmx(request):
        return getattr(getattr(request, "htmx", None), "current_url_abs_path", None) or ""
    return request.get_full_path() if request.method == "GET" else ""


def with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url
