"""The coordinator's handoff review on a narrow tablet (820 px): the whole table is in view, its
last column (flagged, signed off) included, without scrolling it sideways."""

import pytest

pytestmark = pytest.mark.e2e


def test_the_review_table_fits_a_narrow_tablet(page, login_as, demo_ward):
    login_as(page, "coordinator")
    page.set_viewport_size({"width": 820, "height": 900})  # after the sign-in: its helper looks for the full bar
    page.goto("/handoffs/review/")
    region = page.get_by_role("region", name="Handoffs sent by")
    widths = region.evaluate("element => [element.scrollWidth, element.clientWidth]")
    assert widths[0] <= widths[1], f"the table is {widths[0]} px wide in {widths[1]} px"
    assert page.locator("tbody tr").count() >= 4  # the demo's handoffs are listed
