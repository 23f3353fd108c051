"""A cycle begun by a restart after a break too long to continue its own (CLINICAL.md: "More than
7 days: start a new cycle"): its days count from the restart, and when the patient never reached
the full dose, it repeats the step-up of the cycle it replaces (README, "Interruptions")."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse

from patients.models import CareEvent, Interruption, PremedicationRule, Setting
from patients.selectors import premedication_for_event
from patients.services import event_cancel, interruption_restart, interruption_stop, low_dose_at
from patients.services.schedule import STARTING_DOSE_BEFORE_STEP_UP

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


def step_ups(course, cycle) -> list[CareEvent]:
    return live(course, CareEvent.Kind.DOSE_STEP_UP, cycle=cycle)


def test_a_long_break_before_the_step_up_repeats_the_step_up_in_the_new_cycle(course, nurse, oncologist):
    """The reviewer's case: stopped on cycle 1 day 3 at 9 mcg/day (grade 2), restarted 9 days later.
    The patient never reached 28 mcg/day: the new cycle 2 is a first exposure again."""
    version = course.regimen_version
    stopped_at = at(3, 18, 15)
    done = long_break(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 9 * DAY, grade=2)
    second = course.cycles.get(number=2)
    assert (second.number, second.repeats_cycle, second.rule_number) == (2, 1, 1)
    assert second.inpatient_days == version.cycle_rule(1).inpatient_days == 9
    assert version.dose_for_cycle(second.rule_number) == version.starting_dose
    start = CareEvent.objects.get(pk=done.restart_event_id)
    assert version.starting_dose in start.note

    (step_up,) = step_ups(course, second)
    assert step_up.scheduled and step_up.day_number == version.step_up_day
    assert step_up.planned_at - done.restarted_at >= (version.step_up_day - 1) * DAY
    assert premedication_for_event(step_up) is not None
    (discharge,) = live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=second)
    assert discharge.day_number == 10 and discharge.planned_at - done.restarted_at >= 9 * DAY
    assert low_dose_at(course=course, moment=done.restarted_at + 2 * DAY) == STARTING_DOSE_BEFORE_STEP_UP
    assert low_dose_at(course=course, moment=step_up.planned_at + HOUR) is None
    # Cycle 3 keeps its own rule.
    third = course.cycles.get(number=3)
    assert (third.rule_number, third.inpatient_days, step_ups(course, third)) == (3, 0, [])


def test_a_child_is_premedicated_before_the_repeated_step_up(course, nurse, oncologist):
    """Relapsed/refractory children are premedicated before cycle 1's step-up only: the repeat is one."""
    course.patient.birth_date = dt.date(2016, 1, 1)
    course.patient.save()
    stopped_at = at(3, 18, 15)
    long_break(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 9 * DAY, grade=2)
    (step_up,) = step_ups(course, course.cycles.get(number=2))
    rule = premedication_for_event(step_up)
    assert rule is not None and rule.population == PremedicationRule.Population.CHILD


def test_after_a_grade_3_reaction_the_re_escalation_replaces_the_repeated_step_up(course, nurse, oncologist):
    """The new cycle starts at the restart dose: the label escalates after 7 days without recurrence,
    later than day 8 of a cycle begun in the afternoon."""
    stopped_at = at(3, 18, 15)
    done = long_break(
        course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 9 * DAY, grade=3, kind="crs"
    )
    second = course.cycles.get(number=2)
    assert second.repeats_cycle == 1 and second.inpatient_days == 9
    assert step_ups(course, second) == [done.re_escalation_event]
    assert done.re_escalation_event.planned_at == done.restarted_at + 7 * DAY


def test_a_re_escalation_called_off_before_a_long_break_is_no_step_up_given(course, nurse, oncologist):
    """Restarted at 9 mcg/day after a grade 3 CRS, its re-escalation called off (kept at the restart
    dose), then a long break: the patient never reached 28 mcg/day, so the new cycle repeats the step-up."""
    crs = interruption_stop(
        course=course,
        stopped_at=at(3, 18, 15),
        cause=Interruption.Cause.ADVERSE_REACTION,
        toxicity_grade=3,
        toxicity_kind="crs",
        actor=nurse,
        now=at(3, 18, 15),
    )
    restarted = interruption_restart(interruption=crs, restarted_at=at(3, 20, 15), actor=oncologist, now=at(3, 20, 15))
    event_cancel(event=restarted.re_escalation_event, reason="Kept at 9 mcg/day by the oncologist")
    assert step_ups(course, course.cycles.get(number=1)) == []

    stopped_at = restarted.re_escalation_event.planned_at + 2 * DAY
    long_break(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 9 * DAY, grade=2)
    second = course.cycles.get(number=2)
    assert second.repeats_cycle == 1
    assert len(step_ups(course, second)) == 1


