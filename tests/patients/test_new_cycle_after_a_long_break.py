"""A cycle begun by a restart after a break too long to continue its own (CLINICAL.md: "More than
7 days: start a new cycle"): its days count from the restart, and when the patient never reached
the full dose, it repeats the step-up of the cycle it replaces (README, "Interruptions")."""

import datetime as dt
import zoneinfo

import pytest

from patients.models import CareEvent, Interruption
from patients.services import interruption_restart, interruption_stop

from .helpers import live, rr_course

NY = zoneinfo.ZoneInfo("America/New_York")
DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)
START = dt.date(2026, 3, 16)  # after the March clock change: every day has 24 h


def at(month, day, hour) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=NY)


@pytest.fixture
def course(patient):
    return rr_course(patient, start=START, cycles=3, now=at(3, 1, 12))


def long_break(course, nurse, oncologist, *, stopped_at, restarted_at, grade=None, kind=""):
    stop = interruption_stop(
        course=course,
        stopped_at=stopped_at,
        cause=Interruption.Cause.ADVERSE_REACTION,
        toxicity_grade=grade,
        toxicity_kind=kind,
        actor=nurse,
        now=stopped_at,
    )
    done = interruption_restart(interruption=stop, restarted_at=restarted_at, actor=oncologist, now=restarted_at)
    assert done.new_cycle
    return done


def test_a_new_cycle_that_starts_in_the_afternoon_keeps_its_full_days_in_hospital(course, nurse, oncologist):
    """Cycle 2's days 1–2 in hospital are 48 hours from its start at 15:00, not 44 (day 3 at 11:00)."""
    stopped_at = at(3, 28, 10)  # cycle 1 day 13, after the step-up
    done = long_break(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 9 * DAY + 5 * HOUR)
    second = course.cycles.get(number=2)
    assert second.start_time == dt.time(15, 0) and second.inpatient_days == 2
    (discharge,) = live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=second)
    assert discharge.planned_at - done.restarted_at >= 2 * DAY
    assert discharge.day_number == 3
