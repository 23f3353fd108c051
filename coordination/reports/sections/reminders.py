"""4. Reminders: sent by kind with their delivery lag, escalations, snoozes."""

from django.db.models import Count, Q

from accounts.models import Unit
from patients.selectors import on_unit_at

from ...reminders.models import Reminder, TaskSnooze
from ..period import Period
from ..stats import grouped
from ..tables import Table
from .common import Section, duration

ESCALATIONS = (Reminder.Kind.ESCALATION, Reminder.Kind.HANDOFF_ESCALATION, Reminder.Kind.TOXICITY_ESCALATION)


def reminders(unit: Unit, period: Period) -> Section:
    """Reminders to the unit's staff that were due to go out in the period (their rule's time,
    `fire_at`), by kind: sent, failed, skipped, still pending; the delivery lag (rule's time → sent),
    median and 90th percentile; escalations; snoozes of the unit's tasks made in the period. Two queries."""
    due = Reminder.objects.filter(recipient__unit_id=unit.pk, fire_at__gte=period.start, fire_at__lt=period.end)
    sent_q = Q(state=Reminder.State.SENT)
    rows = {
        row["kind"]: row
        for row in grouped(
            due,
            ["kind"],
            counts={
                "due": Count("pk"),
                "sent": Count("pk", filter=sent_q),
                "failed": Count("pk", filter=Q(state=Reminder.State.FAILED)),
                "skipped": Count("pk", filter=Q(state=Reminder.State.SKIPPED)),
                "pending": Count("pk", filter=Q(state=Reminder.State.PENDING)),
            },
            durations={"lag": (duration("sent_at", "fire_at"), sent_q)},
        )
    }
    by_kind = Table(
        "by_kind",
        "Reminders by kind",
        [
            "Kind",
            "Due to go out",
            "Sent",
            "Failed",
            "Skipped (no longer needed)",
            "Pending",
            "Lag: median",
            "Lag: 90th percentile",
            "Lag: longest",
        ],
    )
    for kind, label in Reminder.Kind.choices:
        if kind in rows:
            row = rows[kind]
            by_kind.rows.append(
                [
                    label,
                    row["due"],
                    row["sent"],
                    row["failed"],
                    row["skipped"],
                    row["pending"],
                    row["lag_median"],
                    row["lag_p90"],
                    row["lag_max"],
                ]
            )
    escalated = [rows[kind] for kind in ESCALATIONS if kind in rows]
    snoozes = TaskSnooze.objects.filter(
        on_unit_at(unit.pk, "created_at"),
        created_at__gte=period.start,
        created_at__lt=period.end,
    ).aggregate(
        count=Count("pk"), ended_early=Count("pk", filter=Q(ended_at__isnull=False)), tasks=Count("task", distinct=True)
    )
    summary = Table(
        "summary",
        "Escalations and snoozes",
        ["Measure", "Count"],
        rows=[
            ["Escalations sent (tasks, handoffs, toxicity alerts)", sum(row["sent"] for row in escalated)],
            ["Snoozes made", snoozes["count"]],
            ["Tasks snoozed", snoozes["tasks"]],
            ["Snoozes ended early by hand", snoozes["ended_early"]],
        ],
    )
    return Section("reminders", "Reminders", [by_kind, summary])
