"""A course's status follows its events, and a patient whose course has ended can have another
(review 2: nothing set a course completed, so a course that ran all its cycles blocked the next,
and the patient page offered "Plan a course" only to a patient who never had one)."""

import datetime as dt
import importlib
import zoneinfo

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists.services import events_settle
from patients.models import CareEvent, Indication, TreatmentCourse
from patients.services import course_extend, course_plan, course_stop_for_good

from ..accounts.helpers import verified_login
from ..checklists.helpers import publish_template
from ..factories import CareTeamMemberFactory, PatientFactory, UnitFactory, UserFactory
from .helpers import rr_course

NY = zoneinfo.ZoneInfo("America/New_York")
PLANNED_ON = dt.datetime(2026, 2, 20, 12, tzinfo=NY)
START = dt.date(2026, 3, 2)
AFTER_THE_FIRST_START = dt.datetime(2026, 3, 3, 12, tzinfo=NY)
IN_JUNE = dt.datetime(2026, 6, 1, 12, tzinfo=NY)
SECOND_PLAN = {
    "indication": Indication.MRD_POSITIVE,
    "start_date": "2026-06-08",
    "planned_cycles": 2,
    "inpatient_bag_hours": 24,
    "bag_hours": 24,
    "outpatient_setting": "home",
}
UNDER_WAY = "already has a course under way"


@pytest.fixture
def patient(db):
    return PatientFactory(unit=UnitFactory(name="W", time_zone="America/New_York"))


@pytest.fixture
def onc(patient):
    oncologist = UserFactory(username="onc", role=Role.ONCOLOGIST, unit=patient.unit)
    CareTeamMemberFactory(patient=patient, user=oncologist, role=Role.ONCOLOGIST)
    return oncologist


def _status(course) -> str:
    return TreatmentCourse.objects.get(pk=course.pk).status


def _page(client, patient) -> str:
    return client.get(reverse("patient_detail", args=[patient.pk])).content.decode()


def _plan_again(client, patient):
    return client.post(reverse("patients:course_plan", args=[patient.pk]), SECOND_PLAN)


def test_a_course_is_active_once_its_first_start_is_done_and_completed_once_its_last_end_is(client, onc, patient):
    course = rr_course(patient, start=START, cycles=1, now=PLANNED_ON)
    assert _status(course) == TreatmentCourse.Status.PLANNED
    events_settle(now=AFTER_THE_FIRST_START)
    assert _status(course) == TreatmentCourse.Status.ACTIVE
    with time_machine.travel(AFTER_THE_FIRST_START, tick=False):
        verified_login(client, onc)
        assert "Plan a course" not in _page(client, patient)
        response = _plan_again(client, patient)
        assert response.status_code == 200 and UNDER_WAY in response.content.decode()
    assert TreatmentCourse.objects.filter(patient=patient).count() == 1

    events_settle(now=IN_JUNE)  # the pump came off at the end of the one cycle
    end = CareEvent.objects.get(cycle__course=course, kind=CareEvent.Kind.CYCLE_END)
    assert end.status == CareEvent.Status.DONE
    assert _status(course) == TreatmentCourse.Status.COMPLETED
    with time_machine.travel(IN_JUNE, tick=False):
        client.logout()
        verified_login(client, onc)
        page = _page(client, patient)
        assert "Completed" in page and "Plan a course" in page
        assert _plan_again(client, patient).status_code == 302
    second = TreatmentCourse.objects.filter(patient=patient).exclude(pk=course.pk).get()
    assert second.indication == Indication.MRD_POSITIVE and second.status == TreatmentCourse.Status.PLANNED


def test_a_last_cycle_end_missed_completes_the_course_too(onc, patient):
    """Missed is the beat's outcome for an end whose checklist was left open: the pump came off all
    the same, and nothing turns a missed event into a done one later."""
    publish_template(name="Pump-off", trigger_kind=CareEvent.Kind.CYCLE_END, items=[{"text": "Pump returned"}])
    course = rr_course(patient, start=START, cycles=1, now=PLANNED_ON)
    events_settle(now=IN_JUNE)
    end = CareEvent.objects.get(cycle__course=course, kind=CareEvent.Kind.CYCLE_END)
    assert end.status == CareEvent.Status.MISSED
    assert _status(course) == TreatmentCourse.Status.COMPLETED
    course_plan(patient=patient, actor=onc, **{**SECOND_PLAN, "start_date": dt.date(2026, 6, 8)}, now=IN_JUNE)
    assert TreatmentCourse.objects.filter(patient=patient).count() == 2


def test_only_the_last_planned_cycles_end_completes_a_course(onc, patient):
    course = rr_course(patient, start=START, cycles=2, now=PLANNED_ON)
    events_settle(now=dt.datetime(2026, 4, 5, 12, tzinfo=NY))  # cycle 1's pump-off (30 March) is past
    first_end = CareEvent.objects.get(cycle__course=course, cycle__number=1, kind=CareEvent.Kind.CYCLE_END)
    assert first_end.status == CareEvent.Status.DONE
    assert _status(course) == TreatmentCourse.Status.ACTIVE


