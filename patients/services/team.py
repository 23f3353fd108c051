"""Who cares for a patient, and where: the care team and transfers between units.

Both are the unit coordinator's (patients.policy.can_manage_care_team). A member of the care
team sees the patient wherever they work; a transfer moves the record to another clinical unit,
whose coordinator then manages it, and tells both coordinators (patients.hooks).
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import audited
from accounts.models import Unit, User
from accounts.permissions import CLINICIANS

from .. import policy
from ..hooks import notify_care_team_left, notify_transfer
from ..models import CareTeamMember, Patient, Transfer
from ..models.record import PatientAuditAction

CLINICAL_UNITS = (Unit.Kind.INPATIENT_WARD, Unit.Kind.INFUSION_CLINIC)
TRANSFER_REASON_MIN = 10


def care_team_candidates(patient: Patient):
    """Who may join: active clinicians of the patient's organisation, not on the team yet. A home-health
    agency's staff see a patient through a handoff's time-boxed grant instead."""
    return (
        User.objects.filter(
            is_active=True,
            role__in=CLINICIANS,
            unit__organisation_id=patient.organisation_id,
            unit__kind__in=CLINICAL_UNITS,
        )
        .exclude(care_teams__patient=patient)
        .select_related("unit")
        .order_by("unit__name", "role", "last_name", "username")
    )


@audited(PatientAuditAction.CARE_TEAM_ADD)
@transaction.atomic
def care_team_add(*, patient: Patient, user: User, actor) -> CareTeamMember:
    patient = Patient.objects.select_for_update(no_key=True).get(pk=patient.pk)
    policy.can_manage_care_team(actor, patient).enforce()
    if not care_team_candidates(patient).filter(pk=user.pk).exists():
        name = user.get_full_name() or user.username
        raise ValidationError({"user": f"{name} cannot join: already on the team, or not a clinician here."})
    return CareTeamMember.objects.create(patient=patient, user=user, role=user.role)


@audited(PatientAuditAction.CARE_TEAM_REMOVE)
@transaction.atomic
def care_team_remove(*, member: CareTeamMember, actor) -> None:
    patient = Patient.objects.select_for_update(no_key=True).get(pk=member.patient_id)
    policy.can_manage_care_team(actor, patient).enforce()
    CareTeamMember.objects.filter(pk=member.pk).delete()
    # What they had claimed for this patient they can no longer work: back to the team's pool.
    notify_care_team_left(user=member.user, patient=patient, actor=actor)


@audited(PatientAuditAction.TRANSFER)
@transaction.atomic
def patient_transfer(
    *, patient: Patient, to_unit: Unit, reason: str, actor, now: dt.datetime | None = None
) -> Transfer:
    """Move the patient to another clinical unit of the organisation, with the reason."""
    patient = Patient.objects.select_for_update(no_key=True).select_related("unit").get(pk=patient.pk)
    policy.can_manage_care_team(actor, patient).enforce()
    reason = (reason or "").strip()
    errors = {}
    if to_unit.pk == patient.unit_id:
        errors["to_unit"] = "The patient is on this unit already."
    elif to_unit.organisation_id != patient.organisation_id or to_unit.kind not in CLINICAL_UNITS:
        errors["to_unit"] = "Choose a ward or an infusion clinic of this hospital."
    if len(reason) < TRANSFER_REASON_MIN:
        errors["reason"] = f"Say why the patient moves (at least {TRANSFER_REASON_MIN} characters)."
    if errors:
        raise ValidationError(errors)
    transfer = Transfer(
        patient=patient, from_unit=patient.unit, to_unit=to_unit, reason=reason, by=actor, at=now or timezone.now()
    )
    # The model's own rules too (the reason is plain text, one line): every path, not only the form.
    transfer.full_clean()
    transfer.save()
    patient.unit = to_unit
    patient.save(update_fields=["unit"])
    notify_transfer(transfer=transfer)
    return transfer
