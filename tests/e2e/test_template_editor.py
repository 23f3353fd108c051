"""The template editor in the browser, at 1280, 1024 and 820 px (issue 20): an admin gives an item
a due time in words, a condition built as a sentence, a dependency found by typing, and a source;
then drags an item to a new place and moves another with the keyboard (the ↑/↓ buttons)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from checklists.models import ChecklistTemplate, TemplateItem, TemplateVersion
from checklists.services import template_version_new_draft, template_version_publish
from patients.models import CareEvent

from .helpers import press_tab_until_focused, sideways_scroll

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]
ITEMS = [
    ("Before the start", "Line primed", Role.NURSE),
    ("Pharmacy", "Order verified against the protocol", Role.PHARMACIST),
    ("Orders", "Cycle 1 ordered and signed", Role.ONCOLOGIST),
    ("Before the start", "Vital signs recorded", Role.NURSE),
]


@pytest.fixture
def draft(admin_user):
    template = ChecklistTemplate.objects.create(name="Cycle start (inpatient)", trigger_kind=CareEvent.Kind.CYCLE_START)
    version = TemplateVersion.objects.create(template=template, number=1)
    for order, (section, text, role) in enumerate(ITEMS, start=1):
        TemplateItem.objects.create(version=version, section=section, order=order, text=text, role=role)
    template_version_publish(version=version, actor=None, change_summary="First")
    return template_version_new_draft(template=template, actor=admin_user)


def _texts(draft) -> list[str]:
    return list(draft.items.order_by("order").values_list("text", flat=True))


def _row(page, draft, text):
    return page.locator(f"#item-{draft.items.get(text=text).pk}")


def test_an_admin_edits_an_item_in_words_and_reorders_by_drag_and_by_keyboard(
    page, login_as, draft, axe_violations, screenshot
):
    login_as(page, "admin")
    page.goto(f"/templates/versions/{draft.pk}/edit/")
    page.get_by_role("link", name="Edit item 2").click()

    # When it is due: an amount, a unit, before or after.
    page.get_by_label("Due").fill("2")
    page.get_by_label("Time unit").select_option("days")
    page.get_by_label("Before or after").select_option("before")
    page.get_by_label("Source").fill("Blincyto label 2024, section 2.2")

    # A condition as a sentence: choosing a number fact brings a number field.
    page.get_by_label("Condition 1: fact").select_option(label="Weight (kg)")
    page.get_by_label("Condition 1: compared how").select_option(label="is less than")
    value = page.get_by_label("Condition 1: value")
    expect(value).to_have_attribute("type", "number")
    value.fill("45")
    # A fact with choices brings its values; "is one of" brings a box for each.
    page.get_by_label("Condition 2: fact").select_option(label="Setting")
    expect(page.get_by_label("Condition 2: value")).to_have_js_property("tagName", "SELECT")
    page.get_by_label("Condition 2: compared how").select_option(label="is one of")
    values = page.get_by_role("group", name="Condition 2: values (one or more)")
    expect(values.get_by_label("Infusion clinic")).to_be_visible()
    values.get_by_label("Inpatient").check()
    values.get_by_label("Infusion clinic").check()

    # Done after: found by typing, ticked items stay in sight.
    finder = page.get_by_label("Find an item by its number or words")
    finder.fill("cycle")
    expect(page.get_by_label("#3 Cycle 1 ordered and signed")).to_be_visible()
    expect(page.get_by_label("#1 Line primed")).to_be_hidden()
    page.get_by_label("#3 Cycle 1 ordered and signed").check()
    finder.fill("vital")
    expect(page.get_by_label("#3 Cycle 1 ordered and signed")).to_be_visible()  # ticked: stays
    expect(page.get_by_label("#1 Line primed")).to_be_hidden()
    expect(page.get_by_label("#4 Vital signs recorded")).to_be_visible()
    finder.fill("")

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert sideways_scroll(page) == ""
        screenshot(page, f"template-item-form-{width}")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_role("button", name="Save item").click()

    expect(page.get_by_text("Item 2 is saved.")).to_be_visible()
    item = draft.items.get(order=2)
    assert item.due_offset_minutes == -2880 and item.source == "Blincyto label 2024, section 2.2"
    assert sorted((c.fact, c.operator, c.value) for c in item.conditions.all()) == [
        ("setting", "in", "inpatient, clinic"),
        ("weight_kg", "lt", "45"),
    ]
    row = _row(page, draft, "Order verified against the protocol")
    expect(row).to_contain_text("2 days before")
    expect(row).to_contain_text(
        "Applies when weight (kg) is less than 45 and setting is one of inpatient or infusion clinic"
    )
    expect(row).to_contain_text("after #3 Cycle 1 ordered and signed")
    expect(row).to_contain_text("Source: Blincyto label 2024, section 2.2")

    # Drag "Vital signs recorded" (4) by its handle onto the first row: it becomes item 1.
    vitals = _row(page, draft, "Vital signs recorded")
    vitals.locator(".drag-handle").drag_to(_row(page, draft, "Line primed"), target_position={"x": 5, "y": 3})
    expect(page.get_by_text("The new order is saved.")).to_be_visible()
    expect(_row(page, draft, "Vital signs recorded").locator(".item-number")).to_have_text("1")
    assert _texts(draft) == [
        "Vital signs recorded",
        "Line primed",
        "Order verified against the protocol",
        "Cycle 1 ordered and signed",
    ]
    numbers = page.locator("#items-table td.item-number").all_inner_texts()
    assert numbers == ["1", "2", "3", "4"]

    # The keyboard's way: Tab to "Move item 2 down" (Line primed) and press Enter, twice.
    down = page.get_by_role("button", name="Move item 2 down")
    page.locator("h1").click()  # start from the top of the page, as after loading it
    press_tab_until_focused(page, down)
    page.keyboard.press("Enter")
    expect(_row(page, draft, "Line primed").locator(".item-number")).to_have_text("3")
    # The focus stays on the moved item's ↓, now "Move item 3 down": Enter again moves it on.
    expect(page.get_by_role("button", name="Move item 3 down")).to_be_focused()
    page.keyboard.press("Enter")
    expect(_row(page, draft, "Line primed").locator(".item-number")).to_have_text("4")
    expect(page.get_by_role("button", name="Move item 4 up")).to_be_focused()  # ↓ is disabled at the bottom
    assert _texts(draft) == [
        "Vital signs recorded",
        "Order verified against the protocol",
        "Cycle 1 ordered and signed",
        "Line primed",
    ]
    expect(page.get_by_text(re.compile("“Line primed” is now item 4."))).to_be_visible()

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert sideways_scroll(page) == ""
        screenshot(page, f"template-draft-items-{width}")
    assert axe_violations(page) == []
