"""A task answered with a date and time (the premedication given at…) is typed as a date and a
24-hour time in its row, like every other form's (accounts.fields.DateAndTimeWidget): a
datetime-local picker shows AM and PM in a browser set to US English, and a premedication time
misread by 12 hours is on the wrong side of the day."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.models import Task, TemplateItem
from checklists.services import checklists_instantiate

from ...checklists.helpers import make_event, publish_template

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def task(patient):
    publish_template(items=[{"text": "Line flushed at", "response_kind": "datetime"}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=2))
    checklists_instantiate(events=[event])
    return Task.objects.get(event=event)


def test_the_row_asks_for_a_date_and_a_24_hour_time(client, nurse, task):
    client.force_login(nurse)
    page = client.get(reverse("event_detail", args=[task.event_id])).content.decode()
    assert "datetime-local" not in page
    assert f'type="date" name="task-{task.pk}-value_0"' in page
    assert f'name="task-{task.pk}-value_1"' in page and 'placeholder="HH:MM"' in page


def test_a_date_and_a_time_typed_apart_are_recorded(client, nurse, task):
    client.force_login(nurse)
    local = timezone.localtime(timezone.now() - dt.timedelta(hours=1), task.patient.unit.zone)
    data = {f"task-{task.pk}-value_0": local.strftime("%Y-%m-%d"), f"task-{task.pk}-value_1": local.strftime("%H:%M")}
    response = client.post(reverse("task_complete", args=[task.pk]), data, **HTMX)
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.value.startswith(local.strftime("%Y-%m-%d %H:%M"))


def test_a_date_without_its_time_is_refused_at_the_row_keeping_the_date(client, nurse, task):
    client.force_login(nurse)
    data = {f"task-{task.pk}-value_0": "2026-03-02", f"task-{task.pk}-value_1": ""}
    response = client.post(reverse("task_complete", args=[task.pk]), data, **HTMX).content.decode()
    assert "Give the time too, on a 24-hour clock (HH:MM)." in response
    assert 'value="2026-03-02"' in response
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


def test_a_premedication_given_in_the_hour_that_came_twice_is_recorded_once_the_nurse_says_which(
    client, nurse, patient, time_machine
):
    """New York, 1 Nov 2026: the clocks go back at 02:00 to 01:00, so 01:30 comes twice. A start at
    02:30 (EST) with its premedication at 01:30 (the second one, an hour before) is recorded."""
    new_york = zoneinfo.ZoneInfo("America/New_York")
    start = dt.datetime(2026, 11, 1, 2, 30, tzinfo=new_york)
    time_machine.move_to(start + dt.timedelta(minutes=10), tick=False)
    publish_template(
        items=[
            {
                "text": "Premedication given at",
                "response_kind": "datetime",
                "records": TemplateItem.Records.PREMEDICATION_TIME,
                "hard_stop": True,
            }
        ]
    )
    event = make_event(patient, planned_at=start)
    checklists_instantiate(events=[event])
    premedication = Task.objects.get(event=event)
    client.force_login(nurse)
    name = f"task-{premedication.pk}-value"
    typed = {f"{name}_0": "2026-11-01", f"{name}_1": "01:30"}

    asked = client.post(reverse("task_complete", args=[premedication.pk]), typed, **HTMX).content.decode()
    assert "01:30 came twice on 1 Nov 2026 on this unit&#x27;s clock" in asked
    assert f'name="{name}_2" value="first"' in asked and "01:30 the first time (EDT, UTC-4)" in asked
    assert "01:30 the second time (EST, UTC-5)" in asked
    premedication.refresh_from_db()
    assert premedication.status == Task.Status.OPEN

    answered = client.post(reverse("task_complete", args=[premedication.pk]), {**typed, f"{name}_2": "second"}, **HTMX)
    assert answered.status_code == 200
    premedication.refresh_from_db()
    assert premedication.status == Task.Status.DONE and not premedication.hard_stop_failed
    assert premedication.value == "2026-11-01 01:30, the second time"
    assert premedication.value_shown == "Sun 1 Nov 2026, 01:30, the second time"
