"""The demo ward as a night nurse and a home nurse see it, at 1280, 1024 and 820 px (issue 14,
items 3, 4, 5 and 7): the unit's clock in the bar, events weeks ahead "Not yet due" (never a red
"Not ready"), patients named with their MRN, and the home nurse's handoff tasks in her My work;
axe-core on each page."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]
CLOCK = re.compile(r"^\d\d:\d\d [A-Z]{3,5}$")


def test_the_ward_and_the_home_as_the_nurses_see_them(page, login_as, demo_ward, axe_violations, screenshot):
    login_as(page, "nurse")
    page.goto(demo_ward.patient)
    expect(page.get_by_title("Times are on this clock")).to_have_text(CLOCK)
    expect(page.get_by_text("Not yet due").first).to_be_visible()
    assert "MRN" in page.locator("main").inner_text()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"patient-page-{width}")
    assert axe_violations(page) == []

    page.goto("/notifications/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"notifications-{width}")
    assert axe_violations(page) == []

    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, "homenurse")
    tasks = page.locator("#handoff-actions").locator("xpath=..")
    expect(page.get_by_role("heading", name=re.compile(r"^Handoff tasks \(\d+\)$"))).to_be_visible()
    expect(tasks.get_by_role("link").first).to_contain_text("(")  # the patient with the MRN
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"home-nurse-my-work-{width}")
    assert axe_violations(page) == []
