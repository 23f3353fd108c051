"""Who may read which unit's report: a coordinator their own unit, an administrator every unit.

A report shows counts and durations, the names of staff and the reasons they wrote (overrides,
returns), but no patient's name or record: an administrator, who sees no patient, may read it to
compare units; a coordinator reads the unit they coordinate.
"""

from accounts.models import Role, Unit
from accounts.permissions import ADMIN, Ability, can
from accounts.policy import ALLOWED, Decision, refuse

VIEW_REPORTS = Ability("view_reports", "read the unit reports", frozenset({Role.COORDINATOR, ADMIN}))


def report_units(user):
    """The units whose report the user may read, by name: every unit for an administrator, their
    own for a coordinator, none for anyone else."""
    if not can(user, VIEW_REPORTS):
        return Unit.objects.none()
    if user.is_staff:
        return Unit.objects.order_by("name", "pk")
    return Unit.objects.filter(pk=user.unit_id).order_by("name")


def can_view_report(user, unit: Unit) -> Decision:
    if not can(user, VIEW_REPORTS):
        return refuse("Only coordinators and administrators may read the unit reports.")
    if user.is_staff or (user.role == Role.COORDINATOR and user.unit_id == unit.pk):
        return ALLOWED
    return refuse("A coordinator reads the report of their own unit only.")
