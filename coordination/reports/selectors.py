"""The numbers of a unit's report, aggregated by the database: each section costs a fixed number
of queries whatever the period and the number of patients (tests/reports/test_query_count.py).

"The unit's" records are those of the patients whose unit it is now (a transferred patient's
history moves with them); reminders are those sent to the unit's staff.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Coalesce, ExtractHour, TruncDate, TruncWeek
from django.utils import timezone

from accounts.models import Role, Unit
from checklists.models import Checklist, OverrideJustification, Task
from patients.models import CareEvent, Cycle, Interruption, PumpEvent, ToxicityAssessment

from ..handoffs.models import Handoff, HandoffActivity
from ..reminders.models import Reminder, TaskSnooze
from .period import Period
from .stats import grouped
from .tables import Share, Table

DONE, OPEN, CANCELLED, NOT_APPLICABLE = (
    Task.Status.DONE,
    Task.Status.OPEN,
    Task.Status.CANCELLED,
    Task.Status.NOT_APPLICABLE,
)
LATE_ITEMS = 10  # the template items most often late
OVERRIDES_LISTED = 50  # the newest overrides listed with their reasons (all are counted)
SLOWEST_HANDOFFS = 5
RETURNS_LISTED = 20
ESCALATIONS = (Reminder.Kind.ESCALATION, Reminder.Kind.HANDOFF_ESCALATION, Reminder.Kind.TOXICITY_ESCALATION)

_KIND_LABELS = dict(CareEvent.Kind.choices)
_ROLE_LABELS = dict(Role.choices)


def _duration(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table] = field(default_factory=list)

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.key == key)


def _person(first: str | None, last: str | None, username: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or username or "Unknown"


# --- 1. readiness ------------------------------------------------------------------------------


def _event_time():
    """When the event happened: its recorded start, else its planned time."""
    return Coalesce("actual_at", "planned_at")


def _blocking_at_event_time():
    """The tasks of the event (OuterRef pk, at its time OuterRef "at") that kept its gate from being
    ready then, the gate's rules (checklists.gate) read as of that moment: a required task not done
    by then; a task done by then whose hard stop failed; a task done by then that needed a second
    check not made by then. Not-applicable and cancelled tasks never block (the record does not
    say when they were marked so)."""
    at = OuterRef("at")
    done_by_then = Q(status=DONE, completed_at__lte=at)
    return (
        Task.objects.filter(event=OuterRef("pk"))
        .exclude(status__in=[CANCELLED, NOT_APPLICABLE])
        .filter(
            (done_by_then & Q(hard_stop_failed=True))
            | (done_by_then & Q(needs_verification=True) & (Q(verified_at__isnull=True) | Q(verified_at__gt=at)))
            | (~done_by_then & Q(required=True))
        )
    )


def readiness(unit: Unit, period: Period) -> Section:
    """Events of the period (not cancelled or missed, with a checklist): ready at their time, started
    on an oncologist's override given by then, or not ready, by kind and week by week. Overrides given
    in the period: by oncologist, by kind of justification, the newest with their reasons. Four queries."""
    events = (
        CareEvent.objects.filter(patient__unit_id=unit.pk)
        .exclude(status__in=[CareEvent.Status.CANCELLED, CareEvent.Status.MISSED])
        .annotate(at=_event_time())
        .filter(at__gte=period.start, at__lt=period.end)
        .annotate(
            has_tasks=Exists(Task.objects.filter(event=OuterRef("pk")).exclude(status=CANCELLED)),
            is_blocked=Exists(_blocking_at_event_time()),
            is_overridden=Exists(
                Checklist.objects.filter(
                    event=OuterRef("pk"), overridden_at__isnull=False, overridden_at__lte=OuterRef("at")
                )
            ),
        )
        .filter(has_tasks=True)
    )
    readiness_counts = {
        "events": Count("pk"),
        "ready": Count("pk", filter=Q(is_blocked=False)),
        "overridden": Count("pk", filter=Q(is_blocked=True, is_overridden=True)),
        "not_ready": Count("pk", filter=Q(is_blocked=True, is_overridden=False)),
    }
    # One pass over the events, by kind and week; the two tables add its counts up.
    measures = ("events", "ready", "overridden", "not_ready")
    kinds: dict[str, list[int]] = {}
    weeks: dict[str, list[int]] = {}
    for row in _weekly(events, "at", period, readiness_counts, by=("kind",)):
        for totals, key in ((kinds, row["kind"]), (weeks, row["label"])):
            counted = totals.setdefault(key, [0, 0, 0, 0])
            for place, name in enumerate(measures):
                counted[place] += row[name]
    order = {kind: place for place, kind in enumerate(CareEvent.Kind.values)}
    by_kind = Table(
        "by_kind",
        "Ready at event time, by kind of event",
        ["Kind of event", "Events", "Ready", "Started on an override", "Not ready", "Share ready"],
    )
    for kind in sorted(kinds, key=lambda kind: order.get(kind, 99)):
        counted = kinds[kind]
        by_kind.rows.append([_KIND_LABELS.get(kind, kind), *counted, Share(counted[1], counted[0])])
    by_week = Table(
        "by_week",
        "Ready at event time, week by week",
        ["Week of", "Events", "Ready", "Started on an override", "Not ready", "Share ready"],
        nowrap_labels=True,
    )
    for week in sorted(weeks):
        by_week.rows.append([week, *weeks[week], Share(weeks[week][1], weeks[week][0])])
    if by_kind.rows:
        totals = [sum(row[place] for row in by_kind.rows) for place in range(1, 5)]
        by_kind.rows.append(["All events", *totals, Share(totals[1], totals[0])])

    overrides = Checklist.objects.filter(
        event__patient__unit_id=unit.pk, overridden_at__gte=period.start, overridden_at__lt=period.end
    )
    by_oncologist = Table("by_oncologist", "Overrides by oncologist", ["Oncologist", "Events overridden"])
    people = (
        overrides.values(
            "overridden_by_id", "overridden_by__first_name", "overridden_by__last_name", "overridden_by__username"
        )
        .annotate(events=Count("event", distinct=True))
        .order_by("-events", "overridden_by__last_name", "overridden_by_id")
    )
    for row in people:
        name = _person(
            row["overridden_by__first_name"], row["overridden_by__last_name"], row["overridden_by__username"]
        )
        by_oncologist.rows.append([name, row["events"]])
    justifications = dict(OverrideJustification.choices)
    by_reason = Table("by_justification", "Overrides by justification", ["Justification", "Events overridden"])
    for row in (
        overrides.values("override_justification")
        .annotate(events=Count("event", distinct=True))
        .order_by("-events", "override_justification")
    ):
        by_reason.rows.append([justifications.get(row["override_justification"], "Not given"), row["events"]])
    listed = Table(
        "overrides",
        f"Overrides with their reasons (the newest {OVERRIDES_LISTED})",
        ["When", "Oncologist", "Event", "Checklist", "Justification", "Reason"],
    )
    for checklist in overrides.select_related("overridden_by", "event", "template").order_by("-overridden_at", "-pk")[
        :OVERRIDES_LISTED
    ]:
        who = checklist.overridden_by
        listed.rows.append(
            [
                f"{dt.datetime.astimezone(checklist.overridden_at, period.zone):%Y-%m-%d %H:%M}",
                _person(who.first_name, who.last_name, who.username) if who else "Unknown",
                f"{_KIND_LABELS.get(checklist.event.kind, checklist.event.kind)} (event {checklist.event_id})",
                checklist.template.name,
                justifications.get(checklist.override_justification, "Not given"),
                checklist.override_reason,
            ]
        )
    return Section("readiness", "Readiness", [by_kind, by_oncologist, by_reason, listed, by_week])


def _weekly(queryset, moment: str, period: Period, counts: dict, by: tuple[str, ...] = ()) -> list[dict]:
    """`counts` of `queryset` by the week (from Monday, on the unit's clock) of its `moment` (and by
    the fields `by`), each row with its `label`: the Monday, or the period's first day for a week
    begun before it. One query."""
    rows = list(
        queryset.annotate(week=TruncWeek(moment, tzinfo=period.zone))
        .values("week", *by)
        .annotate(**counts)
        .order_by("week", *by)
    )
    for row in rows:
        week = row["week"]
        monday = timezone.localtime(week, period.zone).date() if isinstance(week, dt.datetime) else week
        row["label"] = f"{max(monday, period.first):%Y-%m-%d}"
    return rows


# --- 2. on time --------------------------------------------------------------------------------


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
    lateness = {"late": (_duration("completed_at", "due_at"), late_q)}
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
                _ROLE_LABELS.get(row["role"], row["role"]),
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
    for row in _weekly(tasks, "due_at", period, counts):
        by_week.rows.append(
            [row["label"], row["due"], row["on_time"], row["late"], row["open"], Share(row["on_time"], row["due"])]
        )
    return Section("on_time", "On time", [by_role, items, by_week])


# --- 3. handoffs -------------------------------------------------------------------------------


def handoffs(unit: Unit, period: Period) -> Section:
    """Handoffs sent in the period (their last sending) by the unit or to it: how long to be
    acknowledged and accepted, how many acknowledged after their deadline (or still waiting past
    it); the slowest to acknowledge; the returns of the period with their reasons. Four queries."""
    sent = Handoff.objects.filter(
        Q(from_unit_id=unit.pk) | Q(to_unit_id=unit.pk), sent_at__gte=period.start, sent_at__lt=period.end
    )
    outgoing = Q(from_unit_id=unit.pk)
    past_deadline = Q(acknowledge_by__isnull=False) & (
        Q(acknowledged_at__gt=F("acknowledge_by"))
        | Q(acknowledged_at__isnull=True, status=Handoff.Status.SENT, acknowledge_by__lt=period.now)
    )
    columns = [
        "Direction",
        "Sent",
        "Acknowledged",
        "Acknowledged: median",
        "Acknowledged: 90th percentile",
        "Acknowledged: slowest",
        "Accepted",
        "Accepted: median",
        "Accepted: 90th percentile",
        "Accepted: slowest",
        "Acknowledged past the deadline",
    ]
    turnaround = Table("turnaround", "Turnaround: sent → acknowledged, sent → accepted", columns)
    for label, direction in (("Sent by this unit", outgoing), ("Received by this unit", ~outgoing)):
        row = grouped(
            sent.filter(direction),
            [],
            counts={
                "sent": Count("pk"),
                "acknowledged": Count("pk", filter=Q(acknowledged_at__isnull=False)),
                "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
                "past": Count("pk", filter=past_deadline),
            },
            durations={
                "ack": (_duration("acknowledged_at", "sent_at"), Q(acknowledged_at__isnull=False)),
                "acc": (_duration("accepted_at", "sent_at"), Q(accepted_at__isnull=False)),
            },
        )[0]
        if row["sent"]:
            turnaround.rows.append(
                [
                    label,
                    row["sent"],
                    row["acknowledged"],
                    row["ack_median"],
                    row["ack_p90"],
                    row["ack_max"],
                    row["accepted"],
                    row["acc_median"],
                    row["acc_p90"],
                    row["acc_max"],
                    row["past"],
                ]
            )
    kinds = dict(Handoff.Kind.choices)
    slowest = Table(
        "slowest",
        f"The {SLOWEST_HANDOFFS} slowest to be acknowledged",
        ["Handoff", "Kind", "From → to", "Sent", "Acknowledged after"],
    )
    for handoff in (
        sent.filter(acknowledged_at__isnull=False)
        .annotate(took=_duration("acknowledged_at", "sent_at"))
        .select_related("from_unit", "to_unit")
        .order_by("-took", "pk")[:SLOWEST_HANDOFFS]
    ):
        slowest.rows.append(
            [
                f"Handoff {handoff.pk}",
                kinds.get(handoff.kind, handoff.kind),
                f"{handoff.from_unit} → {handoff.to_unit}",
                f"{dt.datetime.astimezone(handoff.sent_at, period.zone):%Y-%m-%d %H:%M}",
                handoff.took,
            ]
        )
    returns = HandoffActivity.objects.filter(
        Q(handoff__from_unit_id=unit.pk) | Q(handoff__to_unit_id=unit.pk),
        action=HandoffActivity.Action.RETURN,
        at__gte=period.start,
        at__lt=period.end,
    )
    returned = Table(
        "returns",
        f"Returned to the sender, with the reason (the newest {RETURNS_LISTED})",
        ["When", "Handoff", "From → to", "Returned by", "Reason"],
    )
    for activity in returns.select_related("handoff__from_unit", "handoff__to_unit", "actor").order_by("-at", "-pk")[
        :RETURNS_LISTED
    ]:
        who = activity.actor
        returned.rows.append(
            [
                f"{dt.datetime.astimezone(activity.at, period.zone):%Y-%m-%d %H:%M}",
                f"Handoff {activity.handoff_id}",
                f"{activity.handoff.from_unit} → {activity.handoff.to_unit}",
                _person(who.first_name, who.last_name, who.username) if who else "The system",
                activity.detail,
            ]
        )
    count = Table(
        "returns_count",
        "Returns in the period",
        ["Returns", "Count"],
        rows=[["Returned to the sender", returns.count()]],
    )
    return Section("handoffs", "Handoffs", [turnaround, slowest, count, returned])


# --- 4. reminders ------------------------------------------------------------------------------


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
            durations={"lag": (_duration("sent_at", "fire_at"), sent_q)},
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
        task__patient__unit_id=unit.pk, created_at__gte=period.start, created_at__lt=period.end
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


# --- 5. overdue trend --------------------------------------------------------------------------


def overdue_trend(unit: Unit, period: Period) -> Section:
    """How many tasks were open and overdue at the end of each day of the period (midnight on the
    unit's clock; now for today): due before that moment and not done by then. One query, one
    conditional count per day. Tasks cancelled or marked not applicable are left out (the record
    does not say when)."""
    ends = period.day_ends()
    candidates = (
        Task.objects.filter(patient__unit_id=unit.pk, due_at__lt=period.end)
        .exclude(status__in=[CANCELLED, NOT_APPLICABLE])
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gt=period.start))
    )
    counts = (
        candidates.aggregate(
            **{
                f"day{place}": Count(
                    "pk", filter=Q(due_at__lt=moment) & (Q(completed_at__isnull=True) | Q(completed_at__gt=moment))
                )
                for place, (_, moment) in enumerate(ends)
            }
        )
        if ends
        else {}
    )
    trend = Table(
        "by_day", "Open overdue tasks at the end of each day", ["Day", "Open overdue tasks"], nowrap_labels=True
    )
    for place, (day, _) in enumerate(ends):
        trend.rows.append([f"{day:%Y-%m-%d}", counts[f"day{place}"]])
    return Section("overdue", "Overdue trend", [trend])


# --- 6. interruptions and toxicity -------------------------------------------------------------

LENGTHS = (
    ("len_under_4h", "Under 4 h", Q(restarted_at__lt=F("stopped_at") + dt.timedelta(hours=4))),
    (
        "len_4h_to_7d",
        "4 h to 7 days (supervised restart)",
        Q(
            restarted_at__gte=F("stopped_at") + dt.timedelta(hours=4),
            restarted_at__lte=F("stopped_at") + dt.timedelta(days=7),
        ),
    ),
    ("len_over_7d", "Over 7 days (new cycle)", Q(restarted_at__gt=F("stopped_at") + dt.timedelta(days=7))),
    ("len_permanent", "Stopped for good", Q(permanent=True)),
    ("len_open", "Not restarted yet", Q(restarted_at__isnull=True, permanent=False)),
)


def interruptions_and_toxicity(unit: Unit, period: Period) -> Section:
    """Interruptions that began in the period by cause and length (the regimen's 4-hour and 7-day
    marks) with the median length of those restarted; the worst CRS and ICANS grade of each patient
    in each cycle number among the assessments of the period; pump and line events by hour of day
    on the unit's clock. Three queries."""
    breaks = Interruption.objects.filter(
        patient__unit_id=unit.pk, stopped_at__gte=period.start, stopped_at__lt=period.end
    )
    restarted = Q(restarted_at__isnull=False)
    rows = {
        row["cause"]: row
        for row in grouped(
            breaks,
            ["cause"],
            counts={"count": Count("pk"), **{key: Count("pk", filter=condition) for key, _, condition in LENGTHS}},
            durations={"length": (_duration("restarted_at", "stopped_at"), restarted)},
        )
    }
    by_cause = Table(
        "interruptions",
        "Interruptions by cause and length",
        ["Cause", "Interruptions", *(label for _, label, _ in LENGTHS), "Length: median", "Length: 90th percentile"],
    )
    for cause, label in Interruption.Cause.choices:
        if cause in rows:
            row = rows[cause]
            by_cause.rows.append(
                [label, row["count"], *(row[key] for key, _, _ in LENGTHS), row["length_median"], row["length_p90"]]
            )

    cycle_of_day = (
        Cycle.objects.filter(course_id=OuterRef("course_id"), start_date__lte=OuterRef("assessed_day"))
        .order_by("-start_date", "-number")
        .values("number")[:1]
    )
    worst = (
        ToxicityAssessment.objects.filter(
            patient__unit_id=unit.pk, assessed_at__gte=period.start, assessed_at__lt=period.end
        )
        .annotate(assessed_day=TruncDate("assessed_at", tzinfo=period.zone))
        .annotate(cycle_number=Coalesce(F("event__cycle__number"), Subquery(cycle_of_day)))
        .values("patient_id", "cycle_number")
        .annotate(
            crs=Max(Coalesce("confirmed_crs_grade", "crs_grade")),
            icans=Max(Coalesce("confirmed_icans_grade", "icans_grade")),
        )
        .order_by()
    )
    grades = Table(
        "grades",
        "Worst CRS and ICANS grade per patient, by cycle",
        ["Cycle", "Patients assessed", *(f"CRS grade {g}" for g in range(5)), *(f"ICANS grade {g}" for g in range(5))],
    )
    tally: dict = {}
    for row in worst:
        counts = tally.setdefault(row["cycle_number"], [0] * 11)
        counts[0] += 1
        counts[1 + row["crs"]] += 1
        counts[6 + row["icans"]] += 1
    for number in sorted(tally, key=lambda n: (n is None, n or 0)):
        grades.rows.append([f"Cycle {number}" if number else "No cycle", *tally[number]])

    hours = {
        row["hour"]: row
        for row in PumpEvent.objects.filter(
            patient__unit_id=unit.pk, occurred_at__gte=period.start, occurred_at__lt=period.end
        )
        .annotate(hour=ExtractHour("occurred_at", tzinfo=period.zone))
        .values("hour")
        .annotate(count=Count("pk"), out_of_hours=Count("pk", filter=Q(out_of_hours=True)))
        .order_by()
    }
    pump = Table(
        "pump_by_hour",
        "Pump and line events by hour of day (unit's clock)",
        ["Hour", "Events", "Out of office hours"],
        nowrap_labels=True,
    )
    if hours:
        for hour in range(24):
            row = hours.get(hour, {"count": 0, "out_of_hours": 0})
            pump.rows.append([f"{hour:02d}:00–{hour:02d}:59", row["count"], row["out_of_hours"]])
    return Section("interruptions", "Interruptions and toxicity", [by_cause, grades, pump])


SECTIONS = {
    "readiness": readiness,
    "on_time": on_time,
    "handoffs": handoffs,
    "reminders": reminders,
    "overdue": overdue_trend,
    "interruptions": interruptions_and_toxicity,
}
