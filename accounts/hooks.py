"""Plain hooks through which higher layers let go of the work of a user who can no longer do it,
and say where a user's work is.

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


# --- where a user's work is ---------------------------------------------------------------------

WorkOrganisations = Callable[..., set[int]]

_work_sources: list[WorkOrganisations] = []


def register_work_organisations(source: WorkOrganisations) -> WorkOrganisations:
    """`source(user=)` gives the ids of the organisations whose patients `user` has work with in a
    higher layer (care-team memberships, grants, tasks), whether or not that work counts today."""
    if source not in _work_sources:
        _work_sources.append(source)
    return source


def work_organisations(*, user) -> set[int]:
    """The organisations of every patient `user` has work with: a user kept in these (accounts.admin)
    sees no patient of another organisation through work left from a former one."""
    if user.pk is None:
        return set()
    return set().union(*(source(user=user) for source in _work_sources))
