"""Dead ends that still lead somewhere (issue 14, item 8), in the browser at 1280, 1024 and 820 px:
a nurse who opens the unit board gets the app's own 403 page, which says the reason the server
gives and keeps the navigation around it (folded into its menu on the tablet); an address that
leads nowhere is the app's own 404. axe-core finds nothing serious or critical on either, and
neither scrolls sideways. The pages' content is tested without a browser in tests/test_error_pages.py.
"""

import re

import pytest
from playwright.sync_api import expect

from .helpers import sideways_scroll

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]
FOLDED_BELOW = 992  # Bootstrap's navbar-expand-lg: narrower, the menu folds behind its toggle
BOARD_REFUSED = "Only coordinators may watch the unit board."


def test_a_nurse_opening_the_board_is_told_why_with_the_navigation_around_it(
    page, login_as, nurse, axe_violations, screenshot
):
    login_as(page, "nurse")
    response = page.goto("/board/")
    assert response.status == 403
    expect(page).to_have_title(re.compile(r"^Not allowed"))
    main = page.get_by_role("main")
    navigation = page.get_by_role("navigation", name="Main")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        expect(main.get_by_role("heading", name="Not allowed", level=1)).to_be_visible()
        expect(main.get_by_text(BOARD_REFUSED)).to_be_visible()
        expect(main.get_by_role("link", name="Back to My work")).to_be_visible()
        expect(navigation.get_by_role("link", name="Notifications")).to_be_visible()
        assert sideways_scroll(page) == "", width
        screenshot(page, f"error-403-{width}")
        assert axe_violations(page) == [], width
        if width < FOLDED_BELOW:
            navigation.get_by_role("button", name="Toggle navigation").click()
        expect(navigation.get_by_role("link", name="My work")).to_be_visible()
        expect(navigation.get_by_role("link", name="Unit board")).to_have_count(0)  # not offered to a nurse
        expect(navigation.get_by_role("button", name="Sign out")).to_be_visible()

    main.get_by_role("link", name="Back to My work").click()
    expect(page.get_by_role("heading", name="My work", level=1)).to_be_visible()


def test_an_address_that_leads_nowhere_is_the_apps_own_404(page, login_as, nurse, axe_violations, screenshot):
    login_as(page, "nurse")
    response = page.goto("/patients/no-such-page/")
    assert response.status == 404
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Not found", level=1)).to_be_visible()
    expect(main.get_by_text("There is nothing here, or nothing you may see")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="My work")).to_be_visible()
    assert sideways_scroll(page) == ""
    screenshot(page, "error-404")
    assert axe_violations(page) == []
    main.get_by_role("link", name="Patients").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.url.endswith("/patients/")