def test_the_next_beat_catches_up_on_a_course_it_could_not_update(onc, patient):
    """A course locked by a rebuild while its events settled keeps its status until the next beat,
    which settles nothing new but reads every course under way."""
    course = rr_course(patient, start=START, cycles=1, now=PLANNED_ON)
    events_settle(now=IN_JUNE)
    TreatmentCourse.objects.filter(pk=course.pk).update(status=TreatmentCourse.Status.ACTIVE)  # as if skipped
    assert events_settle(now=IN_JUNE) == {"done": 0, "missed": 0}
    assert _status(course) == TreatmentCourse.Status.COMPLETED


def test_more_cycles_after_the_last_end_make_the_course_active_again(client, onc, patient):
    """Whether another cycle follows is decided after the last end (marrow, MRD): the page still
    offers more cycles on the completed course, as well as a new course."""
    course = rr_course(patient, start=START, cycles=1, now=PLANNED_ON)
    after_the_end = dt.datetime(2026, 4, 2, 12, tzinfo=NY)
    events_settle(now=after_the_end)
    assert _status(course) == TreatmentCourse.Status.COMPLETED
    with time_machine.travel(after_the_end, tick=False):
        verified_login(client, onc)
        page = _page(client, patient)
        assert "Change the number of cycles" in page and "Plan a course" in page and "Stop for good" not in page
        response = client.post(reverse("patients:course_cycles", args=[course.pk]), {"planned_cycles": 2})
    assert response.status_code == 302
    assert _status(course) == TreatmentCourse.Status.ACTIVE


def test_a_completed_course_is_given_no_more_cycles_once_a_later_course_is_planned(client, onc, patient):
    """Both would be under way: the older course's cycles are no longer offered nor taken."""
    course = rr_course(patient, start=START, cycles=1, now=PLANNED_ON)
    events_settle(now=IN_JUNE)
    course_plan(patient=patient, actor=onc, **{**SECOND_PLAN, "start_date": dt.date(2026, 6, 8)}, now=IN_JUNE)
    with pytest.raises(ValidationError, match="later course"):
        course_extend(course=course, planned_cycles=2, actor=onc, now=IN_JUNE)
    assert TreatmentCourse.objects.get(pk=course.pk).planned_cycles == 1
    with time_machine.travel(IN_JUNE, tick=False):
        verified_login(client, onc)
        page = _page(client, patient)
    assert page.count("Change the number of cycles") == 1  # the later course's alone
    assert reverse("patients:course_cycles", args=[course.pk]) not in page


def test_after_a_stop_for_good_the_page_offers_a_new_course(client, onc, patient):
    now = timezone.now()
    course = rr_course(patient, start=timezone.localdate() + dt.timedelta(days=3), cycles=2, now=now)
    verified_login(client, onc)
    assert "Plan a course" not in _page(client, patient)  # while it is planned
    course_stop_for_good(course=course, stopped_at=now - dt.timedelta(minutes=1), reason="Relapse, new plan", actor=onc)
    assert "Plan a course" in _page(client, patient)


def test_the_data_migration_gives_existing_courses_the_status_of_their_events(onc, patient):
    finished = rr_course(patient, start=START, cycles=1, now=PLANNED_ON)
    events_settle(now=IN_JUNE)
    other = PatientFactory(unit=patient.unit)
    started = rr_course(other, start=dt.date(2026, 5, 25), cycles=2, now=PLANNED_ON)
    events_settle(now=IN_JUNE)
    waiting = rr_course(PatientFactory(unit=patient.unit), start=dt.date(2026, 9, 7), cycles=1, now=IN_JUNE)
    stopped_patient = PatientFactory(unit=patient.unit)
    CareTeamMemberFactory(patient=stopped_patient, user=onc, role=Role.ONCOLOGIST)
    stopped = rr_course(stopped_patient, start=dt.date(2026, 5, 25), cycles=1, now=PLANNED_ON)
    course_stop_for_good(course=stopped, stopped_at=IN_JUNE, reason="Grade 4 CRS", actor=onc)
    # As the database stood before: nothing ever set a course completed, nor active before a rebuild.
    TreatmentCourse.objects.exclude(pk=stopped.pk).update(status=TreatmentCourse.Status.PLANNED)

    migration = importlib.import_module("patients.migrations.0028_course_status_follows_its_events")
    migration.courses_follow_their_events(apps, None)

    assert _status(finished) == TreatmentCourse.Status.COMPLETED
    assert _status(started) == TreatmentCourse.Status.ACTIVE
    assert _status(waiting) == TreatmentCourse.Status.PLANNED
    assert _status(stopped) == TreatmentCourse.Status.STOPPED
