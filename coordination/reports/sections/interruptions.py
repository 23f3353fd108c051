"""6. Interruptions and toxicity: interruptions by cause and length, CRS/ICANS grades by cycle,
pump and line events by hour of day."""

from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, ExtractHour, TruncDate

from accounts.models import Unit
from patients.models import Assessment, Cycle, Interruption, PumpEvent
from patients.selectors import on_unit_at

from ..period import Period
from ..stats import grouped
from ..tables import Table
from .common import HoursAfter, Section, duration


def _lengths(now) -> tuple[tuple[str, str, Q], ...]:
    """The kinds of break by what their length meant for the course: its regimen version's marks
    (`supervised_restart_after_hours`; a break over `longest_break_in_cycle_days` is recorded as
    `new_cycle` by interruption_restart). A restart planned after `now` has not happened yet."""
    restarted = Q(restarted_at__isnull=False, restarted_at__lte=now)
    supervised = Q(restarted_at__gte=F("supervised_from"))
    return (
        ("len_short", "Restarted as before", restarted & ~supervised),
        ("len_supervised", "Supervised restart", restarted & supervised & Q(new_cycle=False)),
        ("len_new_cycle", "New cycle", restarted & Q(new_cycle=True)),
        ("len_permanent", "Stopped for good", Q(permanent=True)),
        ("len_open", "Not restarted yet", Q(permanent=False) & ~restarted),
    )


def _marks(breaks) -> str:
    """The regimen versions' marks that the breaks were judged by, in words ("4 h and 7 days")."""
    marks = sorted(
        set(
            breaks.values_list(
                "course__regimen_version__supervised_restart_after_hours",
                "course__regimen_version__longest_break_in_cycle_days",
            ).order_by()
        )
    )
    return "; ".join(f"{hours} h and {days} days" for hours, days in marks)


def interruptions_and_toxicity(unit: Unit, period: Period) -> Section:
    """Interruptions that began in the period by cause and by what their length meant (each
    course's regimen version's marks) with the median length of those restarted by now; the worst
    CRS and ICANS grade of each patient in each cycle number among the assessments of the period;
    pump and line events by hour of day on the unit's clock. Three queries, and a fourth for the
    marks when the period has interruptions (SQLite: one more, for the lengths' percentiles)."""
    breaks = Interruption.objects.filter(
        on_unit_at(unit.pk, "stopped_at"), stopped_at__gte=period.start, stopped_at__lt=period.end
    ).annotate(supervised_from=HoursAfter("stopped_at", "course__regimen_version__supervised_restart_after_hours"))
    lengths = _lengths(period.now)
    restarted = Q(restarted_at__isnull=False, restarted_at__lte=period.now)
    rows = {
        row["cause"]: row
        for row in grouped(
            breaks,
            ["cause"],
            counts={"count": Count("pk"), **{key: Count("pk", filter=condition) for key, _, condition in lengths}},
            durations={"length": (duration("restarted_at", "stopped_at"), restarted)},
        )
    }
    by_cause = Table(
        "interruptions",
        "Interruptions by cause and length",
        ["Cause", "Interruptions", *(label for _, label, _ in lengths), "Length: median", "Length: 90th percentile"],
        short={"Interruptions": "Total", "Length: 90th percentile": "Length: 90th pct."},
    )
    for cause, label in Interruption.Cause.choices:
        if cause in rows:
            row = rows[cause]
            by_cause.rows.append(
                [label, row["count"], *(row[key] for key, _, _ in lengths), row["length_median"], row["length_p90"]]
            )

    cycle_of_day = (
        Cycle.objects.filter(course_id=OuterRef("course_id"), start_date__lte=OuterRef("assessed_day"))
        .order_by("-start_date", "-number")
        .values("number")[:1]
    )
    worst = (
        Assessment.objects.filter(
            on_unit_at(unit.pk, "assessed_at"), assessed_at__gte=period.start, assessed_at__lt=period.end
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
        nowrap_labels=True,  # "Cycle 1" on one line, beside twelve columns
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
            on_unit_at(unit.pk, "occurred_at"), occurred_at__gte=period.start, occurred_at__lt=period.end
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
    marks = _marks(breaks) if by_cause.rows else ""
    return Section("interruptions", "Interruptions and toxicity", [by_cause, grades, pump], marks=marks)
