"""Interruptions: a stop of the infusion, its restart, and a stop for good.

The rules (how long a break may continue its cycle, when a restart is supervised and
premedicated, the restart dose and when to re-escalate) come from the course's regimen
version; the schedule (`schedule.course_schedule_build`) turns the recorded breaks into moved
events. Done events never move.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import moments

from .. import policy
from ..bulk import rows_update
from ..hooks import notify_course_stopped, notify_events_changed, notify_restart_moved
from ..models import CareEvent, Cycle, Interruption, Setting, TreatmentCourse
from ..selectors import neurotoxicity_resolved_before, seizures_in_course
from .repeats import repeat_of
from .schedule import _locked_course, course_schedule_build, event_schedule, low_dose_at

# How far ahead a stop or restart may be recorded: a planned restart, never a guess weeks out.
LATEST_AHEAD = dt.timedelta(days=14)
# From this grade an adverse reaction names its kind: the label's rules differ by kind.
KIND_NEEDED_FROM_GRADE = 3
# How a restart the label forbids is refused: the stop for good is the oncologist's to record.
STOP_FOR_GOOD = "the label says stop for good. Record a stop for good instead"


def neurotoxicity_stops_for_good(*, course: TreatmentCourse, moment: dt.datetime) -> str | None:
    """Why the label stops for good a grade 3 neurological toxicity that began at `moment`, as the
    words that follow its name ("… at the starting dose, before the step-up"), or None: it
    occurred at the regimen's low dose (the starting dose before a step-up, or the restart dose),
    or it recurs (CLINICAL.md, "Interruptions and toxicity"). The watch asks the oncologist with
    these words; a restart is refused with them."""
    if dose := low_dose_at(course=course, moment=moment):
        return f" at {dose}"
    if began := neurotoxicity_resolved_before(course=course, moment=moment):
        return f" that recurs (an earlier one, from {moments.day_short(began, course.patient.unit.zone)}, resolved)"
    return None


def _starts_at(cycle: Cycle, zone) -> dt.datetime:
    """When the cycle's infusion starts: its day 1 at its start time, on the unit's clock."""
    return dt.datetime.combine(cycle.start_date, cycle.start_time, tzinfo=zone)


def _check_not_before_the_cycle_under_way(course: TreatmentCourse, stopped_at: dt.datetime, now: dt.datetime) -> None:
    """Refuse a stop dated before the start of the last cycle started by `now` (its start time
    passed, or its start recorded done): a typo in the date, or a time in the rest before it. Taken
    as a stop of an earlier cycle, or of none, it would leave the cycle under way running on the
    plan, or cancel its pump-off while the pump runs."""
    zone = course.patient.unit.zone
    cycles = sorted(course.cycles.all(), key=lambda c: c.number)
    recorded = set(
        CareEvent.objects.filter(
            cycle__course=course, kind=CareEvent.Kind.CYCLE_START, status=CareEvent.Status.DONE
        ).values_list("cycle_id", flat=True)
    )
    started = [cycle for cycle in cycles if _starts_at(cycle, zone) <= now or cycle.pk in recorded]
    if started and stopped_at < (starts_at := _starts_at(started[-1], zone)):
        raise ValidationError(
            {
                "stopped_at": f"Cycle {started[-1].number} started on {moments.moment(starts_at, zone)}, "
                "after that time: give the time the infusion stopped."
            }
        )


def _running_cycle(course: TreatmentCourse, moment: dt.datetime) -> Cycle:
    """The cycle whose infusion runs at `moment` (started, pump not yet off)."""
    zone = course.patient.unit.zone
    for cycle in sorted(course.cycles.all(), key=lambda c: c.number):
        starts_at = _starts_at(cycle, zone)
        planned_end = dt.datetime.combine(
            cycle.start_date + dt.timedelta(days=cycle.infusion_days), cycle.start_time, tzinfo=zone
        )
        if starts_at <= moment < (cycle.ended_early_at or cycle.infusion_ends_at or planned_end):
            return cycle
    raise ValidationError({"stopped_at": "No cycle is infusing at that time: check the date and time."})


def _last_started_cycle(course: TreatmentCourse, moment: dt.datetime) -> Cycle:
    """Between cycles or before the first: the cycle that ran last, or the first one."""
    zone = course.patient.unit.zone
    cycles = sorted(course.cycles.all(), key=lambda c: c.number)
    started = [c for c in cycles if _starts_at(c, zone) <= moment]
    return started[-1] if started else cycles[0]


def _re_escalations_ahead(
    course: TreatmentCourse, moment: dt.datetime, *, but: CareEvent | None = None
) -> list[CareEvent]:
    """Step-ups added to the plan (re-escalations after a restart dose) still planned from `moment`
    on, `but` the one of a restart being moved (it follows its own restart)."""
    return list(
        CareEvent.objects.select_for_update(no_key=True)
        .filter(
            cycle__course=course,
            kind=CareEvent.Kind.DOSE_STEP_UP,
            scheduled=False,
            status=CareEvent.Status.PLANNED,
            planned_at__gte=moment,
        )
        .exclude(pk=but.pk if but else None)
    )


# What the stop's form enters: a stop with the same, sent again at once, is the same stop.
STOP_ENTERED = ("stopped_at", "cause", "detail", "toxicity_grade", "toxicity_kind")


@transaction.atomic
def interruption_stop(
    *,
    course: TreatmentCourse,
    stopped_at: dt.datetime,
    cause: str,
    actor,
    detail: str = "",
    toxicity_grade: int | None = None,
    toxicity_kind: str = "",
    now: dt.datetime | None = None,
) -> Interruption:
    """Record that the infusion stopped. Bag changes after the stop stop being due. An adverse
    reaction of grade 3 or 4 names its kind (CRS, neurological, other): its restart follows
    that kind's rule."""
    now = now or timezone.now()
    policy.can_record_stop(actor, course.patient).enforce()
    course = _locked_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise ValidationError("This course was stopped for good.")
    if stopped_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"stopped_at": "A stop is recorded once it has happened; it cannot be in the future."})
    if cause not in Interruption.Cause.values:
        raise ValidationError({"cause": "Choose a cause."})
    if cause != Interruption.Cause.ADVERSE_REACTION and toxicity_grade:
        raise ValidationError({"toxicity_grade": "A grade is given for an adverse reaction only."})
    if toxicity_kind and toxicity_kind not in Interruption.ToxicityKind.values:
        raise ValidationError({"toxicity_kind": "Choose CRS, neurological toxicity or another reaction."})
    if cause != Interruption.Cause.ADVERSE_REACTION and toxicity_kind:
        raise ValidationError({"toxicity_kind": "A kind of toxicity is given for an adverse reaction only."})
    if (toxicity_grade or 0) >= KIND_NEEDED_FROM_GRADE and not toxicity_kind:
        raise ValidationError(
            {
                "toxicity_kind": f"Say which kind of toxicity this grade {toxicity_grade} reaction is: "
                "the label's rules for a restart differ for CRS, neurological toxicity and other reactions."
            }
        )
    interruptions = list(course.interruptions.all())
    interruption = Interruption(
        patient_id=course.patient_id,
        course=course,
        stopped_at=stopped_at,
        cause=cause,
        detail=detail.strip()[:500],
        toxicity_grade=toxicity_grade or None,
        toxicity_kind=toxicity_kind,
        stopped_by=actor,
    )
    # Under the course's lock: the same stop sent twice at once (a double click) takes turns, and
    # the second is the first, rather than refused as "already stopped".
    if first := repeat_of(interruption, entered=STOP_ENTERED, now=interruption.recorded_at, by="stopped_by"):
        return first
    if any(stop.is_open for stop in interruptions):
        raise ValidationError({"stopped_at": "The infusion is already stopped: record its restart first."})
    if any(stop.restarted_at and stop.stopped_at <= stopped_at < stop.restarted_at for stop in interruptions):
        raise ValidationError({"stopped_at": "This time falls inside a break already recorded."})
    if any(stop.stopped_at > stopped_at for stop in interruptions):
        raise ValidationError({"stopped_at": "A later stop is already recorded; stops are recorded in order."})
    _check_not_before_the_cycle_under_way(course, stopped_at, now)
    cycle = interruption.cycle = _running_cycle(course, stopped_at)
    interruption.save(force_insert=True)
    # The stop is an event of its own, so that its checklist (document, tell the oncologist,
    # secure the line without flushing) reaches the team.
    event = event_schedule(
        cycle=cycle,
        kind=CareEvent.Kind.INTERRUPTION,
        planned_at=stopped_at,
        setting=Setting.INPATIENT if _in_hospital(cycle, stopped_at) else course.outpatient_setting,
        note=f"Infusion stopped: {interruption.get_cause_display().lower()}. {interruption.detail}".strip(),
        actor=actor,
    )
    CareEvent.objects.filter(pk=event.pk).update(status=CareEvent.Status.IN_PROGRESS, actual_at=stopped_at)
    course_schedule_build(course=course, actor=actor, now=now)
    return interruption


