"""The re-escalation after a restart at the restart dose: it belongs to the running infusion of
its cycle (found by a review: planned 7 days after the restart whatever the cycle's end, it fell
in the rest period with its dexamethasone and bag, or inside the next cycle, where it made a
grade 3 neurotoxicity at 28 mcg/day look like one "at the restart dose")."""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from patients.models import CareEvent, Indication, Interruption, Setting
from patients.selectors import premedication_for_event
from patients.services import (
    course_plan,
    course_schedule_build,
    cycle_set_next_start,
    event_cancel,
    event_move,
    interruption_restart,
    interruption_stop,
    low_dose_at,
    neurotoxicity_stops_for_good,
)
from patients.services.schedule import RESTART_DOSE_BEFORE_RE_ESCALATION

from .helpers import live, rr_course

NY = zoneinfo.ZoneInfo("America/New_York")
DAY = dt.timedelta(days=1)
CRS = Interruption.ToxicityKind.CRS


def at(month, day, hour) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=NY)


def local_day(cycle, number: int, hour: int) -> dt.datetime:
    """Day `number` of the cycle at `hour`, on the unit's clock."""
    return dt.datetime.combine(cycle.start_date + (number - 1) * DAY, dt.time(hour), tzinfo=NY)


def grade_3_crs(course, nurse, oncologist, *, stopped_at, restarted_at):
    stop = interruption_stop(
        course=course,
        stopped_at=stopped_at,
        cause=Interruption.Cause.ADVERSE_REACTION,
        toxicity_grade=3,
        toxicity_kind=CRS,
        actor=nurse,
        now=stopped_at,
    )
    return interruption_restart(interruption=stop, restarted_at=restarted_at, actor=oncologist, now=restarted_at)


@pytest.fixture
def course(patient):
    return rr_course(patient, start=dt.date(2026, 3, 2), cycles=3, now=at(2, 20, 12))


def test_a_re_escalation_that_would_fall_after_the_pump_is_off_is_not_planned(course, nurse, oncologist):
    second = course.cycles.get(number=2)
    stopped_at = local_day(second, 24, 10)
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY)
    second.refresh_from_db()
    ends_at = second.infusion_ends_at
    assert done.restarted_at + 7 * DAY >= ends_at  # 7 days at the restart dose outlast the cycle

    assert done.re_escalation_event is None
    late = [e for e in live(course, CareEvent.Kind.DOSE_STEP_UP) if e.planned_at >= ends_at]
    assert late == []
    # Nothing premedicated (the step-up's dexamethasone) in the rest, before cycle 3's own start.
    rest = [e for e in live(course) if ends_at <= e.planned_at < live(course, CareEvent.Kind.CYCLE_START)[2].planned_at]
    assert [e for e in rest if premedication_for_event(e)] == []
    # The restart's note tells the team that the cycle finishes at the restart dose.
    assert "no re-escalation" in done.restart_event.note.lower()


def test_a_re_escalation_that_would_fall_at_the_pump_off_itself_is_not_planned(course, nurse, oncologist):
    """Stopped 7 days before the pump-off: the 7 days at the restart dose end as the pump comes off
    (the break moves both alike), and a step-up then would have no infusion to run."""
    second = course.cycles.get(number=2)
    stopped_at = second.infusion_ends_at - 7 * DAY
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY)
    second.refresh_from_db()
    assert done.restarted_at + 7 * DAY == second.infusion_ends_at
    assert done.re_escalation_event is None
    assert "no re-escalation" in done.restart_event.note.lower()


def test_the_restart_dose_runs_until_the_pump_is_off_and_never_into_the_next_cycle(course, nurse, oncologist):
    second = course.cycles.get(number=2)
    stopped_at = local_day(second, 24, 10)
    grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY)
    second.refresh_from_db()
    third = course.cycles.get(number=3)
    assert low_dose_at(course=course, moment=stopped_at + 3 * DAY) == RESTART_DOSE_BEFORE_RE_ESCALATION
    assert low_dose_at(course=course, moment=second.infusion_ends_at + dt.timedelta(hours=1)) is None
    assert low_dose_at(course=course, moment=local_day(third, 1, 12)) is None


def test_a_re_escalation_called_off_leaves_the_restart_dose_running(course, nurse, oncologist):
    """The oncologist keeps the patient at 9 mcg/day: past the day the re-escalation was planned the
    infusion still runs at the restart dose, and a grade 3 neurotoxicity then stops for good."""
    first = course.cycles.get(number=1)
    stopped_at = local_day(first, 12, 10)
    re_escalation = grade_3_crs(
        course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY
    ).re_escalation_event
    event_cancel(event=re_escalation, reason="Kept at 9 mcg/day by the oncologist")

    later = re_escalation.planned_at + DAY
    first.refresh_from_db()
    assert later < first.infusion_ends_at
    assert low_dose_at(course=course, moment=later) == RESTART_DOSE_BEFORE_RE_ESCALATION
    assert neurotoxicity_stops_for_good(course=course, moment=later) == f" at {RESTART_DOSE_BEFORE_RE_ESCALATION}"


