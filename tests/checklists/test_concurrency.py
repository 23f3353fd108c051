"""Two people acting on the same task at the same moment: one wins, the other is told who won.

Real PostgreSQL row locks, real threads with their own connections, committed data.
"""

import functools

import pytest

from checklists.models import Checklist, Task, TaskActivity
from checklists.services import TaskConflict, checklists_instantiate, task_claim, task_complete

from ..database_helpers import race
from .helpers import checklist_for, make_event, publish_template

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


@pytest.fixture
def tasks(patient, nurse, nurse2):
    version = publish_template(items=[{"text": f"Check {n}", "response_kind": "text"} for n in range(ROUNDS)])
    return list(checklist_for(make_event(patient), version).tasks.order_by("order"))


def race_by(action, actors) -> dict:
    """`action(actor)` for each actor in a thread of its own, released together: each one's outcome
    by user name."""
    outcomes = race(*(functools.partial(action, actor) for actor in actors))
    return {actor.username: outcome for actor, outcome in zip(actors, outcomes, strict=True)}


def winner_and_loser(outcomes, actors):
    won = [actor for actor in actors if isinstance(outcomes[actor.username], Task)]
    lost = [actor for actor in actors if isinstance(outcomes[actor.username], TaskConflict)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    return won[0], outcomes[lost[0].username]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_nurses_completing_the_same_task_at_once_give_one_completion(tasks, nurse, nurse2, round_):
    task = tasks[round_]
    actors = [nurse, nurse2]
    outcomes = race_by(lambda actor: task_complete(task=task, actor=actor, value=f"by {actor.username}"), actors)

    winner, conflict = winner_and_loser(outcomes, actors)
    assert f"Already completed by {winner}" in str(conflict)
    stored = Task.objects.get(pk=task.pk)
    assert (stored.status, stored.completed_by, stored.value) == ("done", winner, f"by {winner.username}")
    assert TaskActivity.objects.filter(task=task, action=TaskActivity.Action.COMPLETE).count() == 1


def test_two_nurses_claiming_the_same_task_at_once_give_one_assignee(tasks, nurse, nurse2):
    task = tasks[0]
    actors = [nurse, nurse2]
    outcomes = race_by(lambda actor: task_claim(task=task, actor=actor), actors)

    winner, conflict = winner_and_loser(outcomes, actors)
    assert str(conflict) == f"Already claimed by {winner}."
    assert Task.objects.get(pk=task.pk).assignee == winner
    assert TaskActivity.objects.filter(task=task, action=TaskActivity.Action.CLAIM).count() == 1


def test_two_instantiations_of_the_same_event_at_once_give_one_checklist(patient, nurse, nurse2):
    version = publish_template(items=[{"text": "Check the line"}, {"text": "Weigh"}])
    event = make_event(patient)
    outcomes = race_by(lambda actor: checklists_instantiate(events=[event]), [nurse, nurse2])

    assert not [outcome for outcome in outcomes.values() if isinstance(outcome, Exception)], outcomes
    assert sorted(len(outcome) for outcome in outcomes.values()) == [0, 1]  # one created, one found it
    assert Checklist.objects.filter(event=event, version=version).count() == 1
    assert Task.objects.filter(event=event).count() == 2


def test_two_editors_adding_an_item_at_the_same_position_at_once_give_one_item_and_a_field_message():
    """Issue 15, finding 7: the second used to hit the unique constraint and answer 500."""
    from django.core.exceptions import ValidationError

    from accounts.models import Role
    from checklists.models import ChecklistTemplate, TemplateItem
    from checklists.services import template_item_create, template_version_new_draft
    from patients.models import CareEvent

    from ..factories import UserFactory

    editors = [UserFactory(username=f"editor{n}", role="", unit=None, is_staff=True) for n in (1, 2)]
    template = ChecklistTemplate.objects.create(name="Bag change", trigger_kind=CareEvent.Kind.BAG_CHANGE)
    draft = template_version_new_draft(template=template, actor=editors[0])
    values = {"section": "Before", "order": 5, "text": "Line primed", "role": Role.NURSE}

    outcomes = race_by(lambda editor: template_item_create(version=draft, values=values, actor=editor), editors)

    made = [outcome for outcome in outcomes.values() if isinstance(outcome, TemplateItem)]
    refused = [outcome for outcome in outcomes.values() if isinstance(outcome, ValidationError)]
    assert len(made) == 1 and len(refused) == 1, outcomes
    assert "order" in refused[0].message_dict
    assert TemplateItem.objects.filter(version=draft, order=5).count() == 1
