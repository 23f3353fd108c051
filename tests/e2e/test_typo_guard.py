"""The typo guard in the browser, at 1280, 1024 and 820 px (issue 14, item 1): a temperature typed
375 for 37.5 is not recorded but asked about; a real 39.2 confirmed fails the hard stop loudly and
stays in the nurse's My work (axe-core on both states)."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checklists.models import Task
from checklists.services import checklists_instantiate

from ..checklists.helpers import make_event, publish_template
from .helpers import task_button

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]
TEMPERATURE = "Temperature before the start"


@pytest.fixture
def temperature(patient, nurse, oncologist):
    item = {"text": TEMPERATURE, "response_kind": "number", "unit": "°C", "min_value": 35, "max_value": 38.5}
    publish_template(items=[{**item, "hard_stop": True, "due_offset_minutes": -60}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=2))
    checklists_instantiate(events=[event])
    return Task.objects.get(event=event, text=TEMPERATURE)


def test_a_typed_slip_is_asked_about_and_a_confirmed_failure_stays_in_my_work(
    page, login_as, temperature, axe_violations, screenshot
):
    login_as(page, "nurse")
    page.get_by_label(TEMPERATURE).fill("375")
    task_button(page, "Done", TEMPERATURE).click()
    expect(page.get_by_text("375 °C is outside 35–38.5 °C: recorded, it fails the hard stop")).to_be_visible()
    anyway = task_button(page, "Record 375 anyway", TEMPERATURE)
    expect(anyway).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        expect(anyway).to_be_in_viewport()
        screenshot(page, f"typo-guard-asked-{width}")
    assert axe_violations(page) == []
    assert Task.objects.get(pk=temperature.pk).status == Task.Status.OPEN

    page.get_by_label(TEMPERATURE).fill("39.2")
    task_button(page, "Done", TEMPERATURE).click()
    task_button(page, "Record 39.2 anyway", TEMPERATURE).click()
    alarm = page.get_by_role("alert").filter(has_text="Hard stop failed: 39.2 °C is outside 35–38.5 °C")
    expect(alarm).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"typo-guard-failed-{width}")
    assert axe_violations(page) == []

    page.reload()
    expect(page.get_by_text("Hard stop failed: blocks the event")).to_be_visible()
    assert Task.objects.get(pk=temperature.pk).hard_stop_failed
