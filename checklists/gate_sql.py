"""The readiness gate (checklists.gate) asked of the database, for pages that pick the few events
that are not ready out of hundreds (the unit board) without loading their tasks.

Each expression mirrors one rule of checklists/gate.py, named beside it; the two are held equal
by tests/checklists/test_gate_sql.py on generated checklists. A change to the gate changes both.
"""

import datetime as dt
import operator
from collections.abc import Callable
from functools import reduce

from django.db.models import (
    BooleanField,
    Case,
    CharField,
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

# gate.task_blockers: each reason a task blocks (its Blocker.kind), in the gate's order. A done task
# may block twice, as a failed hard stop and as a missing independent check: each its own blocker.
BLOCKER_KINDS = ("hard_stop", "unverified", "open")
_BLOCKS_AS = {
    "hard_stop": Q(status=DONE, hard_stop_failed=True),
    "unverified": Q(status=DONE, needs_verification=True, verified_by__isnull=True),
    "open": Q(status=OPEN, required=True),
}


def blocker_role(kind: str):
    """gate.task_blockers: whose part a blocker of `kind` is (Blocker.role): the verifier's role
    for a missing check, else the task's."""
    if kind != "unverified":
        return F("role")
    return Case(When(~Q(verifier_role=""), then=F("verifier_role")), default=F("role"), output_field=CharField())


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


def covered_by_override(kind: str) -> Q:
    """gate.checklist_readiness: the checklist was overridden (it has a reason) and its
    `overridden_blockers` hold the key of the task's blocker of `kind` (gate.blocker_key:
    "task_id:open", or "task_id:kind:value" for a done task)."""
    answer = Value("") if kind == "open" else Concat(Value(":"), "value", output_field=CharField())
    key = Concat(Cast("pk", CharField()), Value(f":{kind}"), answer, output_field=CharField())
    return ~Q(checklist__override_reason="") & Q(JsonListHolds(F("checklist__overridden_blockers"), key))


def blocks_unresolved(kind: str) -> Q:
    """The task blocks as `kind` and no override covers that blocker (gate.Readiness.unresolved)."""
    return _BLOCKS_AS[kind] & ~covered_by_override(kind)


def unresolved_blockers(kind: str | None = None) -> QuerySet[Task]:
    """The tasks that keep their checklist from being ready (gate.Readiness.unresolved) as blockers
    of `kind`, each with its `blocker_kind` and `blocker_role`; with no kind, the tasks that do for
    any reason, once each (for Exists: `each_blocker` gives a row per blocker)."""
    if kind is None:
        return Task.objects.filter(reduce(operator.or_, map(blocks_unresolved, BLOCKER_KINDS)))
    return Task.objects.filter(blocks_unresolved(kind)).annotate(
        blocker_kind=Value(kind, output_field=CharField()), blocker_role=blocker_role(kind)
    )


def each_blocker(rows: Callable[[QuerySet[Task], str], QuerySet], *, distinct: bool = False) -> QuerySet:
    """Every unresolved blocker, a row each (a task that blocks twice gives two): `rows(blockers,
    kind)` shapes the blockers of each kind alike (`unresolved_blockers(kind)` filtered, ending in
    the same `values_list`), and the kinds' rows are put together, `distinct` or all. Only
    order_by (by a column of the rows) may follow."""
    first, *others = (rows(unresolved_blockers(kind), kind).order_by() for kind in BLOCKER_KINDS)
    return first.union(*others, all=not distinct)


def _work_open(event, *, now: dt.datetime) -> Exists:
    """The event's work has opened (not `Readiness.not_yet_due` at `now`): a task of theirs that is
    not cancelled comes due within gate.WORK_HORIZON (`Readiness.opens_at` is the first due time
    less the horizon). `event`: an OuterRef to the event's id."""
    return Exists(Task.objects.filter(event=event, due_at__lte=now + WORK_HORIZON).exclude(status=CANCELLED))


def _hard_stop_failed(event) -> Exists:
    """An unresolved failed hard stop of the event (gate.Readiness.hard_stops): it is shown (not
    `Readiness.not_yet_due`) whether or not the work has opened, as a task may be done early and
    its answer fail. `event`: an OuterRef to the event's id."""
    return Exists(unresolved_blockers("hard_stop").filter(event=event))


def _shown(event, *, now: dt.datetime) -> Q:
    """Not `Readiness.not_yet_due` at `now`: the event's work has opened, or a hard stop failed."""
    return Q(_work_open(event, now=now)) | Q(_hard_stop_failed(event))


def not_ready_with_work_open(events: QuerySet[CareEvent], *, now: dt.datetime) -> QuerySet[CareEvent]:
    """Of `events`, those whose gate is not ready (gate.Readiness.ready is false) and whose work has
    opened at `now`, or that have a failed hard stop (shown whenever it exists)."""
    blocked = unresolved_blockers().filter(event=OuterRef("pk"))
    return events.filter(Exists(blocked), _shown(OuterRef("pk"), now=now))


def blockers_of_events_not_ready(
    events: QuerySet[CareEvent], *, now: dt.datetime, kind: str | None = None
) -> QuerySet[Task]:
    """The tasks with unresolved blockers (of `kind`, or of any kind) of those of `events` that are
    not ready with their work open or with a failed hard stop (the events of
    `not_ready_with_work_open`, each with at least one): for counting them without listing them.
    `roles_waited_for` gives each blocker's role."""
    blockers = unresolved_blockers(kind).filter(event__in=events)
    return blockers.filter(_shown(OuterRef("event_id"), now=now))


def roles_waited_for(events: QuerySet[CareEvent], *, now: dt.datetime, **columns) -> QuerySet:
    """Each event of `not_ready_with_work_open` of `events` with each role it waits for, once:
    (event_id, blocker_role, then the named `columns`, expressions of the blocking task) rows."""
    return each_blocker(
        lambda _, kind: (
            blockers_of_events_not_ready(events, now=now, kind=kind)
            .annotate(**columns)
            .values_list("event_id", "blocker_role", *columns)
        ),
        distinct=True,
    )


def blockers_by_role(event_ids, *, texts: int = 3) -> dict[int, list[dict]]:
    """What blocks each event, by role (the roles in `Role` order): how many blockers and the texts
    of the first `texts` (in the order of the event page: checklist by template name, then item,
    then the gate's order of a task's blockers). {event id: [{"role": …, "count": …, "texts":
    […]}, …]}. One query, a row a blocker (the listed events' few), counted here: a task that
    blocks twice is two blockers, which no aggregate over tasks counts."""
    # Both ways to the event: the checklists are then read by their event too, not all of them.
    blockers = each_blocker(
        lambda blockers, kind: (
            blockers.filter(event_id__in=event_ids, checklist__event_id__in=event_ids)
            .annotate(template_name=F("checklist__template__name"), place=Value(BLOCKER_KINDS.index(kind)))
            .values_list("event_id", "blocker_role", "text", "template_name", "order", "pk", "place")
        )
    ).order_by("template_name", "order", "pk", "place")
    rows: dict[tuple[int, str], dict] = {}
    for event_id, role, text, *_ in blockers:
        row = rows.setdefault((event_id, role), {"role": role, "count": 0, "texts": []})
        row["count"] += 1
        if len(row["texts"]) < texts:
            row["texts"].append(text)
    by_event: dict[int, list[dict]] = {}
    for (event_id, _), row in sorted(rows.items(), key=lambda item: ROLE_ORDER[item[1]["role"]]):
        by_event.setdefault(event_id, []).append(row)
    return by_event
