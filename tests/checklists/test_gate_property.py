"""Whatever two nurses do to a checklist, the gate is never ready while something required is missing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checklists.gate import checklist_readiness
from checklists.models import Checklist, Task
from checklists.services import TaskConflict, task_complete, task_mark_not_applicable, task_undo, task_verify

from .helpers import checklist_for, make_event, publish_template

# Each item: its fields, a valid answer and a failing one (refused, or failing the hard stop).
ITEMS = [
    ({"text": "Check the line"}, "on", ""),
    ({"text": "Note the bag volume", "response_kind": "text", "required": False}, "240 ml", " "),
    (
        {"text": "Record the weight", "response_kind": "number", "unit": "kg", "min_value": 30, "max_value": 150},
        "70",
        "12",
    ),
    (
        {
            "text": "Check the dose",
            "response_kind": "number",
            "unit": "mcg/day",
            "min_value": 9,
            "max_value": 28,
            "hard_stop": True,
        },
        "28",
        "112",
    ),
    ({"text": "Double-check the pump", "needs_verification": True, "verifier_role": "nurse"}, "on", "off"),
    (
        {
            "text": "Pump programme matches the label",
            "response_kind": "choice",
            "choices": ["yes", "no"],
            "failing_choices": ["no"],
            "hard_stop": True,
            "needs_verification": True,
        },
        "yes",
        "no",
    ),
    ({"text": "Teach the caregiver", "response_kind": "attestation", "required": False}, "attested", "maybe"),
]
TEXTS = [spec["text"] for spec, _, _ in ITEMS]
ANSWERS = {spec["text"]: (valid, failing) for spec, valid, failing in ITEMS}

OPERATIONS = ["complete", "complete failing", "undo", "verify", "not applicable"]
EXPECTED_REFUSALS = (ValidationError, PermissionDenied, TaskConflict)

steps = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.sampled_from(TEXTS), st.sampled_from([0, 1])),
    min_size=1,
    max_size=25,
)


@pytest.fixture
def board(patient, nurse, nurse2):
    """One checklist, built once per test; every example starts from its fresh tasks."""
    version = publish_template(items=[spec for spec, _, _ in ITEMS])
    checklist = checklist_for(make_event(patient), version)
    return checklist, {task.text: task for task in checklist.tasks.all()}, [nurse, nurse2]


def apply(operation, task, actor):
    valid, failing = ANSWERS[task.text]
    if operation == "complete":
        task_complete(task=task, actor=actor, value=valid)
    elif operation == "complete failing":
        task_complete(task=task, actor=actor, value=failing)
    elif operation == "undo":
        task_undo(task=task, actor=actor, reason="Entered on the wrong patient")
    elif operation == "verify":
        task_verify(task=task, actor=actor)
    else:
        task_mark_not_applicable(task=task, actor=actor, reason="Done elsewhere")


def missing(tasks) -> list[str]:
    """What keeps the checklist from being ready, read from the rows, not from the gate's code."""
    return [
        task.text
        for task in tasks
        if (task.status == Task.Status.OPEN and task.required)
        or (task.status == Task.Status.DONE and task.hard_stop_failed)
        or (task.status == Task.Status.DONE and task.needs_verification and task.verified_by_id is None)
    ]


def assert_consistent(checklist_pk):
    checklist = Checklist.objects.get(pk=checklist_pk)
    tasks = list(Task.objects.filter(checklist_id=checklist_pk))
    readiness = checklist_readiness(checklist, tasks)
    blocked_by = missing(tasks)
    assert readiness.ready is not bool(blocked_by), blocked_by
    assert sorted(b.text for b in readiness.blockers) == sorted(blocked_by)
    for task in tasks:
        assert task.status in (Task.Status.OPEN, Task.Status.DONE, Task.Status.NOT_APPLICABLE)
        if task.status == Task.Status.DONE:
            assert task.completed_by_id and task.completed_at and task.value
        else:
            assert not (task.completed_by_id or task.verified_by_id or task.value or task.hard_stop_failed)
        if task.verified_by_id:
            assert task.status == Task.Status.DONE and task.needs_verification
            assert task.verified_by_id != task.completed_by_id
        if task.status == Task.Status.NOT_APPLICABLE:
            assert not (task.hard_stop or task.needs_verification) and task.not_applicable_reason
        if task.hard_stop_failed:
            assert task.hard_stop


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_the_gate_is_never_ready_while_a_required_task_is_missing(board, steps):
    checklist, tasks, nurses = board
    with transaction.atomic():  # each example starts from the fixture's open tasks
        assert_consistent(checklist.pk)
        for operation, text, who in steps:
            try:
                apply(operation, tasks[text], nurses[who])
            except EXPECTED_REFUSALS:
                pass
            assert_consistent(checklist.pk)
        transaction.set_rollback(True)


def test_a_full_run_through_opens_the_gate(board):
    """The property is not vacuous: some sequence of operations makes the checklist ready."""
    checklist, tasks, (nurse, nurse2) = board
    for text in ["Check the line", "Record the weight", "Check the dose", "Double-check the pump"]:
        apply("complete", tasks[text], nurse)
    assert not checklist_readiness(checklist).ready
    apply("complete", tasks["Pump programme matches the label"], nurse)  # a hard stop is required
    apply("verify", tasks["Pump programme matches the label"], nurse2)
    apply("verify", tasks["Double-check the pump"], nurse2)
    assert checklist_readiness(Checklist.objects.get(pk=checklist.pk)).ready
