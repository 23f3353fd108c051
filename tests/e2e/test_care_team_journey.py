"""The unit coordinator's care team and transfer, in the browser, at 1280, 1024 and 820 px: from
the patient page to the care-team page, a pharmacist added, then the patient transferred to the
day clinic, whose coordinator finds the notice on the bell (axe-core on both pages)."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role, Unit
from patients.models import CareTeamMember, Patient

from ..factories import UnitFactory, UserFactory

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]


@pytest.fixture
def day_clinic(ward):
    clinic = UnitFactory(name="Day Clinic", organisation=ward.organisation, kind=Unit.Kind.INFUSION_CLINIC)
    UserFactory(username="clinic_coordinator", role=Role.COORDINATOR, unit=clinic)
    return clinic


def test_the_coordinator_adds_a_pharmacist_and_transfers_the_patient(
    page, login_as, patient, nurse, coordinator, day_clinic, axe_violations, screenshot
):
    pharmacist = UserFactory(
        username="pharmacist3", first_name="Priya", last_name="Shah", role=Role.PHARMACIST, unit=patient.unit
    )
    login_as(page, "coordinator")
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Care team and transfers").click()
    expect(page.get_by_role("heading", name="Care team", level=1)).to_be_visible()
    expect(page.get_by_text(f"MRN {patient.mrn}")).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        screenshot(page, f"care-team-{width}")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 1024, "height": 768})  # the tablet of the other tests

    page.get_by_label("Add to the care team").select_option(label="Priya Shah (Pharmacist, Haematology Ward)")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Priya Shah joins the care team.")).to_be_visible()
    assert CareTeamMember.objects.filter(patient=patient, user=pharmacist).exists()

    page.get_by_role("link", name="Transfer to another unit…").click()
    page.get_by_label("Move to").select_option(label="Day Clinic")
    page.get_by_label("Why the patient moves").fill("Cycle 2 continues at the day clinic, close to home.")
    assert axe_violations(page) == []
    screenshot(page, "transfer")
    page.get_by_role("button", name="Transfer the patient").click()
    expect(page.get_by_text("is now on Day Clinic")).to_be_visible()
    assert Patient.objects.get(pk=patient.pk).unit == day_clinic

    login_as(page, "clinic_coordinator")
    page.goto("/notifications/")
    expect(page.get_by_text(f"Transfer: {patient.family_name}, {patient.given_name} ({patient.mrn})")).to_be_visible()
