"""Conditions asked again (checklists_refresh) while people work the same tasks: real PostgreSQL row
locks, real threads with their own connections, committed data (found by a review).

- a completion committed while the refresh decides was overwritten by its bulk update (to
  CANCELLED), which could hide a failed hard stop;
- a weight answered (task lock, then the refresh's event locks) while its event was cancelled (event
  lock, then its tasks) deadlocked: one of the two failed.
"""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.utils import timezone

from checklists import services
from checklists.models import Task, TaskActivity, TemplateItem
from checklists.services import checklists_refresh, task_complete
from patients.models import CareEvent, Patient
from patients.services import event_cancel

from ..database_helpers import race
from .helpers import checklist_for, make_event, publish_template

pytestmark = pytest.mark.django_db(transaction=True)

FLAT = "Dose band verified for a patient of at least 45 kg"


def wait_for_a_lock_waiter(timeout=10.0):
    """Until another connection waits for a row lock (or the timeout: the test then decides).

    Called inside a transaction, where PostgreSQL keeps the first look at pg_stat_activity until
    the transaction ends: each look clears it, or a waiter that came later is never seen."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)


def test_a_completion_committed_while_the_conditions_are_asked_again_stays_done(patient, nurse):
    flat = {"text": FLAT, "response_kind": "text", "conditions": [("weight_kg", "ge", "45")]}
    version = publish_template(items=[flat])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(days=3))
    task = checklist_for(event, version).tasks.get(text=FLAT)
    Patient.objects.filter(pk=patient.pk).update(weight_kg=Decimal("40.0"))
    completed = threading.Event()

    def complete():
        with transaction.atomic():
            task_complete(task=task, actor=nurse, value="28 mcg/day checked")
            completed.set()
            wait_for_a_lock_waiter()  # the refresh has started and waits behind this completion
        return "completed"

    def refresh():
        assert completed.wait(timeout=10)
        return checklists_refresh(events=[event])

    outcomes = race(complete, refresh)

    assert outcomes[0] == "completed", outcomes
    assert not isinstance(outcomes[1], Exception), outcomes
    stored = Task.objects.get(pk=task.pk)
    assert (stored.status, stored.value, stored.completed_by) == (Task.Status.DONE, "28 mcg/day checked", nurse)
    assert not TaskActivity.objects.filter(task=task, action=TaskActivity.Action.CONDITIONS).exists()


def test_a_weight_answered_while_its_event_is_cancelled_does_not_deadlock(patient, nurse, monkeypatch):
    version = publish_template(
        items=[{"text": "Weight (kg)", "response_kind": "number", "unit": "kg", "records": TemplateItem.Records.WEIGHT}]
    )
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(days=3))
    task = checklist_for(event, version).tasks.get()
    holding = threading.Event()
    keep = services.keep_recorded_answer

    def keep_after_the_cancellation_started(task, **kwargs):
        holding.set()  # the completion holds its locks; the weighing's refresh comes next
        wait_for_a_lock_waiter(timeout=3)
        return keep(task, **kwargs)

    monkeypatch.setattr(services, "keep_recorded_answer", keep_after_the_cancellation_started)

    def cancel():
        assert holding.wait(timeout=10)
        return event_cancel(event=event, reason="The patient asked to postpone.")

    outcomes = race(lambda: task_complete(task=task, actor=nurse, value="64"), cancel)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert Task.objects.get(pk=task.pk).status == Task.Status.DONE  # completed first: history stays
    assert CareEvent.objects.get(pk=event.pk).status == CareEvent.Status.CANCELLED
    assert Patient.objects.get(pk=patient.pk).weight_kg == Decimal("64.0")


def test_a_task_completed_early_while_a_new_version_is_published_keeps_its_answer(patient, nurse):
    """Publication re-makes the untouched checklists of upcoming events on the new version. A
    nurse may complete a task days early: a completion committed while publication decided which
    checklists were untouched was deleted with its checklist, answer and history."""
    from checklists.governance import template_version_publish_in_emergency
    from checklists.models import Checklist
    from checklists.services import template_item_update, template_version_fingerprint, template_version_new_draft

    version = publish_template(items=[{"text": "Consent signed"}, {"text": "Line inspected"}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(days=3))
    task = checklist_for(event, version).tasks.get(text="Consent signed")
    admin = type(nurse).objects.create(username="admin-publisher", is_staff=True)
    draft = template_version_new_draft(template=version.template, actor=admin)
    template_item_update(
        item=draft.items.get(text="Line inspected"), values={"text": "Line inspected, no kink"}, actor=admin
    )
    seen = template_version_fingerprint(draft)
    completing = threading.Event()

    def complete():
        with transaction.atomic():
            task_complete(task=task, actor=nurse, value="on")
            completing.set()
            wait_for_a_lock_waiter()  # publication has started and waits behind this completion
        return "completed"

    def publish():
        assert completing.wait(timeout=10)
        return template_version_publish_in_emergency(
            version=draft,
            actor=admin,
            reason="The line check wording must change before tonight.",
            seen=seen,
            change_summary="Line check wording",
        )

    outcomes = race(complete, publish)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    stored = Task.objects.filter(pk=task.pk).first()
    assert stored is not None, "the completed task was deleted with its checklist"
    assert (stored.status, stored.completed_by) == (Task.Status.DONE, nurse)
    assert Checklist.objects.get(event=event).version_id == version.pk  # work begun keeps its version
