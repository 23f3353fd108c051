"""Who may subscribe to which calendar: "my due work" for anyone with a clinical role, "the
unit's next 7 days" for whoever watches the unit's board (worklist.policy.VIEW_BOARD)."""

from accounts.models import Role
from accounts.permissions import can
from accounts.policy import ALLOWED, Decision, mfa_required

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


def can_read(key, feed: str) -> Decision:
    """Whether the links of `key` (a FeedKey) open `feed` now: its user may subscribe to it, and the
    links were made after the second sign-in step if the user's role requires it, as an API token
    must be (accounts.api_auth): links made with the password alone before the user was made
    coordinator or staff do not open the unit's calendar to whoever else held that password."""
    if mfa_required(key.user) and not key.with_second_step:
        return Decision(
            False,
            "Your role now signs in with two steps, and these calendar links were made without them: "
            "make new ones on your Security page.",
        )
    return can_subscribe(key.user, feed)


def feeds_for(user) -> list[str]:
    return [feed for feed in (MY_WORK, UNIT_WEEK) if can_subscribe(user, feed)]
