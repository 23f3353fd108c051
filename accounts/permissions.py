"""The authorization matrix: which role may do what, in one place.

Roles decide what kind of work a user may do at all; care-team membership (the access policy
in patients/) decides on whose records. Services check both; views check the matrix early so
that a user never sees a form they could not submit. `tests/test_authorization_matrix.py`
walks every URL with every role against this table.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import models

from .models import Role

# Administrators are staff users; they carry no clinical role and see no patient by being admins.
ADMIN = "admin"


class Ability(models.TextChoices):
    VIEW_PATIENTS = "view_patients", "see the patients of their care teams"
    REGISTER_PATIENT = "register_patient", "register a patient"
    EDIT_PATIENT = "edit_patient", "edit a patient's record"
    WORK_TASKS = "work_tasks", "claim, complete and skip the tasks of their role"
    VERIFY_TASKS = "verify_tasks", "verify a colleague's completion"
    REASSIGN_TASKS = "reassign_tasks", "reassign tasks"
    OVERRIDE_GATE = "override_gate", "override a readiness gate"
    VIEW_BOARD = "view_board", "watch the unit board"
    SEND_HANDOFF = "send_handoff", "send a hospital-to-home handoff"
    ACCEPT_HANDOFF = "accept_handoff", "acknowledge and accept a handoff"
    EDIT_TEMPLATES = "edit_templates", "edit checklist templates"
    READ_AUDIT_LOG = "read_audit_log", "read the audit log"
    READ_REMINDER_LEDGER = "read_reminder_ledger", "read the reminder ledger"


CLINICIANS = frozenset({Role.PHARMACIST, Role.NURSE, Role.ONCOLOGIST, Role.CASE_MANAGER})

MATRIX: dict[Ability, frozenset[str]] = {
    Ability.VIEW_PATIENTS: CLINICIANS | {Role.COORDINATOR},
    Ability.REGISTER_PATIENT: frozenset({Role.COORDINATOR}),
    Ability.EDIT_PATIENT: CLINICIANS | {Role.COORDINATOR},
    Ability.WORK_TASKS: CLINICIANS,
    Ability.VERIFY_TASKS: frozenset({Role.PHARMACIST, Role.NURSE, Role.ONCOLOGIST}),
    Ability.REASSIGN_TASKS: frozenset({Role.COORDINATOR}),
    Ability.OVERRIDE_GATE: frozenset({Role.ONCOLOGIST}),
    Ability.VIEW_BOARD: frozenset({Role.COORDINATOR}),
    Ability.SEND_HANDOFF: frozenset({Role.CASE_MANAGER, Role.NURSE, Role.ONCOLOGIST}),
    Ability.ACCEPT_HANDOFF: frozenset({Role.NURSE, Role.CASE_MANAGER, Role.COORDINATOR}),
    Ability.EDIT_TEMPLATES: frozenset({ADMIN}),
    Ability.READ_AUDIT_LOG: frozenset({ADMIN}),
    Ability.READ_REMINDER_LEDGER: frozenset({ADMIN}),
}


def roles_of(user) -> set[str]:
    if not (user.is_authenticated and user.is_active):
        return set()
    roles = {user.role} if user.role else set()
    if user.is_staff:
        roles.add(ADMIN)
    return roles


def can(user, ability: Ability) -> bool:
    return bool(roles_of(user) & MATRIX[ability])


def require(user, ability: Ability) -> None:
    """Refuse, in words the user understands, what their role may not do."""
    if not can(user, ability):
        allowed = sorted(Role(role).label if role in Role.values else "Administrator" for role in MATRIX[ability])
        raise PermissionDenied(f"Only {' or '.join(allowed).lower()}s may {ability.label}.")


def ability_required(ability: Ability):
    """A view for the roles that have `ability`; others get 403 (nothing patient-specific leaks)."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require(request.user, ability)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
