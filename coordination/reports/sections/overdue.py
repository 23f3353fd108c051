"""5. Overdue trend: open overdue tasks at the end of each day."""

from django.db.models import Count, Q

from accounts.models import Unit
from checklists.models import Task

from ..period import Period
from ..tables import Table
from .common import CANCELLED, NOT_APPLICABLE, Section


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
