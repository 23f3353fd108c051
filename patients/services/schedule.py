"""The course schedule: cycles and their care events, built from the course's regimen version.

Everything clinical (phases, rests, step-up, days in hospital, the limit on cycles, how long a
break may be) is read from the regimen version the course is pinned to; this module only knows
how to lay it out in time. Interruptions move the plan: the cycle keeps its days of infusion,
so each day-N event and bag change moves by the breaks before it ("the infusion clock").
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, ProtectedError
from django.utils import timezone

from accounts import moments

from .. import policy
from ..bulk import rows_update
from ..hooks import notify_events_changed
from ..models import (
    MAX_PLANNED_CYCLES,
    CareEvent,
    Cycle,
    Interruption,
    Patient,
    RegimenVersion,
    Setting,
    TreatmentCourse,
)
from .course_status import courses_follow_their_events

# Day-N events (cycle start, step-up, discharge, cycle end) happen at these local times: the
# unit's working habits, not clinical facts.
EVENT_LOCAL_TIME = dt.time(9, 0)
DISCHARGE_LOCAL_TIME = dt.time(11, 0)
# In hospital the bag is changed daily, whatever the bag outside hospital will be.


@dataclass(frozen=True)
class PlannedEvent:
    kind: str
    sequence: int
    planned_at: dt.datetime
    setting: str


@dataclass
class ScheduleChanges:
    created: list[CareEvent] = field(default_factory=list)
    moved: list[CareEvent] = field(default_factory=list)
    cancelled: list[CareEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Break:
    """A stop of the infusion; `ends_at` None while it lasts."""

    starts_at: dt.datetime
    ends_at: dt.datetime | None
    supervised_restart: bool = False

    def overtakes(self, moment: dt.datetime) -> bool:
        """A plan's moment that the stop came before it was due: from the stop to the restart, the
        restart's own minute included (the pump-off or bag change planned for the very minute the
        infusion ran again was planned on the old clock and moves with the rest)."""
        return self.starts_at <= moment and (self.ends_at is None or moment <= self.ends_at)


def _local(day: dt.date, at: dt.time, zone) -> dt.datetime:
    """A wall-clock time on a calendar day of the unit, as an aware datetime in UTC.

    Building it from the date (not by adding 24-hour steps) keeps "day N at 09:00" on the
    right day and hour across a daylight-saving change.
    """
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


class InfusionClock:
    """Maps time on the infusion (from the cycle's start) to the wall clock, skipping breaks.

    Only closed breaks that continue the cycle are given; an open break has no end yet, and a
    break too long to continue the cycle ends it instead.
    """

    def __init__(self, start_at: dt.datetime, breaks: list[Break]):
        self.start_at = start_at
        self.breaks = sorted((b for b in breaks if b.ends_at is not None), key=lambda b: b.starts_at)

    def wall(self, wanted: dt.datetime) -> dt.datetime:
        """Where a moment of the unbroken plan falls once the breaks before it are added."""
        moment = wanted
        for stop in self.breaks:
            if stop.starts_at <= moment:
                moment += stop.ends_at - stop.starts_at
        return moment

    def infusion_offset(self, moment: dt.datetime) -> dt.timedelta:
        """How long the pump has run from the start to `moment` (which lies outside a break)."""
        paused = sum(
            (min(stop.ends_at, moment) - stop.starts_at for stop in self.breaks if stop.starts_at < moment),
            dt.timedelta(0),
        )
        return moment - self.start_at - paused


@dataclass(frozen=True)
class CycleTimes:
    starts_at: dt.datetime
    planned_ends_at: dt.datetime  # without breaks
    ends_at: dt.datetime  # with breaks, or the early end


def cycle_breaks(cycle: Cycle, interruptions: list[Interruption], supervised_hours: int) -> list[Break]:
    """The breaks inside one cycle that continue it (a new-cycle or permanent stop ends it)."""
    result = []
    for stop in interruptions:
        if stop.cycle_id != cycle.pk or stop.new_cycle or stop.permanent:
            continue
        supervised = stop.restarted_at is not None and (
            stop.restarted_at - stop.stopped_at >= dt.timedelta(hours=supervised_hours)
        )
        result.append(Break(stop.stopped_at, stop.restarted_at, supervised))
    return result


def cycle_day_at(cycle: Cycle, number: int, at: dt.time, zone) -> dt.datetime:
    """Day `number` of the cycle at the local time `at`, in the unbroken plan; never earlier in the
    day than the cycle's own start. A cycle begun by a restart at 15:00 counts its days from then:
    its "days 1-2 in hospital" end on day 3 at 15:00 (48 hours), not at the usual 11:00 (44 hours).
    Cycles that start at 09:00 keep their usual times."""
    return _local(cycle.start_date + dt.timedelta(days=number - 1), max(at, cycle.start_time), zone)


def cycle_times(*, cycle: Cycle, zone, breaks: list[Break]) -> CycleTimes:
    starts_at = _local(cycle.start_date, cycle.start_time, zone)
    # The pump runs the cycle's days of infusion in hours (28 days: 672 h), not to a wall-clock
    # time: across the autumn clock change "day 29 at 09:00" is 673 h after the start, and a last
    # bag would be hung for the one hour left. So the end falls at 08:00 local then (10:00 in spring).
    planned_ends_at = starts_at + dt.timedelta(days=cycle.infusion_days)
    if cycle.ended_early_at:
        return CycleTimes(starts_at, planned_ends_at, cycle.ended_early_at)
    return CycleTimes(starts_at, planned_ends_at, InfusionClock(starts_at, breaks).wall(planned_ends_at))


def _restarted_at_the_restart_dose_before(cycle: Cycle, course: TreatmentCourse, moment: dt.datetime) -> bool:
    """A stop before `moment` restarted this cycle's infusion at the restart dose (a grade 3
    toxicity; the stop may have ended the cycle before and begun this one): the label escalates
    again only after `re_escalation_after_days` without recurrence, and that re-escalation
    (interruptions.interruption_restart) replaces the cycle's own step-up, which would otherwise
    come sooner (CLINICAL.md, "Interruptions")."""
    cycles = list(course.cycles.all())
    return any(
        stop.restart_dose and stop.stopped_at < moment and restart_cycle(stop, cycles) == cycle
        for stop in course.interruptions.all()
    )


# Why the infusion runs at the regimen's low dose (the starting dose before a step-up, or the restart dose), in words.
STARTING_DOSE_BEFORE_STEP_UP = "the starting dose, before the step-up"
RESTART_DOSE_BEFORE_RE_ESCALATION = "the restart dose, before the re-escalation"


def restart_cycle(stop: Interruption, cycles: list[Cycle]) -> Cycle | None:
    """The cycle whose infusion restarted after `stop`: its own, or the next one when the break was
    too long to continue it (`cycles`: the course's, as read once)."""
    own = next((cycle for cycle in cycles if cycle.pk == stop.cycle_id), None)
    if own is None or not stop.new_cycle:
        return own
    return next((cycle for cycle in cycles if cycle.number == own.number + 1), None)


def _restart_dose_ends_at(stop: Interruption, cycles: list[Cycle]) -> dt.datetime | None:
    """When the restart dose after `stop` stops running: at its re-escalation (when done, when it
    was done), or when the pump of the cycle it restarted in comes off, whichever comes first. A
    re-escalation that would have fallen after that pump-off was never planned, and one called off
    leaves the restart dose running: either way the cycle finishes at the restart dose, and the
    next cycle starts at its own dose."""
    cycle = restart_cycle(stop, cycles)
    ends_at = cycle and (cycle.ended_early_at or cycle.infusion_ends_at)
    event = stop.re_escalation_event
    if ends_at and event is not None and event.status != CareEvent.Status.CANCELLED:
        ends_at = min(ends_at, event.actual_at or event.planned_at)
    return ends_at


def low_dose_at(*, course: TreatmentCourse, moment: dt.datetime) -> str | None:
    """Why the infusion runs at the low dose at `moment`, in words, or None (the full dose, or no
    infusion): cycle 1 before its step-up (a regimen with one; also a cycle that repeats that
    step-up after a long break before it), or a restart at the restart dose
    before its re-escalation or its cycle's pump-off. The label stops for good a grade 3
    neurological toxicity at that dose (CLINICAL.md, "Interruptions and toxicity").

    Inside a break, the dose is the one that ran when the infusion stopped. The step-up is where
    the schedule puts it (its day, moved by the breaks before it), whether or not a re-escalation
    replaced it; a re-escalation is where its event is (when done, when it was done).
    """
    interruptions = sorted(course.interruptions.all(), key=lambda stop: stop.stopped_at)
    for stop in interruptions:
        if stop.stopped_at <= moment and (stop.restarted_at is None or moment < stop.restarted_at):
            moment = stop.stopped_at
            break
    cycles = list(course.cycles.all())
    for stop in interruptions:
        if not (stop.restart_dose and stop.restarted_at and stop.restarted_at <= moment):
            continue
        ends_at = _restart_dose_ends_at(stop, cycles)
        if ends_at and moment < ends_at:
            return RESTART_DOSE_BEFORE_RE_ESCALATION
    version = course.regimen_version
    zone = course.patient.unit.zone
    # Cycle 1, and a cycle that repeats its step-up after a long break before it.
    for cycle in (cycle for cycle in cycles if version.steps_up_in_cycle(cycle.rule_number)):
        breaks = cycle_breaks(cycle, interruptions, version.supervised_restart_after_hours)
        times = cycle_times(cycle=cycle, zone=zone, breaks=breaks)
        step_up_at = InfusionClock(times.starts_at, breaks).wall(
            cycle_day_at(cycle, version.step_up_day, EVENT_LOCAL_TIME, zone)
        )
        if times.starts_at <= moment < min(step_up_at, times.ends_at):
            return STARTING_DOSE_BEFORE_STEP_UP
    return None


def cycle_planned_events(
    *, cycle: Cycle, course: TreatmentCourse, version: RegimenVersion, zone, breaks: list[Break]
) -> list[PlannedEvent]:
    """What the schedule wants for one cycle: day-N events in local time, bag changes in hours
    of infusion, each moved by the breaks before it; nothing but the CRS and ICANS checks falls inside a break."""
    clock = InfusionClock(_local(cycle.start_date, cycle.start_time, zone), breaks)
    times = cycle_times(cycle=cycle, zone=zone, breaks=breaks)
    open_break = next((b for b in breaks if b.ends_at is None), None)
    stopped_at = open_break.starts_at if open_break else None

    def day(number: int, at: dt.time = EVENT_LOCAL_TIME) -> dt.datetime:
        return clock.wall(cycle_day_at(cycle, number, at, zone))

    discharge_at = None
    if cycle.inpatient_days:
        discharge_at = day(cycle.inpatient_days + 1, DISCHARGE_LOCAL_TIME)
    # Until when the patient is in hospital, and whether the cycle's discharge is planned.
    in_hospital_until, discharges = discharge_at, discharge_at is not None and discharge_at < times.ends_at
    if cycle.ended_early_at and discharge_at is not None and discharge_at >= times.ends_at:
        # A break too long to continue the cycle began in hospital: the patient stays until the
        # cycle's planned discharge, which stays planned at its time; unless the infusion restarts
        # (the next cycle) on that day or before, and the next cycle's own discharge is the one.
        restart_at = _restart_of_ended(cycle, course)
        if (
            restart_at is None
            or timezone.localtime(discharge_at, zone).date() < timezone.localtime(restart_at, zone).date()
        ):
            discharges = True
        else:
            in_hospital_until = restart_at

    def setting_at(moment: dt.datetime) -> str:
        return Setting.INPATIENT if in_hospital_until and moment < in_hospital_until else course.outpatient_setting

    def running(moment: dt.datetime) -> bool:
        # While a stop lasts nothing after it is due; the restart rebuilds the rest.
        return moment < times.ends_at and (stopped_at is None or moment < stopped_at)

    events = [PlannedEvent(CareEvent.Kind.CYCLE_START, 1, times.starts_at, setting_at(times.starts_at))]
    new_bags = []  # moments beside the start and supervised restarts at which a new bag is hung
    if version.steps_up_in_cycle(cycle.rule_number) and version.step_up_day <= cycle.infusion_days:
        step_up_at = day(version.step_up_day)
        if step_up_at < times.ends_at and not _restarted_at_the_restart_dose_before(cycle, course, step_up_at):
            events.append(PlannedEvent(CareEvent.Kind.DOSE_STEP_UP, 1, step_up_at, setting_at(step_up_at)))
            new_bags.append(step_up_at)
    new_bags += _re_escalations_in(cycle, course)
    if discharges:
        events.append(PlannedEvent(CareEvent.Kind.DISCHARGE_HOME, 1, discharge_at, Setting.INPATIENT))

    sequence = 0
    bags = _bag_changes(clock=clock, times=times, discharge_at=discharge_at, course=course, new_bags=new_bags)
    for change_at in bags:
        if not running(change_at):
            break
        sequence += 1
        events.append(PlannedEvent(CareEvent.Kind.BAG_CHANGE, sequence, change_at, setting_at(change_at)))

    every = version.inpatient_assessment_hours
    if in_hospital_until and every:
        # The watch for CRS and ICANS in hospital: every few hours of real time (across a clock
        # change too) from the start until the discharge; at home the bag changes ask for one.
        # A stop does not pause it: a patient stopped for a grade 3 reaction needs it most. While
        # the stop lasts it runs to the discharge as planned; the restart moves the discharge on,
        # or, too long to continue the cycle, leaves the patient in hospital as above.
        for sequence, check_at in enumerate(
            _every(times.starts_at + dt.timedelta(hours=every), until=in_hospital_until, hours=every), start=1
        ):
            if check_at >= times.ends_at and not cycle.ended_early_at:
                break
            events.append(PlannedEvent(CareEvent.Kind.TOXICITY_CHECK, sequence, check_at, Setting.INPATIENT))

    # The pump comes off where the patient is then: in hospital when a long break began there.
    events.append(PlannedEvent(CareEvent.Kind.CYCLE_END, 1, times.ends_at, setting_at(times.ends_at)))
    return events


def _restart_of_ended(cycle: Cycle, course: TreatmentCourse) -> dt.datetime | None:
    """When the infusion restarted after the break that ended `cycle` early (the next cycle's
    start); the course's breaks are prefetched (`_locked_course`)."""
    return next(
        (stop.restarted_at for stop in course.interruptions.all() if stop.cycle_id == cycle.pk and stop.new_cycle),
        None,
    )


def _re_escalations_in(cycle: Cycle, course: TreatmentCourse) -> list[dt.datetime]:
    """When the re-escalations after a restart dose (interruptions.interruption_restart) hang the
    full dose's bag in this cycle: like the step-up, each starts the bag count again, so that no
    bag change falls beside it with a bag of the old dose."""
    return [
        event.actual_at or event.planned_at
        for stop in course.interruptions.all()
        if (event := stop.re_escalation_event) is not None
        and event.cycle_id == cycle.pk
        and event.status != CareEvent.Status.CANCELLED
    ]


def _every(first: dt.datetime, *, until: dt.datetime, hours: int):
    moment = first
    while moment < until:
        yield moment
        moment += dt.timedelta(hours=hours)


def _bag_changes(
    *, clock: InfusionClock, times: CycleTimes, discharge_at, course: TreatmentCourse, new_bags: list[dt.datetime]
):
    """Bag changes after so many hours of infusion (absolute time, not wall clock).

    A short break only pauses the bag; a supervised restart hangs a new bag, and so does the
    step-up (a new dose: `new_bags`), so the count starts again from there, and no bag change
    falls at the same moment as the step-up's own bag.
    """
    restarts = [b.ends_at for b in clock.breaks if b.supervised_restart]
    runs = sorted({times.starts_at, *restarts, *(moment for moment in new_bags if moment > times.starts_at)})
    for index, run_start in enumerate(runs):
        run_end = runs[index + 1] if index + 1 < len(runs) else times.ends_at
        offset = clock.infusion_offset(run_start)
        change_at = run_start
        while True:
            in_hospital = discharge_at is not None and change_at < discharge_at
            offset += dt.timedelta(hours=course.inpatient_bag_hours if in_hospital else course.bag_hours)
            change_at = clock.wall(clock.start_at + offset)
            if change_at >= run_end or change_at >= times.ends_at:
                break
            yield change_at


def _drop_cycle(cycle: Cycle) -> None:
    """A cycle not started, taken off the plan with its events, unless a record of a higher layer
    holds it (a handoff prepared for its discharge, even a withdrawn one, is history): then the
    plan keeps it, and the user is told why at the number of cycles (a refusal, not a 500)."""
    try:
        cycle.delete()
    except ProtectedError as error:
        held = sorted({str(record._meta.verbose_name) for record in error.protected_objects})
        raise ValidationError(
            {
                "planned_cycles": f"Cycle {cycle.number} cannot be taken off the plan: its {' and '.join(held)} "
                f"must stay with it. Plan at least {cycle.number} cycles, or stop the course for good."
            }
        ) from error


def started_cycles(cycles: list[Cycle], *, today: dt.date) -> list[Cycle]:
    """Those of `cycles` that have started by `today` (the unit's calendar), in number order: their
    day 1 reached (from then the plan keeps their dates, and they cannot be postponed), or their
    start recorded done. A started cycle is never taken off the plan: its pump is on, or was."""
    ahead = [cycle.pk for cycle in cycles if cycle.start_date > today]
    recorded = set(
        CareEvent.objects.filter(cycle_id__in=ahead, kind=CareEvent.Kind.CYCLE_START, status=CareEvent.Status.DONE)
        .values_list("cycle_id", flat=True)
        .distinct()
        if ahead
        else ()
    )
    return sorted(
        (cycle for cycle in cycles if cycle.start_date <= today or cycle.pk in recorded), key=lambda c: c.number
    )


def _check_started_cycles_kept(cycles: list[Cycle], *, planned_cycles: int, today: dt.date) -> None:
    """Refuse a planned count that would leave out a started cycle: the rebuild would cancel the
    rest of its care (the bag changes, the pump-off) while its infusion runs."""
    if started := started_cycles([cycle for cycle in cycles if cycle.number > planned_cycles], today=today):
        number = started[-1].number
        raise ValidationError(
            {
                "planned_cycles": f"Cycle {number} has started: plan at least {number} cycles, "
                "or stop the course for good."
            }
        )


def _sync_cycles(
    *, course: TreatmentCourse, version: RegimenVersion, today: dt.date, zone, interruptions: list[Interruption]
) -> list[Cycle]:
    """Make the course's cycles match its plan; started cycles keep their dates, and are never left
    out of it (`course_extend` refuses that first; this guards every other way to the rebuild).

    A cycle whose rest the chemotherapy plan sets (consolidation) has no successor until that
    start is known (`cycle_set_next_start`).
    """
    cycles = {cycle.number: cycle for cycle in course.cycles.all()}
    _check_started_cycles_kept(list(cycles.values()), planned_cycles=course.planned_cycles, today=today)
    for number in [n for n in cycles if n > course.planned_cycles]:
        _drop_cycle(cycles.pop(number))

    result, new_cycles, previous = [], [], None
    for number in range(1, course.planned_cycles + 1):
        cycle = cycles.get(number)
        earliest = course.start_date if previous is None else previous.rest_end_date
        if cycle is None:
            if earliest is None:
                break  # the chemotherapy plan has not set this start yet
            rule = version.cycle_rule(number)
            cycle = Cycle(
                course=course,
                number=number,
                phase=rule.phase,
                start_date=earliest,
                infusion_days=version.infusion_days,
                rest_days=rule.rest_days,
                inpatient_days=rule.inpatient_days,
            )
            new_cycles.append(cycle)
        elif cycle.start_date > today and earliest is not None:
            # Not started: follow a postponed predecessor (or the course start for cycle 1).
            cycle.start_date = earliest if number == 1 else max(cycle.start_date, earliest)
        breaks = cycle_breaks(cycle, interruptions, version.supervised_restart_after_hours)
        times = cycle_times(cycle=cycle, zone=zone, breaks=breaks)
        cycle.planned_ends_at, cycle.infusion_ends_at = times.planned_ends_at, times.ends_at
        cycle.infusion_end_date = timezone.localtime(times.ends_at, zone).date()
        result.append(cycle)
        previous = cycle
    # Two statements whatever the number of cycles (bench/: a rebuild's queries stay constant).
    Cycle.objects.bulk_create(new_cycles)
    rows_update(
        [cycle for cycle in result if cycle not in new_cycles],
        ["start_date", "planned_ends_at", "infusion_ends_at", "infusion_end_date"],
    )
    return result


def _re_escalations_after_their_pump_off(interruptions: list[Interruption], cycles: list[Cycle]) -> list[CareEvent]:
    """Planned re-escalations that the end of their cycle's infusion has overtaken, called off (the
    prefetched events themselves, so that the bag plan below no longer counts from them). A dose
    step-up with its premedication and bag needs a running pump; the next cycle starts at its own
    dose (interruptions.interruption_restart plans none that would fall after the pump-off)."""
    ends_at = {cycle.pk: cycle.ended_early_at or cycle.infusion_ends_at for cycle in cycles}
    overtaken = []
    for stop in interruptions:
        event = stop.re_escalation_event
        if event is None or event.status != CareEvent.Status.PLANNED or event.cycle_id not in ends_at:
            continue
        if event.planned_at >= ends_at[event.cycle_id]:
            event.status = CareEvent.Status.CANCELLED
            event.note = "Cancelled: the pump of its cycle comes off before it; the cycle ends at the restart dose."
            overtaken.append(event)
    return overtaken


def _is_movable(event: CareEvent, now: dt.datetime, breaks: list[Break]) -> bool:
    """Planned events in the future move; so do planned ones that a stop has overtaken."""
    if event.status != CareEvent.Status.PLANNED:
        return False
    return event.planned_at > now or any(stop.overtakes(event.planned_at) for stop in breaks)


def _locked_course(course: TreatmentCourse) -> TreatmentCourse:
    return (
        TreatmentCourse.objects.select_for_update(no_key=True, of=("self",))
        .select_related("patient__unit", "regimen_version")
        .prefetch_related(
            Prefetch("regimen_version__cycle_rules"),
            Prefetch(
                "interruptions",
                queryset=Interruption.objects.select_related("re_escalation_event").order_by("stopped_at"),
            ),
        )
        .get(pk=course.pk)
    )


@transaction.atomic
def course_schedule_build(*, course: TreatmentCourse, actor=None, now: dt.datetime | None = None) -> ScheduleChanges:
    """Build or rebuild a course's cycles and scheduled events from its start and its breaks.

    Idempotent, in a constant number of queries per cycle. Done, started or cancelled events
    never move; future planned events follow the new dates; future events the plan no longer
    wants are cancelled and leave the schedule (their place can be planned again).
    """
    now = now or timezone.now()
    course = _locked_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        return ScheduleChanges()
    version = course.regimen_version
    zone = course.patient.unit.zone
    today = timezone.localtime(now, zone).date()
    interruptions = list(course.interruptions.all())
    cycles = _sync_cycles(course=course, version=version, today=today, zone=zone, interruptions=interruptions)
    changes = ScheduleChanges(cancelled=_re_escalations_after_their_pump_off(interruptions, cycles))

    existing = {
        (event.cycle_id, event.kind, event.sequence): event
        for event in CareEvent.objects.filter(cycle__course=course, scheduled=True)
    }
    # Any recorded break, whether it continued its cycle or ended it: nothing stays due inside one.
    all_breaks = [Break(stop.stopped_at, stop.restarted_at) for stop in interruptions if not stop.permanent]
    wanted_keys = set()
    for cycle in cycles:
        breaks = cycle_breaks(cycle, interruptions, version.supervised_restart_after_hours)
        for planned in cycle_planned_events(cycle=cycle, course=course, version=version, zone=zone, breaks=breaks):
            key = (cycle.pk, planned.kind, planned.sequence)
            wanted_keys.add(key)
            event = existing.get(key)
            if event is None:
                changes.created.append(
                    CareEvent(
                        patient_id=course.patient_id,
                        cycle=cycle,
                        kind=planned.kind,
                        sequence=planned.sequence,
                        scheduled=True,
                        setting=planned.setting,
                        planned_at=planned.planned_at,
                    )
                )
            elif _is_movable(event, now, all_breaks) and (event.planned_at, event.setting) != (
                planned.planned_at,
                planned.setting,
            ):
                event.planned_at, event.setting = planned.planned_at, planned.setting
                changes.moved.append(event)
    for key, event in existing.items():
        if key not in wanted_keys and _is_movable(event, now, all_breaks):
            event.status, event.scheduled = CareEvent.Status.CANCELLED, False
            event.note = event.note or "No longer in the plan after a change of the schedule."
            changes.cancelled.append(event)

    rows_update(changes.cancelled, ["status", "scheduled", "note"])
    CareEvent.objects.bulk_create(changes.created)
    rows_update(changes.moved, ["planned_at", "setting"])
    if course.status == TreatmentCourse.Status.PLANNED and cycles and cycles[0].start_date <= today:
        course.status = TreatmentCourse.Status.ACTIVE
        course.save(update_fields=["status"])
    # More cycles after the last end make a completed course active again (and fewer may end it).
    course.status = courses_follow_their_events(course_ids=[course.pk]).get(course.pk, course.status)
    notify_events_changed(created=changes.created, moved=changes.moved, cancelled=changes.cancelled)
    return changes


def _check_cycle_limit(version: RegimenVersion, planned_cycles: int) -> None:
    if planned_cycles < 1:
        raise ValidationError({"planned_cycles": "A course has at least one cycle."})
    if version.max_cycles is not None and planned_cycles > version.max_cycles:
        raise ValidationError(
            {
                "planned_cycles": f"{version.regimen} allows at most {version.max_cycles} cycles "
                f"({version.source}); {planned_cycles} were asked for."
            }
        )
    if planned_cycles > MAX_PLANNED_CYCLES:
        raise ValidationError({"planned_cycles": f"The tracker plans at most {MAX_PLANNED_CYCLES} cycles per course."})


@transaction.atomic
def course_plan(
    *,
    patient,
    indication: str,
    start_date: dt.date,
    planned_cycles: int,
    bag_hours: int,
    outpatient_setting: str,
    actor,
    inpatient_bag_hours: int | None = None,
    now: dt.datetime | None = None,
) -> TreatmentCourse:
    """Plan a course on the published regimen version of its indication, and build it. Without
    `inpatient_bag_hours`, bags in hospital last the course's default (24 h)."""
    from .bags import bag_option_for_hours

    version = (
        RegimenVersion.objects.filter(regimen__indication=indication, status=RegimenVersion.Status.PUBLISHED)
        .select_related("regimen")
        .first()
    )
    if version is None:
        raise ValidationError({"indication": "No published regimen for this indication: ask an administrator."})
    _check_cycle_limit(version, planned_cycles)
    bag_option_for_hours(bag_hours)
    in_hospital = {} if inpatient_bag_hours is None else {"inpatient_bag_hours": inpatient_bag_hours}
    if in_hospital:
        bag_option_for_hours(inpatient_bag_hours, field="inpatient_bag_hours")
    # The patient's row, locked: two plans at once (two oncologists, a double click) would both
    # find no course under way and plan two, each with its events and tasks.
    patient = Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)
    if not (decision := policy.can_begin_a_course(patient)):
        raise ValidationError(decision.reason)
    course = TreatmentCourse.objects.create(
        patient=patient,
        indication=indication,
        regimen_version=version,
        planned_cycles=planned_cycles,
        start_date=start_date,
        bag_hours=bag_hours,
        outpatient_setting=outpatient_setting,
        **in_hospital,
    )
    course_schedule_build(course=course, actor=actor, now=now)
    return course


