"""Who calls an API view (Django REST framework's, under /api/ and /fhir/): a personal token or the
browser's session, with the same sign-in rules as the pages.

The site's middleware was made for pages: it sends an anonymous visitor, or one who owes the
second step, to a page of the sign-in. An API view answers for itself instead: its
authentication classes (settings.REST_FRAMEWORK, these two) refuse with a 401 or 403 that the
view's exception handler words (problem details under /api/, an OperationOutcome under /fhir/),
so `LoginRequiredMiddleware` and `SecondStepMiddleware` let every DRF view through
(`accounts.middleware.is_api_view`). A token names its user as the actor of the audit log for the rest of the
request, as the session's user is named by `AuditContextMiddleware`. A refused token is a failed
sign-in, logged as the login pages log theirs (`accounts.signin.log_event`): in the audit log under
the token's user when the secret is a known token's, in the sign-in log in any case.

A token's scope (read only, or read and write) is enforced here too, for every API view at once:
`TokenScopeAllows` is one of settings.REST_FRAMEWORK's default permissions.
"""

import datetime as dt
import logging

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .audit import name_actor
from .models import PersonalToken
from .policy import mfa_required
from .services import token_hash
from .signin import log_event, second_step_owed

# A token's last use is written at most this often, so that a busy client costs no write a request.
LAST_USED_WRITE_INTERVAL = dt.timedelta(minutes=1)

BAD_HEADER = "Send the token as “Authorization: Bearer <token>”, with nothing else in the header."
UNKNOWN = "This token is not valid: it was revoked, it expired, or it was never made."
NEEDS_SECOND_STEP = (
    "Your role now signs in with two steps, and this token was made without them: make a new one on your Security page."
)
OWES_SECOND_STEP = "Finish signing in first: enter the code from your authenticator app."
READ_ONLY = "This token is read-only: make a read-and-write token for changes."


class TokenRefused(exceptions.AuthenticationFailed):
    """A 401 for a token, with what the logs need: the token the secret matched (None when it
    matched none) and why it was refused (the caller's answer says less: UNKNOWN)."""

    def __init__(self, detail: str, *, reason: str, token: PersonalToken | None = None):
        super().__init__(detail)
        self.reason, self.token = reason, token


def token_user(secret: str, *, now: dt.datetime | None = None) -> tuple:
    """The user and token of a secret; TokenRefused when it is not live or its user may not use it."""
    now = now or timezone.now()
    token = PersonalToken.objects.select_related("user__unit").filter(key_hash=token_hash(secret)).first()
    if token is None:
        raise TokenRefused(UNKNOWN, reason="unknown")
    if token.revoked_at is not None:
        raise TokenRefused(UNKNOWN, reason="revoked", token=token)
    if not token.is_live(now):
        raise TokenRefused(UNKNOWN, reason="expired", token=token)
    if not token.user.is_active:
        raise TokenRefused(UNKNOWN, reason="user_inactive", token=token)
    if mfa_required(token.user) and not token.with_second_step:
        raise TokenRefused(NEEDS_SECOND_STEP, reason="second_step_missing", token=token)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_WRITE_INTERVAL:
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


class PersonalTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer cct_…`: the token's user, with their current role and care teams."""

    keyword = "bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        try:
            if len(header) != 2:
                raise TokenRefused(BAD_HEADER, reason="bad_header")
            try:
                secret = header[1].decode("ascii")
            except UnicodeDecodeError:
                raise TokenRefused(BAD_HEADER, reason="bad_header") from None
            user, token = token_user(secret)
        except TokenRefused as refused:
            # DESIGN: every sign-in failure is logged. The token's user is named only when the
            # secret is theirs: a guess names nobody (and its text is never logged).
            subject = refused.token.user if refused.token is not None else None
            event = "token_refused" if subject is not None else "token_unknown"
            named = {"token": refused.token.pk} if refused.token is not None else {}
            log_event(request._request, event, subject=subject, level=logging.WARNING, reason=refused.reason, **named)
            raise
        name_actor(user)
        # The unit's clock, as accounts.middleware.UnitClockMiddleware gives a signed-in page (which
        # runs before a token's user is known), for every time the view words: a conflict's "at
        # Fri 4 Dec, 09:03". That middleware deactivates it when the request ends.
        if user.unit is not None:
            timezone.activate(user.unit.zone)
        return user, token

    def authenticate_header(self, request) -> str:
        # A 401 (not a 403) for a request without credentials, saying how to bring them.
        return 'Bearer realm="api"'


class SessionWithSecondStepAuthentication(SessionAuthentication):
    """The browser's session (htmx, the API docs), with its CSRF check, once both steps are passed."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and second_step_owed(request._request) is not None:
            raise exceptions.PermissionDenied(OWES_SECOND_STEP)
        return result


class TokenScopeAllows(BasePermission):
    """A read-only token reads (GET, HEAD, OPTIONS) and nothing else: any other method is a 403
    before the view runs, so nothing is written, logged in both logs as a refused token is.

    A method that the view does not have is let through to its 405, which any caller gets (FHIR's
    POST, a PUT on a list): a read-only token learns nothing different there. The browser's
    session and read-and-write tokens are not concerned."""

    message = READ_ONLY
    code = "read_only_token"

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, PersonalToken) or token.writes or request.method in SAFE_METHODS:
            return True
        method = request.method.lower()
        if method not in view.http_method_names or not hasattr(view, method):
            return True
        # The URL's name, not its path: the path is the caller's text, and the log is read line by line.
        match = request._request.resolver_match
        log_event(
            request._request,
            "token_read_only",
            level=logging.WARNING,
            token=token.pk,
            method=request.method,
            view=match.view_name if match is not None else "-",
        )
        return False
