"""On a 1024×768 tablet: the work can be done with the keyboard alone, and no page scrolls sideways."""

import pytest
from playwright.sync_api import expect

from .helpers import press_tab_until_focused, sideways_scroll, task_button
from .worlds import BASELINE, PUMP, WEIGHT

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
    page.get_by_label(BASELINE).fill("Alert and oriented")  # typed, not yet sent
    pump_row = page.locator(".task-row", has_text=PUMP)
    pump_row.locator("summary", has_text="Not applicable").click()
    pump_row.get_by_label("Why does it not apply?").fill("Pump changed at 08:00")
    task_button(page, "Claim", WEIGHT).click()
    weight_row = page.locator(".task-row", has_text=WEIGHT)
    expect(weight_row).to_be_focused()  # the new row takes the focus back from the replaced button
    expect(page.get_by_text("Claimed.", exact=True)).to_have_count(0)  # My work has reloaded its list
    expect(page.get_by_label(BASELINE)).to_have_value("Alert and oriented")
    expect(pump_row.get_by_label("Why does it not apply?")).to_be_visible()  # its panel still open
    expect(pump_row.get_by_label("Why does it not apply?")).to_have_value("Pump changed at 08:00")
    expect(weight_row).to_be_focused()


def test_the_coordinator_opens_a_reassignment_form_on_the_board(page, login_as, demo_ward):
    login_as(page, "coordinator")
    page.goto(demo_ward.board)
    page.locator("summary", has_text="Reassign").first.click()
    expect(page.get_by_label("Give to").first).to_be_visible()
    expect(page.get_by_label("Reason").first).to_be_visible()


# Who looks at each page, grouped by person; the template editor is the widest table.
PAGES = {"nurse": ["my_work", "patient", "event"], "coordinator": ["board"], "admin": ["template_draft"]}


def test_the_main_pages_fit_a_1024_px_wide_tablet(page, login_as, demo_ward):
    too_wide = {}
    for user, names in PAGES.items():
        login_as(page, user)
        for name in names:
            page.goto(getattr(demo_ward, name))
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            too_wide[name] = sideways_scroll(page)
    assert {name: why for name, why in too_wide.items() if why} == {}, "these pages scroll sideways"
