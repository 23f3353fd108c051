"""On a 1024×768 tablet: the work can be done with the keyboard alone.

That no main page scrolls sideways there is checked by the walk of tests/e2e/test_accessibility.py."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checklists.models import Task

from .helpers import press_tab_until_focused, task_button
from .worlds import BASELINE, WEIGHT

pytestmark = pytest.mark.e2e


def test_a_nurse_claims_and_completes_a_task_with_the_keyboard_alone(page, login_as, infusion_start):
    login_as(page, "nurse")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()

    press_tab_until_focused(page, task_button(page, "Claim", WEIGHT))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Claimed by")).to_be_visible()
    # The row says "Claimed." until My work refreshes its list; type once the page is settled.
    expect(page.get_by_text("Claimed.", exact=True)).to_have_count(0)

    weight = page.get_by_label(f"{WEIGHT}: Value (1–300 kg)")
    press_tab_until_focused(page, weight)
    page.keyboard.type("72.5")
    page.keyboard.press("Enter")  # submits the row's form
    expect(page.get_by_text(WEIGHT, exact=True)).to_have_count(0)  # done: it leaves My work


def test_the_list_refresh_after_a_change_keeps_the_place_and_what_was_typed(page, login_as, infusion_start):
    login_as(page, "nurse")
    page.get_by_label(f"{BASELINE}: Answer").fill("Alert and oriented")  # typed, not yet sent
    # (The pump's double check offers no "Not applicable": it is never skipped.)
    baseline_row = page.locator(".task-row", has_text=BASELINE)
    baseline_row.locator("summary", has_text="Not applicable").click()
    baseline_row.get_by_label("Why does it not apply?").fill("Assessed at the clinic at 08:00")
    task_button(page, "Claim", WEIGHT).click()
    weight_row = page.locator(".task-row", has_text=WEIGHT)
    expect(weight_row).to_be_focused()  # the new row takes the focus back from the replaced button
    expect(page.get_by_text("Claimed.", exact=True)).to_have_count(0)  # My work has reloaded its list
    expect(page.get_by_label(f"{BASELINE}: Answer")).to_have_value("Alert and oriented")
    expect(baseline_row.get_by_label("Why does it not apply?")).to_be_visible()  # its panel still open
    expect(baseline_row.get_by_label("Why does it not apply?")).to_have_value("Assessed at the clinic at 08:00")
    expect(weight_row).to_be_focused()


def test_the_coordinator_opens_a_reassignment_form_on_the_board(page, login_as, infusion_start, coordinator):
    # The weight is an hour overdue: the board counts it in the nurses' pool; opened, the pool lists
    # it, with its reassignment form folded.
    Task.objects.filter(event=infusion_start, text=WEIGHT).update(due_at=timezone.now() - dt.timedelta(hours=1))
    login_as(page, "coordinator")
    page.goto("/board/")
    page.locator("summary", has_text="Unclaimed (pool): 1 overdue").click()
    page.locator("summary", has_text="Reassign").first.click()
    expect(page.get_by_label("Give to").first).to_be_visible()
    expect(page.get_by_label("Reason").first).to_be_visible()
