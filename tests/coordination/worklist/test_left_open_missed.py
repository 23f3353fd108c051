"""The open tasks of a missed event are left open, as those of a done event are (found by a review:
the beat settled the event missed, but its tasks stayed overdue for ever, in My work and on the
board, with no way to close them: closing wanted a done event, a hard stop cannot be skipped and a
settled event's gate cannot be overridden). They leave the overdue lists, are listed neutrally on
the event page and the board, and their owner or the unit's coordinator closes them."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists import policy
from checklists.models import Task
from checklists.selectors import my_work
from checklists.services import LeftOpenOutcome, checklists_instantiate, events_settle, task_close_left_open
from coordination.reminders.policy import can_snooze
from coordination.worklist.board import left_open_tasks, overdue_tasks
from patients.models import CareEvent, Patient

from ...accounts.helpers import verified_login
from ...checklists.helpers import make_event, publish_template

WEIGHT = "Weight (kg)"


@pytest.fixture(autouse=True)
def _rendered_every_time(settings):
    settings.PAGE_CACHE_SECONDS = 0
    settings.EVENT_SETTLE_HOURS = 12


@pytest.fixture
def missed(patient):
    """A cycle start two days past whose required hard-stop weight was never taken: settled missed."""
    publish_template(
        items=[
            {"text": WEIGHT, "response_kind": "number", "min_value": 1, "max_value": 300, "hard_stop": True,
             "required": True},
            {"text": "Pump checked after the start", "due_offset_minutes": 120},
        ]
    )  # fmt: skip
    event = make_event(patient, planned_at=timezone.now() - dt.timedelta(days=2))
    checklists_instantiate(events=[event])
    assert events_settle()["missed"] == 1
    event.refresh_from_db()
    assert event.status == CareEvent.Status.MISSED
    return event


def task_of(event, text: str) -> Task:
    return Task.objects.select_related("event", "patient__unit").get(event=event, text=text)


def test_the_open_tasks_of_a_missed_event_are_left_open_not_overdue(missed, patient, nurse):
    weight = task_of(missed, WEIGHT)
    after = task_of(missed, "Pump checked after the start")  # due after the event's time: still work

    assert (weight.is_left_open, weight.is_overdue) == (True, False)
    assert (after.is_left_open, after.is_overdue) == (False, True)
    assert weight.pk not in set(my_work(nurse).values_list("pk", flat=True))
    patients = Patient.objects.filter(pk=patient.pk)
    assert [task.pk for task in overdue_tasks(patients, now=timezone.now())] == [after.pk]
    assert [task.pk for task in left_open_tasks(patients)] == [weight.pk]
    assert not can_snooze(nurse, weight)  # no more reminders to hold


def test_its_owner_or_the_coordinator_closes_a_task_of_a_missed_event(missed, nurse, coordinator, pharmacist):
    weight = task_of(missed, WEIGHT)
    assert policy.can_close_left_open(nurse, weight) and policy.can_close_left_open(coordinator, weight)
    assert not policy.can_close_left_open(pharmacist, weight)

    task_close_left_open(
        task=weight, actor=nurse, outcome=LeftOpenOutcome.NOT_DONE, reason="The cycle did not start: no weight taken."
    )

    weight.refresh_from_db()
    assert weight.status == Task.Status.NOT_DONE and not weight.is_overdue


def test_the_pages_list_a_missed_events_tasks_as_left_open_and_close_them(client, missed, coordinator):
    weight = task_of(missed, WEIGHT)
    verified_login(client, coordinator)

    event_page = client.get(reverse("event_detail", args=[missed.pk])).content.decode()
    assert "Left open when the event was missed: 1 task (Weight (kg))" in event_page
    row = event_page.split(f'id="task-{weight.pk}"')[1].split('class="list-group-item task-row')[0]
    assert '<span class="badge text-bg-secondary">Left open when the event was missed</span>' in row
    assert "Overdue" not in row
    board = client.get(reverse("board")).content.decode()
    assert "Left open when the event was done or missed (1)" in board
    assert WEIGHT not in client.get(reverse("board_overdue")).content.decode()

    url = reverse("task_close", args=[weight.pk])
    assert "was left open when the cycle start was missed" in client.get(url).content.decode().replace("\n", " ")
    response = client.post(url, {"outcome": "not_done", "reason": "The cycle did not start."})
    assert response.status_code == 302
    weight.refresh_from_db()
    assert weight.status == Task.Status.NOT_DONE


def test_the_patient_page_counts_the_missed_events_left_open_task_as_not_overdue(client, missed, patient, nurse):
    Task.objects.filter(event=missed, text="Pump checked after the start").update(status=Task.Status.CANCELLED)
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "The 1 earlier event of cycle 1" in page
    assert "overdue" not in page.split("The 1 earlier event")[1].split("</summary>")[0]
