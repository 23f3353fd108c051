"""The gate asked of the database (checklists.gate_sql) answers as the gate in Python
(checklists.gate) does, on generated checklists: which events are not ready with their work open,
and what blocks each, by role."""

import datetime as dt
from collections import defaultdict

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checklists.gate import blocker_key, event_readiness
from checklists.gate_sql import blockers_by_role, not_ready_with_work_open, roles_waited_for
from checklists.models import Checklist, Task
from checklists.services import checklists_instantiate
from patients.models import CareEvent

from .helpers import make_event, publish_template

ROLES = ["nurse", "pharmacist", "oncologist"]
ITEMS = [{"text": f"Item {n}", "role": ROLES[n % 3]} for n in range(4)]
NOW = timezone.now().replace(microsecond=0)
ANSWER = "30"  # every done task's: an override names the blockers of done tasks with it

task_state = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["open", "done", "not_applicable", "cancelled"]),
        "required": st.booleans(),
        "hard_stop_failed": st.booleans(),
        "needs_verification": st.booleans(),
        "verified": st.booleans(),
        "verifier_role": st.sampled_from(["", *ROLES]),
        "due_hours": st.integers(min_value=-30, max_value=60),  # from now: the work opens within 24 h
    }
)
# Per checklist: overridden or not, and which of its tasks' possible keys the override covers.
override = st.tuples(
    st.booleans(), st.sets(st.tuples(st.integers(0, 3), st.sampled_from(["open", "unverified", "hard_stop"])))
)


@pytest.fixture
def events(patient, nurse, nurse2):
    """Three events of the patient, each with two checklists (of two templates) of four tasks."""
    publish_template(items=ITEMS, name="B checks")
    publish_template(items=ITEMS, name="A checks")
    made = [make_event(patient, planned_at=NOW + dt.timedelta(hours=hours)) for hours in (2, 30, 60)]
    checklists_instantiate(events=made)
    return made, (nurse, nurse2)


def set_states(event_ids, states, overrides, people):
    completer, checker = people
    checklists = list(Checklist.objects.filter(event_id__in=event_ids).order_by("event_id", "template__name"))
    for checklist, (overridden, covered) in zip(checklists, overrides, strict=False):
        tasks = list(Task.objects.filter(checklist=checklist).order_by("order"))
        for task, state in zip(tasks, states[: len(tasks)], strict=False):
            done = state["status"] == "done"
            Task.objects.filter(pk=task.pk).update(
                status=state["status"],
                required=state["required"],
                hard_stop_failed=done and state["hard_stop_failed"],
                needs_verification=state["needs_verification"],
                verifier_role=state["verifier_role"],
                completed_by=completer if done else None,
                completed_at=NOW if done else None,
                value=ANSWER if done else "",
                verified_by=checker if done and state["verified"] else None,
                due_at=NOW + dt.timedelta(hours=state["due_hours"]),
            )
        states = states[len(tasks) :]
        keys = [blocker_key(tasks[n].pk, kind, ANSWER) for n, kind in covered if n < len(tasks)] + ["0:open"]
        Checklist.objects.filter(pk=checklist.pk).update(
            override_reason="Checked on paper" if overridden else "", overridden_blockers=keys
        )


def python_gate(event_ids):
    """Per event: whether the board lists it, and its unresolved blockers' texts by role, in the
    order of the event page (checklists by template name, tasks by item order)."""
    answers = {}
    for event_id in event_ids:
        checklists = list(Checklist.objects.filter(event_id=event_id).order_by("template__name"))
        for checklist in checklists:
            checklist._prefetched_objects_cache = {"tasks": Task.objects.filter(checklist=checklist).order_by("order")}
        readiness = event_readiness(checklists).with_clock(NOW)
        listed = not readiness.ready and not readiness.not_yet_due
        by_role = defaultdict(list)
        for blocker in readiness.unresolved:
            by_role[blocker.role].append(blocker.text)
        answers[event_id] = (listed, dict(by_role))
    return answers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(states=st.lists(task_state, min_size=24, max_size=24), overrides=st.lists(override, min_size=6, max_size=6))
