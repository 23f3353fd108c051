"""Counts and percentiles grouped by the database, on PostgreSQL and on SQLite alike.

PostgreSQL computes medians and 90th percentiles itself (`percentile_cont`, in the grouped query
that counts). SQLite (`make run`) has no such aggregate: there the durations of each group are
read in one more query, ordered, and the same interpolation is done in Python, so that both give
the same numbers (tests/reports/test_selectors.py runs on PostgreSQL; the e2e and `make run` on
SQLite). Either way the number of queries does not depend on the number of rows.
"""

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence

from django.db import connection
from django.db.models import Aggregate, Case, DurationField, Expression, F, Max, Q, QuerySet, When

MEDIAN, P90 = 0.5, 0.9


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile of an interval (or a number): `percentile_cont(f) WITHIN
    GROUP (ORDER BY x)`, the value below which a fraction f of the group lies, interpolated."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile(values: Sequence[dt.timedelta], fraction: float) -> dt.timedelta | None:
    """percentile_cont in Python: `values` sorted, the point at fraction × (n − 1), interpolated."""
    if not values:
        return None
    position = fraction * (len(values) - 1)
    low, high = math.floor(position), math.ceil(position)
    seconds = values[low].total_seconds() + (values[high] - values[low]).total_seconds() * (position - low)
    return dt.timedelta(seconds=round(seconds, 6))


def grouped(
    queryset: QuerySet,
    by: Sequence[str],
    *,
    counts: dict[str, Aggregate],
    durations: dict[str, tuple[Expression, Q]] | None = None,
) -> list[dict]:
    """`queryset` grouped by the fields `by`, each group with its `counts` and, for each name of
    `durations` (an expression, and a condition that picks the rows it is measured on), its
    `<name>_median`, `<name>_p90` and `<name>_max` (None when no row qualifies).
    One query on PostgreSQL, two on SQLite."""
    durations = durations or {}
    postgres = connection.vendor == "postgresql"
    annotations: dict[str, Aggregate] = dict(counts)
    for name, (expression, condition) in durations.items():
        annotations[f"{name}_max"] = Max(expression, filter=condition, output_field=DurationField())
        if postgres:
            annotations[f"{name}_median"] = PercentileCont(expression, fraction=MEDIAN, filter=condition)
            annotations[f"{name}_p90"] = PercentileCont(expression, fraction=P90, filter=condition)
    base = queryset.values(*by) if by else queryset
    if by:
        rows = list(base.annotate(**annotations).order_by())
    else:
        rows = [base.aggregate(**annotations)]
    if durations and not postgres:
        _add_percentiles_in_python(queryset, by, durations, rows)
    return rows


def _add_percentiles_in_python(queryset, by, durations, rows) -> None:
    """SQLite: every measured duration of every group, in one query, then percentile_cont each."""
    measured = {
        f"_{name}": Case(When(condition, then=expression), default=None, output_field=DurationField())
        for name, (expression, condition) in durations.items()
    }
    values: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in queryset.annotate(**measured).values(*by, *measured).order_by():
        key = tuple(row[field] for field in by)
        for name in durations:
            if row[f"_{name}"] is not None:
                values[key][name].append(row[f"_{name}"])
    for row in rows:
        key = tuple(row[field] for field in by)
        for name in durations:
            ordered = sorted(values[key][name])
            row[f"{name}_median"], row[f"{name}_p90"] = percentile(ordered, MEDIAN), percentile(ordered, P90)


ROLLUP_PERCENTILES = (
    'SELECT "_group", GROUPING("_group"), percentile_cont(%s) WITHIN GROUP (ORDER BY "_measure"),'
    ' percentile_cont(%s) WITHIN GROUP (ORDER BY "_measure") FROM ({measured}) AS measured GROUP BY ROLLUP ("_group")'
)


def percentiles_by_and_overall(
    queryset: QuerySet, by: str, expression: Expression, condition: Q
) -> dict[object, tuple[dt.timedelta | None, dt.timedelta | None]]:
    """The median and 90th percentile of `expression` over the rows of `queryset` that meet
    `condition`, for each value of the field `by` and, under the key None, for all of them: one
    query. PostgreSQL groups by ROLLUP (which Django's ORM does not write: the measured rows are
    Django's query, the grouping around it is written here); SQLite reads the measured values and
    interpolates in Python."""
    measured = (
        queryset.filter(condition).annotate(_group=F(by), _measure=expression).values("_group", "_measure").order_by()
    )
    result: dict[object, tuple[dt.timedelta | None, dt.timedelta | None]] = {}
    if connection.vendor == "postgresql":
        inner, params = measured.query.sql_with_params()
        # Django's compiled query inside; every value stays a parameter.
        sql = ROLLUP_PERCENTILES.format(measured=inner)
        with connection.cursor() as cursor:
            cursor.execute(sql, (MEDIAN, P90, *params))
            for group, is_total, median, p90 in cursor.fetchall():
                result[None if is_total else group] = (median, p90)
        return result
    values: dict[object, list] = defaultdict(list)
    for row in measured.order_by():
        values[row["_group"]].append(row["_measure"])
        values[None].append(row["_measure"])
    for group, durations in values.items():
        ordered = sorted(durations)
        result[group] = (percentile(ordered, MEDIAN), percentile(ordered, P90))
    return result
