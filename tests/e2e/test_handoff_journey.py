"""A hospital-to-home handoff, as the people on both sides live it in the browser: the case
manager prepares and sends it, the home-health nurse acknowledges and accepts it with her
synthesis, and the coordinator sees how long each step took."""

import re

import pytest
from playwright.sync_api import expect

from checklists.models import Task
from checklists.starter import starter_library_load

from ..coordination.handoff_helpers import complete_checklist, make_agency, make_discharge, make_home_nurse
from .conftest import TABLET
from .helpers import sideways_scroll

pytestmark = pytest.mark.e2e

CONTACT = "24/7 contact number given and tested with the caregiver"


@pytest.fixture
def discharge(patient, ward, nurse, nurse2, pharmacist, oncologist, case_manager, coordinator):
    """Going home tomorrow with the starter's hospital-to-home checklist done, but for the
    24/7 contact number, which the case manager still has to give."""
    starter_library_load()
    make_home_nurse(make_agency(ward))
    event = make_discharge(patient)
    workers = {"nurse": nurse, "pharmacist": pharmacist, "oncologist": oncologist, "case_manager": case_manager}
    complete_checklist(event, workers=workers, verifier=nurse2, leave_open=[CONTACT])
    assert Task.objects.filter(event=event, status="open").count() == 1
    return event


def remember_this_document(page):
    page.evaluate("() => { window.stillTheSameDocument = true; }")


def expect_no_reload_since_remembered(page):
    assert page.evaluate("() => window.stillTheSameDocument === true"), "the page was reloaded"


def test_a_handoff_from_ward_to_home_is_sent_acknowledged_accepted_and_reviewed(
    page, login_as, discharge, screenshot, axe_violations
):
    patient = discharge.patient
    name = f"{patient.family_name}, {patient.given_name}"
    violations = {}  # axe-core's serious and critical findings on each handoff page, checked at the end

    # The case manager prepares the handoff from the patient's page.
    login_as(page, "casemanager")
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name=re.compile(re.escape(patient.family_name))).first.click()
    page.get_by_role("link", name="Prepare a handoff").click()
    expect(page.get_by_role("heading", name=f"Prepare a handoff: {patient.full_name}")).to_be_visible()
    expect(page.get_by_label("Contingency plan")).to_have_value(re.compile("Fever of 38.0 °C or more"))
    expect(page.get_by_label("Action 1", exact=True)).not_to_have_value("")  # suggested from the record
    page.get_by_label("Receiving unit").select_option(label="HomeCare Infusion")
    page.get_by_label("Illness severity").select_option("watcher")
    page.get_by_label("Patient summary").fill("Cycle 1 day 4, MRD-positive, no CRS, no neurotoxicity so far.")
    page.get_by_label("Pump and programme").fill("CADD-Solis VIP, 5 mL/h, 48-hour bag, locked")
    page.get_by_label("Line and site").fill("PICC right arm, dedicated lumen, do not flush")
    screenshot(page, "handoff-prepare")
    violations["form"] = axe_violations(page)
    # At 820 px the action rows wrap: the owner ("Case manager") and "Delete action N" were cut off.
    page.set_viewport_size({"width": 820, "height": 1180})
    assert sideways_scroll(page) == ""
    screenshot(page, "handoff-prepare-820")
    page.set_viewport_size(TABLET)
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("heading", name=f"Hospital → home handoff: {patient.full_name}")).to_be_visible()

    # It cannot be sent while an item of the hospital-to-home checklist is open.
    expect(page.get_by_text("It cannot be sent yet")).to_be_visible()
    expect(page.locator("#handoff-card")).to_contain_text(CONTACT)
    expect(page.get_by_role("button", name="Send the handoff")).to_be_disabled()
    violations["draft"] = axe_violations(page)
    page.get_by_role("link", name="Open the checklist").click()
    # helpers.task_button's pattern holds the text as it is, and Playwright cannot parse the "/" of "24/7".
    page.get_by_role("button", name=re.compile(r"^Done\s*:\s*24.7 contact number")).click()
    expect(page.get_by_text("Done.", exact=True)).to_be_visible()
    page.go_back()
    page.reload()
    remember_this_document(page)
    page.get_by_role("button", name="Send the handoff").click()
    expect(page.get_by_text("Sent to HomeCare Infusion")).to_be_visible()
    expect(page.get_by_text("Sent, waiting for acknowledgement")).to_be_visible()
    expect_no_reload_since_remembered(page)

    # The home-health nurse finds it among her unit's handoffs, acknowledges and accepts it in place.
    login_as(page, "homenurse")
    page.get_by_role("link", name="Handoffs", exact=True).click()
    expect(page.get_by_role("heading", name="For HomeCare Infusion (1)")).to_be_visible()
    page.get_by_role("link", name=re.compile(re.escape(name))).click()
    remember_this_document(page)
    page.get_by_role("button", name="Acknowledge receipt").click()
    expect(page.get_by_text("Receipt acknowledged")).to_be_visible()
    # The card replaced the pressed button: the focus went to what it did, not to the top of the page.
    expect(page.get_by_role("status").filter(has_text="Receipt acknowledged")).to_be_focused()
    page.get_by_label("Your synthesis").fill(
        "Home tomorrow on a 48-hour bag at 5 mL/h. We call on arrival, visit the next morning and change "
        "the bag at home; fever above 38.5 °C or confusion: the ward's 24/7 number."
    )
    page.get_by_role("button", name="Accept the handoff").click()
    expect(page.get_by_text("Accepted: the actions are now your unit's tasks.")).to_be_visible()
    expect(page.get_by_role("heading", name="Receiver's synthesis")).to_be_visible()
    # The actions are her tasks now, done once the patient is home: the page says from when.
    expect(page.get_by_role("button", name=re.compile(r"^Done\s*:\s*First home visit"))).to_have_count(0)
    expect(page.get_by_text(re.compile("Not before the planned discharge home")).first).to_be_visible()
    expect_no_reload_since_remembered(page)
    screenshot(page, "handoff-accepted")
    violations["accepted"] = axe_violations(page)

    # The printable summary for the caregiver's folder.
    page.get_by_role("link", name="Printable summary").click()
    expect(page.get_by_role("heading", name="Going home with a blinatumomab infusion")).to_be_visible()
    expect(page.get_by_text("CADD-Solis VIP, 5 mL/h, 48-hour bag, locked")).to_be_visible()
    screenshot(page, "handoff-print")
    violations["print"] = axe_violations(page)
    page.get_by_role("link", name="Handoffs", exact=True).click()
    violations["list"] = axe_violations(page)

    # The coordinator sees the turnaround from the board's review queue.
    login_as(page, "coordinator")
    page.get_by_role("link", name="Unit board").click()
    expect(page.get_by_role("heading", name=re.compile("Handoffs waiting for the receiving side"))).to_be_visible()
    page.get_by_role("link", name="Review handoffs").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row).to_contain_text("Accepted")
    turnaround = row.get_by_role("cell").nth(4)  # sent → acknowledged, sent → accepted: one column
    expect(turnaround).to_contain_text(re.compile(r"acknowledged after \d+\s+minutes?"))
    expect(turnaround).to_contain_text(re.compile(r"accepted after \d+\s+minutes?"))
    screenshot(page, "handoff-review")
    violations["review"] = axe_violations(page)
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    screenshot(page, "handoff-detail-coordinator")
    violations["detail, coordinator"] = axe_violations(page)

    report = "\n".join(f"{page_}:\n  " + "\n  ".join(lines) for page_, lines in violations.items() if lines)
    assert not report, f"serious or critical accessibility violations:\n{report}"
