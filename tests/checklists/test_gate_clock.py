"""The gate read at a moment: not yet due, under way, or late (red only for what is late)."""

import datetime as dt

import pytest

from checklists.gate import Blocker, Readiness

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def gate(*blockers: Blocker, opens_at=NOW - HOUR) -> Readiness:
    return Readiness(blockers=list(blockers), unresolved=list(blockers), opens_at=opens_at).with_clock(NOW)


def open_task(due_at) -> Blocker:
    return Blocker(1, "nurse", "Weight", "open", "open", due_at=due_at)


@pytest.mark.parametrize(
    ("blocker", "late"),
    [
        (open_task(NOW + 3 * HOUR), False),  # due later: the work is under way
        (open_task(NOW - HOUR), True),  # past its due time
        (open_task(NOW), True),  # due now
        (Blocker(2, "pharmacist", "Dose", "hard stop failed (280)", "hard_stop", "280", NOW + 3 * HOUR), True),
    ],
)
def test_a_gate_is_late_only_when_what_blocks_it_is_overdue_or_a_hard_stop_failed(blocker, late):
    readiness = gate(blocker)
    assert not readiness.ready and not readiness.not_yet_due
    assert readiness.late is late


def test_a_gate_whose_work_has_not_opened_is_not_yet_due():
    readiness = gate(open_task(NOW + 30 * HOUR), opens_at=NOW + 6 * HOUR)
    assert readiness.not_yet_due and not readiness.late


def test_the_due_time_is_not_part_of_what_an_override_names():
    assert open_task(NOW).key == open_task(NOW + HOUR).key == "1:open"


def test_a_failed_hard_stop_is_late_even_before_the_work_opens():
    """A task may be done early and its answer fail: the gate reads "Not ready" in red, never "Not yet due"."""
    failed = Blocker(2, "pharmacist", "Dose", "hard stop failed (280)", "hard_stop", "280", NOW + 30 * HOUR)
    readiness = gate(failed, open_task(NOW + 30 * HOUR), opens_at=NOW + 6 * HOUR)
    assert readiness.late and not readiness.not_yet_due


def test_what_an_override_covers_does_not_make_the_gate_late():
    """An overridden gate may start: its covered blockers, overdue or not, are no red "Not ready";
    a blocker the override does not cover still is."""
    covered, uncovered = open_task(NOW - HOUR), Blocker(3, "nurse", "Pump", "open", "open", due_at=NOW - HOUR)
    overridden = Readiness(blockers=[covered], unresolved=[]).with_clock(NOW)
    assert overridden.ready and overridden.overridden and not overridden.late
    partly = Readiness(blockers=[covered, uncovered], unresolved=[uncovered]).with_clock(NOW)
    assert partly.late
