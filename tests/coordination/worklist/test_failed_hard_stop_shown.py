"""A failed hard stop is never hidden: it stays in its completer's My work unless an override in
force covers that very answer, and its event's gate reads a red "Not ready" (and the unit board
lists it) even before the event's work opens."""

import datetime as dt

import pytest
from django.utils import timezone

from checklists.gate import event_readiness
from checklists.models import Checklist, Task
from checklists.selectors import my_work
from checklists.services import checklists_instantiate, task_complete
from patients.services import event_move

from ...checklists.helpers import make_event, override_gate, publish_template

TEMPERATURE = "Temperature before the start"
CONSENT = "Consent signed"
ITEMS = [
    {"text": TEMPERATURE, "response_kind": "number", "unit": "°C", "min_value": 35, "max_value": 38.5,
     "hard_stop": True},
    {"text": CONSENT},
]  # fmt: skip


def make(patient, hours):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=hours))
    checklists_instantiate(events=[event])
    return event


def fail_temperature(event, nurse):
    task = Task.objects.get(event=event, text=TEMPERATURE)
    task_complete(task=task, actor=nurse, value="39.2", confirmed=True)
    return task


@pytest.mark.django_db
def test_a_hard_stop_failing_after_an_override_of_other_blockers_stays_in_my_work(patient, nurse, oncologist):
    event = make(patient, 3)
    override_gate(event, oncologist, reason="Consent confirmed verbally with the family")  # both open then
    failed = fail_temperature(event, nurse)
    assert not event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks")).ready
    assert failed in my_work(nurse)


@pytest.mark.django_db
def test_a_failed_hard_stop_comes_back_to_my_work_when_its_event_moves(patient, nurse, oncologist):
    event = make(patient, 3)
    failed = fail_temperature(event, nurse)
    override_gate(event, oncologist, reason="39.2 accepted: fever known, cultures taken")
    assert failed not in my_work(nurse)  # covered by the override in force
    event_move(event=event, planned_at=event.planned_at + dt.timedelta(days=2))  # the override is lifted
    assert not event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks")).ready
    assert failed in my_work(nurse)
