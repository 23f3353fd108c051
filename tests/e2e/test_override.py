"""An honest override in the browser, at 1280, 1024 and 820 px (issue 14, item 2): the oncologist
sees what it covers, is held to a real reason and a confirmation, and the gate then says
"Overridden" in the warning colour, never a green ready (axe-core on the open form)."""

import pytest
from playwright.sync_api import expect

from checklists.models import Checklist

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]


def test_the_oncologist_overrides_with_a_justification_and_a_confirmation(
    page, login_as, infusion_start, axe_violations, screenshot
):
    login_as(page, "oncologist")
    page.goto(f"/events/{infusion_start.pk}/")
    page.get_by_text("Override the gate (oncologist)…").click()
    expect(page.get_by_text("This override lets the event start without:")).to_be_visible()
    confirm = page.get_by_label("I have reviewed the 6 items listed and take responsibility for starting without them.")
    expect(confirm).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"override-form-{width}")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1024, "height": 768})

    reason = page.get_by_label("Why may this event start")
    reason.fill("ok")
    page.get_by_role("button", name="Override 6 items and record why").click()
    # The browser holds the form back (the server would refuse it too: test_views.py).
    assert reason.evaluate("field => field.validity.tooShort") is True
    assert not Checklist.objects.filter(event=infusion_start, overridden_at__isnull=False).exists()

    page.get_by_label("Clinical urgency: delaying the start is the greater risk").check()
    reason.fill("Blast count rising; the checks are done on paper at the bedside.")
    page.get_by_label("I have reviewed the 6 items listed").check()
    page.get_by_role("button", name="Override 6 items and record why").click()
    gate = page.locator("#event-gate")
    expect(gate.get_by_text("Overridden", exact=True)).to_have_class("badge text-bg-warning")
    expect(gate.locator(".text-bg-success")).to_have_count(0)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"override-done-{width}")
