"""The coordinator's Reports page on the demo ward's weeks of history, in a real browser: it fits
1280, 1024 and 820 px without sideways scrolling (at 1280 and 1024 px no table scrolls in its own
box either), axe-core finds nothing serious, each section's CSV downloads, and a period given the
wrong way round is told at its field."""

import pytest
from playwright.sync_api import expect

from .helpers import sideways_scroll, tables_wider_than_their_box

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 1024, 820)


def test_the_reports_page_reads_at_every_width_and_downloads_its_csvs(
    page, login_as, demo_ward, axe_violations, screenshot
):
    login_as(page, "coordinator")
    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reports")
    page.get_by_label("Period", exact=True).select_option("90")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="1. Readiness")).to_be_visible()
    for name in ("Events ready at their time, by kind", "Tasks done by their due time, by role"):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    found = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"reports-{width}")
        navigation = page.get_by_role("navigation", name="Main").bounding_box()
        assert navigation["height"] < 80, f"the navigation wraps onto a second line at {width} px"
        assert sideways_scroll(page) == "", width
        if width >= 1024:  # narrower, a wide table may scroll in its own box, never the page
            assert tables_wider_than_their_box(page) == [], width
        found[width] = axe_violations(page)
    assert not any(found.values()), found

    with page.expect_download() as download:
        page.locator("a[href*='section=on_time']").click()
    assert download.value.suggested_filename.startswith("report-on-time-")
    assert download.value.path().read_text(encoding="utf-8-sig").startswith('"table","row","column","value","unit"')

    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill("2026-03-10")
    page.get_by_label("To", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The last day comes before the first.")).to_be_visible()
    screenshot(page, "reports-wrong-period")
    assert not axe_violations(page)


def test_an_administrator_chooses_the_unit_and_the_navigation_keeps_one_line_at_1280_and_1024_px(
    page, login_as, demo_ward, axe_violations
):
    login_as(page, "admin")
    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Unit", exact=True).select_option(label="HomeCare Infusion")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports: HomeCare Infusion")
    # An administrator's own pages are under the Admin menu (tests/e2e/test_navigation.py).
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.get_by_role("navigation", name="Main").bounding_box()["height"] < 80, width
    assert not axe_violations(page)
