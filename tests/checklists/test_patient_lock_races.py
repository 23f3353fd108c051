"""A patient's record changed (a weighing, the care team) while a nurse completes one of the
patient's tasks: real PostgreSQL row locks, real threads with their own connections, committed
data (found by a review).

The change locked the patient's row FOR UPDATE, then waited for the event's lock (the checklists'
refresh, the tasks given back); the completion held the event and the task, and its history row
(a foreign key to the patient) needed FOR KEY SHARE on the patient, which FOR UPDATE refuses: a
deadlock, one of the two failed, every time. The services lock FOR NO KEY UPDATE, which a foreign
key's insert passes (README, "Row locks").
"""

import datetime as dt
import threading

import pytest
from django.db import OperationalError
from django.utils import timezone

from checklists import services
from checklists.models import Task, TaskActivity
from checklists.services import task_claim, task_complete
from patients import policy as patient_policy
from patients.models import CareTeamMember, Patient
from patients.services import weighings
from patients.services.team import care_team_remove
from patients.services.weighings import weighing_record

from ..database_helpers import race
from .helpers import checklist_for, make_event, publish_template

pytestmark = pytest.mark.django_db(transaction=True)


def a_task(patient, count=1):
    version = publish_template(items=[{"text": f"Check {n}", "response_kind": "text"} for n in range(count)])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(days=3))
    return list(checklist_for(event, version).tasks.order_by("order"))


def completion_waiting_for(monkeypatch, other_holds_the_patient: threading.Event) -> threading.Event:
    """The completion, once it holds the event and the task, waits (a little) for the other side to
    hold the patient before it writes its history; returns the event set when it holds them."""
    completing, log = threading.Event(), services._log

    def log_once_the_patient_is_held(*args, **kwargs):
        completing.set()
        other_holds_the_patient.wait(timeout=5)
        return log(*args, **kwargs)

    monkeypatch.setattr(services, "_log", log_once_the_patient_is_held)
    return completing


def test_a_weighing_recorded_while_a_task_is_completed_does_not_deadlock(patient, nurse, nurse2, monkeypatch):
    (task,) = a_task(patient)
    weighing = threading.Event()
    completing = completion_waiting_for(monkeypatch, weighing)
    question = weighings.weight_change_question

    def question_with_the_patient_held(*args, **kwargs):
        weighing.set()
        return question(*args, **kwargs)

    monkeypatch.setattr(weighings, "weight_change_question", question_with_the_patient_held)

    def weigh():
        assert completing.wait(timeout=5)
        return weighing_record(patient=patient, weight_kg=str(patient.weight_kg), actor=nurse2)

    outcomes = race(lambda: task_complete(task=task, actor=nurse, value="clean"), weigh)

    assert weighing.is_set()
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert Task.objects.get(pk=task.pk).status == Task.Status.DONE


def test_a_nurse_taken_off_the_team_while_she_completes_her_task_does_not_deadlock(
    patient, nurse, coordinator, monkeypatch
):
    (task,) = a_task(patient)
    task_claim(task=task, actor=nurse)
    member = CareTeamMember.objects.get(patient=patient, user=nurse)
    removing = threading.Event()
    completing = completion_waiting_for(monkeypatch, removing)
    can_manage = patient_policy.can_manage_care_team

    def can_manage_with_the_patient_held(*args, **kwargs):
        removing.set()
        return can_manage(*args, **kwargs)

    monkeypatch.setattr(patient_policy, "can_manage_care_team", can_manage_with_the_patient_held)

    def remove():
        assert completing.wait(timeout=5)
        return care_team_remove(member=member, actor=coordinator)

    outcomes = race(lambda: task_complete(task=task, actor=nurse, value="clean"), remove)

    assert removing.is_set()
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    stored = Task.objects.get(pk=task.pk)
    assert (stored.status, stored.completed_by) == (Task.Status.DONE, nurse)  # done first: not given back
    assert not CareTeamMember.objects.filter(pk=member.pk).exists()
    assert not TaskActivity.objects.filter(task=task, action=TaskActivity.Action.RELEASE).exists()


def test_weighings_and_completions_at_once_never_fail(patient, nurse, nurse2):
    """Unhooked, as on the ward: a few rounds, each a weighing and a completion released together."""
    tasks = a_task(patient, count=4)
    failures = []
    for n, task in enumerate(tasks):
        outcomes = race(
            lambda task=task: task_complete(task=task, actor=nurse, value="ok"),
            lambda n=n: weighing_record(patient=patient, weight_kg=f"{70 + n % 2}", actor=nurse2, confirmed=True),
        )
        failures += [outcome for outcome in outcomes if isinstance(outcome, OperationalError)]
    assert not failures
    assert Task.objects.filter(pk__in=[task.pk for task in tasks], status=Task.Status.DONE).count() == len(tasks)
    assert Patient.objects.get(pk=patient.pk).weight_kg == 71
