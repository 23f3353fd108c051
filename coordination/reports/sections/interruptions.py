"""6. Interruptions and toxicity: interruptions by cause and length, CRS/ICANS grades by cycle,
pump and line events by hour of day."""

import datetime as dt

from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, ExtractHour, TruncDate

from accounts.models import Unit
from patients.models import Cycle, Interruption, PumpEvent, ToxicityAssessment

from ..period import Period
from ..stats import grouped
from ..tables import Table
from .common import Section, duration

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
            durations={"length": (duration("restarted_at", "stopped_at"), restarted)},
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