def test_in_a_consolidation_course_the_next_cycle_runs_at_its_own_dose(patient, nurse, oncologist):
    """The reviewer's case: the chemotherapy plan sets a 3-day rest, shorter than the 7 days at the
    restart dose; a grade 3 neurotoxicity on cycle 2 day 1 is at 28 mcg/day, not at the restart dose."""
    course = course_plan(
        patient=patient,
        indication=Indication.CONSOLIDATION,
        start_date=dt.date(2026, 3, 16),
        planned_cycles=2,
        bag_hours=48,
        outpatient_setting="home",
        actor=oncologist,
        now=at(3, 1, 12),
    )
    stopped_at = at(4, 10, 10)  # cycle 1 day 26
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + DAY)
    first = course.cycles.get(number=1)
    cycle_set_next_start(
        cycle=first, next_start_date=first.infusion_end_date + 3 * DAY, actor=oncologist, now=done.restarted_at
    )
    second = course.cycles.get(number=2)
    noon = local_day(second, 1, 12)
    assert not [e for e in live(course, CareEvent.Kind.DOSE_STEP_UP) if e.planned_at >= first.infusion_ends_at]
    assert low_dose_at(course=course, moment=noon) is None
    assert neurotoxicity_stops_for_good(course=course, moment=noon) is None


def test_a_re_escalation_that_fits_in_the_cycle_is_still_planned(course, nurse, oncologist):
    second = course.cycles.get(number=2)
    stopped_at = local_day(second, 10, 10)
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY)
    event = done.re_escalation_event
    second.refresh_from_db()
    assert (event.kind, event.status, event.cycle) == (CareEvent.Kind.DOSE_STEP_UP, CareEvent.Status.PLANNED, second)
    assert event.planned_at == done.restarted_at + 7 * DAY < second.infusion_ends_at
    assert low_dose_at(course=course, moment=event.planned_at - dt.timedelta(hours=1))
    assert low_dose_at(course=course, moment=event.planned_at) is None


def test_a_planned_re_escalation_that_the_cycle_end_overtakes_is_cancelled_by_the_rebuild(course, nurse, oncologist):
    """However the plan comes to put the pump-off before it, the schedule calls it off."""
    second = course.cycles.get(number=2)
    stopped_at = local_day(second, 10, 10)
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY)
    second.refresh_from_db()
    CareEvent.objects.filter(pk=done.re_escalation_event_id).update(planned_at=second.infusion_ends_at)
    course_schedule_build(course=course, now=done.restarted_at)
    event = CareEvent.objects.get(pk=done.re_escalation_event_id)
    assert event.status == CareEvent.Status.CANCELLED and "pump" in event.note
    assert low_dose_at(course=course, moment=second.infusion_ends_at + dt.timedelta(hours=1)) is None


def test_a_re_escalation_is_not_moved_by_hand_past_the_pump_off(course, nurse, oncologist):
    second = course.cycles.get(number=2)
    stopped_at = local_day(second, 10, 10)
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY)
    second.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        event_move(event=done.re_escalation_event, planned_at=second.infusion_ends_at + DAY)
    assert "planned_at" in refused.value.message_dict
    event = CareEvent.objects.get(pk=done.re_escalation_event_id)
    assert (event.status, event.planned_at) == (CareEvent.Status.PLANNED, done.restarted_at + 7 * DAY)


def test_a_re_escalation_while_still_in_hospital_is_planned_in_hospital(course, nurse, oncologist):
    """The reviewer's case: grade 3 CRS on cycle 1 day 1, restarted 18 h later; the re-escalation
    on day 9 comes before the discharge (days 1–9 in hospital, moved by the break), not at home."""
    first = course.cycles.get(number=1)
    stopped_at = local_day(first, 1, 15)
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=local_day(first, 2, 9))
    (discharge,) = live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=first)
    assert done.re_escalation_event.planned_at < discharge.planned_at
    assert done.re_escalation_event.setting == Setting.INPATIENT


def test_a_re_escalation_after_the_discharge_is_planned_in_the_outpatient_setting(course, nurse, oncologist):
    second = course.cycles.get(number=2)
    stopped_at = local_day(second, 10, 10)
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY)
    assert done.re_escalation_event.setting == course.outpatient_setting == Setting.HOME


def test_the_pages_of_a_restart_without_a_re_escalation_open(client, course, nurse, oncologist):
    second = course.cycles.get(number=2)
    stopped_at = local_day(second, 24, 10)
    done = grade_3_crs(course, nurse, oncologist, stopped_at=stopped_at, restarted_at=stopped_at + 2 * DAY)
    client.force_login(oncologist)
    page = client.get(reverse("patient_detail", args=[course.patient_id]))
    assert page.status_code == 200 and "restart dose" in page.content.decode()
    assert client.get(reverse("event_detail", args=[done.restart_event_id])).status_code == 200
