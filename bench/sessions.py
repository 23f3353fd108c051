"""Signed-in callers for the load: sessions made the way the site's sign-in makes them, and
personal API tokens made the way the Security page makes them."""

BENCH_CLIENT = "Bench load"


def signed_in_cookies(user) -> dict[str, str]:
    """The cookies of a browser in which `user` has just signed in and seen a page.

    The session holds what `django.contrib.auth.login` stores (the user's id, the backend and
    the session auth hash), in the engine that the settings name; where the site asks this
    user for a second step (django-otp: staff and coordinators), it has passed it, as after the
    code page. Keep this the only place that knows what a signed-in session holds: when sign-in
    gains steps, store here what they leave in the session.
    """
    from importlib import import_module

    from django.apps import apps
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.middleware.csrf import _get_new_csrf_string

    # The backend that login() records: the first that checks passwords (axes, first, only
    # refuses locked-out sign-ins).
    backend = next(path for path in settings.AUTHENTICATION_BACKENDS if not path.startswith("axes."))
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if apps.is_installed("django_otp") and (user.is_staff or user.role == "coordinator"):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        device = device or TOTPDevice.objects.create(user=user, name="Bench authenticator", confirmed=True)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    # A browser keeps the CSRF cookie of its first page and sends it with every request after.
    return {settings.SESSION_COOKIE_NAME: session.session_key, settings.CSRF_COOKIE_NAME: _get_new_csrf_string()}


def token_headers(user) -> dict[str, str]:
    """The header of a program that calls the API with a personal token of `user`, made as the
    Security page makes one (after the second step where the role needs it). The bench's earlier
    tokens are revoked first: a user holds at most accounts.services.TOKEN_LIMIT live tokens."""
    from accounts.models import PersonalToken
    from accounts.services import TOKEN_LIFETIMES_DAYS, token_create, token_revoke

    for old in PersonalToken.objects.filter(user=user, name=BENCH_CLIENT, revoked_at__isnull=True):
        token_revoke(token=old, actor=user)
    days = min(TOKEN_LIFETIMES_DAYS)
    _, secret = token_create(user=user, name=BENCH_CLIENT, days=days, second_step_passed=True, actor=user)
    return {"Authorization": f"Bearer {secret}"}
