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


class AssessmentGradedListener(Protocol):
    def __call__(self, *, assessment, actor) -> None: ...


_assessment_graded_listeners: list[AssessmentGradedListener] = []


def register_assessment_graded_listener(listener: AssessmentGradedListener) -> Callable:
    """Higher layers act on a grade (coordination's urgent alerts to the on-call oncologist)."""
    if listener not in _assessment_graded_listeners:
        _assessment_graded_listeners.append(listener)
    return listener


def notify_assessment_graded(*, assessment, actor) -> None:
    """Called in the recording (or confirming) transaction: an alert is sent with its assessment or not at all."""
    for listener in _assessment_graded_listeners:
        listener(assessment=assessment, actor=actor)
