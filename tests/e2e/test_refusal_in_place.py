"""A refusal said in place (issue 14, item 8): after "The draft is saved.", a send that the
checklist refuses says so once, and the green message of the save is gone from above it."""

import pytest
from playwright.sync_api import expect

from ..coordination.handoff_helpers import draft_handoff, make_agency, make_discharge, publish_transition_template

pytestmark = pytest.mark.e2e


def test_a_refused_send_after_a_saved_draft_says_why_once_and_nothing_green_stays(
    page, login_as, patient, nurse, nurse2, case_manager, ward, axe_violations, screenshot
):
    publish_transition_template()
    handoff = draft_handoff(make_discharge(patient), case_manager, make_agency(ward))
    login_as(page, case_manager.username)
    page.goto(f"/handoffs/{handoff.pk}/edit/")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("The draft is saved.")).to_be_visible()

    # What keeps it from being sent is listed, and Send is not offered (found by a review of the
    # pages: an enabled Send under "It cannot be sent yet"); a send that is refused all the same
    # (what blocks it came meanwhile) says why once, in place.
    expect(page.get_by_role("button", name="Send the handoff")).to_be_disabled()
    page.get_by_role("button", name="Send the handoff").evaluate("button => { button.disabled = false; }")
    page.get_by_role("button", name="Send the handoff").click()
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text("Not sent yet")
    expect(page.get_by_role("alert")).to_contain_text("Supplies delivered")
    expect(page.get_by_text("The draft is saved.")).to_have_count(0)
    expect(page.locator("#handoff-card").get_by_text("Supplies delivered")).to_have_count(1)
    screenshot(page, "handoff-send-refused")
    assert axe_violations(page) == []
