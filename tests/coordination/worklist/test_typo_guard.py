"""A typo must not fail a hard stop in silence (issue 14, item 1): an answer that fails it is
recorded only when confirmed, the failure is said loudly, stays in My work and reaches the oncologist."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.models import Task
from checklists.services import checklists_instantiate, task_undo
from coordination.models import Notification

from ...checklists.helpers import make_event, publish_template

HTMX = {"HTTP_HX_REQUEST": "true"}
TEMPERATURE = "Temperature before the start"
ITEMS = [
    {
        "text": TEMPERATURE,
        "response_kind": "number",
        "unit": "°C",
        "min_value": 35,
        "max_value": 38.5,
        "hard_stop": True,
    }
]


@pytest.fixture
def temperature(patient, nurse, oncologist):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    return Task.objects.get(event=event, text=TEMPERATURE)


def post(client, task, value, **extra):
    data = {f"task-{task.pk}-value": value, **{f"task-{task.pk}-{k}": v for k, v in extra.items()}}
    return client.post(reverse("task_complete", args=[task.pk]), data, **HTMX).content.decode()


def test_a_value_failing_the_hard_stop_asks_to_be_checked_and_records_nothing(client, nurse, temperature):
    client.force_login(nurse)
    row = post(client, temperature, "375")
    assert "375 °C is outside 35–38.5 °C: recorded, it fails the hard stop and blocks the cycle start." in row
    assert "is-invalid" in row and 'value="375"' in row  # the typed value stays, to be corrected
    assert f'name="task-{temperature.pk}-confirmed" value="375"' in row and "Record 375 anyway" in row
    temperature.refresh_from_db()
    assert temperature.status == Task.Status.OPEN
    assert not Notification.objects.exists()


def test_the_corrected_value_is_recorded_without_a_question(client, nurse, temperature):
    client.force_login(nurse)
    post(client, temperature, "375")
    row = post(client, temperature, "37.5")
    assert "Done" in row and "37.5 °C" in row and "Hard stop failed" not in row


def test_a_confirmation_holds_only_for_the_very_value_it_was_shown(client, nurse, temperature):
    client.force_login(nurse)
    row = post(client, temperature, "390", confirmed="375")
    assert "Record 390 anyway" in row
    temperature.refresh_from_db()
    assert temperature.status == Task.Status.OPEN


def test_a_confirmed_failure_is_said_loudly_stays_in_my_work_and_tells_the_oncologist(
    client, nurse, oncologist, temperature
):
    client.force_login(nurse)
    row = post(client, temperature, "39.2", confirmed="39.2")
    assert 'class="alert alert-danger fw-semibold' in row and 'role="alert"' in row
    assert "Hard stop failed: 39.2 °C is outside 35–38.5 °C. The cycle start is blocked" in row
    assert "the oncologist has been told" in row and "Hard stop failed: blocks the event" in row
    assert "alert-success" not in row

    my_work = client.get(reverse("home")).content.decode()
    assert TEMPERATURE in my_work and "Hard stop failed: blocks the event" in my_work
    assert Notification.objects.get(recipient=oncologist).title.startswith("Hard stop failed")

    task_undo(task=Task.objects.get(pk=temperature.pk), actor=nurse, reason="Typed 39.2 for 37.2")
    assert "Hard stop failed" not in client.get(reverse("home")).content.decode()


def test_without_javascript_a_confirmed_failure_comes_back_as_an_error_message(client, nurse, temperature):
    client.force_login(nurse)
    data = {f"task-{temperature.pk}-value": "39.2", f"task-{temperature.pk}-confirmed": "39.2", "next": "/"}
    page = client.post(reverse("task_complete", args=[temperature.pk]), data, follow=True).content.decode()
    assert "alert-danger" in page and "Hard stop failed: 39.2 °C is outside 35–38.5 °C" in page


def test_a_weight_far_from_the_records_is_asked_about_in_its_row_then_taken_as_it_is(client, nurse, patient):
    """The weight task ("records: today's weight") has no hard stop, yet 7.0 typed for 70 kg would
    dose by body-surface area: its row asks, as for a failing answer, and the confirmed weight is
    done, failing nothing and telling nobody."""
    publish_template(
        name="Weighing", items=[{"text": "Weight (kg)", "response_kind": "number", "unit": "kg", "records": "weight"}]
    )
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    weight = Task.objects.get(event=event, text="Weight (kg)")
    client.force_login(nurse)
    row = post(client, weight, "7.0")
    assert "7 kg now is a 90 % drop: confirm or correct." in row and "Record 7.0 anyway" in row
    weight.refresh_from_db()
    assert weight.status == Task.Status.OPEN
    row = post(client, weight, "7.0", confirmed="7.0")
    assert "Done" in row and "Hard stop failed" not in row
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("7")
    assert not Notification.objects.exists()