def _in_hospital(cycle: Cycle, moment: dt.datetime) -> bool:
    return cycle.events.filter(
        kind=CareEvent.Kind.DISCHARGE_HOME, planned_at__gt=moment, status=CareEvent.Status.PLANNED
    ).exists()


@transaction.atomic
def interruption_restart(
    *,
    interruption: Interruption,
    restarted_at: dt.datetime,
    actor,
    resolved_at: dt.datetime | None = None,
    toxicity_kind: str = "",
    now: dt.datetime | None = None,
) -> Interruption:
    """Record the restart (done or planned). The plan moves by the break, or a new cycle begins.

    After a reaction of grade 3 or more the label's rules for its kind apply first: a grade that
    the regimen version stops for good for that kind (grade 4 CRS or neurological toxicity) is
    refused; otherwise its kind's grade 3 rule applies (`_check_grade_3_restart`; an "other"
    grade 4 follows the other reactions' rule, the only one the label gives for them).
    `resolved_at` is when it resolved to grade 1 or less, and `toxicity_kind` names the kind of a
    stop recorded without one. A restart the label forbids is refused: the label says stop for good.

    - A break of `supervised_restart_after_hours` (4 h) or more: the restart is a supervised
      event with the restart checklist and the regimen's premedication.
    - Up to `longest_break_in_cycle_days` (7 days): the cycle keeps its days of infusion; its
      end, its rest, later cycles and bag changes move.
    - Longer: the cycle ended at the stop and a new cycle starts on the restart day.
    - After a toxicity of grade 3 or more: the restart carries the restart dose, and a
      re-escalation event follows after `re_escalation_after_days` (7 days).
    """
    now = now or timezone.now()
    policy.can_record_restart(
        actor, interruption.patient, interruption=interruption, restarted_at=restarted_at
    ).enforce()
    course = _locked_course(interruption.course)
    interruption = Interruption.objects.select_for_update(no_key=True).get(pk=interruption.pk)
    if course.status == TreatmentCourse.Status.STOPPED or interruption.permanent:
        raise ValidationError("This course was stopped for good; it cannot restart.")
    if interruption.restarted_at is not None:
        raise ValidationError({"restarted_at": "This break already has its restart."})
    return _restart(
        interruption,
        course=course,
        restarted_at=restarted_at,
        actor=actor,
        resolved_at=resolved_at,
        toxicity_kind=toxicity_kind,
        now=now,
    )


