"""Reads of the reminder pages and the bell, with their relations loaded: a constant number of
queries however many rows."""

import datetime as dt

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet
from django.db.models.functions import Coalesce

from accounts.db import CompiledQuery, compiled
from checklists.models import Task
from patients.models import CareEvent, Patient

from .models import Notification, Reminder, TaskSnooze


def _lag_percentile(sent, count: int, fraction: float) -> dt.timedelta | None:
    """The lag at `fraction` of the sent reminders, ordered (nearest rank): one query."""
    if not count:
        return None
    return sent.order_by("sent_lag").values_list("sent_lag", flat=True)[min(count - 1, int(fraction * count))]


def ledger_summary(reminders: QuerySet[Reminder]) -> tuple[dict[str, int], dict[str, dt.timedelta | None]]:
    """The ledger's counts (in all and by state) and the lag from when each sent reminder should
    have gone (its rule's time) to when it went: median, 95th percentile, longest."""
    counts = reminders.aggregate(
        total=Count("pk"),
        **{state: Count("pk", filter=Q(state=state)) for state in Reminder.State.values},
    )
    lag = ExpressionWrapper(F("sent_at") - F("fire_at"), output_field=DurationField())
    sent = reminders.filter(state=Reminder.State.SENT).annotate(sent_lag=lag)
    lags = {
        "median": _lag_percentile(sent, counts[Reminder.State.SENT], 0.5),
        "p95": _lag_percentile(sent, counts[Reminder.State.SENT], 0.95),
        "max": sent.aggregate(top=Max("sent_lag"))["top"] if counts[Reminder.State.SENT] else None,
    }
    return counts, lags


def ledger_rows(reminders: QuerySet[Reminder]) -> QuerySet[Reminder]:
    """The ledger's rows, newest first, each naming its patient by id (`patient_id`): the patient of
    what it is about (a task, an event, a handoff, a toxicity alert; a digest names none), as
    delivery's `_patient_of` reads it, joined in the same query."""
    return (
        reminders.select_related("recipient")
        .annotate(
            patient_id=Coalesce("task__patient_id", "event__patient_id", "handoff__patient_id", "alert__patient_id")
        )
        .order_by("-created_at", "-pk")
    )


def open_tasks_with_reminders(event: CareEvent, *, now: dt.datetime) -> list[Task]:
    """The event's open tasks, each with its live snooze (`snooze`) and the reminders sent or
    waiting about it (`reminder_list`, oldest first): three queries however many tasks."""
    tasks = list(
        Task.objects.filter(event=event, status=Task.Status.OPEN).select_related("assignee").order_by("due_at", "order")
    )
    snoozes = {}
    for snooze in (
        TaskSnooze.objects.filter(task__in=tasks, ended_at__isnull=True, until__gt=now)
        .select_related("created_by")
        .order_by("until")
    ):
        snoozes[snooze.task_id] = snooze
    reminders: dict[int, list[Reminder]] = {}
    for reminder in (
        Reminder.objects.filter(task__in=tasks).exclude(state=Reminder.State.SKIPPED).select_related("recipient")
    ):
        reminders.setdefault(reminder.task_id, []).append(reminder)
    for task in tasks:
        task.snooze = snoozes.get(task.pk)
        task.reminder_list = sorted(reminders.get(task.pk, []), key=lambda r: r.created_at)
    return tasks


def visible_notifications(user) -> QuerySet[Notification]:
    """The user's notifications that name no patient, or a patient they may still see: a
    notification keeps the name and MRN it was written with, and access can end after it."""
    visible = Patient.objects.visible_to(user).values("pk")
    return Notification.objects.filter(recipient=user).filter(Q(patient__isnull=True) | Q(patient__in=visible))


def notifications_of(user, limit: int = 100) -> QuerySet[Notification]:
    """The user's newest notifications, read or not, with their task's state (resolved or not)."""
    return visible_notifications(user).select_related("task")[:limit]


def _unread(user) -> QuerySet[Notification]:
    return _unread_of(user.pk)


def _unread_of(recipient_id: int) -> QuerySet[Notification]:
    # Not narrowed to the patients the user still sees: the bell's count is asked on every page
    # (in the kept pages' one statement), and a second access policy there cost a kept My work a
    # quarter of its CPU (docs/performance.md). A count names nobody; the list and the API, which
    # do, are narrowed, and "Mark all read" clears what they no longer show.
    unread = Notification.objects.filter(recipient_id=recipient_id, read_at__isnull=True)
    return unread.filter(Q(task__isnull=True) | Q(task__status=Task.Status.OPEN))


def unread_count(user) -> int:
    """The bell's number: the unread notifications that still ask for something (a reminder
    whose task was done since is resolved), from the unread index."""
    return _unread(user).count()


def unread_count_query(user) -> QuerySet | CompiledQuery:
    """`unread_count` as a query of one row and one value, `n` (no row: none unread), for a
    statement that asks it beside other questions (coordination.worklist.page_cache); on
    PostgreSQL compiled once per user (accounts.db.compiled)."""
    return compiled(_unread_count_of, user.pk) or _unread_count_of(user.pk)


def _unread_count_of(recipient_id: int) -> QuerySet:
    return _unread_of(recipient_id).order_by().values("recipient_id").annotate(n=Count("pk")).values("n")
