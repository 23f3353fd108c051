"""Sign-in security on every request: the session time-outs, then the second step."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.contrib.auth.middleware import get_user
from django.http import HttpResponse
from django.shortcuts import render, resolve_url
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from rest_framework.views import APIView

from .signin import (
    LAST_ACTIVE_AT,
    SIGNED_IN_AT,
    is_background,
    log_event,
    now_seconds,
    redirect_to,
    return_path,
    second_step_owed,
    step_url,
    with_next,
)

# Activity is written to the session at most this often, so that a busy page costs no write.
ACTIVITY_WRITE_INTERVAL = 60


class SessionTimeoutMiddleware:
    """Signs a session out after SESSION_IDLE_TIMEOUT seconds without activity, and in any case
    SESSION_ABSOLUTE_TIMEOUT seconds after sign-in, then sends the browser to the sign-in page
    with a message saying why.

    Requests that a page makes by itself (marked with the X-Background-Poll header, like the
    notification bell) are checked but are not activity: a tablet left on a page still signs out.
    The last activity is written at most once a minute; the session's clock is started at
    sign-in by `accounts.signin.session_start`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if SESSION_KEY not in session:  # nobody signed in: nothing to time out
            return self.get_response(request)
        now = now_seconds()
        signed_in_at = session.get(SIGNED_IN_AT)
        if signed_in_at is None:  # a session from before these time-outs: its clock starts now
            session[SIGNED_IN_AT] = session[LAST_ACTIVE_AT] = signed_in_at = now
        last_active_at = session.get(LAST_ACTIVE_AT, signed_in_at)
        if now - last_active_at >= settings.SESSION_IDLE_TIMEOUT:
            minutes = settings.SESSION_IDLE_TIMEOUT // 60
            return self.sign_out(request, "idle", f"You were signed out after {minutes} minutes without activity.")
        if now - signed_in_at >= settings.SESSION_ABSOLUTE_TIMEOUT:
            hours = settings.SESSION_ABSOLUTE_TIMEOUT // 3600
            return self.sign_out(
                request, "absolute", f"You were signed out {hours} hours after signing in. Please sign in again."
            )
        if not is_background(request) and now - last_active_at >= ACTIVITY_WRITE_INTERVAL:
            session[LAST_ACTIVE_AT] = now
        return self.get_response(request)

    def sign_out(self, request, reason: str, message: str) -> HttpResponse:
        log_event(request, "session_timeout", reason=reason)
        # Only this session ends: the user may be working in another browser.
        logout(request)
        if _is_api_request(request):  # answered by the API itself, signed out: a 401 in its words
            return self.get_response(request)
        messages.info(request, message)
        # Back to the page the user was on, once they have signed in again.
        return redirect_to(request, with_next(resolve_url(settings.LOGIN_URL), return_path(request)))


def is_api_view(view_func) -> bool:
    """A view of Django REST framework (/api/, /fhir/), which signs its callers in and refuses
    them by itself (accounts.api_auth)."""
    view_class = getattr(view_func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def _is_api_request(request) -> bool:
    try:
        return is_api_view(resolve(request.path_info).func)
    except Resolver404:
        return False


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's: every page needs a signed-in user unless its view says @login_not_required.
    An API view (Django REST framework's) is let through: it authenticates by itself, a token or
    the session, and answers an anonymous caller with a 401, not a redirect to the sign-in page
    (accounts.api_auth)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_api_view(view_func):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class SecondStepMiddleware:
    """Sends a signed-in user who still owes the second step to it, before any other page:
    to the code page if they have an authenticator, to its setup if their role requires one.

    Open: views marked @login_not_required (the sign-in pages, /healthz) or
    @second_step_not_required (the second step itself, sign-out). htmx requests are answered
    with HX-Redirect; a background poll gets an empty answer, so that it never reloads the
    page where the user is typing their code.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True) or not getattr(view_func, "second_step_required", True):
            return None
        if is_api_view(view_func):  # refuses by itself, in its own words (accounts.api_auth)
            return None
        step = second_step_owed(request)
        if step is None:
            return None
        if is_background(request):
            return HttpResponse(status=204)
        return redirect_to(request, step_url(step, return_path(request)))


class NoStoreMiddleware:
    """Nothing a signed-in user is shown is kept by the browser or a proxy: on a shared tablet,
    a page of patient data must not come back from the cache after sign-out (Back, history)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response


class MethodNotAllowedPageMiddleware:
    """A page's 405 (a form's address opened by a link, a bookmark or a typed URL: `require_POST`)
    answered with a page that says what to do, in the site's frame, instead of Django's empty body.
    Its `Allow` header is kept; the API's 405s come with their own problem details and are left
    alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content or getattr(response, "streaming", False):
            return response
        page = render(request, "405.html", status=405)
        if "Allow" in response:
            page["Allow"] = response["Allow"]
        return page


class SignedInUserMiddleware:
    """`request.user` as the signed-in user it stands for, instead of the lazy stand-ins that
    Django's AuthenticationMiddleware and django-otp's OTPMiddleware put there (after both).

    Every request of this project reads the user before its view anyway (the time-outs, the unit's
    clock), so the stand-ins save nothing; and each forwards every attribute through a raised
    AttributeError, which a page asking the task policy of 20 rows does thousands of times
    (docs/performance.md, issue 19's eighth look). Reading the user through them lets django-otp
    mark it with its device (`otp_device`, `is_verified`) first: the user then put in their place
    is that same object, the one Django's stand-in read from the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            request.user = get_user(request)
        return self.get_response(request)


class UnitClockMiddleware:
    """Every time a page shows is on the signed-in user's unit's clock (its time zone), unless the
    page names another (a patient's pages use the patient's unit's): one clock, whatever the
    server's zone, for the bell's notifications and the template editor's dates alike. Users
    without a unit (administrators) read the server's zone (TIME_ZONE), which pages name."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        unit = getattr(user, "unit", None) if user is not None and user.is_authenticated else None
        if unit is not None:
            timezone.activate(unit.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