@transaction.atomic
def cycle_postpone(
    *, cycle: Cycle, new_start_date: dt.date, actor=None, now: dt.datetime | None = None
) -> ScheduleChanges:
    """Postpone a cycle that has not started; later cycles move by the same number of days."""
    now = now or timezone.now()
    course = cycle.course
    today = timezone.localtime(now, course.patient.unit.zone).date()
    if cycle.start_date <= today:
        raise ValidationError({"new_start_date": "This cycle has already started; record an interruption instead."})
    if new_start_date <= today:
        raise ValidationError({"new_start_date": "A postponed start must be in the future."})
    delta = new_start_date - cycle.start_date
    if delta <= dt.timedelta(0):
        raise ValidationError({"new_start_date": "A postponement must move the start later."})
    for later in course.cycles.filter(number__gte=cycle.number).order_by("-number"):
        later.start_date += delta
        later.save(update_fields=["start_date"])
    if cycle.number == 1:
        course.start_date = new_start_date
        course.save(update_fields=["start_date"])
    return course_schedule_build(course=course, actor=actor, now=now)


@transaction.atomic
def cycle_set_next_start(
    *, cycle: Cycle, next_start_date: dt.date, actor=None, now: dt.datetime | None = None
) -> ScheduleChanges:
    """Set when the next cycle starts once the chemotherapy block between is known.

    For regimens whose rest the chemotherapy plan sets (consolidation): the rest becomes the
    days from this cycle's pump-off to that start.
    """
    now = now or timezone.now()
    course = _locked_course(cycle.course)
    cycle = Cycle.objects.select_for_update(no_key=True).get(pk=cycle.pk)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise ValidationError("This course was stopped for good.")
    # Only a rest that the chemotherapy plan sets is set here: the regimen's own (the label's 14 or
    # 56 days) is not the oncologist's or the coordinator's to shorten with a next start.
    version = course.regimen_version
    if (rest_days := version.cycle_rule(cycle.number).rest_days) is not None:
        raise ValidationError(
            {
                "next_start_date": f"Cycle {cycle.number} is followed by the regimen's {rest_days} days of rest "
                f"({version.regimen}, {version.source}): only a rest that the chemotherapy plan sets "
                "(consolidation) is set here."
            }
        )
    if cycle.number >= course.planned_cycles:
        raise ValidationError({"next_start_date": "This is the last planned cycle; plan more cycles first."})
    if cycle.infusion_end_date is None or next_start_date < cycle.infusion_end_date:
        raise ValidationError(
            {
                "next_start_date": "The next cycle cannot start before this one's pump comes off "
                f"({moments.day(cycle.infusion_end_date)})."
            }
        )
    following = course.cycles.filter(number=cycle.number + 1).first()
    today = timezone.localtime(now, course.patient.unit.zone).date()
    if following is not None and following.start_date <= today:
        raise ValidationError({"next_start_date": "The next cycle has already started."})
    if next_start_date <= today:
        raise ValidationError({"next_start_date": "The next start must be in the future."})
    cycle.rest_days = (next_start_date - cycle.infusion_end_date).days
    cycle.save(update_fields=["rest_days"])
    if following is not None and following.start_date != next_start_date:
        delta = next_start_date - following.start_date
        for later in course.cycles.filter(number__gt=cycle.number):
            later.start_date += delta
            later.save(update_fields=["start_date"])
    return course_schedule_build(course=course, actor=actor, now=now)


