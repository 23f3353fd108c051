"""Signing in for tests: both steps at once, the code an authenticator app would show, and a
password changed by its user or by an admin."""

import time

import django.test
from django.http import HttpRequest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..factories import TEST_PASSWORD


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


NEW_PASSWORD = "a-Much-longer-passphrase-7"


def own_password_change(client, user, admin_user) -> None:
    """`user` changes their own password on the site (a change whose effects tests compare with
    `admin_password_change`'s: same arguments)."""
    verified_login(client, user)
    data = {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post(reverse("password_change"), data).status_code == 302


def admin_password_change(client, user, admin_user) -> None:
    """`admin_user` sets `user`'s password in the admin."""
    verified_login(client, admin_user)
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post(reverse("admin:auth_user_password_change", args=[user.pk]), data).status_code == 302
