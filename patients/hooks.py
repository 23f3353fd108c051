"""A plain hook through which higher layers react to care events.

patients/ must not import checklists/ or coordination/; instead they register a listener in
their AppConfig.ready, and the schedule services call it inside the same transaction, so a
checklist is instantiated (or its tasks moved or cancelled) together with its event.
"""

from collections.abc import Callable, Sequence
from typing import Protocol


class EventsChangedListener(Protocol):
    def __call__(self, *, created: Sequence, moved: Sequence, cancelled: Sequence, facts: Sequence) -> None: ...


_listeners: list[EventsChangedListener] = []


def register_events_listener(listener: EventsChangedListener) -> Callable:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def notify_events_changed(
    *, created: Sequence = (), moved: Sequence = (), cancelled: Sequence = (), facts: Sequence = ()
) -> None:
    """`facts`: events whose facts changed (the patient's weight, a restart at the restart dose),
    so that what their checklists ask is decided again."""
    if not (created or moved or cancelled or facts):
        return
    for listener in _listeners:
        listener(created=created, moved=moved, cancelled=cancelled, facts=facts)


class CourseStoppedListener(Protocol):
    def __call__(self, *, course, reason: str, actor) -> None: ...


_course_stopped_listeners: list[CourseStoppedListener] = []


def register_course_stopped_listener(listener: CourseStoppedListener) -> Callable:
    """Higher layers tell the care team when a course stops for good (coordination's bell)."""
    if listener not in _course_stopped_listeners:
        _course_stopped_listeners.append(listener)
    return listener


def notify_course_stopped(*, course, reason: str, actor) -> None:
    for listener in _course_stopped_listeners:
        listener(course=course, reason=reason, actor=actor)


class WatchListener(Protocol):
    def __call__(self, *, patient, actor, assessment=None, check_in=None) -> bool: ...


_watch_listeners: list[WatchListener] = []


def register_watch_listener(listener: WatchListener) -> Callable:
    """Higher layers act on what the toxicity watch records (coordination's urgent alerts to the
    oncologist on call): a graded assessment, or a home check-in."""
    if listener not in _watch_listeners:
        _watch_listeners.append(listener)
    return listener


def notify_watch(*, patient, actor, assessment=None, check_in=None) -> bool:
    """Called in the recording transaction: an alert is stored with what set it off, or not at all.
    True when a listener alerted someone: only the higher layer knows the unit's alert policy, so
    the page that tells the nurse "the oncologist is alerted" asks this, never a grade of its own."""
    results = [
        listener(patient=patient, actor=actor, assessment=assessment, check_in=check_in)
        for listener in _watch_listeners
    ]
    return any(results)


class WatchAlertedQuery(Protocol):
    def __call__(self, *, assessment) -> bool: ...


_watch_alerted_queries: list[WatchAlertedQuery] = []


def register_watch_alerted_query(query: WatchAlertedQuery) -> Callable:
    """Higher layers say whether a recorded assessment alerted someone (coordination's alerts)."""
    if query not in _watch_alerted_queries:
        _watch_alerted_queries.append(query)
    return query


def watch_alerted(*, assessment) -> bool:
    """Whether the watch alerted someone when `assessment` was recorded: the same assessment sent
    again (a double click) is answered as the first was, truthfully, without alerting anyone again."""
    return any(query(assessment=assessment) for query in _watch_alerted_queries)


class TransferListener(Protocol):
    def __call__(self, *, transfer) -> None: ...


_transfer_listeners: list[TransferListener] = []


def register_transfer_listener(listener: TransferListener) -> Callable:
    """Higher layers tell both units' coordinators that a patient moved (coordination's bell)."""
    if listener not in _transfer_listeners:
        _transfer_listeners.append(listener)
    return listener


def notify_transfer(*, transfer) -> None:
    for listener in _transfer_listeners:
        listener(transfer=transfer)


class BagRecordedListener(Protocol):
    def __call__(self, *, bag, actor) -> None: ...


_bag_listeners: list[BagRecordedListener] = []


def register_bag_listener(listener: BagRecordedListener) -> Callable:
    """Higher layers re-check what was checked against an event's bag when a new bag replaces it
    (checklists: the nurse's "Pump rate entered" answer)."""
    if listener not in _bag_listeners:
        _bag_listeners.append(listener)
    return listener


def notify_bag_recorded(*, bag, actor) -> None:
    """Called in the recording transaction, with the event locked."""
    for listener in _bag_listeners:
        listener(bag=bag, actor=actor)


class CareTeamLeftListener(Protocol):
    def __call__(self, *, user, patient, actor) -> None: ...


_care_team_left_listeners: list[CareTeamLeftListener] = []


def register_care_team_left_listener(listener: CareTeamLeftListener) -> Callable:
    """Higher layers let go of what a user held for a patient whose care team they have left
    (checklists: their claimed tasks go back to the pool)."""
    if listener not in _care_team_left_listeners:
        _care_team_left_listeners.append(listener)
    return listener


def notify_care_team_left(*, user, patient, actor) -> None:
    """Called in the removing transaction, after the membership is gone."""
    for listener in _care_team_left_listeners:
        listener(user=user, patient=patient, actor=actor)


class RestartMovedListener(Protocol):
    def __call__(self, *, interruption, moved_from, actor) -> None: ...


_restart_moved_listeners: list[RestartMovedListener] = []


def register_restart_moved_listener(listener: RestartMovedListener) -> Callable:
    """Higher layers write who moved a planned restart, from when to when, into the patient's
    history (checklists: a line on the restart's checklist, or the stop's)."""
    if listener not in _restart_moved_listeners:
        _restart_moved_listeners.append(listener)
    return listener


def notify_restart_moved(*, interruption, moved_from, actor) -> None:
    """Called in the moving transaction, once the plan is rebuilt."""
    for listener in _restart_moved_listeners:
        listener(interruption=interruption, moved_from=moved_from, actor=actor)
