"""Weighings: the newest one is the weight on the patient's record."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..hooks import notify_events_changed
from ..models import CareEvent, Patient, Weighing

LOWEST_KG, HIGHEST_KG = Decimal("0.5"), Decimal("300")


def parse_weight(raw) -> Decimal:
    """A weight in kg with one decimal, or ValidationError({'weight_kg': …}) in words."""
    try:
        weight = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        raise ValidationError({"weight_kg": f"Give the weight in kg as a number, not “{raw}”."}) from None
    if not weight.is_finite() or not LOWEST_KG <= weight <= HIGHEST_KG:
        raise ValidationError(
            {"weight_kg": f"{raw} kg is not a possible weight (between {LOWEST_KG} and {HIGHEST_KG} kg): check it."}
        )
    return weight.quantize(Decimal("0.1"))


@transaction.atomic
def weighing_record(
    *, patient: Patient, weight_kg, actor, measured_at: dt.datetime | None = None, source: str = ""
) -> Weighing:
    """Record a weighing; when it is the newest, it becomes the patient's current weight."""
    now = timezone.now()
    measured_at = measured_at or now
    if measured_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"measured_at": "A weighing cannot be in the future."})
    weight = parse_weight(weight_kg)
    weighing = Weighing.objects.create(
        patient=patient, weight_kg=weight, measured_at=measured_at, recorded_by=actor, source=source[:200]
    )
    patient = Patient.objects.select_for_update().select_related("unit").get(pk=patient.pk)
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
