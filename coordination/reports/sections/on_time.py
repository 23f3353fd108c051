"""2. On time: tasks done by their due time, by role, by template item and week by week."""

from django.db.models import Count, F, Max, Q

from accounts.models import Role, Unit
from checklists.models import Task
from patients.selectors import on_unit_at

from ..period import Period
from ..stats import percentiles_by_and_overall
from ..tables import Share, Table
from .common import CANCELLED, DONE, NOT_APPLICABLE, OPEN, ROLE_LABELS, Section, add_up, duration, weekly

LATE_ITEMS = 10  # the template items most often late


def on_time(unit: Unit, period: Period) -> Section:
    """Tasks due in the period (neither cancelled nor marked not applicable): done by their due
    time, done late, or still open (overdue now). How late the late ones were: median, 90th
    percentile. By role, overall, the template items most often late, week by week.

    Two queries, each one pass over the unit's tasks of the period (the cost of this section is
    reading them): the counts by role, week and item at once, which the tables add up, and the
    lateness by role and overall, whose percentiles cannot be added up."""
    tasks = Task.objects.filter(on_unit_at(unit.pk, "due_at"), due_at__gte=period.start, due_at__lt=period.end).exclude(
        status__in=[CANCELLED, NOT_APPLICABLE]
    )
    late_q = Q(status=DONE, completed_at__gt=F("due_at"))
    counts = {
        "due": Count("pk"),
        "on_time": Count("pk", filter=Q(status=DONE, completed_at__lte=F("due_at"))),
        "late": Count("pk", filter=late_q),
        "open": Count("pk", filter=Q(status=OPEN)),
        "text": Max("text"),
        "template": Max("checklist__template__name"),
    }
    fine = weekly(tasks, "due_at", period, counts, by=("role", "item__key"))
    lateness = percentiles_by_and_overall(tasks, "role", duration("completed_at", "due_at"), late_q)
    measures = ("due", "on_time", "late", "open")
    roles, weeks = add_up(fine, measures, "role", "label")
    items: dict[str, dict] = {}
    for row in fine:
        item = items.setdefault(row["item__key"], {"due": 0, "late": 0, "text": "", "template": "", "role": ""})
        item["due"] += row["due"]
        item["late"] += row["late"] + row["open"]  # done late, or still open past its due time
        item["text"], item["template"] = max(item["text"], row["text"]), max(item["template"], row["template"] or "")
        item["role"] = max(item["role"], row["role"])

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

    def line(label, counted, role):
        due, done_on_time, late, still_open = counted
        median, p90 = lateness.get(role, (None, None))
        return [label, due, done_on_time, late, still_open, Share(done_on_time, due), median, p90]

    for role, label in Role.choices:
        if role in roles:
            by_role.rows.append(line(label, roles[role], role))
    if roles:
        everyone = [sum(counted[place] for counted in roles.values()) for place in range(4)]
        by_role.rows.append(line("All roles", everyone, None))

    most_late = Table(
        "late_items",
        f"The {LATE_ITEMS} items most often late",
        ["Item", "Checklist", "Role", "Due", "Late (done late or still open)", "Share late"],
    )
    ranked = sorted(
        ((key, item) for key, item in items.items() if item["late"]),
        key=lambda pair: (-pair[1]["late"], pair[1]["text"], str(pair[0])),
    )
    for _, item in ranked[:LATE_ITEMS]:
        most_late.rows.append(
            [
                item["text"],
                item["template"],
                ROLE_LABELS.get(item["role"], item["role"]),
                item["due"],
                item["late"],
                Share(item["late"], item["due"]),
            ]
        )
    by_week = Table(
        "by_week",
        "Tasks done by their due time, week by week",
        ["Week of", "Due", "Done on time", "Done late", "Still open", "Share on time"],
        nowrap_labels=True,
    )
    for week in sorted(weeks):
        due, done_on_time, late, still_open = weeks[week]
        by_week.rows.append([week, due, done_on_time, late, still_open, Share(done_on_time, due)])
    return Section("on_time", "On time", [by_role, most_late, by_week])
