"""An interruption as the ward lives it in the browser: the nurse records that the pump stopped,
the oncologist records the restart five hours later, the restart becomes a supervised event
whose checklist asks for the premedication of the course's indication, and the patient page
shows the cycle end moved by the break."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checklists.models import Task, TemplateItem
from checklists.starter import starter_library_load
from patients.models import CareEvent, Interruption
from patients.services import course_schedule_build

from ..factories import CourseFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def course_at_home(patient, nurse, oncologist, pharmacist):
    """An adult's relapsed/refractory course, cycle 1 day 12: at home with 48-hour bags."""
    starter_library_load()
    zone = patient.unit.zone
    today = timezone.localtime(timezone.now(), zone).date()
    course = CourseFactory(patient=patient, planned_cycles=2, start_date=today - dt.timedelta(days=11))
    course_schedule_build(course=course)
    return course


def fill_date_and_time(page, label: str, moment: dt.datetime, zone) -> None:
    """A date picker and a 24-hour time (accounts.fields.DateAndTimeWidget), on the unit's clock."""
    local = timezone.localtime(moment, zone)
    page.get_by_label(f"{label}: date").fill(local.strftime("%Y-%m-%d"))
    page.get_by_label(f"{label}: time, 24-hour (HH:MM)").fill(local.strftime("%H:%M"))


def test_a_stop_and_a_restart_five_hours_later_move_the_plan_and_ask_for_premedication(
    page, login_as, course_at_home, screenshot, axe_violations
):
    course = course_at_home
    patient, zone = course.patient, course.patient.unit.zone
    cycle = course.cycles.get(number=1)
    cycle_end_before = cycle.infusion_ends_at
    stopped_at = (timezone.now() - dt.timedelta(hours=5, minutes=30)).replace(second=0, microsecond=0)

    # The nurse records the stop from the patient's page.
    login_as(page, "nurse")
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Record a stop of the infusion").click()
    expect(page.get_by_text(f"MRN {patient.mrn}")).to_be_visible()  # two identifiers on the form
    fill_date_and_time(page, "Stopped at", stopped_at, zone)
    page.get_by_label("Pump or line problem").check()
    page.get_by_label("What happened").fill("Occlusion alarm; tubing kinked under the dressing.")
    page.get_by_role("button", name="Record the stop").click()
    expect(page.get_by_text("Infusion stopped", exact=True)).to_be_visible()
    screenshot(page, "interruption-stopped")
    assert not CareEvent.objects.filter(
        cycle=cycle, kind=CareEvent.Kind.BAG_CHANGE, planned_at__gt=stopped_at, status=CareEvent.Status.PLANNED
    ).exists(), "no bag change is due while the infusion is stopped"

    # The oncologist records the restart five hours after the stop.
    login_as(page, "oncologist")
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Record the restart").click()
    fill_date_and_time(page, "Restarts at (done or planned)", stopped_at + dt.timedelta(hours=5), zone)
    page.get_by_role("button", name="Record the restart").click()
    expect(page.get_by_text("supervised event")).to_be_visible()

    interruption = Interruption.objects.get(course=course)
    assert interruption.restarted_at - interruption.stopped_at == dt.timedelta(hours=5)
    cycle.refresh_from_db()
    assert cycle.infusion_ends_at - cycle_end_before == dt.timedelta(hours=5)
    expect(page.get_by_text("moved 5 h")).to_be_visible()
    end_local = timezone.localtime(cycle.infusion_ends_at, zone)
    expect(page.get_by_text(f"to {end_local:%a %-d %b %Y, %H:%M}")).to_be_visible()
    screenshot(page, "interruption-restarted-patient-page")
    assert axe_violations(page) == []

    # The restart is a supervised event whose checklist asks for the regimen's premedication.
    restart = interruption.restart_event
    assert restart is not None and restart.kind == CareEvent.Kind.RESTART
    premedication = Task.objects.get(event=restart, records=TemplateItem.Records.PREMEDICATION_TIME)
    assert "dexamethasone 20 mg IV" in premedication.help_text  # relapsed/refractory adult
    page.goto(f"/events/{restart.pk}/")
    expect(page.get_by_text("dexamethasone 20 mg IV").first).to_be_visible()
    screenshot(page, "interruption-restart-event")
