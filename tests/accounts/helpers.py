"""Signing in for tests: both steps at once, and the code an authenticator app would show."""

import time

import django.test
from django.http import HttpRequest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class SignInClient(django.test.Client):
    """Django's test client, whose login() hands authenticate() a request as the sign-in page
    does: django-axes, the first authentication backend, refuses to judge a sign-in without one.
    The `client` fixture is one of these (tests/conftest.py)."""

    def login(self, **credentials):
        credentials.setdefault("request", HttpRequest())
        return super().login(**credentials)


def verified_login(client, user) -> TOTPDevice:
    """Sign `user` in as after both steps: their authenticator (made if they have none) has been
    passed in this session. For staff and coordinators, whose pages need the second step."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def totp_code(device: TOTPDevice) -> str:
    """The code that the authenticator app holding `device`'s key shows now (time-machine's now)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"
