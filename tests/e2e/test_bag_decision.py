"""A bag whose event was cancelled, as the pharmacist meets it in the browser: the patient page
shows it waiting for a decision (amber), the pharmacist uses it for the next bag change, which the
form offers first, and that event's page then shows the bag and where it came from."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from checklists.starter import starter_library_load
from patients.models import BagOption, CareEvent, InfusionBag, Weighing
from patients.services import course_schedule_build, event_cancel, infusion_bag_record

from ..factories import CourseFactory, UserFactory

pytestmark = pytest.mark.e2e

WIDTHS = [1280, 1024, 820]


@pytest.fixture
def cancelled_change_with_a_bag(patient, nurse, pharmacist):
    """Cycle 1 day 12 at home with 48-hour bags; the next bag change's bag prepared, then that
    bag change cancelled by hand."""
    starter_library_load()
    zone = patient.unit.zone
    today = timezone.localtime(timezone.now(), zone).date()
    course = CourseFactory(patient=patient, planned_cycles=2, start_date=today - dt.timedelta(days=11))
    course_schedule_build(course=course)
    changes = list(
        CareEvent.objects.filter(
            cycle__course=course,
            kind=CareEvent.Kind.BAG_CHANGE,
            status=CareEvent.Status.PLANNED,
            planned_at__gt=timezone.now() + dt.timedelta(hours=2),
        ).order_by("planned_at")[:3]
    )
    Weighing.objects.create(patient=patient, weight_kg=Decimal("70"), measured_at=timezone.now())
    option = BagOption.objects.get(duration_hours=48)
    checker = UserFactory(username="pharmacist-checker", role=Role.PHARMACIST, unit=patient.unit)
    bag = infusion_bag_record(
        event=changes[0],
        option=option,
        dose="28 mcg/day",
        dose_basis=InfusionBag.DoseBasis.WEIGHT,
        volume_ml="240",
        rate_ml_per_hour=option.rate_ml_per_hour,
        expires_at=changes[2].planned_at + dt.timedelta(days=1),
        stabiliser_added=True,
        compounded_by=pharmacist,
        checked_by=checker,
        actor=pharmacist,
    )
    event_cancel(event=changes[0], reason="Seen in clinic instead: the change is done there", actor=nurse)
    return {"bag": bag, "cancelled": changes[0], "next": changes[1]}


def test_the_pharmacist_uses_a_cancelled_changes_bag_for_the_next_one(
    page, login_as, patient, cancelled_change_with_a_bag, screenshot, axe_violations
):
    waiting = cancelled_change_with_a_bag
    login_as(page, "pharmacist")
    page.goto(f"/patients/{patient.pk}/")
    section = page.locator("#bags-waiting").locator("xpath=..")
    expect(page.get_by_role("heading", name="Bags waiting for a decision")).to_be_visible()
    expect(section.locator(".alert-warning")).to_be_visible()
    expect(section.locator(".alert-danger")).to_have_count(0)  # amber: nothing is late yet
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        section.scroll_into_view_if_needed()
        screenshot(page, f"bag-waiting-{width}")
    assert axe_violations(page) == []

    page.set_viewport_size({"width": 1024, "height": 800})
    section.get_by_role("link", name="Use for another event").click()
    expect(page.get_by_text(f"MRN {patient.mrn}")).to_be_visible()  # two identifiers on the form
    screenshot(page, "bag-reuse-form")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Use the bag for this event").click()

    expect(page.get_by_text("The bag is moved to the bag change")).to_be_visible()
    expect(page.get_by_role("heading", name="Bags waiting for a decision")).to_have_count(0)
    bag = InfusionBag.objects.get(pk=waiting["bag"].pk)
    assert (bag.event_id, bag.moved_from_event_id) == (waiting["next"].pk, waiting["cancelled"].pk)

    page.goto(f"/events/{waiting['next'].pk}/")
    expect(page.get_by_text("which was cancelled; used here by")).to_be_visible()
    screenshot(page, "bag-reused-event-page")
    assert axe_violations(page) == []