@transaction.atomic
def interruption_restart_move(
    *, interruption: Interruption, restarted_at: dt.datetime, actor, now: dt.datetime | None = None
) -> Interruption:
    """Move a planned restart that has not started (the pump team or the bed not ready) to a later or
    earlier time after its stop. The plan is rebuilt as if the restart had been recorded at the new
    time: the break is put back as it was before its restart, and the restart's own path
    (`_restart`) records it again, its rules (the 4-hour supervision, the 7-day cycle, the grade 3
    waits) read at the new time. Its restart event and re-escalation, with their checklists and
    tasks, move rather than being planned anew. The history says who moved it, from when to when."""
    now = now or timezone.now()
    policy.can_record_restart(
        actor, interruption.patient, interruption=interruption, restarted_at=restarted_at
    ).enforce()
    course = _locked_course(interruption.course)
    interruption = (
        Interruption.objects.select_for_update(no_key=True, of=("self",))
        .select_related("restart_event")
        .get(pk=interruption.pk)
    )
    if course.status == TreatmentCourse.Status.STOPPED or interruption.permanent:
        raise ValidationError("This course was stopped for good; it cannot restart.")
    if why := policy.restart_fixed_because(interruption, now=now):
        raise ValidationError({"restarted_at": why})
    moved_from, zone = interruption.restarted_at, course.patient.unit.zone
    if restarted_at == moved_from:
        raise ValidationError({"restarted_at": "The restart is planned for that time already: give the new time."})
    longest = dt.timedelta(days=course.regimen_version.longest_break_in_cycle_days)
    if interruption.new_cycle and restarted_at - interruption.stopped_at <= longest:
        raise ValidationError(
            {
                "restarted_at": f"This restart begins cycle {interruption.cycle.number + 1}: the break of more than "
                f"{longest.days} days ended cycle {interruption.cycle.number} at the stop, and a restart within "
                f"{longest.days} days would have continued it. Give a time more than {longest.days} days after "
                f"the stop ({moments.moment_short(interruption.stopped_at + longest, zone)})."
            }
        )
    if interruption.resolved_at and restarted_at < interruption.resolved_at:
        raise ValidationError(
            {
                "restarted_at": "The restart comes once the reaction has resolved: it was grade 1 or less from "
                f"{moments.moment_short(interruption.resolved_at, zone)}."
            }
        )
    kept = _Kept(
        restart_event=_planned(interruption.restart_event_id),
        re_escalation_event=_planned(interruption.re_escalation_event_id),
    )
    # The break as it was before its restart was recorded: the re-escalations of earlier restarts
    # that this one moved on by its length go back (the new length moves them again).
    if not interruption.new_cycle:
        ahead = _re_escalations_ahead(course, interruption.stopped_at, but=kept.re_escalation_event)
        for event in ahead:
            event.planned_at -= moved_from - interruption.stopped_at
        rows_update(ahead, ["planned_at"])
    interruption.restarted_at = interruption.restarted_by = None
    interruption.restart_dose = ""
    interruption.restart_event = interruption.re_escalation_event = None
    interruption.save(
        update_fields=["restarted_at", "restarted_by", "restart_dose", "restart_event", "re_escalation_event"]
    )
    course = _locked_course(course)  # its breaks read again: this one has no restart now
    interruption.course = course
    moved = _restart(
        interruption,
        course=course,
        restarted_at=restarted_at,
        actor=actor,
        resolved_at=interruption.resolved_at,
        toxicity_kind=interruption.toxicity_kind,
        now=now,
        kept=kept,
    )
    notify_restart_moved(interruption=moved, moved_from=moved_from, actor=actor)
    return moved


def _planned(pk: int | None) -> CareEvent | None:
    return (
        CareEvent.objects.select_for_update(no_key=True).filter(pk=pk, status=CareEvent.Status.PLANNED).first()
        if pk
        else None
    )


@dataclass(frozen=True)
class _Kept:
    """The events of a restart being moved, kept: moved to the new time (their checklists and
    tasks with them) where the restart recorded at that time would plan one, cancelled where it
    would not."""

    restart_event: CareEvent | None = None
    re_escalation_event: CareEvent | None = None


