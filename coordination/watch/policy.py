"""Who may keep the on-call roster and answer an urgent alert, in one place.

The watch's services enforce these; its pages call the same functions to decide what to offer.
"""

from django.db.models import Q, QuerySet

from accounts.models import Role, Unit, User
from accounts.policy import ALLOWED, Decision, refuse
from patients.models import CareTeamMember, Patient

from .models import ToxicityAlert


def can_edit_roster(user, unit: Unit) -> Decision:
    """The unit's coordinator keeps its roster."""
    if user.is_authenticated and user.is_active and user.role == Role.COORDINATOR and user.unit_id == unit.pk:
        return ALLOWED
    return refuse(f"Only the coordinator of {unit} may change its on-call roster.")


def on_call_candidates(unit: Unit) -> QuerySet[User]:
    """Who may be on call for a unit: its organisation's oncologists; its own coordinators and
    nurses (the same rule as `can_be_on_call`, as a query for the roster form's choices)."""
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(role=Role.ONCOLOGIST, unit__organisation_id=unit.organisation_id)
            | Q(role__in=[Role.COORDINATOR, Role.NURSE], unit=unit)
        )
        .order_by("role", "last_name", "first_name")
    )


def can_be_on_call(user, unit: Unit, role: str) -> Decision:
    if not user.is_active or user.role != role:
        return refuse(f"{user} is not an active {Role(role).label.lower()}.")
    if role != Role.ONCOLOGIST and user.unit_id != unit.pk:
        return refuse(f"{user} works for another unit.")
    # An oncologist on call opens the unit's alerting patients to themselves (a day's grant): never
    # across organisations, whatever the caller offered (the roster form offers its own only).
    if user.unit is None or user.unit.organisation_id != unit.organisation_id:
        return refuse(f"{user} works for another organisation.")
    return ALLOWED


def can_acknowledge(user, alert: ToxicityAlert, *, sent_to: bool) -> Decision:
    """An oncologist the alert went to (`sent_to`: the ledger has a reminder of it for the user) or
    one of the patient's: the alert asks the oncologist to decide (CLINICAL.md: the oncologist
    grades, holds and stops), and taking it stops it going down the roster. Only when it has
    reached no oncologist (none on call, none on the care team) may whoever it went to, or the
    coordinator of the unit whose roster routes it, take it. Each only while they see the patient."""
    if not (user.is_authenticated and user.is_active):
        return refuse("Sign in to acknowledge an alert.")
    if not alert.is_open:
        return refuse(f"{alert.acknowledged_by} acknowledged this alert already.")
    # As its page: one who no longer sees the patient (the old unit's coordinator after a
    # transfer) does not answer for the alert; the new unit's roster does.
    if not sees_alerts_of(user, alert.patient):
        return refuse("You no longer see this patient: the alert is with their unit now.")
    if user.role == Role.ONCOLOGIST:
        oncologists = CareTeamMember.objects.filter(patient=alert.patient, role=Role.ONCOLOGIST).in_current_role()
        if sent_to or oncologists.filter(user=user).exists():
            return ALLOWED
    elif sent_to or (user.role == Role.COORDINATOR and user.unit_id == alert.unit_id):
        if not alert.reminders.filter(recipient__role=Role.ONCOLOGIST).exists():
            return ALLOWED
        return refuse(
            "An oncologist it went to takes this alert: call them. It goes down the roster until one acknowledges it."
        )
    return refuse("Only an oncologist the alert went to, or the patient's oncologist, may acknowledge it.")


def can_answer_calls(shift) -> bool:
    """The holder of an on-call shift can take its calls: still who may be on call for it
    (`can_be_on_call`, read now, not when the roster was kept). A deactivated oncologist, one who
    became a coordinator, or one moved to another organisation's unit (whom an alert may not open
    the patient to) leaves it uncovered. Needs the shift's unit and its holder's unit loaded."""
    return bool(can_be_on_call(shift.user, shift.unit, shift.role))


def sees_alerts_of(user, patient: Patient) -> bool:
    return Patient.objects.visible_to(user).filter(pk=patient.pk).exists()
