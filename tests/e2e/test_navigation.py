"""The main navigation for every role at a workstation's 1280 and 1024 px and a tablet's 820 px:
one line where it is spread out, every page the role has reachable (an administrator's own pages
under the Admin menu), and folded behind its toggle on the tablet with the bell still in sight."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ONE_LINE = 80  # px: the bar's height on one line is about 56
FOLDED_BELOW = 992  # Bootstrap's navbar-expand-lg

# What each demo user must find in the bar (beside My work, Patients and Sign out).
LINKS = {
    "nurse": ["Handoffs", "Alerts"],
    "pharmacist": ["Handoffs", "Alerts"],
    "oncologist": ["Handoffs", "Alerts"],
    "casemanager": ["Handoffs", "Alerts"],
    "coordinator": ["Handoffs", "Alerts", "Unit board", "On call", "Reports"],
    "admin": ["Reports"],
}
ADMIN_MENU = ["Checklist templates", "Audit log", "Reminders", "Administration (users, units, settings)"]


def test_the_navigation_keeps_one_line_and_every_link_at_each_width(page, login_as, demo_ward, screenshot, subtests):
    # One demo ward for every role (seeding it costs seconds): each role a subtest of its own.
    for username in LINKS:
        with subtests.test(username=username):
            page.set_viewport_size({"width": 1280, "height": 800})
            login_as(page, username)
            check_navigation(page, username, screenshot)


def check_navigation(page, username, screenshot):
    navigation = page.get_by_role("navigation", name="Main")
    for width in (1280, 1024, 820):  # the folded width last: its menu is left open
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"navigation-{username}-{width}")
        expect(navigation.get_by_role("link", name="Notifications")).to_be_visible()
        toggle = navigation.get_by_role("button", name="Toggle navigation")
        if width < FOLDED_BELOW:
            expect(toggle).to_be_visible()
            toggle.click()
        else:
            expect(toggle).to_be_hidden()
            assert navigation.bounding_box()["height"] < ONE_LINE, f"{username}'s bar wraps at {width} px"
        for name in ["My work", "Patients", *LINKS[username]]:
            expect(navigation.get_by_role("link", name=name, exact=True)).to_be_visible()
        expect(navigation.get_by_role("button", name="Sign out")).to_be_visible()
        if username == "admin":
            navigation.get_by_role("button", name="Admin", exact=True).click()
            for name in ADMIN_MENU:
                expect(navigation.get_by_role("link", name=name, exact=True)).to_be_visible()
            screenshot(page, f"navigation-admin-menu-{width}")
            page.keyboard.press("Escape")
