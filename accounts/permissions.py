"""Abilities: which role may do what kind of work at all, each declared by its own app.

Roles decide what kind of work a user may do at all; care-team membership (the access policy
in patients/) decides on whose records. Services check both; views check the ability early so
that a user never sees a form they could not submit. `tests/test_authorization_matrix.py`
walks every URL with every role against the abilities the apps declare.
"""

from dataclasses import dataclass
from functools import wraps

from django.core.exceptions import PermissionDenied

from .models import Role

# Administrators are staff users; they carry no clinical role and see no patient by being admins.
ADMIN = "admin"


@dataclass(frozen=True)
class Ability:
    """Something a role may do at all. Each app declares the abilities of its own features in its
    policy module (patients.policy.REGISTER_PATIENT, checklists.policy.WORK_TASKS…), so that this
    app knows nothing of the features above it; ABILITIES lists every one declared."""

    name: str
    label: str
    roles: frozenset[str]

    def __post_init__(self) -> None:
        if ABILITIES.setdefault(self.name, self) is not self:
            raise ValueError(f"The ability {self.name!r} is declared twice.")


ABILITIES: dict[str, Ability] = {}

CLINICIANS = frozenset({Role.PHARMACIST, Role.NURSE, Role.ONCOLOGIST, Role.CASE_MANAGER})

# The accounts app's own: the audit log.
READ_AUDIT_LOG = Ability("read_audit_log", "read the audit log", frozenset({ADMIN}))


def roles_of(user) -> frozenset[str]:
    """The user's role, and "admin" for staff: worked out once for the user object as it stands
    (a page asks `can` of every row), again when any of what it reads changes."""
    state = (user.is_authenticated, user.is_active, getattr(user, "role", ""), user.is_staff)
    known = getattr(user, "_roles_of", None)
    if known is not None and known[0] == state:
        return known[1]
    roles: set[str] = set()
    if state[0] and state[1]:
        roles = {user.role} if user.role else set()
        if user.is_staff:
            roles.add(ADMIN)
    user._roles_of = (state, frozenset(roles))
    return user._roles_of[1]


def can(user, ability: Ability) -> bool:
    return bool(roles_of(user) & ability.roles)


def require(user, ability: Ability) -> None:
    """Refuse, in words the user understands, what their role may not do."""
    if not can(user, ability):
        allowed = sorted(Role(role).label if role in Role.values else "Administrator" for role in ability.roles)
        raise PermissionDenied(f"Only {' or '.join(f'{label}s' for label in allowed).lower()} may {ability.label}.")


def ability_required(ability: Ability):
    """A view for the roles that have `ability`; others get 403 (nothing patient-specific leaks)."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require(request.user, ability)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
