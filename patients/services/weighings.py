"""Weighings: the newest one is the weight on the patient's record."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import moments

from ..hooks import notify_events_changed
from ..models import CareEvent, Patient, Weighing
from ..weights import weight_shown

LOWEST_KG, HIGHEST_KG = Decimal("0.5"), Decimal("300")
# Infant scales read to 10 g: a weight rounded to a tenth crossed the bags' and the dose's weight
# limits (5.36 kg made 5.4, at the 5.4 kg preservative limit). Kept as the scale shows it, never rounded.
WEIGHT_STEP = Decimal("0.01")
TOO_FINE_A_WEIGHT = "Give the weight to 10 g at most: two decimals, as the scale shows it."


def parse_weight(raw) -> Decimal:
    """A weight in kg to 10 g, as typed (never rounded: 5.36 stays 5.36, 5.365 is refused, not made
    5.36 or 5.37), or ValidationError({'weight_kg': …}) in words."""
    try:
        weight = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        raise ValidationError({"weight_kg": f"Give the weight in kg as a number, not “{raw}”."}) from None
    if not weight.is_finite() or not LOWEST_KG <= weight <= HIGHEST_KG:
        raise ValidationError(
            {"weight_kg": f"{raw} kg is not a possible weight (between {LOWEST_KG} and {HIGHEST_KG} kg): check it."}
        )
    if weight != weight.quantize(WEIGHT_STEP):
        raise ValidationError({"weight_kg": TOO_FINE_A_WEIGHT})
    return weight.quantize(WEIGHT_STEP)


# The code of the refusal that asks about a weight far from the one before (the typo guard's shape:
# the form offers to take it anyway, and a confirmed weight stands).
UNCONFIRMED_WEIGHT_CHANGE = "unconfirmed_weight_change"


def weight_change_question(patient: Patient, weight: Decimal, measured_at: dt.datetime) -> str:
    """The question a weight asks before it is taken ("" when none): one that differs by more than
    settings.WEIGHT_CHANGE_ASK_PERCENT from the weighing before it (the newest at or before its
    time; for one dated before every weighing, the earliest; for the first, the record's weight) is
    a slipped decimal far more often than the patient: 7.0 typed for 70 kg would dose by
    body-surface area and change the bags' preservative limits."""
    zone = patient.unit.zone
    weighings = Weighing.objects.filter(patient=patient)
    before = (
        weighings.filter(measured_at__lte=measured_at).order_by("-measured_at", "-pk").first()
        or weighings.order_by("measured_at", "pk").first()
    )
    if before is not None:
        known, known_on = before.weight_kg, timezone.localtime(before.measured_at, zone).date()
    elif patient.weight_kg:
        known, known_on = Decimal(patient.weight_kg), patient.weight_measured_on
    else:
        return ""
    change = (weight - known) / known * 100
    if abs(change) <= settings.WEIGHT_CHANGE_ASK_PERCENT:
        return ""
    measured_on = timezone.localtime(measured_at, zone).date()
    when = "now" if measured_on == timezone.localdate(timezone=zone) else f"on {moments.day_short(measured_on)}"
    since = f" on {moments.day_short(known_on)}" if known_on else ""
    direction = "drop" if change < 0 else "rise"
    change_words = f"a {abs(change):.0f} % {direction}"
    return f"{weight_shown(known)}{since}; {weight_shown(weight)} {when} is {change_words}: confirm or correct."


@transaction.atomic
def weighing_record(
    *,
    patient: Patient,
    weight_kg,
    actor,
    measured_at: dt.datetime | None = None,
    source: str = "",
    confirmed: bool = False,
) -> Weighing:
    """Record a weighing; when it is the newest, it becomes the patient's current weight. One far
    from the weighing before it is refused at its field with a question unless `confirmed` (the
    user saw the question and said the weight is right)."""
    now = timezone.now()
    measured_at = measured_at or now
    if measured_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"measured_at": "A weighing cannot be in the future."})
    weight = parse_weight(weight_kg)
    # Locked before the comparison, so that two weighings at once are each compared with the other.
    patient = Patient.objects.select_for_update(no_key=True).select_related("unit").get(pk=patient.pk)
    if not confirmed and (question := weight_change_question(patient, weight, measured_at)):
        raise ValidationError({"weight_kg": ValidationError(question, code=UNCONFIRMED_WEIGHT_CHANGE)})
    weighing = Weighing.objects.create(
        patient=patient, weight_kg=weight, measured_at=measured_at, recorded_by=actor, source=source[:200]
    )
    newest = Weighing.objects.filter(patient=patient).order_by("-measured_at", "-pk").first()
    if newest.pk == weighing.pk:
        patient.weight_kg = weight
        patient.weight_measured_on = timezone.localtime(measured_at, patient.unit.zone).date()
        patient.save(update_fields=["weight_kg", "weight_measured_on"])
        patient_facts_changed(patient)
    return weighing


# What the checklists' conditions read from the record (checklists.conditions.FACTS): a change
# of one of these asks them again.
FACT_FIELDS = {"weight_kg", "height_cm", "birth_date"}


def patient_facts_changed(patient: Patient) -> None:
    """The weight, height or birth date on the record changed: the checklists of the patient's
    planned events ask their conditions again (dose by weight band or by body-surface area, the
    bag limits by weight, premedication by age), since they were made when the course was planned."""
    notify_events_changed(facts=list(CareEvent.objects.filter(patient=patient, status=CareEvent.Status.PLANNED)))


def latest_weighing(patient: Patient) -> Weighing | None:
    return Weighing.objects.filter(patient=patient).order_by("-measured_at", "-pk").first()