def _restart(
    interruption: Interruption,
    *,
    course: TreatmentCourse,
    restarted_at: dt.datetime,
    actor,
    resolved_at: dt.datetime | None,
    toxicity_kind: str,
    now: dt.datetime,
    kept: _Kept | None = None,
) -> Interruption:
    """The restart's rules and what it does to the plan, for a break without its restart (recorded
    now, or put back so by `interruption_restart_move`, whose events are `kept`)."""
    kept = kept or _Kept()
    version = course.regimen_version
    if restarted_at <= interruption.stopped_at:
        raise ValidationError({"restarted_at": "The restart must come after the stop."})
    if restarted_at > now + LATEST_AHEAD:
        raise ValidationError({"restarted_at": "A restart is planned at most 14 days ahead."})
    severe = (interruption.toxicity_grade or 0) >= KIND_NEEDED_FROM_GRADE
    if severe:
        interruption.toxicity_kind = _kind_of(interruption, toxicity_kind)
        _check_not_stopped_for_good_by_grade(interruption, version=version)
    _check_not_stopped_for_good_by_assessments(course, restarted_at=restarted_at, version=version)
    if interruption.cause == Interruption.Cause.ADVERSE_REACTION:
        _check_not_stopped_for_good_by_seizures(course, restarted_at=restarted_at)
    if resolved_at is not None:
        _check_resolved_at(interruption, resolved_at=resolved_at, restarted_at=restarted_at, now=now)
        interruption.resolved_at = resolved_at
    if severe:
        _check_grade_3_restart(interruption, course=course, restarted_at=restarted_at)
    length = restarted_at - interruption.stopped_at
    supervised = length >= dt.timedelta(hours=version.supervised_restart_after_hours)
    interruption.restarted_at, interruption.restarted_by = restarted_at, actor
    if severe:
        interruption.restart_dose = version.restart_dose
    cycle = interruption.cycle

    if length > dt.timedelta(days=version.longest_break_in_cycle_days):
        _restart_in_a_new_cycle(
            interruption, course=course, length=length, actor=actor, now=now, but=kept.re_escalation_event
        )
    else:
        interruption.save()
        # Days at the restart dose are days of infusion: a re-escalation ahead moves by the break,
        # as the schedule's own step-up does (first, so that the bags counted from it follow).
        ahead = _re_escalations_ahead(course, interruption.stopped_at, but=kept.re_escalation_event)
        for event in ahead:
            event.planned_at += length
        rows_update(ahead, ["planned_at"])
        notify_events_changed(moved=ahead)
        course_schedule_build(course=course, actor=actor, now=now)
        if supervised:
            interruption.restart_event = _place(
                kept.restart_event,
                cycle=cycle,
                kind=CareEvent.Kind.RESTART,
                planned_at=restarted_at,
                setting=Setting.INPATIENT if _in_hospital(cycle, restarted_at) else Setting.CLINIC,
                note=_restart_note(interruption, length),
                actor=actor,
                link=lambda event: _link_restart(interruption, event),
            )
    if kept.restart_event is not None and interruption.restart_event != kept.restart_event:
        why = (
            f"a break that long begins cycle {cycle.number + 1}, whose start is the restart"
            if interruption.new_cycle
            else f"under {version.supervised_restart_after_hours} hours after the stop, the restart is not supervised"
        )
        _cancel(kept.restart_event, note=_no_longer(interruption, why))
    if interruption.restart_dose:
        interruption.re_escalation_event = _plan_re_escalation(
            interruption, course=course, actor=actor, kept=kept.re_escalation_event
        )
    if kept.re_escalation_event is not None and interruption.re_escalation_event != kept.re_escalation_event:
        why = (
            "its cycle's infusion ends before the days at the restart dose are over"
            if interruption.re_escalation_event is None
            else "the re-escalation is planned again in the cycle the infusion restarts in"
        )
        _cancel(kept.re_escalation_event, note=_no_longer(interruption, why))
    interruption.save(update_fields=["restart_event", "re_escalation_event"])
    if interruption.re_escalation_event is not None:
        course_schedule_build(course=course, actor=actor, now=now)  # its bag starts the count again
    if interruption.new_cycle and interruption.restart_event is not None:
        notify_events_changed(facts=[interruption.restart_event])
    _close_stop_event(interruption)
    return interruption


def _link_restart(interruption: Interruption, event: CareEvent) -> None:
    """The restart event belongs to its stop before its checklist is made: the stop's cause
    decides what the checklist asks (a pump or line problem: nothing about a reaction)."""
    interruption.restart_event = event
    interruption.save(update_fields=["restart_event"])


def _place(kept: CareEvent | None, *, cycle: Cycle, kind: str, planned_at, setting, note, actor, link) -> CareEvent:
    """An event the restart plans: the one kept from the restart being moved, moved to its new
    time (its checklist's open tasks follow it), or a new one with its checklist."""
    if kept is None or kept.cycle_id != cycle.pk:
        return event_schedule(
            cycle=cycle, kind=kind, planned_at=planned_at, setting=setting, note=note, actor=actor, link=link
        )
    kept.planned_at, kept.setting, kept.note = planned_at, setting, note[:500]
    kept.save(update_fields=["planned_at", "setting", "note"])
    if link is not None:
        link(kept)
    notify_events_changed(moved=[kept])
    return kept


def _cancel(event: CareEvent, *, note: str) -> None:
    event.status, event.note = CareEvent.Status.CANCELLED, note[:500]
    event.save(update_fields=["status", "note"])
    notify_events_changed(cancelled=[event])


