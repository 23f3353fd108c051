"""The readiness gate (checklists.gate) asked of the database, for pages that pick the few events
that are not ready out of hundreds (the unit board) without loading their tasks.

Each expression mirrors one rule of checklists/gate.py, named beside it; the two are held equal
by tests/checklists/test_gate_sql.py on generated checklists. A change to the gate changes both.
"""

import datetime as dt

from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat

from accounts.models import Role
from patients.models import CareEvent

from .gate import WORK_HORIZON
from .models import Task

ROLE_ORDER = {role: place for place, role in enumerate(Role.values)}
DONE, OPEN, CANCELLED = Task.Status.DONE, Task.Status.OPEN, Task.Status.CANCELLED

# gate.task_blocker: why a task blocks (its Blocker.kind), or NULL.
BLOCKER_KIND = Case(
    When(Q(status=DONE, hard_stop_failed=True), then=Value("hard_stop")),
    When(Q(status=DONE, needs_verification=True, verified_by__isnull=True), then=Value("unverified")),
    When(Q(status=OPEN, required=True), then=Value("open")),
    default=None,
    output_field=CharField(),
)

# gate.task_blocker: whose part it is (Blocker.role): the verifier's role for a missing check.
BLOCKER_ROLE = Case(
    When(~Q(verifier_role="") & Q(blocker_kind="unverified"), then=F("verifier_role")),
    default=F("role"),
    output_field=CharField(),
)


class JsonListHolds(Func):
    """`json_list` (a JSON array of strings) holds the string `text`: PostgreSQL's containment
    (`@>`, which reads an index where there is one), SQLite's json_each where `make run` runs."""

    output_field = BooleanField()
    arity = 2

    def as_sql(self, compiler, connection, **extra_context):
        (list_sql, list_params), (text_sql, text_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"({list_sql} @> to_jsonb(({text_sql})::text))", (*list_params, *text_params)

    def as_sqlite(self, compiler, connection, **extra_context):
        (list_sql, list_params), (text_sql, text_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        sql = f"EXISTS (SELECT 1 FROM json_each({list_sql}) AS held WHERE held.value = ({text_sql}))"  # noqa: S608 (compiled, parameters apart)
        return sql, (*list_params, *text_params)


def covered_by_override() -> Q:
    """gate.checklist_readiness: the checklist was overridden (it has a reason) and its
    `overridden_blockers` hold this blocker's key (gate.blocker_key: "task_id:open", or
    "task_id:kind:value" for a done task): the tasks annotated with their `blocker_kind`."""
    answer = Case(
        When(blocker_kind="open", then=Value("")),
        default=Concat(Value(":"), "value", output_field=CharField()),
        output_field=CharField(),
    )
    key = Concat(Cast("pk", CharField()), Value(":"), "blocker_kind", answer, output_field=CharField())
    return ~Q(checklist__override_reason="") & Q(JsonListHolds(F("checklist__overridden_blockers"), key))


def unresolved_blockers() -> QuerySet[Task]:
    """The tasks that keep their checklist from being ready (gate.Readiness.unresolved), each with
    its `blocker_kind` and `blocker_role`."""
    return (
        Task.objects.annotate(blocker_kind=BLOCKER_KIND)
        .filter(blocker_kind__isnull=False)
        .annotate(blocker_role=BLOCKER_ROLE)
        .exclude(covered_by_override())
    )


def _work_open(event, *, now: dt.datetime) -> Exists:
    """The event's work has opened (not `Readiness.not_yet_due` at `now`): a task of theirs that is
    not cancelled comes due within gate.WORK_HORIZON (`Readiness.opens_at` is the first due time
    less the horizon). `event`: an OuterRef to the event's id."""
    return Exists(Task.objects.filter(event=event, due_at__lte=now + WORK_HORIZON).exclude(status=CANCELLED))


def _hard_stop_failed(event) -> Exists:
    """An unresolved failed hard stop of the event (gate.Readiness.hard_stops): it is shown (not
    `Readiness.not_yet_due`) whether or not the work has opened, as a task may be done early and
    its answer fail. `event`: an OuterRef to the event's id."""
    return Exists(unresolved_blockers().filter(event=event, blocker_kind="hard_stop"))


def _shown(event, *, now: dt.datetime) -> Q:
    """Not `Readiness.not_yet_due` at `now`: the event's work has opened, or a hard stop failed."""
    return Q(_work_open(event, now=now)) | Q(_hard_stop_failed(event))


def not_ready_with_work_open(events: QuerySet[CareEvent], *, now: dt.datetime) -> QuerySet[CareEvent]:
    """Of `events`, those whose gate is not ready (gate.Readiness.ready is false) and whose work has
    opened at `now`, or that have a failed hard stop (shown whenever it exists)."""
    blocked = unresolved_blockers().filter(event=OuterRef("pk"))
    return events.filter(Exists(blocked), _shown(OuterRef("pk"), now=now))


def blockers_of_events_not_ready(events: QuerySet[CareEvent], *, now: dt.datetime) -> QuerySet[Task]:
    """The unresolved blockers of those of `events` that are not ready with their work open or with
    a failed hard stop (the events of `not_ready_with_work_open`, each with at least one): for
    counting them without listing them."""
    return unresolved_blockers().filter(event__in=events).filter(_shown(OuterRef("event_id"), now=now))


def blockers_by_role(event_ids, *, texts: int = 3) -> dict[int, list[dict]]:
    """What blocks each event, by role (the roles in `Role` order): how many blockers and the texts
    of the first `texts` (in the order of the event page: checklist by template name, then item),
    counted in the database. {event id: [{"role": …, "count": …, "texts": […]}, …]}."""
    # Both ways to the event: the checklists are then read by their event too, not all of them.
    blockers = unresolved_blockers().filter(event_id__in=event_ids, checklist__event_id__in=event_ids)
    page_order = ("checklist__template__name", "order", "pk")
    if connection.vendor != "postgresql":
        rows = _counted_by_role_in_python(blockers.order_by(*page_order), texts)
    else:
        rows = (
            blockers.values("event_id", "blocker_role")
            .annotate(
                count=Count("pk"),
                texts=Func(
                    ArrayAgg("text", order_by=page_order),
                    template=f"(%(expressions)s)[1:{int(texts)}]",
                    output_field=ArrayField(CharField()),
                ),
            )
            .order_by()
        )
    by_event: dict[int, list[dict]] = {}
    for row in sorted(rows, key=lambda row: ROLE_ORDER[row["blocker_role"]]):
        by_event.setdefault(row["event_id"], []).append(
            {"role": row["blocker_role"], "count": row["count"], "texts": row["texts"]}
        )
    return by_event


def _counted_by_role_in_python(blockers: QuerySet[Task], texts: int) -> list[dict]:
    """blockers_by_role's rows where the database has no ordered array aggregate (SQLite, `make
    run`): the blockers read in the page's order and counted here."""
    rows: dict[tuple[int, str], dict] = {}
    for event_id, role, text in blockers.values_list("event_id", "blocker_role", "text"):
        row = rows.setdefault((event_id, role), {"event_id": event_id, "blocker_role": role, "count": 0, "texts": []})
        row["count"] += 1
        if len(row["texts"]) < texts:
            row["texts"].append(text)
    return list(rows.values())
