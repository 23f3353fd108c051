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


def test_a_groups_heading_never_runs_into_its_count(page, login_as, infusion_start):
    """Found by a walk through My work at 820 px: a header whose heading and count just fit on one
    line ran them together, "cycle 1, Sun 6 Dec 21:00 1 task · 1 overdue", the time read into the
    count. Narrowed to leave 4 px beside them, they must stand apart or the count go below."""
    login_as(page, "nurse")
    header = page.locator("#my-work-list .card-header").first
    expect(header).to_be_visible()
    heading, count = header.locator("h2"), header.locator("span.small")
    header.evaluate(
        """(header, slack) => {
            const style = getComputedStyle(header);
            const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
            const [heading, count] = [header.querySelector('h2'), header.querySelector('span.small')];
            const content = heading.getBoundingClientRect().width + count.getBoundingClientRect().width;
            header.style.width = `${content + padding + slack}px`;
        }""",
        4,
    )
    heading_box, count_box = heading.bounding_box(), count.bounding_box()
    same_line = count_box["y"] < heading_box["y"] + heading_box["height"]
    if same_line:
        apart = count_box["x"] - (heading_box["x"] + heading_box["width"])
        assert apart >= 8, f"the count stands {apart:.1f} px from the heading"
