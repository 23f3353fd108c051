"""2. On time: tasks done by their due time, by role, by template item and week by week."""

from django.db.models import Count, F, Max, Q

from accounts.models import Role, Unit
from checklists.models import LEFT_OPEN, STILL_DUE, Task
from patients.selectors import on_unit_at

from ..period import Period
from ..stats import percentiles_by_and_overall
from ..tables import Share, Table
from .common import CANCELLED, DONE, NOT_APPLICABLE, NOT_DONE, ROLE_LABELS, Section, add_up, duration, weekly

LATE_ITEMS = 10  # the template items most often late
# Closed as not done needs no explaining; these two are the board's words, shortened on the page.
LEFT_OPEN_COLUMN = "Left open at its event"
STILL_OPEN_COLUMN = "Still open (overdue now)"
SHORT = {LEFT_OPEN_COLUMN: "Left open", STILL_OPEN_COLUMN: "Still open"}


def on_time(unit: Unit, period: Period) -> Section:
    """Tasks due in the period (neither cancelled nor marked not applicable): done by their due
    time, done late, not done (closed so after their event), left open at their event (done while
    they were open and not closed since), or still open (overdue now), so that the columns add up
    to the tasks due. Left open and still open are the board's definitions (checklists.models
    LEFT_OPEN and STILL_DUE): a task left open at its event is not overdue work there. How late the
    late ones were: median, 90th percentile. By role, overall, the template items most often not
    done on time, week by week.

    Two queries, each one pass over the unit's tasks of the period (the cost of this section is
    reading them): the counts by role, week and item at once, which the tables add up, and the
    lateness by role and overall, whose percentiles cannot be added up. An item is its template's
    and its key's: the key follows it across versions, and another template may hold the same key
    (a template exported, renamed and imported before imports gave such items new keys)."""
    tasks = Task.objects.filter(on_unit_at(unit.pk, "due_at"), due_at__gte=period.start, due_at__lt=period.end).exclude(
        status__in=[CANCELLED, NOT_APPLICABLE]
    )
    late_q = Q(status=DONE, completed_at__gt=F("due_at"))
    counts = {
        "due": Count("pk"),
        "on_time": Count("pk", filter=Q(status=DONE, completed_at__lte=F("due_at"))),
        "late": Count("pk", filter=late_q),
        "not_done": Count("pk", filter=Q(status=NOT_DONE)),
        "left_open": Count("pk", filter=LEFT_OPEN),
        "open": Count("pk", filter=STILL_DUE),
        "text": Max("text"),
        "template": Max("checklist__template__name"),
    }
    fine = weekly(tasks, "due_at", period, counts, by=("role", "checklist__template", "item__key"))
    lateness = percentiles_by_and_overall(tasks, "role", duration("completed_at", "due_at"), late_q)
    measures = ("due", "on_time", "late", "not_done", "left_open", "open")
    roles, weeks = add_up(fine, measures, "role", "label")
    item_counts = ("due", "late", "not_done", "left_open", "open")
    items: dict[tuple, dict] = {}
    for row in fine:
        item = items.setdefault(
            (row["checklist__template"], row["item__key"]),
            {"text": "", "template": "", "role": "", **dict.fromkeys(item_counts, 0)},
        )
        for name in item_counts:
            item[name] += row[name]
        item["text"], item["template"] = max(item["text"], row["text"]), row["template"] or ""
        item["role"] = max(item["role"], row["role"])

    counted_columns = ["Due", "Done on time", "Done late", "Not done", LEFT_OPEN_COLUMN, STILL_OPEN_COLUMN]
    columns = ["Role", *counted_columns, "Share on time", "Late by: median", "Late by: 90th percentile"]
    by_role = Table(
        "by_role",
        "Tasks done by their due time, by role",
        columns,
        short={**SHORT, "Late by: 90th percentile": "Late by: 90th pct."},
    )

    def line(label, counted, role):
        median, p90 = lateness.get(role, (None, None))
        return [label, *counted, Share(counted[1], counted[0]), median, p90]

    for role, label in Role.choices:
        if role in roles:
            by_role.rows.append(line(label, roles[role], role))
    if roles:
        everyone = [sum(counted[place] for counted in roles.values()) for place in range(len(measures))]
        by_role.rows.append(line("All roles", everyone, None))

    most_late = Table(
        "late_items",
        f"The {LATE_ITEMS} items most often late",
        [
            "Item",
            "Checklist",
            "Role",
            "Due",
            "Done late",
            "Not done",
            LEFT_OPEN_COLUMN,
            STILL_OPEN_COLUMN,
            "Share not done on time",
        ],
        short=SHORT,
    )
    for item in items.values():
        item["not_on_time"] = item["late"] + item["not_done"] + item["left_open"] + item["open"]
    ranked = sorted(
        ((key, item) for key, item in items.items() if item["not_on_time"]),
        key=lambda pair: (-pair[1]["not_on_time"], pair[1]["text"], pair[1]["template"], str(pair[0])),
    )
    for _, item in ranked[:LATE_ITEMS]:
        most_late.rows.append(
            [
                item["text"],
                item["template"],
                ROLE_LABELS.get(item["role"], item["role"]),
                item["due"],
                item["late"],
                item["not_done"],
                item["left_open"],
                item["open"],
                Share(item["not_on_time"], item["due"]),
            ]
        )
    by_week = Table(
        "by_week",
        "Tasks done by their due time, week by week",
        ["Week of", *counted_columns, "Share on time"],
        nowrap_labels=True,
        short=SHORT,
    )
    for week in sorted(weeks):
        counted = weeks[week]
        by_week.rows.append([week, *counted, Share(counted[1], counted[0])])
    return Section("on_time", "On time", [by_role, most_late, by_week])
