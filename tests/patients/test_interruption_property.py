"""Whatever stops and restarts happen in cycles 1 and 2, each cycle keeps its 28 days of infusion.

shared/CLINICAL.md, "Interruptions and toxicity": a break of 7 days or less continues the cycle
until 28 days of infusion in total; the cycle end, the rest and the bag plan move by the break.
More than 7 days: a new cycle. The unit keeps New York time; cycle 1 runs across the 8 March
2026 clock change.
"""

import datetime as dt
import zoneinfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from patients.models import CareEvent, Cycle, Interruption
from patients.services import interruption_restart, interruption_stop

from .helpers import live, rr_course

NY = zoneinfo.ZoneInfo("America/New_York")
START = dt.date(2026, 3, 2)
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)
REST_DAYS = 14  # relapsed/refractory cycles 1–5

# One break: (minutes from the previous restart or the cycle's start to the stop, the break's length
# in minutes (at most 7 days), minutes before the stop is recorded, mark every k-th past event done).
a_break = st.tuples(
    st.integers(min_value=1, max_value=9 * 24 * 60),
    st.integers(min_value=1, max_value=7 * 24 * 60),
    st.integers(min_value=0, max_value=90),
    st.sampled_from([0, 1, 2, 3]),
)
breaks_per_cycle = st.tuples(st.lists(a_break, max_size=3), st.lists(a_break, max_size=3))


@pytest.fixture
def course(patient):
    return rr_course(patient, start=START, cycles=3, now=dt.datetime(2026, 2, 20, tzinfo=NY))


def day_one(cycle: Cycle) -> dt.datetime:
    """09:00 on day 1, in UTC: arithmetic on it is in elapsed time, not on New York's wall clock."""
    return dt.datetime.combine(cycle.start_date, dt.time(9), tzinfo=NY).astimezone(dt.UTC)


def mark_done(course, before: dt.datetime, every: int) -> dict[int, dt.datetime]:
    """Mark every `every`-th planned event before `before` done, as the team would have."""
    if not every:
        return {}
    past = CareEvent.objects.filter(
        cycle__course=course, status=CareEvent.Status.PLANNED, planned_at__lt=before
    ).order_by("planned_at", "pk")
    chosen = list(past)[::every]
    CareEvent.objects.filter(pk__in=[e.pk for e in chosen]).update(status=CareEvent.Status.DONE)
    return {e.pk: e.planned_at for e in chosen}


def run(course, nurse, oncologist, plan) -> tuple[list[Interruption], dict[int, dt.datetime]]:
    """Record the breaks of `plan` in order; those that would fall after the pump-off are skipped."""
    recorded, done = [], {}
    for number, breaks in enumerate(plan, start=1):
        cursor = None
        for gap, length, delay, every in breaks:
            cycle = Cycle.objects.get(course=course, number=number)
            cursor = cursor or day_one(cycle)
            stopped_at = cursor + gap * MINUTE
            if stopped_at >= cycle.infusion_ends_at:
                break
            done |= mark_done(course, stopped_at, every)
            restarted_at = stopped_at + length * MINUTE
            interruption = interruption_stop(
                course=course,
                stopped_at=stopped_at,
                cause=Interruption.Cause.PUMP_OR_LINE,
                actor=nurse,
                now=stopped_at + min(delay, length - 1) * MINUTE,
            )
            recorded.append(
                interruption_restart(
                    interruption=interruption, restarted_at=restarted_at, actor=oncologist, now=restarted_at
                )
            )
            cursor = restarted_at
    return recorded, done


def assert_cycles_keep_their_infusion(course, recorded):
    cycles = {c.number: c for c in course.cycles.all()}
    for number in (1, 2):
        cycle = cycles[number]
        start = day_one(cycle)
        unbroken = 28 * DAY  # of infusion, in hours, whatever the clock change
        paused = sum((i.length for i in recorded if i.cycle_id == cycle.pk), dt.timedelta(0))
        assert cycle.ended_early_at is None
        assert cycle.planned_ends_at - start == unbroken
        assert cycle.infusion_ends_at - start - paused == cycle.planned_ends_at - start, number
        assert cycle.infusion_end_date == timezone.localtime(cycle.infusion_ends_at, NY).date()
        (end,) = live(course, CareEvent.Kind.CYCLE_END, cycle=cycle)
        assert end.planned_at == cycle.infusion_ends_at
        # The rest follows the moved pump-off.
        following = cycles[number + 1]
        assert following.start_date == cycle.infusion_end_date + REST_DAYS * DAY
        (next_start,) = live(course, CareEvent.Kind.CYCLE_START, cycle=following)
        assert next_start.planned_at == day_one(following)


def assert_nothing_due_inside_a_break(course, recorded):
    for bag in live(course, CareEvent.Kind.BAG_CHANGE):
        for stop in recorded:
            assert not (stop.stopped_at <= bag.planned_at < stop.restarted_at), (bag.planned_at, stop)
        cycle = bag.cycle
        assert day_one(cycle) < bag.planned_at < cycle.infusion_ends_at


def wall(moment: dt.datetime, recorded) -> dt.datetime:
    """Where a moment of the unbroken plan falls once the breaks before it are added."""
    for stop in sorted(recorded, key=lambda i: i.stopped_at):
        if stop.stopped_at <= moment:
            moment += stop.length
    return moment