@transaction.atomic
def course_extend(*, course: TreatmentCourse, planned_cycles: int, actor=None, now=None) -> ScheduleChanges:
    """Change the number of planned cycles, within the regimen's limit and never below a cycle that
    has started (`started_cycles`), and rebuild."""
    now = now or timezone.now()
    course = _locked_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise ValidationError("This course was stopped for good.")
    # A completed course may be given more cycles (its last end's marrow and MRD results call for
    # them), but not once the patient has a later course: both would be under way.
    if course.patient.courses.exclude(pk=course.pk).filter(start_date__gte=course.start_date).exists():
        raise ValidationError("This patient has a later course: change the number of its cycles instead.")
    _check_cycle_limit(course.regimen_version, planned_cycles)
    today = timezone.localtime(now, course.patient.unit.zone).date()
    _check_started_cycles_kept(list(course.cycles.all()), planned_cycles=planned_cycles, today=today)
    before, course.planned_cycles = course.planned_cycles, planned_cycles
    course.save(update_fields=["planned_cycles"])
    changes = course_schedule_build(course=course, actor=actor, now=now)
    # The cycles between the old last one and the new (cycle 2 of 2 made 2 of 3, or back) gain or
    # lose a next cycle: their checklists ask again (condition fact "next_cycle").
    notify_events_changed(facts=_next_cycle_changed(course, before, planned_cycles))
    return changes


