"""The toxicity watch at night, in the browser: the home nurse (whose agency sees the patient
through a handoff's access grant) records an assessment at 02:10 with an ICE score of 6; the
oncologist on first call on the ward's roster finds the urgent alert on the bell and the Alerts
page, opens it and takes it; then the patient page shows the grades and the assessments page
draws the trend beside its table."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from checklists.starter import starter_library_load
from coordination.models import Notification, Reminder
from coordination.reminders.delivery import reminders_deliver
from coordination.watch.models import ToxicityAlert
from coordination.watch.services import ShiftInput, roster_replace
from patients.models import AccessGrant, Assessment
from patients.services import course_schedule_build

from ..coordination.handoff_helpers import make_agency, make_home_nurse
from ..factories import CourseFactory

pytestmark = pytest.mark.e2e

# An ICE score of 6 (of 10): ICANS grade 2 by the ASTCT consensus, an urgent alert.
ICE = {
    "Orientation: year, month, city, hospital": "1",  # of 4
    "Naming three objects": "2",  # of 3
    "Following simple commands": "1",
    "Writing a standard sentence": "1",
    "Attention: counting back from 100 by 10": "1",
}


@pytest.fixture
def night_at_home(patient, ward, nurse, oncologist, coordinator):
    """Cycle 1 day 12 at home; the agency sees the patient through the handoff's grant, and the
    patient's oncologist is first call on the ward's roster around now."""
    starter_library_load()
    now = timezone.now()
    today = timezone.localtime(now, ward.zone).date()
    course = CourseFactory(patient=patient, planned_cycles=2, start_date=today - dt.timedelta(days=11))
    course_schedule_build(course=course)
    agency = make_agency(ward)
    make_home_nurse(agency)
    AccessGrant.objects.create(
        patient=patient, unit=agency, reason="Hospital → home handoff accepted", starts_at=now - dt.timedelta(days=1)
    )
    roster_replace(
        unit=ward,
        role=Role.ONCOLOGIST,
        rank=1,
        period_start=now - dt.timedelta(hours=12),
        period_end=now + dt.timedelta(hours=12),
        shifts=[ShiftInput(oncologist, now - dt.timedelta(hours=12), now + dt.timedelta(hours=12))],
        actor=coordinator,
    )
    return course


def last_night_at(hour: int, minute: int, zone) -> dt.datetime:
    """The latest hour:minute on the unit's clock that has passed (last night's, for 02:10), on a
    day that has it: 02:10 does not exist the night the clocks spring forward."""
    day = timezone.localtime(timezone.now(), zone).date()
    while True:
        moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
        exists = timezone.localtime(moment, zone).time() == dt.time(hour, minute)
        if exists and moment <= timezone.now():
            return moment
        day -= dt.timedelta(days=1)


def on_unit_clock(moment: dt.datetime, zone) -> str:
    """A time as the pages write it ("D j M, H:i"), on the unit's clock."""
    return f"{timezone.localtime(moment, zone):%a %-d %b, %H:%M}"


