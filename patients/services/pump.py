"""Pump and line events: recorded with who reported them and what was done; a stop of the
infusion opens an interruption (which moves the plan), and a restart after a short stop closes it.
"""

import contextlib
import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import policy
from ..models import Interruption, Patient, PumpEvent, TreatmentCourse
from ..selectors import current_course
from .interruptions import interruption_restart, interruption_stop
from .repeats import repeat_of

CLOCK_SKEW = dt.timedelta(minutes=5)


def _running_course(patient: Patient) -> TreatmentCourse:
    course = current_course(patient)
    if course is None:
        raise ValidationError("The patient has no course running: a pump event belongs to a running infusion.")
    return course


def _check_times(*, occurred_at, stopped_at, restarted_at, now) -> None:
    errors = {}
    for field, moment in (
        ("occurred_at", occurred_at),
        ("infusion_stopped_at", stopped_at),
        ("infusion_restarted_at", restarted_at),
    ):
        if moment is not None and moment > now + CLOCK_SKEW:
            errors[field] = "This cannot be in the future: record it once it has happened."
    if restarted_at is not None and stopped_at is None:
        errors["infusion_restarted_at"] = "Give the time the infusion stopped first."
    elif restarted_at is not None and restarted_at <= stopped_at:
        errors["infusion_restarted_at"] = "The restart must come after the stop."
    if errors:
        raise ValidationError(errors)


# What the pump event's form enters: one with the same, sent again at once, is the same event.
PUMP_ENTERED = (
    "kind",
    "occurred_at",
    "reported_by",
    "volume_left_ml",
    "action_taken",
    "infusion_stopped_at",
    "infusion_restarted_at",
)


@transaction.atomic
def pump_event_record(
    *,
    patient: Patient,
    actor,
    kind: str,
    occurred_at: dt.datetime,
    reported_by: str,
    action_taken: str,
    volume_left_ml=None,
    infusion_stopped_at: dt.datetime | None = None,
    infusion_restarted_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> PumpEvent:
    """Record a pump or line event. With a stop, an interruption opens (or the open one is
    kept, when the infusion was already stopped); with a restart too, it closes, which the
    restart policy allows a nurse after a short pump stop (else the oncologist records it). The
    same event sent again by the same person within the minute (a double click) is the first,
    returned as it was: its stop was recorded once, and the second is not refused for it."""
    policy.can_record_pump_event(actor, patient).enforce()
    now = now or timezone.now()
    # The patient's row, before the course's (the order of a course's planning): the same event
    # sent twice at once takes turns, and the second finds the first.
    Patient.objects.select_for_update(no_key=True).only("pk").get(pk=patient.pk)
    _check_times(occurred_at=occurred_at, stopped_at=infusion_stopped_at, restarted_at=infusion_restarted_at, now=now)
    course = _running_course(patient)
    event = PumpEvent(
        patient=patient,
        course=course,
        kind=kind,
        occurred_at=occurred_at,
        reported_by=reported_by,
        volume_left_ml=volume_left_ml,
        action_taken=action_taken.strip(),
        infusion_stopped_at=infusion_stopped_at,
        infusion_restarted_at=infusion_restarted_at,
        out_of_hours=patient.unit.is_out_of_hours(occurred_at),
        recorded_by=actor,
        recorded_at=now,
    )
    event.full_clean(exclude=["patient", "course", "recorded_by", "interruption"])
    if first := repeat_of(event, entered=PUMP_ENTERED, now=now):
        return first
    if infusion_stopped_at is not None:
        with _refusals_at({"stopped_at": "infusion_stopped_at", "restarted_at": "infusion_restarted_at"}):
            event.interruption = interruption_stop(
                course=course,
                stopped_at=infusion_stopped_at,
                cause=Interruption.Cause.PUMP_OR_LINE,
                detail=f"{event.get_kind_display()}: {event.action_taken}"[:500],
                actor=actor,
                now=now,
            )
            if infusion_restarted_at is not None:
                decision = policy.can_record_restart(
                    actor, patient, interruption=event.interruption, restarted_at=infusion_restarted_at
                )
                if not decision:  # a field to correct, not a forbidden page: nothing is kept
                    raise ValidationError({"restarted_at": decision.reason})
                event.interruption = interruption_restart(
                    interruption=event.interruption, restarted_at=infusion_restarted_at, actor=actor, now=now
                )
    event.save()
    return event


@contextlib.contextmanager
def _refusals_at(fields: dict[str, str]):
    """The interruption services' refusals, at the pump event's own fields."""
    try:
        yield
    except ValidationError as refusal:
        if not hasattr(refusal, "error_dict"):
            raise
        raise ValidationError({fields.get(name, name): errors for name, errors in refusal.error_dict.items()}) from None