def _next_cycle_changed(course: TreatmentCourse, before: int, after: int) -> list[CareEvent]:
    """The events (planned, or already done: a cycle end's next-cycle work is decided after it) of
    the cycles that a change of the planned count from `before` to `after` gives a next cycle or
    takes it from (Cycle.has_next_cycle)."""
    low, high = sorted((before, after))
    return list(
        CareEvent.objects.filter(cycle__course=course, cycle__number__gte=low, cycle__number__lt=high).exclude(
            status=CareEvent.Status.CANCELLED
        )
    )


@transaction.atomic
def event_schedule(
    *,
    cycle: Cycle,
    kind: str,
    planned_at: dt.datetime,
    setting: str,
    note: str = "",
    actor=None,
    link: Callable[[CareEvent], None] | None = None,
) -> CareEvent:
    """Add an event by hand (a home visit, an interruption, a restart). `link(event)`, when given,
    ties the new event to what it belongs to before the higher layers hear of it, so that its
    checklist's conditions see it (a restart's stop: the "cause of the stop" fact)."""
    if timezone.is_naive(planned_at):
        raise ValidationError({"planned_at": "A planned time needs a time zone."})
    sequence = CareEvent.objects.filter(cycle=cycle, kind=kind).count() + 1
    event = CareEvent.objects.create(
        patient_id=cycle.course.patient_id,
        cycle=cycle,
        kind=kind,
        sequence=sequence,
        setting=setting,
        planned_at=planned_at,
        note=note[:500],
    )
    if link is not None:
        link(event)
    notify_events_changed(created=[event])
    return event


