"""A plain hook through which higher layers let go of the work of a user who can no longer do it.

A user deactivated, or given another clinical role, can no longer work what they hold: a care-team
membership counts only in the role its user holds now, and not at all once they are inactive
(checklists.policy). Left with them, their claimed tasks were in nobody's My work, and nobody
could claim them. accounts cannot import the task engine (the layers), so the engine registers a
listener in its AppConfig.ready; the account services call it in the same transaction.
"""

from collections.abc import Callable
from typing import Protocol


class StandingChangedListener(Protocol):
    def __call__(self, *, user, actor, why: str) -> None: ...


_listeners: list[StandingChangedListener] = []


def register_standing_listener(listener: StandingChangedListener) -> Callable:
    """`listener(user=, actor=, why=)` lets go of what `user`, as they now stand (active or not, in
    their role), can no longer do; `why` says what changed, in words for a task's history."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def notify_standing_changed(*, user, actor, why: str) -> None:
    for listener in _listeners:
        listener(user=user, actor=actor, why=why)
