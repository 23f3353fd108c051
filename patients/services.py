"""Domain operations on the clinical record: the course schedule and care events."""

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .hooks import notify_events_changed
from .models import AccessGrant, CareEvent, Cycle, HospitalisationRule, Indication, Setting, TreatmentCourse

# Day-N events (cycle start, step-up, discharge, cycle end) happen at these local times.
EVENT_LOCAL_TIME = dt.time(9, 0)
DISCHARGE_LOCAL_TIME = dt.time(11, 0)
INPATIENT_BAG_HOURS = 24
STEP_UP_DAY = 8

# Seeded from the prescribing information (shared/CLINICAL.md); admins edit the rows afterwards.
DEFAULT_HOSPITALISATION_RULES = [
    (Indication.RELAPSED_REFRACTORY, 1, 9),
    (Indication.MRD_POSITIVE, 1, 3),
    (Indication.CONSOLIDATION, 1, 3),
    ("", 2, 2),
]


def hospitalisation_rules_seed() -> int:
    """Create the default rules that are missing; never overwrite an admin's edit."""
    created = 0
    for indication, cycle_number, days in DEFAULT_HOSPITALISATION_RULES:
        _, was_created = HospitalisationRule.objects.get_or_create(
            indication=indication,
            cycle_number=cycle_number,
            defaults={"inpatient_days": days, "source": "Blinatumomab prescribing information"},
        )
        created += was_created
    return created


def inpatient_days_for(*, indication: str, cycle_number: int) -> int:
    rules = {
        rule.indication: rule.inpatient_days
        for rule in HospitalisationRule.objects.filter(cycle_number=cycle_number, indication__in=[indication, ""])
    }
    return rules.get(indication, rules.get("", 0))


def phase_for(cycle_number: int) -> str:
    # Up to 2 induction and 3 consolidation cycles, then continued therapy (CLINICAL.md).
    if cycle_number <= 2:
        return Cycle.Phase.INDUCTION
    if cycle_number <= 5:
        return Cycle.Phase.CONSOLIDATION
    return Cycle.Phase.CONTINUED


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


def _local(day: dt.date, at: dt.time, zone) -> dt.datetime:
    """A wall-clock time on a calendar day of the unit, as an aware datetime.

    Building it from the date (not by adding 24-hour steps) keeps "day N at 09:00" on the
    right day and hour across a daylight-saving change.
    """
    return dt.datetime.combine(day, at, tzinfo=zone)


def cycle_planned_events(*, cycle: Cycle, course: TreatmentCourse, zone) -> list[PlannedEvent]:
    """What the schedule wants for one cycle: day-N events in local time, bag changes in hours."""
    start_at = _local(cycle.start_date, EVENT_LOCAL_TIME, zone)
    end_at = _local(cycle.infusion_end_date, EVENT_LOCAL_TIME, zone)
    discharge_at = None
    if cycle.inpatient_days:
        discharge_day = cycle.start_date + dt.timedelta(days=cycle.inpatient_days)
        discharge_at = _local(discharge_day, DISCHARGE_LOCAL_TIME, zone)

    def setting_at(moment: dt.datetime) -> str:
        return Setting.INPATIENT if discharge_at and moment < discharge_at else course.outpatient_setting

    events = [PlannedEvent(CareEvent.Kind.CYCLE_START, 1, start_at, setting_at(start_at))]
    if cycle.number == 1 and cycle.infusion_days >= STEP_UP_DAY:
        step_up_at = _local(cycle.start_date + dt.timedelta(days=STEP_UP_DAY - 1), EVENT_LOCAL_TIME, zone)
        events.append(PlannedEvent(CareEvent.Kind.DOSE_STEP_UP, 1, step_up_at, setting_at(step_up_at)))
    if discharge_at and discharge_at < end_at:
        events.append(PlannedEvent(CareEvent.Kind.DISCHARGE_HOME, 1, discharge_at, Setting.INPATIENT))

    # Bags are changed after a number of hours of infusion: absolute time, not wall-clock.
    # Python adds timedeltas to zoned datetimes on the wall clock, so count hours in UTC.
    change_at, sequence = start_at.astimezone(dt.UTC), 0
    while True:
        in_hospital = discharge_at is not None and change_at < discharge_at
        change_at += dt.timedelta(hours=INPATIENT_BAG_HOURS if in_hospital else course.bag_hours)
        if change_at >= end_at:
            break
        sequence += 1
        events.append(PlannedEvent(CareEvent.Kind.BAG_CHANGE, sequence, change_at, setting_at(change_at)))

    events.append(PlannedEvent(CareEvent.Kind.CYCLE_END, 1, end_at, course.outpatient_setting))
    return events


def _sync_cycles(*, course: TreatmentCourse, today: dt.date) -> list[Cycle]:
    """Make the course's cycles match its plan; started cycles keep their dates."""
    cycles = {cycle.number: cycle for cycle in course.cycles.all()}
    for number in [n for n, c in cycles.items() if n > course.planned_cycles and c.start_date > today]:
        cycles.pop(number).delete()

    result, previous = [], None
    for number in range(1, course.planned_cycles + 1):
        cycle = cycles.get(number)
        earliest = course.start_date if previous is None else previous.rest_end_date
        if cycle is None:
            cycle = Cycle(
                course=course,
                number=number,
                phase=phase_for(number),
                start_date=earliest,
                inpatient_days=inpatient_days_for(indication=course.indication, cycle_number=number),
            )
            cycle.save()
        elif cycle.start_date > today:
            # Not started: follow a postponed predecessor (or the course start for cycle 1).
            wanted = earliest if number == 1 else max(cycle.start_date, earliest)
            if wanted != cycle.start_date:
                cycle.start_date = wanted
                cycle.save(update_fields=["start_date"])
        result.append(cycle)
        previous = cycle
    return result