@transaction.atomic
def event_move(*, event: CareEvent, planned_at: dt.datetime, actor=None) -> CareEvent:
    event = CareEvent.objects.select_for_update(no_key=True).get(pk=event.pk)
    if event.status in (CareEvent.Status.DONE, CareEvent.Status.CANCELLED):
        raise ValidationError(f"A {event.get_status_display().lower()} event cannot be moved.")
    if event.kind == CareEvent.Kind.DOSE_STEP_UP:
        _check_step_up_while_infusing(event.cycle, planned_at)
    if event.planned_at == planned_at:
        return event  # nothing moves: its tasks, bags and gate override stay as they are
    event.planned_at = planned_at
    event.save(update_fields=["planned_at"])
    notify_events_changed(moved=[event])
    _bags_follow(event, actor=actor)
    return event


def _check_step_up_while_infusing(cycle: Cycle, planned_at: dt.datetime) -> None:
    """A dose step-up (its premedication, its bag) needs the pump of its cycle still running."""
    ends_at = cycle.ended_early_at or cycle.infusion_ends_at
    if ends_at and planned_at >= ends_at:
        off = moments.moment_short(ends_at, cycle.course.patient.unit.zone)
        raise ValidationError(
            {
                "planned_at": f"A dose step-up happens while the infusion runs: cycle {cycle.number}'s pump comes off "
                f"on {off}."
            }
        )


@transaction.atomic
def event_cancel(*, event: CareEvent, reason: str, actor=None) -> CareEvent:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the event is cancelled."})
    event = CareEvent.objects.select_for_update(no_key=True).get(pk=event.pk)
    if event.status == CareEvent.Status.DONE:
        raise ValidationError("A done event cannot be cancelled.")
    event.status = CareEvent.Status.CANCELLED
    event.note = reason.strip()[:500]
    event.save(update_fields=["status", "note"])
    notify_events_changed(cancelled=[event])
    _bags_follow(event, actor=actor)
    return event


def _bags_follow(event: CareEvent, *, actor) -> None:
    """A re-escalation moved or called off by hand moves the bag changes that count from it."""
    if event.kind == CareEvent.Kind.DOSE_STEP_UP and not event.scheduled and event.cycle_id:
        course_schedule_build(course=event.cycle.course, actor=actor)
