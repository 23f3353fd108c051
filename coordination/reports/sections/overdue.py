"""5. Overdue trend: open overdue tasks at the end of each day."""

from django.db.models import Case, Count, F, Q, When

from accounts.models import Unit
from checklists.models import Task
from patients.selectors import stays_on_unit

from ..period import Period
from ..tables import Table
from .common import CANCELLED, NOT_APPLICABLE, Section, not_applicable_since


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
    resolved_at = Case(When(status=NOT_APPLICABLE, then=not_applicable_since()), default=F("completed_at"))
    candidates = (
        stays_on_unit(Task.objects.filter(due_at__lt=period.end).exclude(status=CANCELLED), unit.pk)
        .annotate(resolved_at=resolved_at)
        .filter(~Q(status=NOT_APPLICABLE) | Q(resolved_at__isnull=False))
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=period.start))
    )
    counts = (
        candidates.aggregate(
            **{
                f"day{place}": Count(
                    "pk",
                    filter=Q(due_at__lt=moment)
                    & (Q(resolved_at__isnull=True) | Q(resolved_at__gt=moment))
                    & (Q(stay_from__isnull=True) | Q(stay_from__lte=moment))
                    & (Q(stay_until__isnull=True) | Q(stay_until__gt=moment)),
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
