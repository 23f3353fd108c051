"""A live snooze of a task left open when its event was done can be ended: ending holds nothing
back, and the snooze would otherwise read as if reminders were still coming after it. Snoozing such
a task again is still refused (it gets no more reminders), and so is ending by someone who may not
snooze it."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from checklists.models import Task
from checklists.services import checklists_instantiate, task_claim
from coordination.models import TaskSnooze
from coordination.reminders.services import task_snooze, task_snooze_end
from patients.models import CareEvent

from ...checklists.helpers import make_event, publish_template

EVENT_AT = dt.datetime(2026, 1, 14, 14, 0, tzinfo=dt.UTC)
PUMP = "Pump programmed and locked"


@pytest.fixture
def pump(patient, nurse, coordinator, time_machine):
    """The nurse's task, snoozed an hour before its event until two hours after; the event then
    done, the task still open: left open, its snooze still live."""
    time_machine.move_to(EVENT_AT - dt.timedelta(hours=1), tick=False)
    publish_template(items=[{"text": PUMP}])
    event = make_event(patient, planned_at=EVENT_AT)
    checklists_instantiate(events=[event])
    task = Task.objects.get(event=event)
    task_claim(task=task, actor=nurse)
    task_snooze(task=task, actor=nurse, until=EVENT_AT + dt.timedelta(hours=2), reason="Patient at X-ray")
    CareEvent.objects.filter(pk=event.pk).update(status=CareEvent.Status.DONE, actual_at=EVENT_AT)
    time_machine.move_to(EVENT_AT + dt.timedelta(minutes=30), tick=False)
    task = Task.objects.select_related("event", "patient").get(pk=task.pk)
    assert task.is_left_open
    return task


def test_the_live_snooze_of_a_task_left_open_ends_as_any_other(pump, nurse):
    assert task_snooze_end(task=pump, actor=nurse) == 1
    (snooze,) = TaskSnooze.objects.filter(task=pump)
    assert (snooze.ended_at, snooze.ended_by) == (EVENT_AT + dt.timedelta(minutes=30), nurse)


def test_ending_it_on_the_panel_says_that_no_reminders_follow(client, pump, nurse):
    client.force_login(nurse)
    panel = client.get(reverse("event_reminders", args=[pump.event_id]), HTTP_HX_REQUEST="true").text
    assert "Snoozed until" in panel and ">End snooze</button>" in panel
    assert "Snooze reminders</summary>" not in panel  # a new snooze is not offered
    response = client.post(reverse("task_snooze", args=[pump.pk]), {"end": "1"}, HTTP_HX_REQUEST="true")
    body = response.text
    assert response.status_code == 200
    assert "snooze ended. It was left open when its event was done: no reminders follow." in body
    assert "it gets no more reminders to snooze" not in body and "reminders are back on" not in body
    assert "Snoozed until" not in body and "Left open when the event was done" in body
    assert not TaskSnooze.objects.filter(task=pump, ended_at__isnull=True).exists()


def test_a_new_snooze_of_a_task_left_open_is_still_refused(pump, nurse):
    with pytest.raises(ValidationError, match="left open when its event was done"):
        task_snooze(task=pump, actor=nurse, until=EVENT_AT + dt.timedelta(hours=3), reason="Later")


def test_someone_who_may_not_snooze_it_may_not_end_its_snooze_either(pump, pharmacist):
    with pytest.raises(PermissionDenied, match="Only the people doing this task"):
        task_snooze_end(task=pump, actor=pharmacist)
    assert TaskSnooze.objects.filter(task=pump, ended_at__isnull=True).exists()
