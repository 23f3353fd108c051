"""Reads of the clinical record. Every query of patient data starts from `visible_to`."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Role

from .models import CareEvent, CareTeamMember, Cycle, Patient, TreatmentCourse


def patients_for_user(user) -> QuerySet[Patient]:
    return Patient.objects.visible_to(user).select_related("unit")


def get_patient_for_user(user, pk, *, write: bool = False) -> Patient:
    """The patient, or 404 when the user may not see it (its existence must not leak).

    write=True asks for the right to change the record: care-team members and the unit's
    coordinator; a unit that only holds an access grant may read.
    """
    patient = get_object_or_404(patients_for_user(user), pk=pk)
    if write and not can_edit_patient(user, patient):
        raise Http404
    return patient


def can_edit_patient(user, patient: Patient) -> bool:
    if user.role == Role.COORDINATOR and user.unit_id == patient.unit_id:
        return True
    return CareTeamMember.objects.filter(patient=patient, user=user).exists()


def patient_record(patient: Patient) -> Patient:
    """The patient with care team, courses, cycles and events loaded for the record page."""
    events = CareEvent.objects.select_related("patient__unit").order_by("planned_at")
    cycles = Cycle.objects.order_by("number").prefetch_related(Prefetch("events", queryset=events))
    courses = TreatmentCourse.objects.prefetch_related(Prefetch("cycles", queryset=cycles))
    team = CareTeamMember.objects.select_related("user")
    return (
        Patient.objects.select_related("unit", "organisation")
        .prefetch_related(Prefetch("care_team", queryset=team), Prefetch("courses", queryset=courses))
        .get(pk=patient.pk)
    )
