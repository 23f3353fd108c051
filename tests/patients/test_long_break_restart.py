"""A break after a grade 3 reaction too long to continue its cycle: the new cycle begins with the
restart, at the restart dose (found by a review: its start asked the pharmacist to verify the flat
28 mcg/day, nobody was asked to approve the restart, and a child had no premedication)."""

import datetime as dt
import zoneinfo

import pytest

from checklists.models import Task
from checklists.starter import starter_library_load
from patients.models import CareEvent, Interruption
from patients.selectors import premedication_for_event
from patients.services import interruption_restart, interruption_stop

from ..layers import build, layer
from .helpers import rr_course

NY = zoneinfo.ZoneInfo("America/New_York")
FLAT = "Dose band verified for a patient of at least 45 kg: 28 mcg/day"
APPROVED = "Restart approved: the grade 3 reaction has resolved as the label asks"
STEP_UP = "Dose band verified for a patient of at least 45 kg: 9 mcg/day days 1–7, then 28 mcg/day from day 8"
DAY_3_DISCHARGE = "Home-health agency confirmed for the discharge on day 3"
REPEATED_DISCHARGE = (
    "Home-health agency confirmed for the discharge after cycle 1's days in hospital, which this cycle repeats"
)
RESTART_DOSE = "Restart dose verified: the regimen's restart dose after a grade 3 toxicity, not this cycle's usual dose"


def at(month, day, hour):
    return dt.datetime(2026, month, day, hour, tzinfo=NY)


DAY_4 = at(3, 5, 10)


def restart_after(patient, nurse, oncologist, *, grade: int | None, stopped_at: dt.datetime = DAY_4):
    """Cycle 1 stopped on day 4 (before its step-up, unless `stopped_at` says otherwise); the
    infusion restarts 10 days later, so a new cycle begins."""
    course = rr_course(patient, start=dt.date(2026, 3, 2), cycles=3, now=at(2, 20, 12))
    graded = {"toxicity_grade": grade, "toxicity_kind": Interruption.ToxicityKind.CRS} if grade else {}
    stop = interruption_stop(
        course=course,
        stopped_at=stopped_at,
        cause=Interruption.Cause.ADVERSE_REACTION,
        detail="Fever and hypotension",
        actor=nurse,
        now=stopped_at,
        **graded,
    )
    later = stopped_at - DAY_4
    stop = interruption_restart(
        interruption=stop,
        restarted_at=at(3, 15, 9) + later,
        resolved_at=at(3, 9, 9) + later,
        actor=oncologist,
        now=at(3, 14, 9) + later,
    )
    assert stop.new_cycle and stop.restart_event.kind == CareEvent.Kind.CYCLE_START
    return stop


@pytest.fixture(scope="module")
def _loaded_library(django_db_setup, django_db_blocker):
    """`starter_library_load()` once for the module, where each test loaded it (about 1 s), rolled
    back after the module (tests/layers.py)."""
    with layer(django_db_blocker):
        build(django_db_blocker, starter_library_load)
        yield


@pytest.fixture(autouse=True)
def _library(_loaded_library, db):
    """Every test here starts from the loaded starter library; what it changes is rolled back after it."""


def asked(event) -> dict[str, str]:
    return dict(Task.objects.filter(event=event).values_list("text", "status"))


def test_after_a_grade_3_reaction_the_new_cycle_starts_at_the_restart_dose(patient, nurse, oncologist):
    stop = restart_after(patient, nurse, oncologist, grade=3)
    start = stop.restart_event
    start.refresh_from_db()
    assert start.cycle.number == 2
    assert "restart dose 9 mcg/day" in start.note and "not the cycle's usual dose" in start.note
    tasks = asked(start)
    assert (tasks[APPROVED], tasks[RESTART_DOSE]) == (Task.Status.OPEN, Task.Status.OPEN)
    assert FLAT not in tasks or tasks[FLAT] == Task.Status.CANCELLED
    assert stop.re_escalation_event.planned_at == stop.restarted_at + dt.timedelta(days=7)


def test_a_new_cycle_without_a_grade_3_reaction_asks_for_its_usual_dose(patient, nurse, oncologist):
    stop = restart_after(patient, nurse, oncologist, grade=None, stopped_at=at(3, 10, 10))  # day 9, after the step-up
    tasks = asked(stop.restart_event)
    assert tasks[FLAT] == Task.Status.OPEN
    assert APPROVED not in tasks and RESTART_DOSE not in tasks and STEP_UP not in tasks


def test_a_new_cycle_that_repeats_the_step_up_asks_for_the_step_up_dose(patient, nurse, oncologist):
    """Stopped on day 4, before the day-8 step-up: the new cycle 2 starts at 9 mcg/day again."""
    stop = restart_after(patient, nurse, oncologist, grade=None)
    start = stop.restart_event
    assert start.cycle.repeats_cycle == 1
    tasks = asked(start)
    assert tasks[STEP_UP] == Task.Status.OPEN
    assert FLAT not in tasks or tasks[FLAT] == Task.Status.CANCELLED
    assert tasks[REPEATED_DISCHARGE] == Task.Status.OPEN
    assert DAY_3_DISCHARGE not in tasks or tasks[DAY_3_DISCHARGE] == Task.Status.CANCELLED


@pytest.mark.parametrize(("born", "medication"), [(dt.date(1980, 1, 1), "20 mg"), (dt.date(2016, 1, 1), "5 mg/m²")])
def test_the_new_cycle_is_premedicated_as_a_restart_in_the_cycle_of_the_break(
    patient, nurse, oncologist, born, medication
):
    """Relapsed/refractory children are premedicated in cycle 1 only, restarts included: a restart
    of cycle 1's infusion is one, though the schedule counts it as cycle 2."""
    patient.birth_date = born
    patient.save()
    stop = restart_after(patient, nurse, oncologist, grade=3)
    rule = premedication_for_event(CareEvent.objects.get(pk=stop.restart_event.pk))
    assert medication in rule.medication
    assert asked(stop.restart_event)["Premedication given: record the time"] == Task.Status.OPEN


def test_the_new_cycle_starts_when_the_infusion_restarts_not_at_nine(patient, nurse, oncologist):
    """Found by a review: a restart at 18:00 began a cycle planned for 09:00, so a premedication
    given before 18:00 failed its window, and the cycle lost 9 hours of infusion."""
    course = rr_course(patient, start=dt.date(2026, 3, 2), cycles=3, now=at(2, 20, 12))
    stop = interruption_stop(
        course=course, stopped_at=at(3, 5, 10), cause=Interruption.Cause.PUMP_OR_LINE, actor=nurse, now=at(3, 5, 10)
    )
    stop = interruption_restart(interruption=stop, restarted_at=at(3, 15, 18), actor=oncologist, now=at(3, 14, 9))
    cycle = stop.restart_event.cycle
    cycle.refresh_from_db()
    (start,) = CareEvent.objects.filter(cycle=cycle, kind=CareEvent.Kind.CYCLE_START)
    (end,) = CareEvent.objects.filter(cycle=cycle, kind=CareEvent.Kind.CYCLE_END)
    assert start.planned_at == at(3, 15, 18) == stop.restarted_at
    assert end.planned_at == dt.datetime(2026, 4, 12, 18, tzinfo=NY)  # 28 days of infusion from the restart
    following = course.cycles.get(number=cycle.number + 1)
    assert following.start_time == dt.time(9, 0)  # later cycles start at 09:00 again