def assert_day_n_events_move_by_the_breaks_before_them(course, recorded):
    first = course.cycles.get(number=1)
    in_cycle = [i for i in recorded if i.cycle_id == first.pk]

    def local(day: int, hour: int) -> dt.datetime:
        return dt.datetime.combine(first.start_date + (day - 1) * DAY, dt.time(hour), tzinfo=NY)

    (step_up,) = live(course, CareEvent.Kind.DOSE_STEP_UP)
    (discharge,) = live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=first)
    assert step_up.planned_at == wall(local(8, 9), in_cycle)
    assert discharge.planned_at == wall(local(10, 11), in_cycle)


def assert_a_bag_lasts_its_hours_of_infusion(course, recorded):
    """From each bag hung (day 1, a bag change, a supervised restart, the step-up's new dose) to the
    next change: 24 hours of infusion in hospital, 48 at home; breaks do not count, and a short
    one hangs no new bag."""
    for number in (1, 2):
        cycle = course.cycles.get(number=number)
        breaks = [(i.stopped_at, i.restarted_at) for i in recorded if i.cycle_id == cycle.pk]
        (discharge,) = live(course, CareEvent.Kind.DISCHARGE_HOME, cycle=cycle)
        changes = [e.planned_at for e in live(course, CareEvent.Kind.BAG_CHANGE, cycle=cycle)]
        step_ups = [e.planned_at for e in live(course, CareEvent.Kind.DOSE_STEP_UP, cycle=cycle)]
        hung = sorted({day_one(cycle), *changes, *step_ups, *(r for s, r in breaks if r - s >= 4 * HOUR)})
        for start, end in zip(hung, [*hung[1:], cycle.infusion_ends_at], strict=True):
            paused = sum((max(min(end, r) - max(start, s), dt.timedelta(0)) for s, r in breaks), dt.timedelta(0))
            infusion = end - start - paused
            lasts = 24 * HOUR if start < discharge.planned_at else 48 * HOUR
            if end in changes:
                assert infusion == lasts, (start, end)
            else:  # the next bag is hung at a restart, or the pump comes off
                assert infusion <= lasts, (start, end)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=breaks_per_cycle)
def test_every_cycle_keeps_28_days_of_infusion_whatever_the_short_breaks(course, nurse, oncologist, plan):
    with transaction.atomic():  # each example starts from the fixture's freshly built course
        recorded, done = run(course, nurse, oncologist, plan)

        assert all(not i.new_cycle and i.restarted_at for i in recorded)
        assert_cycles_keep_their_infusion(course, recorded)
        assert_nothing_due_inside_a_break(course, recorded)
        assert_day_n_events_move_by_the_breaks_before_them(course, recorded)
        assert_a_bag_lasts_its_hours_of_infusion(course, recorded)
        kept = dict(CareEvent.objects.filter(pk__in=done, status=CareEvent.Status.DONE).values_list("pk", "planned_at"))
        assert kept == done  # done events never move (nor are cancelled)
        stops = live(course, CareEvent.Kind.INTERRUPTION)
        assert sorted(e.planned_at for e in stops) == sorted(i.stopped_at for i in recorded)
        assert {e.status for e in stops} <= {CareEvent.Status.DONE}
        transaction.set_rollback(True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # Cycle 1 crosses the spring-forward change: its 28 days of infusion are an hour short of
    # 28 × 24 hours of wall time, so a stop at 28 × 24 h − 1 min falls after the pump is off.
    into_cycle=st.integers(min_value=1, max_value=28 * 24 * 60 - 61),
    length=st.integers(min_value=7 * 24 * 60 + 1, max_value=14 * 24 * 60),
)
# Drawn once by hypothesis: stopped half-way, restarted 14 days later, at the very minute (in wall
# time) that the cycle's pump would have come off.
@example(into_cycle=14 * 24 * 60, length=14 * 24 * 60)
def test_a_break_of_more_than_7_days_ends_the_cycle_and_the_next_starts_on_the_restart_day(
    course, nurse, oncologist, into_cycle, length
):
    with transaction.atomic():
        first = course.cycles.get(number=1)
        stopped_at = day_one(first) + into_cycle * MINUTE
        restarted_at = stopped_at + length * MINUTE
        interruption = interruption_stop(
            course=course, stopped_at=stopped_at, cause=Interruption.Cause.OTHER, actor=nurse, now=stopped_at
        )
        done = interruption_restart(
            interruption=interruption, restarted_at=restarted_at, actor=oncologist, now=restarted_at
        )

        assert done.new_cycle
        first.refresh_from_db()
        assert first.ended_early_at == stopped_at == first.infusion_ends_at
        assert first.infusion_end_date == timezone.localtime(stopped_at, NY).date()
        (end,) = live(course, CareEvent.Kind.CYCLE_END, cycle=first)
        assert end.planned_at == stopped_at
        assert not [b for b in live(course, CareEvent.Kind.BAG_CHANGE, cycle=first) if b.planned_at >= stopped_at]

        second = course.cycles.get(number=2)
        restart_day = timezone.localtime(restarted_at, NY).date()
        assert second.start_date == restart_day
        assert first.rest_days == (restart_day - first.infusion_end_date).days
        assert done.restart_event == live(course, CareEvent.Kind.CYCLE_START, cycle=second)[0]
        assert second.infusion_end_date == restart_day + 28 * DAY
        third = course.cycles.get(number=3)
        assert third.start_date == second.infusion_end_date + REST_DAYS * DAY
        assert course.cycles.count() == 3
        transaction.set_rollback(True)