@transaction.atomic
def course_schedule_build(*, course: TreatmentCourse, actor=None, now: dt.datetime | None = None) -> ScheduleChanges:
    """Build or rebuild a course's cycles and scheduled events from its start date.

    Idempotent. Events in the past, or no longer planned, are never moved; future planned
    events follow the new dates; future events the plan no longer wants are cancelled.
    """
    now = now or timezone.now()
    course = TreatmentCourse.objects.select_for_update().select_related("patient__unit").get(pk=course.pk)
    zone = course.patient.unit.zone
    today = timezone.localtime(now, zone).date()
    cycles = _sync_cycles(course=course, today=today)

    existing = {
        (event.cycle_id, event.kind, event.sequence): event
        for event in CareEvent.objects.filter(cycle__course=course, scheduled=True)
    }
    changes = ScheduleChanges()
    wanted_keys = set()
    for cycle in cycles:
        for planned in cycle_planned_events(cycle=cycle, course=course, zone=zone):
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
            elif _is_movable(event, now) and (event.planned_at, event.setting) != (planned.planned_at, planned.setting):
                event.planned_at, event.setting = planned.planned_at, planned.setting
                changes.moved.append(event)
    for key, event in existing.items():
        if key not in wanted_keys and _is_movable(event, now):
            event.status = CareEvent.Status.CANCELLED
            changes.cancelled.append(event)

    CareEvent.objects.bulk_create(changes.created)
    CareEvent.objects.bulk_update(changes.moved, ["planned_at", "setting"])
    CareEvent.objects.bulk_update(changes.cancelled, ["status"])
    if course.status == TreatmentCourse.Status.PLANNED and cycles and cycles[0].start_date <= today:
        course.status = TreatmentCourse.Status.ACTIVE
        course.save(update_fields=["status"])
    notify_events_changed(created=changes.created, moved=changes.moved, cancelled=changes.cancelled)
    return changes


def _is_movable(event: CareEvent, now: dt.datetime) -> bool:
    return event.status == CareEvent.Status.PLANNED and event.planned_at > now


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
def course_extend(*, course: TreatmentCourse, planned_cycles: int, actor=None, now=None) -> ScheduleChanges:
    """Change the number of planned cycles and rebuild the schedule."""
    if not 1 <= planned_cycles <= 9:
        raise ValidationError({"planned_cycles": "A course has between 1 and 9 cycles."})
    course.planned_cycles = planned_cycles
    course.save(update_fields=["planned_cycles"])
    return course_schedule_build(course=course, actor=actor, now=now)


@transaction.atomic
def event_schedule(
    *, cycle: Cycle, kind: str, planned_at: dt.datetime, setting: str, note: str = "", actor=None
) -> CareEvent:
    """Add an event by hand (a home visit, an interruption, a restart)."""
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
        note=note,
    )
    notify_events_changed(created=[event])
    return event


@transaction.atomic
def event_move(*, event: CareEvent, planned_at: dt.datetime, actor=None) -> CareEvent:
    event = CareEvent.objects.select_for_update().get(pk=event.pk)
    if event.status in (CareEvent.Status.DONE, CareEvent.Status.CANCELLED):
        raise ValidationError(f"A {event.get_status_display().lower()} event cannot be moved.")
    event.planned_at = planned_at
    event.save(update_fields=["planned_at"])
    notify_events_changed(moved=[event])
    return event


@transaction.atomic
def event_cancel(*, event: CareEvent, reason: str, actor=None) -> CareEvent:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the event is cancelled."})
    event = CareEvent.objects.select_for_update().get(pk=event.pk)
    if event.status == CareEvent.Status.DONE:
        raise ValidationError("A done event cannot be cancelled.")
    event.status = CareEvent.Status.CANCELLED
    event.note = reason.strip()[:500]
    event.save(update_fields=["status", "note"])
    notify_events_changed(cancelled=[event])
    return event


# --- access grants: a receiving unit's window on a patient -----------------------------------


@transaction.atomic
def access_grant_open(
    *, patient, unit, reason: str, actor=None, now: dt.datetime | None = None, ends_at: dt.datetime | None = None
) -> AccessGrant:
    """Open a unit's window on a patient from now (open-ended unless `ends_at`).

    The caller (a handoff being sent) keeps the grant and closes it with `access_grant_close`;
    `Patient.objects.visible_to` is what reads it.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the unit may see the patient."})
    return AccessGrant.objects.create(
        patient=patient, unit=unit, reason=reason[:200], starts_at=now or timezone.now(), ends_at=ends_at
    )


@transaction.atomic
def access_grant_close(
    *, grant: AccessGrant, actor=None, ends_at: dt.datetime | None = None, now: dt.datetime | None = None
) -> AccessGrant:
    """Close a grant: revoked at once when no `ends_at` is given (a returned or cancelled
    handoff), otherwise ending at `ends_at` (a set period after a completed handoff).

    A grant already revoked stays as it was; an end is only ever brought forward, never pushed
    back (closing twice never widens access).
    """
    now = now or timezone.now()
    grant = AccessGrant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is not None:
        return grant
    if ends_at is None:
        grant.revoked_at = now
        grant.save(update_fields=["revoked_at"])
    elif grant.ends_at is None or ends_at < grant.ends_at:
        grant.ends_at = ends_at
        grant.save(update_fields=["ends_at"])
    return grant
