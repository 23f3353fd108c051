"""Two plans of one patient's course at the same moment (two oncologists, or one double click):
one course, and the other is told. Real PostgreSQL row locks, threads with their own connections."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patients.models import CareEvent, TreatmentCourse
from patients.services import course_plan

from ..database_helpers import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("round_", range(3))
def test_two_plans_of_one_patient_at_once_give_one_course(patient, oncologist, round_):
    """The check for a course under way read before either plan was written: both passed it, and
    the patient had two courses, each with its cycle starts, bag changes and tasks."""
    start = timezone.localdate(timezone=patient.unit.zone) + dt.timedelta(days=3)

    def plan():
        return course_plan(
            patient=patient,
            indication="mrd_positive",
            start_date=start,
            planned_cycles=2,
            bag_hours=48,
            outpatient_setting="home",
            actor=oncologist,
        )

    outcomes = race(plan, plan)
    planned = [outcome for outcome in outcomes if isinstance(outcome, TreatmentCourse)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(planned) == 1 and len(refused) == 1, outcomes
    assert "already has a course under way" in str(refused[0])
    assert TreatmentCourse.objects.filter(patient=patient).count() == 1
    starts = CareEvent.objects.filter(patient=patient, kind=CareEvent.Kind.CYCLE_START, cycle__number=1)
    assert starts.count() == 1
