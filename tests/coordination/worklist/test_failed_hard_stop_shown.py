"""A failed hard stop is never hidden: it stays in its completer's My work unless an override in
force covers that very answer, and its event's gate reads a red "Not ready" (and the unit board
lists it) even before the event's work opens."""

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from checklists import selectors
from checklists.gate import event_readiness
from checklists.gate_sql import blockers_of_events_not_ready, not_ready_with_work_open
from checklists.models import Checklist, Task
from checklists.selectors import my_work
from checklists.services import checklists_instantiate, task_complete
from coordination.worklist.board import blocked_events
from patients.models import CareEvent, Patient
from patients.services import event_move

from ...checklists.helpers import make_event, override_gate, publish_template

TEMPERATURE = "Temperature before the start"
CONSENT = "Consent signed"
ITEMS = [
    {"text": TEMPERATURE, "response_kind": "number", "unit": "°C", "min_value": 35, "max_value": 38.5,
     "hard_stop": True},
    {"text": CONSENT},
]  # fmt: skip


@pytest.fixture(autouse=True, params=["compiled", "built"])
def how_asked(request, monkeypatch):
    """My work asks the gate's rule compiled once per user (PostgreSQL), or built each time where
    nothing is compiled (`make run`'s SQLite): both must keep the same answers."""
    if request.param == "built":
        monkeypatch.setattr(selectors, "compiled", lambda *args: None)
    return request.param


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


@pytest.mark.django_db
def test_a_hard_stop_failed_before_the_work_opens_reads_not_ready_in_red_and_is_on_the_board(patient, nurse):
    event = make(patient, 60)  # its work opens in 36 hours
    fail_temperature(event, nurse)
    now = timezone.now()
    readiness = event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks")).with_clock(now)
    assert readiness.late and not readiness.not_yet_due
    badge = render_to_string("coordination/worklist/partials/gate_badge.html", {"readiness": readiness})
    assert "text-bg-danger" in badge and "Not ready" in badge and "Not yet due" not in badge

    events = CareEvent.objects.filter(pk=event.pk)
    assert list(not_ready_with_work_open(events, now=now)) == [event]
    assert set(blockers_of_events_not_ready(events, now=now).values_list("text", flat=True)) == {
        TEMPERATURE,
        CONSENT,
    }
    assert [e.pk for e in blocked_events(Patient.objects.filter(pk=patient.pk), now=now)] == [event.pk]


@pytest.mark.django_db
def test_a_failed_hard_stop_of_an_event_under_way_stays_in_my_work(patient, nurse):
    """An event under way (its infusion started) is live as a planned one is: its gate may still be
    overridden, so what blocks it stays in sight."""
    event = make(patient, 3)
    failed = fail_temperature(event, nurse)
    CareEvent.objects.filter(pk=event.pk).update(status=CareEvent.Status.IN_PROGRESS)
    assert failed in my_work(nurse)
    CareEvent.objects.filter(pk=event.pk).update(status=CareEvent.Status.DONE)
    assert failed not in my_work(nurse)  # history