def _no_longer(interruption: Interruption, why: str) -> str:
    restart = moments.moment_short(interruption.restarted_at, interruption.course.patient.unit.zone)
    return f"Cancelled: the restart moved to {restart}; {why}."


def _plan_re_escalation(
    interruption: Interruption, *, course: TreatmentCourse, actor, kept: CareEvent | None = None
) -> CareEvent | None:
    """The re-escalation `re_escalation_after_days` after the restart, in the cycle the infusion
    restarted in; None when it would fall at or after that cycle's pump-off. A step-up (its
    dexamethasone, its bag) needs a running infusion: in the rest nothing runs, and the next cycle
    starts at its own dose (its cycle rule's, from its day 1), so the cycle ends at the restart
    dose (`schedule.low_dose_at` reads it so), and the restart's note says so."""
    version = course.regimen_version
    # Read again: the builds above moved the cycle's end by the break, or began a new cycle.
    cycle = Cycle.objects.select_related("course__patient__unit").get(
        pk=interruption.restart_event.cycle_id if interruption.restart_event else interruption.cycle_id
    )
    planned_at = interruption.restarted_at + dt.timedelta(days=version.re_escalation_after_days)
    if planned_at >= (cycle.ended_early_at or cycle.infusion_ends_at):
        if interruption.restart_event is not None:
            restart = interruption.restart_event
            restart.note = (
                f"{restart.note} No re-escalation: the cycle's infusion ends before "
                f"{version.re_escalation_after_days} days at the restart dose."
            )[:500]
            restart.save(update_fields=["note"])
        return None
    # Where the patient is then, per the plan: in hospital until the cycle's discharge (a restart
    # on day 2 re-escalates on day 9 of the 9 days in hospital), at home or in clinic after it.
    in_hospital = _in_hospital(cycle, planned_at)
    return _place(
        kept,
        cycle=cycle,
        kind=CareEvent.Kind.DOSE_STEP_UP,
        planned_at=planned_at,
        setting=Setting.INPATIENT if in_hospital else course.outpatient_setting,
        note=f"Re-escalation: {version.re_escalation_dose}.",
        actor=actor,
        link=None,
    )


def _check_resolved_at(
    interruption: Interruption, *, resolved_at: dt.datetime, restarted_at: dt.datetime, now: dt.datetime
) -> None:
    if resolved_at <= interruption.stopped_at:
        raise ValidationError({"resolved_at": "The reaction resolved after the stop: give a later time."})
    if resolved_at > restarted_at:
        raise ValidationError({"resolved_at": "The restart comes once the reaction has resolved: check both times."})
    if resolved_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"resolved_at": "Give the time it resolved once it has; it cannot be in the future."})


def _kind_of(interruption: Interruption, given: str) -> str:
    """The kind of a reaction of grade 3 or more: the stop's, or the one given now for a stop
    recorded before kinds were asked for."""
    kind = interruption.toxicity_kind or given
    if kind not in Interruption.ToxicityKind.values:
        raise ValidationError(
            {
                "toxicity_kind": f"Say which kind of toxicity this grade {interruption.toxicity_grade} reaction was: "
                "the label's rules for a restart differ for CRS, neurological toxicity and other reactions."
            }
        )
    return kind


# A kind of toxicity in a sentence ("a grade 4 CRS", "the grade 3 neurological toxicity").
KIND_NAMES = {
    Interruption.ToxicityKind.CRS: "CRS",
    Interruption.ToxicityKind.NEUROLOGICAL: "neurological toxicity",
    Interruption.ToxicityKind.OTHER: "reaction",
}


def _check_not_stopped_for_good_by_grade(interruption: Interruption, *, version) -> None:
    """The label stops grade 4 CRS and grade 4 neurological toxicity for good; for other reactions
    it gives only the grade 3 rule, which a grade 4 then follows (CLINICAL.md, "Interruptions and
    toxicity"). The grade for each kind is the regimen version's (`*_stop_for_good_from_grade`)."""
    grade, kind = interruption.toxicity_grade, interruption.toxicity_kind
    from_grade = version.stops_for_good_from_grade(kind)
    if from_grade is not None and grade >= from_grade:
        raise ValidationError(
            {
                "restarted_at": f"A grade {grade} {KIND_NAMES[kind]} means stopping for good "
                f"(regimen version {version.number}: {version.source}): record a stop for good instead."
            }
        )


def _check_not_stopped_for_good_by_assessments(course: TreatmentCourse, *, restarted_at, version) -> None:
    """Grade 4 CRS or neurological toxicity stops the course for good (CLINICAL.md, "Interruptions
    and toxicity"; the grade from which, the regimen version's), whatever grade the break was
    recorded with: a break recorded as grade 3, then graded 4 at an assessment the next day, was
    restarted. The grade that counts is an assessment's (the oncologist's once confirmed, so a
    computed 4 they changed to 3 with a reason lets the grade 3 rule decide), of any assessment of
    the course up to the restart. Whatever the break's cause: a pump stopped at home does not
    restart a course that a grade 4 ended either."""
    limits = [
        (kind, from_grade, field)
        for kind, field in ((Interruption.ToxicityKind.CRS, "crs"), (Interruption.ToxicityKind.NEUROLOGICAL, "icans"))
        if (from_grade := version.stops_for_good_from_grade(kind)) is not None
    ]
    for assessment in course.assessments.filter(assessed_at__lte=restarted_at).order_by("assessed_at", "pk"):
        for kind, from_grade, field in limits:
            if (grade := getattr(assessment, field)) >= from_grade:
                when = moments.moment_short(assessment.assessed_at, course.patient.unit.zone)
                raise ValidationError(
                    {
                        "restarted_at": f"{KIND_NAMES[kind][:1].upper()}{KIND_NAMES[kind][1:]} grade {grade} at "
                        f"the assessment of {when} "
                        f"(regimen version {version.number}: {version.source}): {STOP_FOR_GOOD}."
                    }
                )