def test_the_gate_in_sql_answers_as_the_gate_in_python(events, states, overrides):
    made, people = events
    ids = [event.pk for event in made]
    with transaction.atomic():  # each example starts from the fixture's checklists
        set_states(ids, states, overrides, people)
        expected = python_gate(ids)

        listed = set(
            not_ready_with_work_open(CareEvent.objects.filter(pk__in=ids), now=NOW).values_list("pk", flat=True)
        )
        assert listed == {pk for pk, (on_board, _) in expected.items() if on_board}

        counted = blockers_by_role(ids, texts=3)
        for pk, (_, by_role) in expected.items():
            got = {row["role"]: (row["count"], row["texts"]) for row in counted.get(pk, [])}
            assert got == {role: (len(texts), texts[:3]) for role, texts in by_role.items()}

        waiting = set(roles_waited_for(CareEvent.objects.filter(pk__in=ids), now=NOW))
        assert waiting == {(pk, role) for pk in listed for role in expected[pk][1]}
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("first_due", "work_open"),
    [(dt.timedelta(hours=24), True), (dt.timedelta(hours=24, seconds=1), False)],
    ids=["due-in-exactly-24-h", "due-a-second-later"],
)
def test_both_gates_open_an_events_work_at_the_same_moment(events, first_due, work_open):
    """The edge of the work horizon, which the generated checklists above seldom hit: a task due
    exactly 24 h from now opens its event's work, in Python (Readiness.not_yet_due) and in SQL
    (not_ready_with_work_open) alike; a second later it is not yet due in both."""
    made, _ = events
    soon = made[0]
    Task.objects.filter(event=soon).update(due_at=NOW + first_due)

    listed, _ = python_gate([soon.pk])[soon.pk]
    assert listed is work_open
    assert not_ready_with_work_open(CareEvent.objects.filter(pk=soon.pk), now=NOW).exists() is work_open


def test_a_cancelled_task_due_soon_opens_the_work_in_neither_gate(events):
    """Readiness.opens_at reads the first due time of the tasks that are not cancelled, and so must
    the board: an event whose open work is 2 days away stays "Not yet due" whatever was cancelled."""
    made, _ = events
    soon = made[0]
    Task.objects.filter(event=soon).update(due_at=NOW + dt.timedelta(hours=48))
    first = Task.objects.filter(event=soon).order_by("pk").first()
    Task.objects.filter(pk=first.pk).update(status=Task.Status.CANCELLED, due_at=NOW + dt.timedelta(hours=1))

    listed, _ = python_gate([soon.pk])[soon.pk]
    assert not listed
    assert not not_ready_with_work_open(CareEvent.objects.filter(pk=soon.pk), now=NOW).exists()


def test_an_override_covers_only_the_blockers_it_names(events):
    """The property is not vacuous: an override of what there was lets the event go; a blocker
    that comes after it blocks again."""
    made, (nurse, _) = events
    soon = made[0]
    Task.objects.filter(event=soon).update(due_at=NOW + dt.timedelta(hours=1))
    open_ids = list(Task.objects.filter(event=soon).values_list("pk", flat=True))
    Checklist.objects.filter(event=soon).update(
        override_reason="Urgent", overridden_blockers=[f"{pk}:open" for pk in open_ids]
    )
    events_ = CareEvent.objects.filter(pk=soon.pk)
    assert not not_ready_with_work_open(events_, now=NOW).exists()

    late = Task.objects.filter(event=soon).order_by("pk").first()
    Task.objects.filter(pk=late.pk).update(status="done", completed_by=nurse, completed_at=NOW, hard_stop_failed=True)
    assert list(not_ready_with_work_open(events_, now=NOW)) == [soon]
    assert blockers_by_role([soon.pk])[soon.pk] == [{"role": late.role, "count": 1, "texts": [late.text]}]
