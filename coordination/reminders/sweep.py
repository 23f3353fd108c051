"""The sweep, run every minute by Celery beat: write the reminders that are due, hand them to
delivery after the commit, and hand over again those that a lost message left unsent.

One sweep at a time: a second beat started by mistake sends a second sweep, which finds the
transaction-scoped advisory lock taken and does nothing (and would find nothing to do after
the first one: the rules compare with the reminders already written, and the unique
constraint on a reminder's identity holds whatever happens).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.db import ADVISORY_LOCKS

from .models import Reminder
from .rules import RULES, Candidate, People, UnitRules
from .services import notifications_retire_ready_gates

logger = logging.getLogger(__name__)

# The advisory lock that makes sweeps take turns (its number kept with the others', in accounts.db).
SWEEP_LOCK = ADVISORY_LOCKS["reminder sweep"]
# At most this many unsent reminders are handed over again per sweep; the next sweep takes the rest.
REDISPATCH_LIMIT = 20_000


@dataclass
class SweepResult:
    ran: bool = True
    created: Counter = field(default_factory=Counter)  # new reminders by kind
    new_ids: list[int] = field(default_factory=list)
    redispatched: list[int] = field(default_factory=list)


def reminders_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Write the reminders that are due at `now` and hand them, and the unsent ones whose
    time has come, to delivery once the transaction has committed."""
    now = now or timezone.now()
    with transaction.atomic():
        if not _take_turn():
            logger.info("Reminder sweep skipped: another sweep is running.")
            return SweepResult(ran=False)
        result = SweepResult()
        redispatch_at = now + dt.timedelta(seconds=settings.REMINDER_REDISPATCH_SECONDS)
        candidates = find_candidates(now)
        # Plain inserts: under the lock nobody else writes reminders, and a conflict would be a
        # bug that must roll the sweep back rather than pass unnoticed.
        created = Reminder.objects.bulk_create(
            [_reminder(candidate, now=now, dispatch_after=redispatch_at) for candidate in candidates],
            batch_size=1000,
        )
        result.new_ids = [reminder.pk for reminder in created]
        result.created.update(candidate.kind for candidate in candidates)
        result.redispatched = _claim_unsent(now=now, redispatch_at=redispatch_at)
        # An event whose gate turned ready since its "not ready" warning leaves the bell.
        notifications_retire_ready_gates(now=now)
        dispatch(result.new_ids + result.redispatched)
    if result.new_ids or result.redispatched:
        logger.info(
            "Reminder sweep: %d new (%s), %d handed over again.",
            len(result.new_ids),
            ", ".join(f"{kind} {count}" for kind, count in sorted(result.created.items())),
            len(result.redispatched),
        )
    return result


def find_candidates(now: dt.datetime) -> list[Candidate]:
    """Every rule's candidates, once each (two blockers of one role name one person once), less
    those written already."""
    rules, people = UnitRules(), People()
    found: dict[tuple, Candidate] = {}
    for rule in RULES:
        for candidate in rule(now, rules, people):
            found.setdefault(candidate.key, candidate)
    return _unwritten(found)


def _unwritten(found: dict[tuple, Candidate]) -> list[Candidate]:
    """The candidates whose identity has no reminder yet. A rule's anti-join asks "reminded?" of
    a task as a whole, cheaply, and can let through one whose reminders went to other people than
    it expects (an assignee who left the team or was deactivated: the team was reminded, not
    them); writing those again would break the unique constraint and roll the whole sweep back,
    every minute, for every unit. One query, through the identity's unique index.

    Both sides' times compared in UTC (`Candidate.key` is): a time in a unit's zone that the
    clocks skip or repeat is never equal to the same instant in UTC for Python."""
    if not found:
        return []
    written = {
        (target, kind, due_at.astimezone(dt.UTC), recipient_id)
        for target, kind, due_at, recipient_id in Reminder.objects.filter(
            target__in={candidate.target for candidate in found.values()},
            due_at__in={candidate.due_at for candidate in found.values()},
            kind__in={candidate.kind for candidate in found.values()},
        ).values_list("target", "kind", "due_at", "recipient_id")
    }
    return [candidate for key, candidate in found.items() if key not in written]


def _take_turn() -> bool:
    """Hold the sweep's advisory lock until the transaction ends; False when another sweep has it.
    SQLite (`make run`) writes one transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SWEEP_LOCK])
        return bool(cursor.fetchone()[0])


def _reminder(candidate: Candidate, *, now: dt.datetime, dispatch_after: dt.datetime) -> Reminder:
    return Reminder(
        kind=candidate.kind,
        target=candidate.target,
        recipient_id=candidate.recipient_id,
        task_id=candidate.task_id,
        event_id=candidate.event_id,
        handoff_id=candidate.handoff_id,
        note=candidate.note,
        due_at=candidate.due_at,
        fire_at=candidate.fire_at,
        created_at=now,
        dispatch_after=dispatch_after,
        dispatch_count=1,
    )


def _claim_unsent(*, now: dt.datetime, redispatch_at: dt.datetime) -> list[int]:
    """Pending reminders whose time to be handed over has come: a message lost by the broker,
    a worker killed mid-batch, a retry after a failure, a snooze that ended.

    Rows locked by a delivery in progress are skipped (skip_locked): it is sending them now.
    """
    ids = list(
        Reminder.objects.select_for_update(no_key=True, skip_locked=True)
        .filter(state=Reminder.State.PENDING, dispatch_after__lte=now)
        .order_by("dispatch_after", "pk")
        .values_list("pk", flat=True)[:REDISPATCH_LIMIT]
    )
    if ids:
        Reminder.objects.filter(pk__in=ids).update(dispatch_after=redispatch_at, dispatch_count=F("dispatch_count") + 1)
    return ids


def dispatch(ids: list[int]) -> None:
    """Hand the ids to delivery tasks in batches once the current transaction commits.

    If the broker cannot take them, the rows stay pending and the sweep hands them over again
    after REMINDER_REDISPATCH_SECONDS, so a failure here is logged, not raised.
    """
    if ids:
        transaction.on_commit(partial(_publish, list(ids)))


def _publish(ids: list[int]) -> None:
    # Caught here, not left to on_commit(robust=True): Django logs a robust callback's failure by
    # its __qualname__, which a partial has not, and raised an AttributeError in its place, past
    # the caller (a sweep, or the request that raised an urgent alert).
    from ..tasks import reminders_deliver  # the tasks module imports this one

    size = settings.REMINDER_BATCH_SIZE
    for start in range(0, len(ids), size):
        try:
            reminders_deliver.delay(ids[start : start + size])
        except Exception:
            logger.exception(
                "The broker did not take %d reminders; they are handed over again after %s seconds.",
                len(ids) - start,
                settings.REMINDER_REDISPATCH_SECONDS,
            )
            return
