"""5. Overdue trend: open overdue tasks at the end of each day."""

from django.db import connection
from django.db.models import Case, F, Q, When

from accounts.models import Unit
from checklists.models import EVENT_OVER, EVENT_TIME, Task
from patients.selectors import stays_on_unit

from ..period import Period
from ..tables import Table
from .common import CANCELLED, NOT_APPLICABLE, Section, not_applicable_since

# One count a day over the candidates' four times, read from their query as a table: Django would
# write the resolution time and the stay's end (each a subquery) into every day's condition again,
# and composing those hundreds of copies cost more than running the query (PostgreSQL and SQLite).
OVERDUE_AT = (
    'COUNT(*) FILTER (WHERE "due_at" < %s AND ("resolved_at" IS NULL OR "resolved_at" > %s)'
    ' AND ("stay_from" IS NULL OR "stay_from" <= %s) AND ("stay_until" IS NULL OR "stay_until" > %s))'
)
OVERDUE_TREND = "SELECT {counts} FROM ({candidates}) AS candidates"


def overdue_trend(unit: Unit, period: Period) -> Section:
    """How many tasks were open and overdue at the end of each day of the period (midnight on the
    unit's clock; now for today): due before that moment and not resolved by then, that is
    neither completed nor marked not applicable, their patient on the unit at that moment (as the
    board showed them: a task left open when its patient moved counts on the new unit from then;
    each of the patient's stays on the unit is a row, patients.selectors.stays_on_unit). One
    query, one conditional count per day. Cancelled tasks are left out (a bulk cancellation, with
    its event, leaves no time), as are those marked not applicable without an activity saying
    when."""
    ends = period.day_ends()
    resolved = Case(When(status=NOT_APPLICABLE, then=not_applicable_since()), default=F("completed_at"))
    # A task due by its event's time is no longer overdue work once the event is done or missed (left
    # open, checklists.models.LEFT_OPEN): the board stops counting it at the event, and so does the
    # trend, whether it is still open, closed as not done, or closed as done late after the event.
    left_open = Q(event__status__in=EVENT_OVER, due_at__lte=EVENT_TIME) & (
        Q(resolved__isnull=True) | Q(resolved__gt=EVENT_TIME)
    )
    candidates = (
        stays_on_unit(Task.objects.filter(due_at__lt=period.end).exclude(status=CANCELLED), unit.pk)
        .annotate(resolved=resolved)
        .annotate(resolved_at=Case(When(left_open, then=EVENT_TIME), default=F("resolved")))
        .filter(~Q(status=NOT_APPLICABLE) | Q(resolved_at__isnull=False))
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=period.start))
    )
    counts: tuple = ()
    if ends:
        inner, params = candidates.values("due_at", "resolved_at", "stay_from", "stay_until").query.sql_with_params()
        moments = [connection.ops.adapt_datetimefield_value(moment) for _, moment in ends]
        # Django's compiled query inside; every value stays a parameter.
        sql = OVERDUE_TREND.format(counts=", ".join([OVERDUE_AT] * len(ends)), candidates=inner)
        with connection.cursor() as cursor:
            cursor.execute(sql, (*(moment for moment in moments for _ in range(4)), *params))
            counts = cursor.fetchone()
    trend = Table(
        "by_day", "Open overdue tasks at the end of each day", ["Day", "Open overdue tasks"], nowrap_labels=True
    )
    for (day, _), count in zip(ends, counts, strict=True):
        trend.rows.append([f"{day:%Y-%m-%d}", count])
    return Section("overdue", "Overdue trend", [trend])
