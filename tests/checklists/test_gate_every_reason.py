"""A task that blocks for two reasons is two blockers: a dose that failed its hard stop and still
awaits its independent check (found by a review: the gate gave only the first reason, so the
oncologist was shown "hard stop failed (30)" alone, overrode it, and the event read ready with the
dose never checked by a second nurse). An override covers only the blockers it listed."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from checklists.gate import blocker_key, event_readiness
from checklists.gate_sql import blockers_by_role, not_ready_with_work_open, roles_waited_for
from checklists.models import Checklist
from checklists.services import event_gate_override, task_complete, task_verify
from patients.models import CareEvent

from .helpers import blockers_listed, checklist_for, make_event, override_gate, publish_template, task

DOSE = "Dose (mcg/day)"
REASON = "Dose of 30 accepted by me after discussing it with pharmacy"


@pytest.fixture
def dose_failed_unchecked(patient, nurse):
    """A dose with limits 9-28 and a second nurse's check, answered 30 (confirmed), unchecked."""
    publish_template(
        items=[
            {"text": DOSE, "response_kind": "number", "min_value": 9, "max_value": 28, "hard_stop": True,
             "needs_verification": True, "verifier_role": "pharmacist", "required": True},
        ]
    )  # fmt: skip
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    dose = task(checklist_for(event), DOSE)
    task_complete(task=dose, actor=nurse, value="30", confirmed=True)
    return event, dose


def gate(event):
    return event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks"))


def test_a_failed_hard_stop_awaiting_its_check_is_two_blockers(dose_failed_unchecked):
    event, dose = dose_failed_unchecked

    readiness = gate(event)

    assert [(b.kind, b.role, b.reason) for b in readiness.unresolved] == [
        ("hard_stop", "nurse", "hard stop failed (30)"),
        ("unverified", "pharmacist", "awaiting independent verification"),
    ]
    assert blockers_listed(event) == [blocker_key(dose.pk, "hard_stop", "30"), blocker_key(dose.pk, "unverified", "30")]
    # The board counts both, each for its role (in Role order).
    assert blockers_by_role([event.pk])[event.pk] == [
        {"role": "pharmacist", "count": 1, "texts": [DOSE]},
        {"role": "nurse", "count": 1, "texts": [DOSE]},
    ]
    events = CareEvent.objects.filter(pk=event.pk)
    assert set(roles_waited_for(events, now=timezone.now())) == {(event.pk, "nurse"), (event.pk, "pharmacist")}


def test_an_override_of_the_hard_stop_alone_leaves_the_check_blocking(dose_failed_unchecked, oncologist):
    """As an override given before both were listed stands: the missing check still blocks, in
    Python and in SQL, and is what the event waits for."""
    event, dose = dose_failed_unchecked
    Checklist.objects.filter(event=event).update(
        override_reason=REASON, overridden_blockers=[blocker_key(dose.pk, "hard_stop", "30")]
    )

    readiness = gate(event)

    assert not readiness.ready
    assert [(b.kind, b.role) for b in readiness.unresolved] == [("unverified", "pharmacist")]
    events = CareEvent.objects.filter(pk=event.pk)
    assert list(not_ready_with_work_open(events, now=timezone.now())) == [event]
    assert blockers_by_role([event.pk])[event.pk] == [{"role": "pharmacist", "count": 1, "texts": [DOSE]}]


def test_an_override_confirming_only_the_hard_stop_is_refused(dose_failed_unchecked, oncologist):
    event, dose = dose_failed_unchecked

    with pytest.raises(ValidationError, match="What blocks the event changed while you looked: 2 items now"):
        event_gate_override(
            event=event,
            actor=oncologist,
            reason=REASON,
            justification="clinical_urgency",
            covers=[blocker_key(dose.pk, "hard_stop", "30")],
        )

    assert not Checklist.objects.filter(event=event, overridden_at__isnull=False).exists()


def test_an_override_of_both_covers_both_and_a_check_after_it_changes_nothing(
    dose_failed_unchecked, oncologist, pharmacist
):
    event, dose = dose_failed_unchecked

    override_gate(event, oncologist, reason=REASON)

    assert gate(event).overridden
    assert not not_ready_with_work_open(CareEvent.objects.filter(pk=event.pk), now=timezone.now()).exists()
    task_verify(task=dose, actor=pharmacist)  # the check made after all: one blocker fewer, still overridden
    assert gate(event).overridden
