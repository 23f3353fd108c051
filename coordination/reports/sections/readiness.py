"""1. Readiness: were the events' gates ready at their time, and the oncologists' overrides."""

import operator
from functools import reduce

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce

from accounts.models import Unit
from checklists.gate_sql import BLOCKER_KINDS, covered_by_override
from checklists.models import Checklist, OverrideJustification, Task
from patients.models import CareEvent
from patients.selectors import on_unit_at

from ..period import Period
from ..tables import Share, Table
from .common import (
    CANCELLED,
    DONE,
    KIND_LABELS,
    NOT_APPLICABLE,
    Section,
    add_up,
    local_time,
    not_applicable_since,
    person,
    weekly,
)

OVERRIDES_LISTED = 50  # the newest overrides listed with their reasons (all are counted)


def _event_time():
    """When the event happened: its recorded start, else its planned time."""
    return Coalesce("actual_at", "planned_at")


def _blockers_at_event_time(kind: str | None = None):
    """The tasks of the event (OuterRef pk, at its time OuterRef "at") that kept its gate from being
    ready then as blockers of `kind` (or of any kind): the gate's rules (checklists.gate.task_blockers)
    read as of that moment. A required task not done by then ("open"); a task done by then whose hard
    stop failed ("hard_stop"); a task done by then whose second check was not made by then
    ("unverified"), which may be the same task. A task marked not applicable blocked as an open one
    until it was marked so (its activity says when; one marked after the event's time did not make
    the event ready then). Cancelled tasks never block (their event's cancellation, or conditions
    that no longer hold, took them off the checklist)."""
    at = OuterRef("at")
    done_by_then = Q(status=DONE, completed_at__lte=at)
    blocks_then = {
        "hard_stop": done_by_then & Q(hard_stop_failed=True),
        "unverified": done_by_then & Q(needs_verification=True) & (Q(verified_at__isnull=True) | Q(verified_at__gt=at)),
        "open": ~done_by_then & Q(required=True),
    }
    kinds = BLOCKER_KINDS if kind is None else [kind]
    return (
        Task.objects.filter(event=OuterRef("pk"))
        .exclude(status=CANCELLED)
        .annotate(not_applicable_at=not_applicable_since())
        .filter(~Q(status=NOT_APPLICABLE) | Q(not_applicable_at__gt=at))
        .filter(reduce(operator.or_, (blocks_then[kind] for kind in kinds)))
    )


def _still_blocked_then() -> Q:
    """The event had a blocker at its time that no override of its own checklist given by then
    covered (the gate's rule, checklists.gate_sql.covered_by_override, as of that moment): each
    reason a task blocked is covered, or not, on its own."""
    return reduce(
        operator.or_,
        (
            Q(
                Exists(
                    _blockers_at_event_time(kind).exclude(
                        covered_by_override(kind) & Q(checklist__overridden_at__lte=OuterRef("at"))
                    )
                )
            )
            for kind in BLOCKER_KINDS
        ),
    )


def readiness(unit: Unit, period: Period) -> Section:
    """Events of the period (not cancelled, with a checklist): ready at their time, started on
    oncologists' overrides given by then that covered everything that kept it from being ready, or
    not ready, by kind and week by week. An event missed (its time passed without a start, its gate
    not ready: checklists.services.events_settle) counts at its planned time: it is what "not
    ready" means. Overrides given in the period: by oncologist, by kind of justification, the newest
    with their reasons. Four queries."""
    events = (
        CareEvent.objects.exclude(status=CareEvent.Status.CANCELLED)
        .annotate(at=_event_time())
        .filter(on_unit_at(unit.pk, "at"), at__gte=period.start, at__lt=period.end)
        .annotate(
            has_tasks=Exists(Task.objects.filter(event=OuterRef("pk")).exclude(status=CANCELLED)),
            is_blocked=Exists(_blockers_at_event_time()),
            is_still_blocked=_still_blocked_then(),
        )
        .filter(has_tasks=True)
    )
    readiness_counts = {
        "events": Count("pk"),
        "ready": Count("pk", filter=Q(is_blocked=False)),
        "overridden": Count("pk", filter=Q(is_blocked=True, is_still_blocked=False)),
        "not_ready": Count("pk", filter=Q(is_still_blocked=True)),
    }
    # One pass over the events, by kind and week; the two tables add its counts up.
    measures = ("events", "ready", "overridden", "not_ready")
    kinds, weeks = add_up(weekly(events, "at", period, readiness_counts, by=("kind",)), measures, "kind", "label")
    order = {kind: place for place, kind in enumerate(CareEvent.Kind.values)}
    by_kind = Table(
        "by_kind",
        "Ready at event time, by kind of event",
        ["Kind of event", "Events", "Ready", "Started on an override", "Not ready", "Share ready"],
    )
    for kind in sorted(kinds, key=lambda kind: order.get(kind, 99)):
        counted = kinds[kind]
        by_kind.rows.append([KIND_LABELS.get(kind, kind), *counted, Share(counted[1], counted[0])])
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
        on_unit_at(unit.pk, "overridden_at", patient="event__patient"),
        overridden_at__gte=period.start,
        overridden_at__lt=period.end,
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
        name = person(row["overridden_by__first_name"], row["overridden_by__last_name"], row["overridden_by__username"])
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
                local_time(checklist.overridden_at, period),
                person(who.first_name, who.last_name, who.username) if who else "Unknown",
                f"{KIND_LABELS.get(checklist.event.kind, checklist.event.kind)} (event {checklist.event_id})",
                checklist.template.name,
                justifications.get(checklist.override_justification, "Not given"),
                checklist.override_reason,
            ]
        )
    return Section("readiness", "Readiness", [by_kind, by_oncologist, by_reason, listed, by_week])
