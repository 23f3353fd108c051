"""The answer of a policy function: allowed, or refused with the sentence shown to the user.

Each domain's `policy.py` holds one function per action returning a `Decision`; its service
calls it and raises on a refusal, and its views and templates call the same function to decide
what to offer, so that a page never offers what the service refuses (STYLE.md).
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from .models import Role


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed

    def enforce(self) -> None:
        """Raise PermissionDenied with the reason when refused."""
        if not self.allowed:
            raise PermissionDenied(self.reason)


ALLOWED = Decision(True)


def refuse(reason: str) -> Decision:
    return Decision(False, reason)


def mfa_required(user) -> bool:
    """Staff (admins) and coordinators must sign in with a second step; others may choose to."""
    return bool(user.is_staff or user.is_superuser or user.role == Role.COORDINATOR)


def can_make_token(user, *, second_step_passed: bool) -> Decision:
    """An API token acts as its user: a role that must sign in with the second step (staff,
    coordinators) makes tokens only in a session that passed it."""
    if mfa_required(user) and not second_step_passed:
        return refuse("Your role signs in with two steps: sign in with your authenticator app, then make the token.")
    return ALLOWED