def _check_not_stopped_for_good_by_seizures(course: TreatmentCourse, *, restarted_at: dt.datetime) -> None:
    """ "More than one seizure, or grade 4: stop for good" (CLINICAL.md, "Interruptions and
    toxicity"): a restart after a reaction, whatever its recorded kind and grade, is refused once
    the course has had two seizures by the restart, counted as the watch counts them
    (`selectors.seizures_in_course`: at assessments and at home checks, the same one reported at
    home and charted when brought in once). A break for the pump or the line is not a reaction's."""
    seizures = [
        seizure
        for seizure in seizures_in_course(patient_id=course.patient_id, course_id=course.pk)
        if seizure.at <= restarted_at
    ]
    if len(seizures) > 1:
        zone = course.patient.unit.zone
        seen = ", ".join(f"{moments.day_short(seizure.at, zone)} {seizure.where}" for seizure in seizures)
        raise ValidationError({"restarted_at": f"More than one seizure in the course ({seen}): {STOP_FOR_GOOD}."})


def _days(length: dt.timedelta) -> str:
    return f"{length.days} days {length.seconds // 3600} h" if length.seconds >= 3600 else f"{length.days} days"


def _check_grade_3_restart(interruption: Interruption, *, course: TreatmentCourse, restarted_at: dt.datetime) -> None:
    """The label's rules for a restart after a grade 3 reaction, by its kind, from the course's
    regimen version (CLINICAL.md, "Interruptions and toxicity"); a higher grade that its kind does
    not stop for good (an "other" grade 4) follows them too. CRS restarts once resolved.
    Neurological toxicity stops for good if it occurred at the low dose, recurs, or took more than
    `neurological_resolve_within_days` (7) to resolve; other reactions stop if they took more
    than `other_toxicity_resolve_within_days` (14). Both restart only after
    `restart_after_resolved_days` (3) at grade 1 or less. Refusals of the restart say so at its
    field; the stop for good is the oncologist's to record."""
    version, kind, grade = course.regimen_version, interruption.toxicity_kind, interruption.toxicity_grade
    neurological = kind == Interruption.ToxicityKind.NEUROLOGICAL
    if kind == Interruption.ToxicityKind.CRS:
        return
    if neurological and (why := neurotoxicity_stops_for_good(course=course, moment=interruption.stopped_at)):
        raise ValidationError({"restarted_at": f"Neurological toxicity grade {grade}{why}: {STOP_FOR_GOOD}."})
    name = f"grade {grade} {KIND_NAMES[kind]}"
    if interruption.resolved_at is None:
        raise ValidationError(
            {
                "resolved_at": f"Give when the {name} resolved to grade 1 or less: "
                "the label's limits on a restart read it."
            }
        )
    within = version.neurological_resolve_within_days if neurological else version.other_toxicity_resolve_within_days
    took = interruption.resolved_at - interruption.stopped_at
    if took > dt.timedelta(days=within):
        raise ValidationError(
            {
                "restarted_at": f"The {name} took {_days(took)} to resolve, more than the {within} days "
                f"the label allows ({version.source}): {STOP_FOR_GOOD}."
            }
        )
    hold = dt.timedelta(days=version.restart_after_resolved_days)
    if restarted_at < interruption.resolved_at + hold:
        earliest = moments.moment_short(interruption.resolved_at + hold, course.patient.unit.zone)
        raise ValidationError(
            {
                "restarted_at": f"After the {name}, the label restarts after {version.restart_after_resolved_days} "
                f"days at grade 1 or less: on {earliest} at the earliest."
            }
        )


