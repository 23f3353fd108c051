"""A plain hook through which higher layers react to care events.

patients/ must not import checklists/ or coordination/; instead they register a listener in
their AppConfig.ready, and the schedule services call it inside the same transaction, so a
checklist is instantiated (or its tasks moved or cancelled) together with its event.
"""

from collections.abc import Callable, Sequence
from typing import Protocol


class EventsChangedListener(Protocol):
    def __call__(self, *, created: Sequence, moved: Sequence, cancelled: Sequence) -> None: ...


_listeners: list[EventsChangedListener] = []


def register_events_listener(listener: EventsChangedListener) -> Callable:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def notify_events_changed(*, created: Sequence = (), moved: Sequence = (), cancelled: Sequence = ()) -> None:
    if not (created or moved or cancelled):
        return
    for listener in _listeners:
        listener(created=created, moved=moved, cancelled=cancelled)
