"""Delivery: a batch of reminder ids in, each reminder sent once, or skipped, or retried.

1. One transaction claims the batch's pending rows under a row lock (skip_locked: rows another
   delivery holds are its business), checks that each reminder still matters (the task may
   have been done, moved or snoozed since, the event cancelled, the handoff acknowledged),
   rings the bell (a `Notification`), marks what is settled, and stamps the rest, in lanes of
   consecutive ids, with each lane's claim (`claim`, and `sending_since` for its lease). The bell rings exactly once.
2. Then the other channels (email…): each lane, in a thread of its own (REMINDER_SEND_LANES),
   sends one reminder at a time in id order; after each, one update records the outcome while
   the claim is still ours: sent, or a failure with a retry after a backoff (after
   REMINDER_MAX_ATTEMPTS: failed; the bell has rung already).

A worker killed anywhere leaves its reminders pending: the broker hands the message to
another worker (acks_late, reject_on_worker_lost), or the sweep hands them over again after
REMINDER_REDISPATCH_SECONDS; what was committed is not repeated. The one thing a crash can
leave unknown is whether the message in flight at that instant went out. The claim tells
which one it was: once the claim is older than REMINDER_REDISPATCH_SECONDS (the lease), the
claimed reminders still pending were never tried, except the first of them in id order, which
may have gone. That one is sent again and marked `in_doubt`: at most one reminder per lane of a
killed batch, and its copy carries the same Message-ID, by which mail systems recognise it.

The delivery's commits do not wait for the disk (synchronous_commit off, for this session's
delivery only): they are visible to everyone at once and a worker crash loses none of them;
only a crash of PostgreSQL itself within a fraction of a second of a send could forget that
the email went, which then goes again with the same Message-ID. Waiting for the disk would
cost ~3 ms a reminder on the machines measured (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Min, prefetch_related_objects
from django.utils import timezone
from psycopg.types.json import Jsonb

from accounts import moments
from checklists.gate import event_readiness
from checklists.models import Task
from checklists.selectors import checklists_with_tasks
from patients.models import CareEvent, Patient

from ..handoffs.models import Handoff
from ..watch.models import ToxicityAlert
from .channels import Channel, channels
from .content import ALERT_KINDS, HANDOFF_KINDS, TASK_KINDS, DigestWork, Message, compose, digest_work
from .models import Notification, Reminder, ReminderPreference, TaskSnooze
from .rules import DOERS_KINDS, People, gate_recipients, handoff_escalated_to, handoff_receivers
from .sweep import dispatch

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
State = Reminder.State
IN_APP = "in_app"
RELATIONS = (
    "recipient__unit",
    "task__patient__unit",
    "task__event",
    "task__assignee",
    "event__patient__unit",
    "handoff__patient",
    "handoff__from_unit",
    "handoff__to_unit",
    "alert__patient",
    "alert__unit",
)
# What delivery reads of a reminder's relations, and no more: a task row alone has 35 columns
# (two of them JSON), a user's has the password hash; fetching only these halves the cost of
# turning rows into objects. A field missing here costs a query per reminder (see the tests'
# query count).
_PATIENT = ("given_name", "family_name", "mrn", "unit", "unit__time_zone")
FIELDS = (
    *(f.name for f in Reminder._meta.concrete_fields),
    *(f"recipient__{name}" for name in ("username", "first_name", "last_name", "email", "is_active", "role")),
    "recipient__unit",
    "recipient__unit__time_zone",
    *(f"task__{name}" for name in ("status", "due_at", "text", "role", "hard_stop", "patient", "event", "assignee")),
    *(f"task__patient__{name}" for name in _PATIENT),
    "task__event__status",
    "task__event__actual_at",
    "task__event__planned_at",
    "task__event__kind",
    *(f"task__assignee__{name}" for name in ("username", "first_name", "last_name")),
    *(f"event__{name}" for name in ("status", "planned_at", "kind", "patient")),
    *(f"event__patient__{name}" for name in _PATIENT),
    *(
        f"handoff__{name}"
        for name in ("status", "acknowledge_by", "patient", "from_unit", "to_unit", "from_person", "to_person")
    ),
    *(f"handoff__patient__{name}" for name in _PATIENT[:3]),
    "handoff__from_unit__name",
    "handoff__to_unit__name",
    "handoff__to_unit__time_zone",
    *(f"alert__{name}" for name in ("reason", "ask", "raised_at", "acknowledged_at", "patient", "unit")),
    *(f"alert__patient__{name}" for name in _PATIENT[:3]),
    "alert__unit__name",
    "alert__unit__time_zone",
)
# Stop taking new reminders after this long and hand the rest over at once, well inside the
# delivery task's soft time limit (a slow mail server must not leave a batch half-checked).
TIME_BUDGET_SECONDS = 60
# A lane takes at least this many reminders (a thread for three emails costs more than it saves).
MIN_PER_LANE = 10
MAX_RETRY_DELAY = dt.timedelta(hours=1)


@dataclass
class DeliveryResult:
    sent: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    deferred: list[int] = field(default_factory=list)  # snoozed: held until the snooze ends
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    passed_over: list[int] = field(default_factory=list)  # not pending, or held by another delivery
    handed_on: list[int] = field(default_factory=list)  # out of time: handed to a new task

    def add(self, other: DeliveryResult) -> None:
        for name in ("sent", "deferred", "retrying", "failed", "passed_over", "handed_on"):
            getattr(self, name).extend(getattr(other, name))
        self.skipped.update(other.skipped)


@dataclass
class Outgoing:
    reminder: Reminder
    message: Message
    channels: list[str]  # the names of the channels it goes out on


def _patient_of(reminder: Reminder) -> int | None:
    """The patient a reminder names (a digest names several, each by initials only: none)."""
    about = (reminder.task, reminder.event, reminder.handoff, reminder.alert)
    return next((thing.patient_id for thing in about if thing is not None), None)


def reminders_deliver(*, ids: list[int], now: dt.datetime | None = None) -> DeliveryResult:
    """Deliver the pending reminders among `ids`; `now` fixes the clock (tests)."""
    clock = (lambda: now) if now else timezone.now
    result = DeliveryResult()
    outside = channels()
    most_lanes = _most_lanes()
    with _commits_without_waiting_for_disk():
        lanes = _claim_and_ring(ids, now=clock(), outside=outside, most_lanes=most_lanes, result=result)
        if lanes:
            _send_outside(lanes, clock=clock, result=result)
    if result.handed_on:
        dispatch(result.handed_on)  # runs at once here: the claim has committed
    logger.info(
        "Reminders delivered: %d sent, %d skipped, %d held by a snooze, %d to retry, %d failed, %d passed over.",
        len(result.sent),
        len(result.skipped),
        len(result.deferred),
        len(result.retrying),
        len(result.failed),
        len(result.passed_over),
    )
    return result


@contextlib.contextmanager
def _commits_without_waiting_for_disk():
    """synchronous_commit off for this connection while delivering (see the module's note)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            connection.close()  # never hand the setting on to other work


# --- 1. claim, check, ring the bell ------------------------------------------------------------------


def _claim_and_ring(
    ids, *, now: dt.datetime, outside: list[Channel], most_lanes: int, result: DeliveryResult
) -> list[list[Outgoing]]:
    with transaction.atomic():
        # Lock the batch's pending rows that no other delivery holds (skip_locked): a second
        # message for the same rows, or a worker redelivered the same batch, passes over them
        # instead of waiting, and never notifies twice. Only the reminder rows are locked.
        reminders = list(
            Reminder.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(pk__in=ids, state=State.PENDING)
            .select_related(*RELATIONS)
            .only(*FIELDS)
            .order_by("pk")
        )
        # A claim younger than the lease: another delivery is sending it at this moment.
        lease_start = now - dt.timedelta(seconds=settings.REMINDER_REDISPATCH_SECONDS)
        reminders = [r for r in reminders if r.sending_since is None or r.sending_since < lease_start]
        result.passed_over += sorted(set(ids) - {reminder.pk for reminder in reminders})
        if not reminders:
            return []
        in_doubt = _first_of_lapsed_claims(reminders)
        checks = Checks(reminders, now)
        preferences = {
            preference.user_id: preference
            for preference in ReminderPreference.objects.filter(user_id__in={r.recipient_id for r in reminders})
        }
        notifications, outgoing = [], []
        changes = Changes()
        for reminder in reminders:
            if reminder.pk in in_doubt:
                changes.set(reminder, in_doubt=True)
            if reminder.sending_since is not None:  # a lapsed claim, taken over
                changes.set(reminder, sending_since=None, claim=None, lapsed_claim=reminder.claim)
            skip, held_until, digest = checks.verdict(reminder)
            if skip:
                changes.set(reminder, state=State.SKIPPED, skip_reason=skip[:200])
                result.skipped[reminder.pk] = skip
            elif held_until:
                changes.set(reminder, dispatch_after=held_until)
                result.deferred.append(reminder.pk)
            else:
                message = compose(reminder, now=now, digest=digest)
                if checks.snooze_note(reminder):
                    message.body += f" · {checks.snooze_note(reminder)}"
                if reminder.notified_at is None:
                    notifications.append(
                        Notification(
                            recipient_id=reminder.recipient_id,
                            title=message.title[:200],
                            body=message.body,
                            link=message.link[:300],
                            task_id=reminder.task_id,
                            patient_id=_patient_of(reminder),
                            created_at=now,
                        )
                    )
                    changes.set(reminder, notified_at=now, channels=[*reminder.channels, IN_APP])
                preference = preferences.get(reminder.recipient_id) or ReminderPreference(user=reminder.recipient)
                wanted = [
                    c.name
                    for c in outside
                    if c.name not in reminder.channels
                    and (c.wants(reminder.recipient, preference) or (message.urgent and c.reaches(reminder.recipient)))
                ]
                if wanted:
                    outgoing.append(Outgoing(reminder, message, wanted))
                else:
                    changes.set(reminder, state=State.SENT, sent_at=now)
                    result.sent.append(reminder.pk)
        lanes = _lanes(outgoing, most_lanes)
        for lane in lanes:
            # Each lane's claim: its own, so that a crash leaves one reminder in doubt per lane.
            claim = uuid.uuid4()
            for item in lane:
                changes.set(item.reminder, sending_since=now, claim=claim)
        Notification.objects.bulk_create(notifications)
        changes.save()
    return lanes


def _most_lanes() -> int:
    """How many threads may send: REMINDER_SEND_LANES, but one when called inside a transaction
    (a caller's, a test's: the lanes' own connections would not see its rows) or on SQLite (one
    writer at a time)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return settings.REMINDER_SEND_LANES


def _lanes(outgoing: list[Outgoing], most: int) -> list[list[Outgoing]]:
    """The batch in runs of consecutive ids, each sent in order by a thread of its own, so that
    the wait for one lane's database round trip is another lane's time to work."""
    if not outgoing:
        return []
    count = max(1, min(most, len(outgoing) // MIN_PER_LANE))
    size = -(-len(outgoing) // count)  # ceiling division
    return [outgoing[start : start + size] for start in range(0, len(outgoing), size)]


def _first_of_lapsed_claims(reminders: list[Reminder]) -> set[int]:
    """The reminders whose send a crash may have cut short: for each lapsed claim among these
    rows, the lowest id of those that the claim's lane left unsent (a lane sends in id order
    and records each outcome before the next send, so the others were never tried).

    Those are the reminders still pending under the claim and those that an earlier delivery
    already took over from it (`lapsed_claim`): the sweep and the broker's redelivery can split
    a dead lane's reminders between batches, and each row moves from the one set to the other
    in the commit that takes it over, so every batch finds the same first one."""
    claimed = [r for r in reminders if r.sending_since is not None]
    # A claim stamped before claims had names (a deploy while a lane was sending): any may have gone.
    unnamed = {r.pk for r in claimed if r.claim is None}
    lapsed = {r.claim for r in claimed if r.claim is not None}
    if not lapsed:
        return unnamed
    still_claimed = (
        Reminder.objects.filter(state=State.PENDING, claim__in=lapsed)
        .values(lane=F("claim"))
        .annotate(first=Min("pk"))
        .order_by()
    )
    taken_over = (
        Reminder.objects.filter(lapsed_claim__in=lapsed)
        .values(lane=F("lapsed_claim"))
        .annotate(first=Min("pk"))
        .order_by()
    )
    firsts: dict[uuid.UUID, int] = {}
    for row in [*still_claimed, *taken_over]:
        firsts[row["lane"]] = min(row["first"], firsts.get(row["lane"], row["first"]))
    return set(firsts.values()) | unnamed


class Changes:
    """The batch's changes, written with one UPDATE per distinct set of new values (a batch has a
    handful: "rung, email to send", "rung and sent", "skipped: the task is done"…), where
    bulk_update would build a CASE per row and field. The reminders in memory follow along."""

    def __init__(self):
        self.by_reminder: dict[int, tuple[Reminder, dict]] = {}

    def set(self, reminder: Reminder, **values) -> None:
        for field_name, value in values.items():
            setattr(reminder, field_name, value)
        self.by_reminder.setdefault(reminder.pk, (reminder, {}))[1].update(values)

    def save(self) -> None:
        groups: dict[tuple, list[int]] = defaultdict(list)
        for pk, (_, values) in self.by_reminder.items():
            key = tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in values.items()))
            groups[key].append(pk)
        for key, pks in groups.items():
            Reminder.objects.filter(pk__in=pks).update(
                **{name: list(value) if isinstance(value, tuple) else value for name, value in key}
            )


class Checks:
    """Does each reminder of a batch still matter? Loads what the checks need in a few queries."""

    def __init__(self, reminders: list[Reminder], now: dt.datetime):
        self.now = now
        task_ids = [r.task_id for r in reminders if r.task_id]
        self.snoozes: dict[int, TaskSnooze] = {}
        for snooze in TaskSnooze.objects.filter(task_id__in=task_ids, ended_at__isnull=True, until__gt=now).order_by(
            "until"
        ):
            self.snoozes[snooze.task_id] = snooze  # the one that ends last
        events = [r.event for r in reminders if r.kind == Kind.GATE_NOT_READY and r.event_id]
        prefetch_related_objects(events, checklists_with_tasks())
        # Who does each task now, by the sweep's own rule (rules.People): a recipient who left the
        # care team or changed role since the reminder was written is not sent it.
        self.people = People()
        tasks = [r.task for r in reminders if r.kind in TASK_KINDS]
        self.people.load_teams([task.patient_id for task in tasks] + [event.patient_id for event in events])
        self.people.load_active(task.assignee_id for task in tasks if task.assignee_id)
        # A handoff's receivers by the sweep's own rule (a receiver moved to another unit or role
        # since is not sent it); its escalation's, asked per reminder (handoff_escalated_to).
        handoffs = list({r.handoff_id: r.handoff for r in reminders if r.kind in HANDOFF_KINDS}.values())
        self.handoff_receivers = handoff_receivers(handoffs, self.people)
        self.unseen = self._unseen_patients(
            [r for r in reminders if r.notified_at or r.attempts or r.kind in HANDOFF_KINDS]
        )

    @staticmethod
    def _unseen_patients(asked: list[Reminder]) -> set[tuple[int, int]]:
        """(recipient, patient) of the retries (the bell rang at an earlier delivery, an email
        failed), and of every handoff reminder, whose recipient no longer sees the patient named:
        taken off the care team, their grant ended, moved to another unit, the patient
        transferred, since the reminder was written. One query per recipient asked about (few: a
        first delivery of the other kinds is checked by its rule's own recipients, who see the
        patient; a handoff's reach people who see it through the handoff's grant or their unit)."""
        wanted: dict[int, tuple[object, set[int]]] = {}
        for reminder in asked:
            if patient_id := _patient_of(reminder):
                wanted.setdefault(reminder.recipient_id, (reminder.recipient, set()))[1].add(patient_id)
        unseen = set()
        for recipient_id, (recipient, patient_ids) in wanted.items():
            seen = set(Patient.objects.visible_to(recipient).filter(pk__in=patient_ids).values_list("pk", flat=True))
            unseen |= {(recipient_id, patient_id) for patient_id in patient_ids - seen}
        return unseen

    def verdict(self, reminder: Reminder) -> tuple[str, dt.datetime | None, DigestWork | None]:
        """(why to skip it, or ""; until when to hold it, or None; the digest's work)."""
        if not reminder.recipient.is_active:
            return "the recipient's account is deactivated", None, None
        if (reminder.recipient_id, _patient_of(reminder)) in self.unseen:
            # A retry names the patient (by initials and MRN, an alert its toxicity) only to
            # someone who may still open the record it links to.
            return "the recipient no longer sees the patient (off the care team, or access ended)", None, None
        if reminder.kind in TASK_KINDS:
            return self._task(reminder), self._held_until(reminder), None
        if reminder.kind == Kind.GATE_NOT_READY:
            return self._gate(reminder.event, reminder.due_at, reminder.recipient_id), None, None
        if reminder.kind in HANDOFF_KINDS:
            return self._handoff(reminder), None, None
        if reminder.kind in ALERT_KINDS:
            return self._alert(reminder.alert), None, None
        work = digest_work(reminder.recipient, self.now)
        return ("no open work" if work.empty else ""), None, work

    def _task(self, reminder: Reminder) -> str:
        task = reminder.task
        if task.status != Task.Status.OPEN:
            return f"the task is {task.get_status_display().lower()}"
        if task.due_at != reminder.due_at:
            return "the task was moved to another time"
        if task.event.status == CareEvent.Status.CANCELLED:
            return "the event is cancelled"
        if task.is_left_open:
            return f"the event is {task.event.get_status_display().lower()}: the task was left open"
        if reminder.kind == Kind.DUE_SOON and task.due_at <= self.now:
            return "overdue by now: the overdue reminder says so"
        if reminder.kind in DOERS_KINDS:
            doers, _ = self.people.reminded_of(
                assignee_id=task.assignee_id, patient_id=task.patient_id, role=task.role, unit_id=task.patient.unit_id
            )
            if reminder.recipient_id not in doers:
                if task.assignee_id in doers:
                    return "the task was given to someone else, who is reminded instead"
                return "the recipient no longer does this task (off the care team, or in another role)"
        else:
            escalated_to, _ = self.people.escalated_to(patient_id=task.patient_id, unit_id=task.patient.unit_id)
            if reminder.recipient_id not in escalated_to:
                return "the recipient no longer hears this escalation (a transfer, another role, a new coordinator)"
        return ""

    def _held_until(self, reminder: Reminder) -> dt.datetime | None:
        """A snooze holds the reminders of the people doing the task, not the coordinator's escalation."""
        snooze = self.snoozes.get(reminder.task_id)
        if snooze and reminder.kind != Kind.ESCALATION:
            return snooze.until
        return None

    def snooze_note(self, reminder: Reminder) -> str:
        snooze = self.snoozes.get(reminder.task_id) if reminder.kind == Kind.ESCALATION else None
        if not snooze:
            return ""
        # With its day and zone: a snooze may run into tomorrow, and the message is read later.
        return f"snoozed until {moments.moment_zoned(snooze.until, reminder.task.patient.unit.zone)}: {snooze.reason}"

    def _gate(self, event: CareEvent, due_at: dt.datetime, recipient_id: int) -> str:
        if event.status != CareEvent.Status.PLANNED:
            return f"the event is {event.get_status_display().lower()}"
        if event.planned_at != due_at:
            return "the event was moved to another time"
        if event.planned_at <= self.now:
            return "the event has started"
        readiness = event_readiness(event.checklists.all())
        if readiness.ready:
            return "the event is ready now"
        if recipient_id not in gate_recipients(event, readiness, self.people):
            return "the recipient no longer does the work that holds the event up"
        return ""

    def _alert(self, alert: ToxicityAlert) -> str:
        return "the alert is acknowledged" if alert.acknowledged_at else ""

    def _handoff(self, reminder: Reminder) -> str:
        handoff = reminder.handoff
        if handoff.status != Handoff.Status.SENT:
            return f"the handoff is {handoff.get_status_display().lower()}"
        if handoff.acknowledge_by != reminder.due_at:
            return "the handoff's deadline changed"
        if reminder.kind == Kind.HANDOFF_UNACKNOWLEDGED:
            named = self.handoff_receivers[handoff.pk]
        else:
            named = handoff_escalated_to(handoff, self.people)
        if reminder.recipient_id not in named:
            return "the recipient is no longer one the handoff's reminder goes to (another unit or role)"
        return ""


# --- 2. the other channels, one reminder at a time ---------------------------------------------------


def _send_outside(lanes: list[list[Outgoing]], *, clock, result: DeliveryResult) -> None:
    if len(lanes) == 1:
        _send_lane(lanes[0], clock=clock, result=result)
        return
    for lane_result in _lane_threads().map(partial(_lane_in_thread, clock=clock), lanes):
        result.add(lane_result)


_threads: tuple[int, ThreadPoolExecutor] | None = None


def _lane_threads() -> ThreadPoolExecutor:
    """The sending threads of this process, kept from batch to batch with their database
    connections (a new connection costs PostgreSQL a process), made afresh after a fork."""
    global _threads
    if _threads is None or _threads[0] != os.getpid():
        _threads = (os.getpid(), ThreadPoolExecutor(settings.REMINDER_SEND_LANES, thread_name_prefix="reminder-lane"))
    return _threads[1]


def _lane_in_thread(lane: list[Outgoing], *, clock) -> DeliveryResult:
    result = DeliveryResult()
    # This thread's own connection, kept between batches: dropped if broken or older than
    # CONN_MAX_AGE, as Django does between requests.
    connection.close_if_unusable_or_obsolete()
    try:
        with _commits_without_waiting_for_disk():
            _send_lane(lane, clock=clock, result=result)
    except BaseException:
        connection.close()
        raise
    return result


def _send_lane(lane: list[Outgoing], *, clock, result: DeliveryResult) -> None:
    started = time.monotonic()
    # Stop well inside the lease, so that nobody takes over a reminder this lane still holds.
    budget = min(TIME_BUDGET_SECONDS, settings.REMINDER_REDISPATCH_SECONDS / 2)
    used = {name for item in lane for name in item.channels}
    opened = {channel.name: _opened(channel) for channel in channels() if channel.name in used}
    handed_on = []
    claim = lane[0].reminder.claim  # the lane's own (_claim_and_ring)
    try:
        for place, item in enumerate(lane):  # in id order: see the module's note on crashes
            if time.monotonic() - started > budget:
                handed_on.append(item.reminder.pk)
                continue
            if not _send_one(item, [opened[name] for name in item.channels], clock=clock, result=result):
                # The claim lapsed and another delivery took the lane's reminders over (a paused
                # process, a lease shorter than a batch): they are its to send, not ours.
                result.passed_over += [later.reminder.pk for later in lane[place + 1 :]]
                break
    finally:
        for channel in opened.values():
            channel.close()
        if handed_on:  # give up the claim on what another task will send, if it is still ours
            Reminder.objects.filter(pk__in=handed_on, state=State.PENDING, claim=claim).update(
                sending_since=None, claim=None
            )
            result.handed_on += handed_on


def _opened(channel: Channel) -> Channel:
    """The channel, its connection opened; or, if the gateway cannot be reached, a stand-in whose
    every send fails with that error, so that each reminder of the lane records the failure and is
    retried with backoff, as after a failed send (an error escaping here left the lane's claims to
    lapse and be taken over as if a worker had died: never counted, never failed, "in doubt")."""
    try:
        channel.open()
    except SoftTimeLimitExceeded:
        raise
    except Exception as error:
        logger.warning("Reminders: the %s channel could not be opened: %s", channel.name, error)
        return _Unreachable(channel.name, error)
    return channel


class _Unreachable(Channel):
    def __init__(self, name: str, error: Exception):
        self.name, self.error = name, error

    def send(self, *, reminder_id: int, recipient, message) -> None:
        raise self.error


def _send_one(item: Outgoing, outside: list[Channel], *, clock, result: DeliveryResult) -> bool:
    """Send one reminder and record the outcome; False when the lane's claim turned out lost."""
    reminder = item.reminder
    # The outcome is recorded while this lane's claim is still ours (the lease outlasts the
    # batch), with a conditional update that must touch one row.
    done = list(reminder.channels)
    for channel in outside:
        try:
            channel.send(reminder_id=reminder.pk, recipient=reminder.recipient, message=item.message)
        except SoftTimeLimitExceeded:
            raise
        except Exception as error:  # a channel's failure, whatever it is, is the reminder's to retry
            _record_failure(reminder, channel, error, clock(), done=done)
            (result.failed if reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS else result.retrying).append(
                reminder.pk
            )
            return True
        done.append(channel.name)
    if _mark_sent(reminder.pk, claim=reminder.claim, channels=done, at=clock()) != 1:
        logger.warning(
            "Reminder %s was sent after its claim had lapsed: the delivery that took it over sends it "
            "again, marked in doubt; this lane stops.",
            reminder.pk,
        )
        result.passed_over.append(reminder.pk)
        return False
    result.sent.append(reminder.pk)
    return True


# The hot path, once per reminder: plain SQL instead of the ORM's update (a third of its cost,
# docs/performance.md), and on PostgreSQL a statement prepared once per connection, on a cursor
# of its own (no audit context to pass: reminders are not audited by triggers).
MARK_SENT = (
    "UPDATE coordination_reminder SET state = %s, sent_at = %s, channels = %s, sending_since = NULL, claim = NULL "
    "WHERE id = %s AND state = %s AND claim = %s"
)


def _mark_sent(pk: int, *, claim: uuid.UUID, channels: list[str], at: dt.datetime) -> int:
    """Record a reminder as sent while the claim is still ours: a conditional update that must touch one row."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        params = [State.SENT, at, Jsonb(channels), pk, State.PENDING, claim]
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(MARK_SENT, params, prepare=True)
            return cursor.rowcount
    # As the ORM stores them on SQLite: the time as text, the claim as 32 hex digits.
    stored_at = connection.ops.adapt_datetimefield_value(at)
    stored_claim = Reminder._meta.get_field("claim").get_db_prep_value(claim, connection)
    with connection.cursor() as cursor:
        cursor.execute(MARK_SENT, [State.SENT, stored_at, json.dumps(channels), pk, State.PENDING, stored_claim])
        return cursor.rowcount


def _record_failure(reminder: Reminder, channel: Channel, error: Exception, now: dt.datetime, *, done) -> None:
    reminder.attempts += 1
    give_up = reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS
    delay = min(dt.timedelta(seconds=settings.REMINDER_RETRY_SECONDS * 2 ** (reminder.attempts - 1)), MAX_RETRY_DELAY)
    mine = Reminder.objects.filter(pk=reminder.pk, state=State.PENDING, claim=reminder.claim)
    mine.update(
        sending_since=None,
        claim=None,
        channels=done,  # the channels that did send are not repeated
        attempts=F("attempts") + 1,
        last_error=f"{channel.name}: {type(error).__name__}: {error}"[:500],
        dispatch_after=now + delay,
        **({"state": State.FAILED} if give_up else {}),
    )
    logger.warning(
        "Reminder %s: %s failed (attempt %d of %d)%s: %s",
        reminder.pk,
        channel.name,
        reminder.attempts,
        settings.REMINDER_MAX_ATTEMPTS,
        ", giving up" if give_up else f", retrying in {delay}",
        error,
    )
