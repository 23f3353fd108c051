"""Reads of the clinical record. Every query of patient data starts from `visible_to`."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.audit import audit_record, get_or_404_audited
from accounts.models import AuditEvent, Role
from accounts.permissions import Ability, can

from .models import CareTeamMember, Patient


def patients_for_user(user) -> QuerySet[Patient]:
    return Patient.objects.visible_to(user).select_related("unit")


def get_patient_for_user(user, pk, *, write: bool = False) -> Patient:
    """The patient, or 404 when the user may not see it (its existence must not leak).

    write=True asks for the right to change the record: care-team members and the unit's
    coordinator; a unit that only holds an access grant may read.
    """
    patient = get_or_404_audited(patients_for_user(user), pk, object_type="patients.patient")
    if write and not can_edit_patient(user, patient):
        audit_record(
            action=AuditEvent.Action.UPDATE,
            object_type="patients.patient",
            object_id=pk,
            patient_id=pk,
            outcome=AuditEvent.Outcome.DENIED,
        )
        raise Http404
    return patient


def can_edit_patient(user, patient: Patient) -> bool:
    if not can(user, Ability.EDIT_PATIENT):
        return False
    if user.role == Role.COORDINATOR and user.unit_id == patient.unit_id:
        return True
    return CareTeamMember.objects.filter(patient=patient, user=user).exists()


def sees_only_through_grant(user, patient: Patient) -> bool:
    """True when the user sees this patient only through a live access grant (a handoff's
    receiving side): their pages show what the handoff needs, not the whole record."""
    return not Patient.objects.visible_to(user, grants=False).filter(pk=patient.pk).exists()
