"""The patient page at the bedside (issue 19): the cycle under way around now, its earlier and later
events counted and listed in place when opened, at 1280, 1024 and 820 px."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checklists.starter import starter_library_load
from coordination.worklist.selectors import SHOWN_BEFORE
from patients.models import CareEvent
from patients.services import course_schedule_build

from ..factories import CourseFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def course_day_5(patient, nurse, oncologist, pharmacist):
    """An adult's relapsed/refractory course on cycle 1 day 5: in hospital, checked every few hours."""
    starter_library_load()
    today = timezone.localtime(timezone.now(), patient.unit.zone).date()
    course = CourseFactory(patient=patient, planned_cycles=2, start_date=today - dt.timedelta(days=4))
    course_schedule_build(course=course)
    return course


@pytest.mark.parametrize("width", [1280, 1024, 820])
def test_the_nurse_sees_the_cycle_around_now_and_opens_the_earlier_events_in_place(
    page, login_as, course_day_5, screenshot, axe_violations, width
):
    patient = course_day_5.patient
    cycle = course_day_5.cycles.get(number=1)
    live = CareEvent.objects.filter(cycle=cycle).exclude(status=CareEvent.Status.CANCELLED)

    def earlier_now() -> int:
        # The page's own rule (cycles_around_now): planned before a day ago, to the minute. The
        # events fall on the hour, so the test and the page must cut at the same minute: read
        # "now - 24 h" to the second, the test failed in the minute an event had a day ago.
        start = (timezone.now() - SHOWN_BEFORE).replace(second=0, microsecond=0)
        return live.filter(planned_at__lt=start).count()

    login_as(page, "nurse")
    page.set_viewport_size({"width": width, "height": 1180 if width == 820 else 900})
    before_render = earlier_now()
    page.goto(f"/patients/{patient.pk}/")
    after_render = earlier_now()
    expect(page.get_by_role("heading", name=patient.full_name)).to_be_visible()
    expect(page.get_by_text(patient.mrn, exact=True)).to_be_visible()  # the second identifier
    table = page.get_by_role("table", name="Events of cycle 1")
    listed = table.locator("tbody tr").count()
    assert 0 < listed < live.count()
    summary = page.locator("summary", has_text="earlier events of cycle 1")
    expect(summary).to_be_visible()
    # The page rendered between the two counts: a minute may have turned in between.
    earlier = int(re.search(r"The (\d+) earlier events", summary.inner_text())[1])
    assert earlier in {before_render, after_render}, (earlier, before_render, after_render)
    assert earlier > 0
    expect(page.locator("summary", has_text="later events of cycle 1")).to_be_visible()
    screenshot(page, f"patient-page-{width}")
    assert axe_violations(page) == []

    summary.click()  # loaded in place
    earlier_table = page.get_by_role("table", name="Earlier events of cycle 1")
    expect(earlier_table).to_be_visible()
    expect(earlier_table.locator("tbody tr")).to_have_count(earlier)
    expect(earlier_table.get_by_role("link", name="Cycle start")).to_be_visible()
    screenshot(page, f"patient-page-earlier-{width}")
