"""Undo, verify and reassign act on the task as its user saw it (`seen`, the task's `state_version`):
an answer given since, even the same words, is refused and said as it is now."""

import datetime as dt

import pytest
from django.utils import timezone

from checklists.models import Task, TaskActivity
from checklists.services import (
    TaskConflict,
    checklists_instantiate,
    task_claim,
    task_complete,
    task_mark_not_applicable,
    task_reassign,
    task_undo,
    task_verify,
)

from .helpers import make_event, publish_template

ITEMS = [
    {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
    {"text": "Pump", "needs_verification": True, "verifier_role": "nurse"},
    {"text": "Teach the caregiver", "required": False},
]


@pytest.fixture
def tasks(patient, nurse, nurse2):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    return {t.text.split()[0].lower(): t for t in Task.objects.filter(event=event)}


def fresh(task) -> Task:
    return Task.objects.get(pk=task.pk)


def test_the_version_changes_with_what_the_row_shows_and_only_then(tasks, nurse, nurse2):
    weight = tasks["weight"]
    versions = [fresh(weight).state_version]
    done = task_complete(task=weight, actor=nurse2, value="70")
    assert done.state_version == fresh(weight).state_version  # as saved, as read back
    versions.append(done.state_version)
    task_undo(task=weight, actor=nurse2, reason="Scale")
    versions.append(task_complete(task=weight, actor=nurse2, value="70").state_version)  # same words, later
    assert len(set(versions)) == 3


def test_an_undo_of_a_skip_whose_reason_changed_since_it_was_seen_is_refused(tasks, nurse, nurse2):
    teach = tasks["teach"]
    seen = task_mark_not_applicable(task=teach, actor=nurse2, reason="Caregiver not here").state_version
    task_undo(task=teach, actor=nurse2, reason="She came")
    task_mark_not_applicable(task=teach, actor=nurse2, reason="Taught at the clinic")
    with pytest.raises(TaskConflict, match=r"it is now not applicable \(Taught at the clinic\)\. Nothing was undone"):
        task_undo(task=teach, actor=nurse, reason="Wrong patient", seen=seen)
    assert fresh(teach).status == Task.Status.NOT_APPLICABLE


def test_a_verification_of_a_completion_redone_since_it_was_seen_is_refused_and_logs_nothing(tasks, nurse, nurse2):
    pump = tasks["pump"]
    seen = task_complete(task=pump, actor=nurse2, value=True).state_version
    task_undo(task=pump, actor=nurse2, reason="Reprimed")
    task_complete(task=pump, actor=nurse2, value=True)
    before = TaskActivity.objects.count()
    with pytest.raises(TaskConflict, match="Nothing was verified"):
        task_verify(task=pump, actor=nurse, seen=seen)
    assert fresh(pump).verified_by is None and TaskActivity.objects.count() == before
    # The completion as it is now, seen, is verified.
    assert task_verify(task=pump, actor=nurse, seen=fresh(pump).state_version).verified_by == nurse


def test_a_reassignment_of_a_task_claimed_since_it_was_seen_is_refused(tasks, nurse, nurse2, coordinator):
    weight = tasks["weight"]
    seen = fresh(weight).state_version
    task_claim(task=weight, actor=nurse)
    with pytest.raises(TaskConflict, match="it is now open, claimed by"):
        task_reassign(task=weight, assignee=nurse2, reason="Nobody had it", actor=coordinator, seen=seen)
    assert fresh(weight).assignee == nurse