def test_an_ice_of_6_at_night_at_home_alerts_first_call_who_takes_it_and_sees_the_trend(
    page, login_as, night_at_home, oncologist, coordinator, screenshot, axe_violations, mailoutbox
):
    patient, zone = night_at_home.patient, night_at_home.patient.unit.zone
    assessed_at = last_night_at(2, 10, zone)
    identifiers = f"{patient.full_name} · MRN {patient.mrn} · born {patient.birth_date:%-d %b %Y}"

    # The home nurse assesses from her page of the patient, the limited one a handoff gives.
    login_as(page, "homenurse")
    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_text("Your unit sees this patient through a handoff")).to_be_visible()
    watch = page.get_by_role("region", name="Toxicity watch")
    watch.get_by_role("link", name="Assess for CRS and ICANS").click()
    expect(page.get_by_role("heading", name="Assess for CRS and ICANS")).to_be_visible()
    expect(page.get_by_text(identifiers)).to_be_visible()  # two identifiers on the form
    page.get_by_label("Assessed at: date").fill(f"{assessed_at:%Y-%m-%d}")
    page.get_by_label("Assessed at: time, 24-hour (HH:MM)").fill(f"{assessed_at:%H:%M}")
    page.get_by_label("Temperature", exact=True).fill("37.2")
    for part, points in ICE.items():
        page.get_by_label(part).fill(points)
    screenshot(page, "toxicity-assessment-form")
    page.get_by_role("button", name="Record and grade").click()
    expect(page.get_by_text("Recorded: CRS grade 0, ICANS grade 2. The oncologist on call")).to_be_visible()
    screenshot(page, "toxicity-assessment-recorded")

    assessment = Assessment.objects.get(patient=patient)
    assert (assessment.ice_score, assessment.crs_grade, assessment.icans_grade) == (6, 0, 2)
    assert assessment.assessed_at == assessed_at
    alert = ToxicityAlert.objects.get(patient=patient)
    assert alert.reason == "ICANS grade 2" and alert.assessment == assessment
    reminders = Reminder.objects.filter(alert=alert, kind=Reminder.Kind.TOXICITY_ALERT)
    assert {r.recipient for r in reminders} == {oncologist, coordinator}

    # Delivery, as the worker runs it on the ids the commit handed to the broker (no worker runs here).
    delivered = reminders_deliver(ids=list(reminders.values_list("pk", flat=True)))
    assert sorted(delivered.sent) == sorted(reminders.values_list("pk", flat=True))
    assert Notification.objects.filter(recipient=oncologist, link=f"/alerts/{alert.pk}/").count() == 1
    assert [m.to for m in mailoutbox if m.subject.startswith("URGENT: ICANS grade 2")].count([oncologist.email]) == 1

    # The oncologist on first call: the bell, the Alerts page, the alert.
    login_as(page, "oncologist")
    expect(page.get_by_role("link", name="Notifications 1 unread")).to_be_visible()
    page.get_by_role("link", name="Notifications 1 unread").click()
    expect(page.get_by_role("link", name="URGENT: ICANS grade 2")).to_be_visible()
    screenshot(page, "toxicity-notifications")
    page.get_by_role("link", name="Alerts", exact=True).click()
    row = page.get_by_role("row").filter(has_text=patient.mrn)
    expect(row).to_contain_text("Not acknowledged")
    expect(row).to_contain_text(on_unit_clock(alert.raised_at, zone))
    screenshot(page, "toxicity-alert-list")
    row.get_by_role("link", name="ICANS grade 2").click()

    expect(page.get_by_role("heading", name="Urgent ICANS grade 2")).to_be_visible()
    expect(page.get_by_text(identifiers)).to_be_visible()
    expect(
        page.get_by_text(f"{on_unit_clock(alert.raised_at, zone)} {timezone.localtime(alert.raised_at, zone):%Z}")
    ).to_be_visible()
    expect(page.get_by_text(f"{oncologist} (oncologist)")).to_be_visible()
    screenshot(page, "toxicity-alert")
    assert axe_violations(page) == []
    page.get_by_label("What you are doing about it").fill("Seen by phone; coming in to assess. Dexamethasone ordered.")
    page.get_by_role("button", name="Acknowledge: I take it").click()
    expect(page.get_by_text("Acknowledged: the alert goes no further.")).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge: I take it")).to_have_count(0)
    screenshot(page, "toxicity-alert-acknowledged")
    alert.refresh_from_db()
    assert alert.acknowledged_by == oncologist and alert.escalate_at is None

    # The patient page: the grades, and no open alert left.
    page.goto(f"/patients/{patient.pk}/")
    watch = page.get_by_role("region", name="Toxicity watch")
    expect(watch).to_contain_text(f"CRS 0, ICANS 2 at {on_unit_clock(assessed_at, zone)}")
    expect(watch.get_by_text("Urgent, not acknowledged")).to_have_count(0)
    screenshot(page, "toxicity-patient-page")

    # The assessments page: the trend, drawn and written, and the same numbers in the table.
    watch.get_by_role("link", name="Assessments and trend").click()
    expect(page.get_by_role("heading", name="Toxicity watch: CRS and ICANS")).to_be_visible()
    grades = page.get_by_role("figure").filter(has_text="ICANS grade (dashed line, squares)")
    expect(grades.locator("svg[role=img]")).to_be_visible()
    expect(page.get_by_role("img", name="ICE score over time")).to_be_visible()
    table_row = page.get_by_role("row").filter(has_text=on_unit_clock(assessed_at, zone))
    expect(table_row).to_contain_text("6/10")
    expect(table_row.get_by_role("cell").nth(7)).to_contain_text("2")  # ICANS
    screenshot(page, "toxicity-assessments")
    assert axe_violations(page) == []
    # At 820 px the two identifiers stay right under the title, the actions wrapping below them.
    page.set_viewport_size({"width": 820, "height": 900})
    banner = page.get_by_text(f"MRN {patient.mrn}").bounding_box()
    action = page.get_by_role("link", name="Assess for CRS and ICANS").bounding_box()
    title = page.get_by_role("heading", name="Toxicity watch: CRS and ICANS").bounding_box()
    assert title["y"] < banner["y"] < action["y"]
    screenshot(page, "toxicity-assessments-820")
