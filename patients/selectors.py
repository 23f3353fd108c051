"""Reads of the clinical record. Every query of patient data starts from `visible_to`."""

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Role

from .models import CareTeamMember, Patient


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
