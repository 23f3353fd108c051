"""What the sections share: the Section they return, a duration between two fields, a person's
name, and counts week by week."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Func, OuterRef, Subquery
from django.db.models.functions import TruncWeek
from django.utils import timezone

from accounts.models import Role
from checklists.models import Task, TaskActivity
from patients.models import CareEvent

from ..period import Period
from ..tables import Table

DONE, OPEN, CANCELLED, NOT_APPLICABLE, NOT_DONE = (
    Task.Status.DONE,
    Task.Status.OPEN,
    Task.Status.CANCELLED,
    Task.Status.NOT_APPLICABLE,
    Task.Status.NOT_DONE,
)
KIND_LABELS = dict(CareEvent.Kind.choices)
ROLE_LABELS = dict(Role.choices)


def duration(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


def not_applicable_since() -> Subquery:
    """When a task (OuterRef pk) marked not applicable was so marked: its latest such activity (an
    undo and a new marking move it). Until then it was open, on the board and in the gate; None
    for a task whose marking left no activity."""
    return Subquery(
        TaskActivity.objects.filter(task=OuterRef("pk"), action=TaskActivity.Action.NOT_APPLICABLE)
        .order_by("-at", "-pk")
        .values("at")[:1],
        output_field=DateTimeField(),
    )


class HoursAfter(Func):
    """`moment` plus a whole number of `hours` read from a column (a regimen's mark): Django adds a
    column's number of hours to a time on PostgreSQL only, and `make run` runs on SQLite."""

    output_field = DateTimeField()
    arity = 2

    def _parts(self, compiler):
        (moment, moment_params), (hours, hours_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return moment, hours, (*moment_params, *hours_params)

    def as_postgresql(self, compiler, connection, **extra_context):
        moment, hours, params = self._parts(compiler)
        return f"({moment} + make_interval(hours => {hours}))", params

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite keeps times as UTC text; datetime() moves one by a modifier such as "+4 hours".
        moment, hours, params = self._parts(compiler)
        return f"datetime({moment}, '+' || ({hours}) || ' hours')", params


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    marks: str = ""  # the clinical marks its numbers were judged by, in words, when they come from data

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.key == key)


def person(first: str | None, last: str | None, username: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or username or "Unknown"


def weekly(queryset, moment: str, period: Period, counts: dict, by: tuple[str, ...] = ()) -> list[dict]:
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


def add_up(rows: list[dict], measures: tuple[str, ...], *keys: str) -> list[dict[object, list[int]]]:
    """The counts `measures` of fine-grained `rows` (one query's groups), summed by each field of
    `keys` in turn: one {value: [count for each measure]} a key. How one pass over the records
    serves several tables."""
    totals: list[dict[object, list[int]]] = [{} for _ in keys]
    for row in rows:
        for table, key in zip(totals, keys, strict=True):
            counted = table.setdefault(row[key], [0] * len(measures))
            for place, name in enumerate(measures):
                counted[place] += row[name]
    return totals


def local_time(moment: dt.datetime, period: Period) -> dt.datetime:
    """A moment on the unit's clock (a cell: the page writes it to the minute, the CSV with its offset)."""
    return dt.datetime.astimezone(moment, period.zone)
