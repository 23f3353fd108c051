"""A plain hook through which higher layers hear what a checklist recorded that someone must act on.

checklists/ must not import coordination/; coordination registers a listener in its
AppConfig.ready, and the services call it inside the same transaction.
"""

from collections.abc import Callable
from typing import Protocol


class HardStopListener(Protocol):
    def __call__(self, *, task, actor) -> None: ...


_hard_stop_listeners: list[HardStopListener] = []


def register_hard_stop_listener(listener: HardStopListener) -> Callable:
    """Coordination tells the patient's oncologist when a hard stop fails (the bell)."""
    if listener not in _hard_stop_listeners:
        _hard_stop_listeners.append(listener)
    return listener


def notify_hard_stop_failed(*, task, actor) -> None:
    for listener in _hard_stop_listeners:
        listener(task=task, actor=actor)
