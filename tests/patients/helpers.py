"""Builders and snapshots shared by the patient tests: registrations, interruptions, bags, weighings."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from checklists.models import Checklist, Task
from patients.models import (
    BagOption,
    CareEvent,
    Cycle,
    Indication,
    InfusionBag,
    Interruption,
    TreatmentCourse,
    Weighing,
)
from patients.services import course_schedule_build

from ..factories import CourseFactory


def rr_course(patient, *, start: dt.date, cycles: int = 3, now: dt.datetime, **fields) -> TreatmentCourse:
    """A relapsed/refractory course on the seeded regimen, built as it was planned on `now`."""
    course = CourseFactory(
        patient=patient, indication=Indication.RELAPSED_REFRACTORY, planned_cycles=cycles, start_date=start, **fields
    )
    course_schedule_build(course=course, now=now)
    course.refresh_from_db()
    return course


def live(course, kind=None, cycle=None) -> list[CareEvent]:
    """The course's events that are not cancelled, in time order."""
    found = CareEvent.objects.filter(cycle__course=course).exclude(status=CareEvent.Status.CANCELLED)
    if kind:
        found = found.filter(kind=kind)
    if cycle is not None:
        found = found.filter(cycle=cycle)
    return list(found.order_by("planned_at", "pk"))


def snapshot(course) -> dict:
    """Everything a refused operation must leave as it was."""
    return {
        "course": TreatmentCourse.objects.filter(pk=course.pk).values_list("status", "planned_cycles").get(),
        "cycles": list(
            Cycle.objects.filter(course=course)
            .order_by("number")
            .values_list("pk", "start_date", "rest_days", "infusion_ends_at", "infusion_end_date", "ended_early_at")
        ),
        "events": list(
            CareEvent.objects.filter(cycle__course=course)
            .order_by("pk")
            .values_list("pk", "kind", "sequence", "status", "planned_at", "scheduled", "note")
        ),
        "interruptions": list(
            Interruption.objects.filter(course=course)
            .order_by("pk")
            .values_list("pk", "stopped_at", "restarted_at", "new_cycle", "permanent", "restart_dose", "detail")
        ),
        "checklists": Checklist.objects.filter(event__cycle__course=course).count(),
        "tasks": list(Task.objects.filter(event__cycle__course=course).order_by("pk").values_list("pk", "status")),
        "bags": InfusionBag.objects.filter(patient_id=course.patient_id).count(),
        "weighings": Weighing.objects.filter(patient_id=course.patient_id).count(),
    }


def make_bag(event, *, compounded_by, checked_by, hours: int = 24, **fields) -> InfusionBag:
    """A bag of `hours` recorded for `event` as its row, without the service's checks (for readers
    of bags: the API, FHIR), on the patient's newest weighing (one of now when there is none);
    `fields` override the label's."""
    option = BagOption.objects.get(duration_hours=hours)
    values = {
        "dose": "9 mcg/day",
        "dose_basis": InfusionBag.DoseBasis.WEIGHT,
        "volume_ml": Decimal("240"),
        "rate_ml_per_hour": option.rate_ml_per_hour,
        "duration_hours": hours,
        "preservative": option.preservative,
        "stabiliser_added": True,
        "expires_at": timezone.now() + dt.timedelta(days=2),
        "recorded_by": compounded_by,
        **fields,
    }
    weighing = Weighing.objects.filter(patient=event.patient).order_by("-measured_at").first()
    weighing = weighing or Weighing.objects.create(
        patient=event.patient, weight_kg=Decimal("70"), measured_at=timezone.now()
    )
    return InfusionBag.objects.create(
        patient=event.patient,
        event=event,
        option=option,
        weighing=weighing,
        compounded_by=compounded_by,
        checked_by=checked_by,
        **values,
    )


def registration_data(patient=None, **overrides) -> dict:
    """A valid registration of Ada Lovelace into `patient`'s unit, with `overrides`."""
    data = {
        "mrn": "NEW0001",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "birth_date": "1980-02-03",
        "sex": "female",
        "weight_kg": "64.5",
        # Today on the unit's clock, which the form reads: between midnight in UTC and midnight
        # in New York, UTC's today is the unit's tomorrow, refused as a weighing in the future.
        "weight_measured_on": timezone.localdate(timezone=patient.unit.zone if patient else None).isoformat(),
        "height_cm": "168",
        "unit": patient.unit_id if patient else "",
    }
    data.update(overrides)
    return data
