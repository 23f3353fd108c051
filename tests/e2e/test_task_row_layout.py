"""A task row's buttons stand on one line: Claim beside Done, not a few pixels lower (the eye
reads a step down as a different row or a different kind of action)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_claim_and_done_stand_on_one_line(page, login_as, infusion_start):
    login_as(page, "nurse")
    rows = page.locator(".task-row")
    expect(rows.first).to_be_visible()
    checked = 0
    for row in rows.all():
        claim, done = row.locator("button", has_text="Claim"), row.locator("button", has_text="Done")
        if not claim.count() or not done.count():
            continue
        claim_box, done_box = claim.first.bounding_box(), done.first.bounding_box()
        bottoms = claim_box["y"] + claim_box["height"], done_box["y"] + done_box["height"]
        assert abs(bottoms[0] - bottoms[1]) <= 1, f"Claim ends at {bottoms[0]}, Done at {bottoms[1]}"
        checked += 1
    assert checked, "no row offered both Claim and Done"
