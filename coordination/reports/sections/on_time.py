"""2. On time: tasks done by their due time, by role, by template item and week by week."""

from django.db.models import Count, F, Max, Q

from accounts.models import Role, Unit
from checklists.models import Task

from ..period import Period
from ..stats import grouped
from ..tables import Share, Table
from .common import CANCELLED, DONE, NOT_APPLICABLE, OPEN, ROLE_LABELS, Section, duration, weekly

LATE_ITEMS = 10  # the template items most often late


def on_time(unit: Unit, period: Period) -> Section:
    """Tasks due in the period (neither cancelled nor marked not applicable): done by their due
    time, done late, or still open (overdue now). How late the late ones were: median, 90th
    percentile. By role, overall, the template items most often late, week by week. Four queries."""
    tasks = Task.objects.filter(patient__unit_id=unit.pk, due_at__gte=period.start, due_at__lt=period.end).exclude(
        status__in=[CANCELLED, NOT_APPLICABLE]
    )
    on_time_q = Q(status=DONE, completed_at__lte=F("due_at"))
    late_q = Q(status=DONE, completed_at__gt=F("due_at"))
    counts = {
        "due": Count("pk"),
        "on_time": Count("pk", filter=on_time_q),
        "late": Count("pk", filter=late_q),
        "open": Count("pk", filter=Q(status=OPEN)),
    }
    lateness = {"late": (duration("completed_at", "due_at"), late_q)}
    columns = [
        "Role",
        "Due",
        "Done on time",
        "Done late",
        "Still open",
        "Share on time",
        "Late by: median",
        "Late by: 90th percentile",
    ]
    by_role = Table("by_role", "Tasks done by their due time, by role", columns)
    rows = {row["role"]: row for row in grouped(tasks, ["role"], counts=counts, durations=lateness)}
    everyone = grouped(tasks, [], counts=counts, durations=lateness)[0]

    def line(label, row):
        return [
            label,
            row["due"],
            row["on_time"],
            row["late"],
            row["open"],
            Share(row["on_time"], row["due"]),
            row["late_median"],
            row["late_p90"],
        ]

    for role, label in Role.choices:
        if role in rows:
            by_role.rows.append(line(label, rows[role]))
    if rows:
        by_role.rows.append(line("All roles", everyone))

    items = Table(
        "late_items",
        f"The {LATE_ITEMS} items most often late",
        ["Item", "Checklist", "Role", "Due", "Late (done late or still open)", "Share late"],
    )
    late_or_open = Q(status=DONE, completed_at__gt=F("due_at")) | Q(status=OPEN)
    for row in (
        tasks.values("item__key")
        .annotate(
            text=Max("text"),
            template=Max("checklist__template__name"),
            role=Max("role"),
            due=Count("pk"),
            late=Count("pk", filter=late_or_open),
        )
        .filter(late__gt=0)
        .order_by("-late", "text", "item__key")[:LATE_ITEMS]
    ):
        items.rows.append(
            [
                row["text"],
                row["template"],
                ROLE_LABELS.get(row["role"], row["role"]),
                row["due"],
                row["late"],
                Share(row["late"], row["due"]),
            ]
        )
    by_week = Table(
        "by_week",
        "Tasks done by their due time, week by week",
        ["Week of", "Due", "Done on time", "Done late", "Still open", "Share on time"],
        nowrap_labels=True,
    )
    for row in weekly(tasks, "due_at", period, counts):
        by_week.rows.append(
            [row["label"], row["due"], row["on_time"], row["late"], row["open"], Share(row["on_time"], row["due"])]
        )
    return Section("on_time", "On time", [by_role, items, by_week])