def _restart_in_a_new_cycle(
    interruption: Interruption,
    *,
    course: TreatmentCourse,
    length: dt.timedelta,
    actor,
    now: dt.datetime,
    but: CareEvent | None = None,
) -> None:
    """A break too long to continue its cycle (CLINICAL.md: "More than 7 days: start a new
    cycle"): the cycle ends at the stop, and the next one begins with the restart, at its time,
    repeating the step-up of the cycle it replaces when that step-up had not been given."""
    cycle, version = interruption.cycle, course.regimen_version
    repeats = _step_up_to_repeat(cycle, version=version, before=interruption.stopped_at)
    interruption.new_cycle = True
    interruption.save()
    restart = timezone.localtime(interruption.restarted_at, course.patient.unit.zone)
    _start_new_cycle(course=course, cycle=cycle, stopped_at=interruption.stopped_at, restart=restart, repeats=repeats)
    course_schedule_build(course=course, actor=actor, now=now)
    made = course.cycles.get(number=cycle.number + 1)
    if _begins_with_the_restart(made, restart=restart, repeats=repeats, version=version):
        course_schedule_build(course=course, actor=actor, now=now)  # a cycle the build had to add
    # A re-escalation still ahead belonged to the cycle that ended at the stop.
    ended = _re_escalations_ahead(course, interruption.stopped_at, but=but)
    for event in ended:
        event.status = CareEvent.Status.CANCELLED
        event.note = "Cancelled: the cycle ended at a break too long to continue it."
    rows_update(ended, ["status", "note"])
    notify_events_changed(cancelled=ended)
    # The new cycle's start is the supervised restart: its own checklist, premedication
    # included, comes with the cycle start event; after a grade 3 reaction it starts at the
    # restart dose, which its note says and its checklist asks for (conditions.FACTS
    # "restart_dose", asked again by the caller once the break names it).
    interruption.restart_event = made.events.filter(kind=CareEvent.Kind.CYCLE_START, scheduled=True).first()
    if interruption.restart_event is not None:
        note = _restart_note(interruption, length)
        if repeats:
            note += " " + _repeat_note(interruption, version=version, repeats=repeats)
        interruption.restart_event.note = note[:500]
        interruption.restart_event.save(update_fields=["note"])


def _step_up_to_repeat(cycle: Cycle, *, version, before: dt.datetime) -> int | None:
    """The cycle whose step-up a new cycle after `cycle` repeats, or None: `cycle`'s rule has a
    step-up (cycle 1's, or one it repeats itself) and no dose step-up of `cycle` (its own, or a
    re-escalation that replaced it) fell before the stop, so the patient never reached the full
    dose. CLINICAL.md only says "start a new cycle"; the step-up exists to protect a first
    exposure, so the tracker repeats it rather than start the next cycle's full dose (README,
    "Interruptions")."""
    if not version.steps_up_in_cycle(cycle.rule_number):
        return None
    given = (
        cycle.events.filter(kind=CareEvent.Kind.DOSE_STEP_UP)
        .exclude(status=CareEvent.Status.CANCELLED)
        .annotate(at=Coalesce("actual_at", "planned_at"))
        .filter(at__lt=before)
    )
    return None if given.exists() else cycle.rule_number


def _repeat_note(interruption: Interruption, *, version, repeats: int) -> str:
    wording = f"It repeats the step-up of cycle {repeats}: the full dose was never reached"
    if interruption.restart_dose:
        return f"{wording}; the re-escalation is its step-up."
    return f"{wording}; {version.dose_for_cycle(repeats)}."


def _restart_note(interruption: Interruption, length: dt.timedelta) -> str:
    hours = length.total_seconds() / 3600
    lasted = _days(length) if length >= dt.timedelta(days=2) else f"{hours:.0f} h"
    wording = f"Restart after a break of {lasted} ({interruption.get_cause_display().lower()})"
    if interruption.new_cycle:
        wording += ", too long to continue its cycle: this cycle begins with it"
    if interruption.restart_dose:
        wording += f"; restart dose {interruption.restart_dose}"
        if interruption.new_cycle:
            wording += ", not the cycle's usual dose, until the re-escalation"
    return wording + ". Supervised; premedication as the regimen asks."


def _start_new_cycle(
    *, course: TreatmentCourse, cycle: Cycle, stopped_at, restart: dt.datetime, repeats: int | None
) -> None:
    """End `cycle` at its stop and make the next cycle start at the restart (local time): its day 1
    is the restart's day, and its infusion starts at the restart's time, not at 09:00."""
    restart_day = restart.date()
    from .schedule import _check_cycle_limit

    cycle.ended_early_at = stopped_at
    stop_day = timezone.localtime(stopped_at, course.patient.unit.zone).date()
    cycle.infusion_end_date = stop_day
    cycle.rest_days = (restart_day - stop_day).days
    cycle.save(update_fields=["ended_early_at", "infusion_end_date", "rest_days"])
    if cycle.number >= course.planned_cycles:
        # The interrupted cycle counts as one: a new one needs room within the regimen's limit.
        _check_cycle_limit(course.regimen_version, cycle.number + 1)
        course.planned_cycles = cycle.number + 1
        course.save(update_fields=["planned_cycles"])
    following = course.cycles.filter(number=cycle.number + 1).first()
    if following is not None and following.start_date != restart_day:
        delta = restart_day - following.start_date
        for later in course.cycles.filter(number__gt=cycle.number):
            later.start_date += delta
            later.save(update_fields=["start_date"])
    if following is not None:
        _begins_with_the_restart(following, restart=restart, repeats=repeats, version=course.regimen_version)


def _begins_with_the_restart(cycle: Cycle, *, restart: dt.datetime, repeats: int | None, version) -> bool:
    """Make `cycle` the one that a restart begins: it starts at the restart's time and, when it
    repeats the step-up of cycle `repeats`, takes that cycle's rule's days in hospital (its dose,
    step-up and premedication follow `Cycle.rule_number`). True when something changed."""
    wanted = {"start_time": restart.time(), "repeats_cycle": repeats}
    if repeats:
        wanted["inpatient_days"] = version.cycle_rule(repeats).inpatient_days
    changed = [name for name, value in wanted.items() if getattr(cycle, name) != value]
    for name in changed:
        setattr(cycle, name, wanted[name])
    if changed:
        cycle.save(update_fields=changed)
    return bool(changed)


