"""Who may subscribe to which calendar: "my due work" for anyone with a clinical role, "the
unit's next 7 days" for whoever watches the unit's board (worklist.policy.VIEW_BOARD)."""

from accounts.models import Role
from accounts.permissions import can
from accounts.policy import ALLOWED, Decision

from ..worklist.policy import VIEW_BOARD

MY_WORK = "my-work"
UNIT_WEEK = "unit"


def can_subscribe(user, feed: str) -> Decision:
    if not user.is_active:
        return Decision(False, "This account is no longer active.")
    if feed == MY_WORK:
        if user.role not in Role.values:
            return Decision(False, "The calendar of due work is for the clinical roles.")
        return ALLOWED
    if not can(user, VIEW_BOARD):
        return Decision(False, "The unit's calendar is for the unit's coordinators.")
    if user.unit_id is None:
        return Decision(False, "The unit's calendar needs your unit: ask an administrator to set it.")
    return ALLOWED


def feeds_for(user) -> list[str]:
    return [feed for feed in (MY_WORK, UNIT_WEEK) if can_subscribe(user, feed)]
