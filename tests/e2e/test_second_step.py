"""The second step's set-up in a browser: a bare page, then the recovery codes, which print alone
and copy to the clipboard."""

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from ..accounts.helpers import totp_code
from ..factories import TEST_PASSWORD

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]


def at_each_width(page, name: str, screenshot, *, bare: bool = False) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        if bare:  # nothing to fold: the way out stays in sight at every width
            expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1024, "height": 768})


def test_a_coordinator_sets_up_the_second_step_then_prints_and_copies_the_recovery_codes(
    page, coordinator, axe_violations, screenshot
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("coordinator")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_text(str(coordinator))).to_be_visible()
    expect(navigation.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    expect(navigation.get_by_role("link")).to_have_text(["Care Coordination Tracker"])  # the product, no menu
    expect(page.get_by_role("link", name="Notifications")).to_have_count(0)
    at_each_width(page, "second-step-setup", screenshot, bare=True)
    assert axe_violations(page) == []

    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    page.get_by_role("textbox", name="Code").fill(totp_code(device))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("#recovery-code-list li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code) for code in codes)
    at_each_width(page, "recovery-codes", screenshot)
    assert axe_violations(page) == []

    page.get_by_role("button", name="Copy the codes").click()
    expect(page.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()").split("\n") == codes

    page.evaluate("window.print = () => { window.printed = true; }")  # the dialog itself is the browser's
    page.get_by_role("button", name="Print the codes").click()
    assert page.evaluate("window.printed") is True

    page.emulate_media(media="print")
    expect(page.locator("#recovery-code-list")).to_be_visible()
    expect(page.get_by_text("Care Coordination Tracker: recovery codes for two-step sign-in")).to_be_visible()
    for hidden in [
        page.get_by_role("navigation", name="Main"),
        page.get_by_role("heading", name="Your recovery codes"),
        page.get_by_text("Store these codes safely now"),
        page.get_by_role("button", name="Print the codes"),
        page.get_by_role("link", name="I have stored my recovery codes: continue"),
    ]:
        expect(hidden).to_be_hidden()
