"""The home nurse's daily check: recorded, its red flags found by the warning-sign table, and
handed to the watch hook (an urgent alert to the oncologist on call, coordination's)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import policy
from ..grading import FEVER_CELSIUS
from ..hooks import notify_watch
from ..models import HomeCheckIn, Patient
from ..selectors import current_course
from ..vitals import temperature_errors, to_celsius
from ..warning_signs import BY_KEY
from .repeats import repeat_of
from .toxicity import CLOCK_SKEW, LATE_ENTRY


def red_flags(check_in: HomeCheckIn) -> list[str]:
    """What in this check needs the oncologist on call now, in words."""
    flags = [BY_KEY[key].label for key in check_in.signs if BY_KEY[key].red_flag]
    if check_in.temperature_celsius >= FEVER_CELSIUS and "Fever or chills" not in flags:
        flags.append(f"Fever of {check_in.temperature_celsius} °C")
    if check_in.handwriting_changed:
        flags.append("Handwriting changed")
    if check_in.pump_status != HomeCheckIn.PumpStatus.RUNNING:
        flags.append(f"Pump {check_in.get_pump_status_display().lower()}")
    return flags


# What the check's form enters: a check with the same, sent again at once, is the same check.
CHECK_ENTERED = (
    "checked_at",
    "temperature",
    "temperature_unit",
    "signs",
    "handwriting_changed",
    "pump_status",
    "note",
)


@transaction.atomic
def check_in_record(
    *,
    patient: Patient,
    actor,
    checked_at: dt.datetime,
    temperature,
    temperature_unit: str,
    pump_status: str,
    signs: list[str] = (),
    handwriting_changed: bool = False,
    note: str = "",
    now: dt.datetime | None = None,
) -> HomeCheckIn:
    """Record the check and hand it to the watch. The same check sent again by the same person
    within the minute (a double click) is the first, returned as it was: no second page."""
    policy.can_record_assessment(actor, patient).enforce()
    now = now or timezone.now()
    # The patient's row, so that the same check sent twice at once takes turns (as an assessment).
    Patient.objects.select_for_update(no_key=True).only("pk").get(pk=patient.pk)
    errors = temperature_errors(temperature, temperature_unit)
    if checked_at > now + CLOCK_SKEW:
        errors["checked_at"] = "A check cannot be in the future."
    elif checked_at < now - LATE_ENTRY:
        # As an assessment: a late entry is taken; older is a mistyped date, whose red flags would
        # page the oncologist on call now for news days old.
        hours = int(LATE_ENTRY.total_seconds() // 3600)
        errors["checked_at"] = f"A check is recorded within {hours} hours of being made: check the date."
    unknown = [key for key in signs if key not in BY_KEY]
    if unknown:
        errors["signs"] = f"Unknown warning signs: {', '.join(unknown)}."
    if errors:
        raise ValidationError(errors)
    check_in = HomeCheckIn(
        patient=patient,
        course=current_course(patient),
        checked_at=checked_at,
        temperature=temperature,
        temperature_unit=temperature_unit,
        temperature_celsius=to_celsius(temperature, temperature_unit),
        signs=sorted(set(signs)),
        handwriting_changed=handwriting_changed,
        pump_status=pump_status,
        note=note.strip(),
        recorded_by=actor,
        recorded_at=now,
    )
    check_in.red_flags = red_flags(check_in)
    check_in.full_clean(exclude=["patient", "course", "recorded_by"])
    if first := repeat_of(check_in, entered=CHECK_ENTERED, now=now):
        return first
    check_in.save()
    notify_watch(patient=patient, check_in=check_in, actor=actor)
    return check_in
