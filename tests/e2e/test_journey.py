"""The day of an infusion start, as the care team lives it in the browser."""

import re

import pytest
from playwright.sync_api import expect

from .helpers import task_button
from .worlds import BAG, BASELINE, CLEAR, ORDER, PUMP, WEIGHT

pytestmark = pytest.mark.e2e


def remember_this_document(page):
    page.evaluate("() => { window.stillTheSameDocument = true; }")


def expect_no_reload_since_remembered(page):
    assert page.evaluate("() => window.stillTheSameDocument === true"), "the page was reloaded"


def complete(page, text: str):
    """Press the task's Done button; the done task leaves My work when the list refreshes."""
    task = page.get_by_text(text, exact=True)
    expect(task).to_have_count(1)
    task_button(page, "Done", text).click()
    expect(task).to_have_count(0)


def test_an_infusion_start_turns_ready_as_each_role_does_its_part(page, login_as, infusion_start, screenshot):
    patient = infusion_start.patient
    patient_link = f"{patient.family_name}, {patient.given_name}"

    # The nurse signs in and finds her three tasks for the start on My work.
    login_as(page, "nurse")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Done\b"))).to_have_count(3)
    screenshot(page, "journey-my-work-nurse")

    # A wrong weight is refused at its field, in place (no reload), and the task stays open.
    remember_this_document(page)
    weight = page.get_by_label(f"{WEIGHT}: Value (1–300 kg)")
    weight.fill("seventy")
    task_button(page, "Done", WEIGHT).click()
    expect(page.get_by_text("Enter a number with the digits 0–9")).to_be_visible()
    expect(weight).to_have_accessible_description(re.compile("Enter a number with the digits 0–9"))
    weight.fill("400")
    task_button(page, "Done", WEIGHT).click()
    expect(page.get_by_text("Must be 1–300 kg.")).to_be_visible()
    expect(weight).to_have_accessible_description(re.compile("Must be 1–300 kg."))
    expect(task_button(page, "Done", WEIGHT)).to_be_enabled()
    expect_no_reload_since_remembered(page)

    # The right values go through.
    weight.fill("72.5")
    complete(page, WEIGHT)
    page.get_by_label(f"{BASELINE}: Answer").fill("Alert and oriented, writing sample normal, T 36.8 °C")
    complete(page, BASELINE)
    complete(page, PUMP)  # a checkbox task: done in one press
    expect(page.get_by_text("No checklist task waiting for you")).to_be_visible()
    expect_no_reload_since_remembered(page)

    # A second nurse double-checks the pump programming.
    login_as(page, "nurse2")
    task_button(page, "Verify", PUMP).click()
    expect(page.get_by_text(re.compile("^Verified by"))).to_be_visible()

    # The pharmacist verifies the order and records the bag on the label.
    login_as(page, "pharmacist")
    complete(page, ORDER)
    page.get_by_label(f"{BAG}: Answer").select_option("48 h (5 mL/h)")
    complete(page, BAG)

    # The oncologist sees the start is blocked only by her, clears it, and finds it ready.
    login_as(page, "oncologist")
    page.get_by_role("link", name=patient_link).click()
    expect(page.get_by_role("heading", name=patient.full_name)).to_be_visible()
    expect(page.get_by_text("Work under way")).to_be_visible()  # nothing late: not red
    expect(page.get_by_text("Waiting for oncologist (1)")).to_be_visible()
    page.get_by_role("link", name="My work").click()
    page.get_by_label(f"{CLEAR}: I attest").check()
    complete(page, CLEAR)

    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name=patient_link).click()
    expect(page.get_by_text("Ready", exact=True)).to_be_visible()
    expect(page.get_by_text("Not ready")).to_have_count(0)
    expect(page.get_by_text("Weight (72.5 kg)")).to_be_visible()  # the history says who did what
    screenshot(page, "journey-patient-ready")