def _close_stop_event(interruption: Interruption) -> None:
    """The interruption's own event is done once the restart (or the stop for good) is known."""
    CareEvent.objects.filter(
        cycle_id=interruption.cycle_id,
        kind=CareEvent.Kind.INTERRUPTION,
        planned_at=interruption.stopped_at,
        status=CareEvent.Status.IN_PROGRESS,
    ).update(status=CareEvent.Status.DONE)


@transaction.atomic
def course_stop_for_good(
    *, course: TreatmentCourse, stopped_at: dt.datetime, reason: str, actor, now: dt.datetime | None = None
) -> Interruption:
    """End the course: the infusion stopped for good, future events and their open tasks are
    cancelled with the reason, and the care team is told."""
    now = now or timezone.now()
    policy.can_stop_for_good(actor, course.patient).enforce()
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the course stops for good."})
    if stopped_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"stopped_at": "A stop for good is recorded once it has happened."})
    course = _locked_course(course)
    if course.status == TreatmentCourse.Status.STOPPED:
        raise ValidationError("This course was already stopped for good.")
    recorded = list(course.interruptions.all())
    interruption = next((stop for stop in recorded if stop.is_open), None)
    if interruption is None:
        # A restart that is only planned (still ahead) will not happen: its break ends the course.
        interruption = next(
            (
                stop
                for stop in recorded
                if stop.restarted_at and stop.stopped_at <= stopped_at < stop.restarted_at and stop.restarted_at > now
            ),
            None,
        )
    infusing = True
    if interruption is not None:
        if stopped_at < interruption.stopped_at:
            raise ValidationError({"stopped_at": "The infusion already stopped earlier; give that time or later."})
        stopped_at = interruption.stopped_at
        interruption.permanent = True
        interruption.restarted_at = interruption.restarted_by = None
        interruption.detail = (f"{interruption.detail} Stopped for good: {reason}").strip()[:500]
        interruption.save(update_fields=["permanent", "restarted_at", "restarted_by", "detail"])
    else:
        if any(stop.stopped_at > stopped_at for stop in recorded):
            raise ValidationError({"stopped_at": "A later stop is already recorded."})
        if any(stop.restarted_at and stop.stopped_at <= stopped_at < stop.restarted_at for stop in recorded):
            raise ValidationError({"stopped_at": "This time falls inside a break already recorded."})
        _check_not_before_the_cycle_under_way(course, stopped_at, now)
        try:
            cycle = _running_cycle(course, stopped_at)
        except ValidationError:
            # Resting between cycles, or not started: no pump comes off, the plan ends here.
            cycle, infusing = _last_started_cycle(course, stopped_at), False
        interruption = Interruption.objects.create(
            patient_id=course.patient_id,
            course=course,
            cycle=cycle,
            stopped_at=stopped_at,
            cause=Interruption.Cause.ADVERSE_REACTION,
            detail=f"Stopped for good: {reason}"[:500],
            stopped_by=actor,
            permanent=True,
        )
    cycle = interruption.cycle
    if infusing:
        cycle.ended_early_at = stopped_at
        cycle.infusion_ends_at = stopped_at
        cycle.infusion_end_date = timezone.localtime(stopped_at, course.patient.unit.zone).date()
        cycle.save(update_fields=["ended_early_at", "infusion_ends_at", "infusion_end_date"])
    course.status = TreatmentCourse.Status.STOPPED
    course.save(update_fields=["status"])

    # Where the patient is when the pump comes off: in hospital before the cycle's discharge (asked
    # before the discharge is cancelled below), so that its checklist asks the ward's items.
    end_setting = Setting.INPATIENT if infusing and _in_hospital(cycle, stopped_at) else course.outpatient_setting
    future = CareEvent.objects.select_for_update(no_key=True).filter(
        cycle__course=course, status=CareEvent.Status.PLANNED, planned_at__gte=stopped_at
    )
    if infusing:
        future = future.exclude(kind=CareEvent.Kind.CYCLE_END, cycle=cycle)
    future = list(future)
    for event in future:
        event.status, event.scheduled = CareEvent.Status.CANCELLED, False
        event.note = f"Course stopped for good: {reason}"[:500]
    rows_update(future, ["status", "scheduled", "note"])
    # The pump still comes off: the cycle end (residual drug aspirated, pump returned) moves to now.
    end = (
        cycle.events.filter(kind=CareEvent.Kind.CYCLE_END, status=CareEvent.Status.PLANNED).first()
        if infusing
        else None
    )
    moved = []
    if end is not None and (end.planned_at, end.setting) != (stopped_at, end_setting):
        end.planned_at, end.setting = stopped_at, end_setting
        end.save(update_fields=["planned_at", "setting"])
        moved.append(end)
    # Whatever is not cancelled (the kept cycle end, a past event not settled yet, a cycle end
    # already done) has no next cycle now: the checklists ask again, and an open task for the next
    # cycle's authorisation, admission or chair is cancelled with the reason in its history
    # (condition fact "next_cycle").
    remaining = list(CareEvent.objects.filter(cycle__course=course).exclude(status=CareEvent.Status.CANCELLED))
    notify_events_changed(moved=moved, cancelled=future, facts=remaining)
    _close_stop_event(interruption)
    notify_course_stopped(course=course, reason=reason, actor=actor)
    return interruption
