"""A task left open when its event was done is no longer reminded of nor escalated: it can no longer
be done before the event (it waits, listed on the event page and the board, to be closed)."""

import datetime as dt

import pytest

from checklists.models import Task
from checklists.services import checklists_instantiate, task_claim
from coordination.models import Notification, Reminder
from coordination.reminders.sweep import reminders_sweep
from patients.models import CareEvent

from ...checklists.helpers import make_event, publish_template
from .helpers import EVENT_AT

pytestmark = pytest.mark.usefixtures("eager_celery")  # delivery runs in the test's process

ITEMS = [
    {"text": "Pump programmed and locked"},  # nurse, due at the event
    {
        "text": "Temperature",
        "response_kind": "number",
        "unit": "°C",
        "min_value": 35,
        "max_value": 38,
        "hard_stop": True,
        "due_offset_minutes": -15,
    },
]


@pytest.fixture
def event(patient, nurse, oncologist, coordinator, time_machine):
    time_machine.move_to(EVENT_AT - dt.timedelta(days=1), tick=False)
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=EVENT_AT)
    checklists_instantiate(events=[event])
    task_claim(task=Task.objects.get(event=event, text="Pump programmed and locked"), actor=nurse)
    return event


def _done(event) -> None:
    """The event is over (the infusion started), its tasks still open."""
    CareEvent.objects.filter(pk=event.pk).update(status=CareEvent.Status.DONE, actual_at=EVENT_AT)


def test_the_tasks_of_a_done_event_are_neither_reminded_as_overdue_nor_escalated(
    event, django_capture_on_commit_callbacks, time_machine
):
    _done(event)
    for after in (dt.timedelta(minutes=1), dt.timedelta(minutes=30), dt.timedelta(hours=2)):
        time_machine.move_to(EVENT_AT + after, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            reminders_sweep()
    assert not Reminder.objects.filter(task__event=event).exists()
    assert not Notification.objects.filter(title__contains="Pump").exists()


def test_a_reminder_written_before_its_event_was_done_is_skipped_at_delivery(
    event, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to(EVENT_AT + dt.timedelta(minutes=1), tick=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reminders_sweep()
    _done(event)
    for callback in callbacks:
        callback()
    written = Reminder.objects.filter(task__event=event, kind=Reminder.Kind.OVERDUE)
    assert written.exists()
    assert {(r.state, r.skip_reason) for r in written} == {
        (Reminder.State.SKIPPED, "the event is done: the task was left open")
    }
    assert not Notification.objects.filter(title__contains="Pump").exists()


def test_the_tasks_of_an_event_still_planned_are_still_escalated(
    event, django_capture_on_commit_callbacks, time_machine
):
    """The other side: only the end of the event quiets them."""
    time_machine.move_to(EVENT_AT + dt.timedelta(hours=2), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        reminders_sweep()
    assert Reminder.objects.filter(task__event=event, kind=Reminder.Kind.ESCALATION).exists()