def test_a_second_long_break_before_the_repeated_step_up_repeats_it_again(course, nurse, oncologist):
    first_stop = at(3, 18, 15)
    long_break(course, nurse, oncologist, stopped_at=first_stop, restarted_at=first_stop + 9 * DAY, grade=2)
    second_stop = first_stop + 11 * DAY  # cycle 2 day 3, still at 9 mcg/day
    long_break(course, nurse, oncologist, stopped_at=second_stop, restarted_at=second_stop + 8 * DAY, grade=2)
    third = course.cycles.get(number=3)
    assert (third.repeats_cycle, third.inpatient_days, len(step_ups(course, third))) == (1, 9, 1)


def test_a_long_break_after_the_step_up_starts_the_next_cycle_by_its_own_rule(course, nurse, oncologist):
    """The patient had reached 28 mcg/day on day 8: the new cycle 2 is an ordinary cycle 2."""
    stopped_at = at(3, 28, 10)  # day 13
    long_break(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 9 * DAY, grade=2)
    second = course.cycles.get(number=2)
    assert (second.repeats_cycle, second.rule_number, second.inpatient_days) == (None, 2, 2)
    assert step_ups(course, second) == []
    start = live(course, CareEvent.Kind.CYCLE_START, cycle=second)[0]
    assert course.regimen_version.starting_dose not in start.note


def test_the_pages_show_a_repeated_step_up(client, course, nurse, oncologist):
    stopped_at = at(3, 18, 15)
    long_break(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 9 * DAY, grade=2)
    second = course.cycles.get(number=2)
    client.force_login(oncologist)
    page = client.get(reverse("patient_detail", args=[course.patient_id]))
    assert page.status_code == 200 and "repeats the step-up of cycle 1" in page.content.decode()
    for event in live(course, cycle=second)[:3] + step_ups(course, second):
        assert client.get(reverse("event_detail", args=[event.pk])).status_code == 200, event


# --- a long break that begins in hospital (found by a clinical review) ---------------------------


def test_a_long_break_that_begins_in_hospital_ends_the_cycle_in_hospital(course, nurse, oncologist):
    """Stopped on cycle 1 day 4 (in hospital to day 9), restarted 9 days later: the pump came off
    in hospital, so the cycle's end is an inpatient event (its checklist asked the home-only
    items); the patient stays until the cycle's planned discharge on day 10, which stays planned
    (it was cancelled, leaving an inpatient with no discharge), and is watched until then."""
    stopped_at = at(3, 19, 10)
    long_break(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=at(3, 28, 10), grade=2)
    first = course.cycles.get(number=1)
    (end,) = live(course, CareEvent.Kind.CYCLE_END, cycle=first)
    assert (end.planned_at, end.setting) == (stopped_at, Setting.INPATIENT)
    (discharge,) = live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=first)
    assert (discharge.planned_at, discharge.status) == (at(3, 25, 11), CareEvent.Status.PLANNED)
    checks = [e.planned_at for e in live(course, CareEvent.Kind.TOXICITY_CHECK, cycle=first)]
    assert checks[-1] < discharge.planned_at <= checks[-1] + 4 * HOUR


def test_a_long_break_in_hospital_restarted_before_the_discharge_day_stays_in_hospital(course, nurse, oncologist):
    """Stopped on day 1, restarted 8 days later, on day 9: the patient is in hospital from the stop
    into cycle 2, whose own discharge is the one planned; cycle 1's is cancelled."""
    stopped_at = at(3, 16, 12)
    done = long_break(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=at(3, 24, 13), grade=2)
    first, second = course.cycles.get(number=1), course.cycles.get(number=2)
    (end,) = live(course, CareEvent.Kind.CYCLE_END, cycle=first)
    assert end.setting == Setting.INPATIENT
    assert not live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=first)
    (discharge,) = live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=second)
    assert discharge.planned_at > done.restarted_at
    checks = [e.planned_at for e in live(course, CareEvent.Kind.TOXICITY_CHECK, cycle=first)]
    assert checks[-1] < done.restarted_at <= checks[-1] + 4 * HOUR


def test_a_long_break_at_home_ends_the_cycle_at_home(course, nurse, oncologist):
    """After the discharge the pump comes off where the course's outpatient setting says."""
    long_break(course, nurse, oncologist, stopped_at=at(3, 28, 10), restarted_at=at(4, 6, 10))
    first = course.cycles.get(number=1)
    (end,) = live(course, CareEvent.Kind.CYCLE_END, cycle=first)
    assert end.setting == course.outpatient_setting
    (discharge,) = live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=first)
    assert discharge.status == CareEvent.Status.PLANNED and discharge.planned_at == at(3, 25, 11)
