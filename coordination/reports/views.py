"""The unit report (issue 18): one page of six sections, each a chart with its table, and each
section's CSV. The numbers come from selectors.py; who may read which unit, from policy.py."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts.audit import audit_record, logs_read, shows
from accounts.csv_export import csv_response
from accounts.models import AuditEvent, Unit
from accounts.permissions import require

from . import charts
from .forms import ReportFilter
from .policy import VIEW_REPORTS, can_view_report, report_units
from .selectors import SECTIONS
from .summary import headlines
from .tables import CSV_HEADER, csv_lines

OBJECT_TYPE = "coordination.unit_report"
PAGE = "coordination/reports/unit_report.html"


def _chosen(request):
    """The filter, the unit and the period the request asks for: 404 for a unit that does not
    exist, 403 for one the user may not read."""
    user = request.user
    require(user, VIEW_REPORTS)
    if not user.is_staff and user.unit_id is None:
        raise PermissionDenied("The report shows your unit: ask an administrator to set yours.")
    units = list(report_units(user))
    zone = user.unit.zone if user.unit_id else timezone.get_default_timezone()
    default_unit_id = (
        user.unit_id if any(unit.pk == user.unit_id for unit in units) else (units[0].pk if units else None)
    )
    form = ReportFilter(request.GET or None, units=units, default_unit_id=default_unit_id, zone=zone)
    valid = form.is_valid() if form.is_bound else True
    unit_id = form.unit_id()
    if unit_id is None:
        raise Http404("There is no unit to report on yet.")
    unit = next((unit for unit in units if unit.pk == unit_id), None) or Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise Http404("No such unit.")
    can_view_report(user, unit).enforce()
    return form, valid, unit, form.period_for(unit.zone)


def _query(form, unit) -> str:
    """The filter as chosen, for the CSV links (the unit always named)."""
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    values = {key: value for key, value in data.items() if value not in (None, "")}
    values["unit"] = unit.pk
    return urlencode(values)


@logs_read(OBJECT_TYPE)
def unit_report(request):
    form, valid, unit, period = _chosen(request)
    shows(request, unit=unit.pk, first=str(period.first), last=str(period.last))
    context = {"form": form, "unit": unit, "period": period, "valid": valid}
    if valid:
        sections = {key: build(unit, period) for key, build in SECTIONS.items()}
        query, csv_url = _query(form, unit), reverse("reports:csv")
        for key, section in sections.items():
            section.csv_url = f"{csv_url}?{urlencode({'section': key})}&{query}"
        readiness, on_time, handoffs = sections["readiness"], sections["on_time"], sections["handoffs"]
        reminders, overdue, breaks = sections["reminders"], sections["overdue"], sections["interruptions"]
        context.update(
            sections=sections,
            headlines=headlines(sections),
            charts={
                "readiness": charts.readiness_chart(readiness.table("by_kind")),
                "readiness_weekly": charts.weekly_share_chart(
                    "Share of events ready at their time, week by week (%)", readiness.table("by_week")
                ),
                "on_time": charts.on_time_chart(on_time.table("by_role")),
                "on_time_weekly": charts.weekly_share_chart(
                    "Share of tasks done on time, week by week (%)", on_time.table("by_week")
                ),
                "turnaround": charts.turnaround_chart(handoffs.table("turnaround")),
                "reminders": charts.reminders_chart(reminders.table("by_kind")),
                "overdue": charts.overdue_chart(overdue.table("by_day")),
                "interruptions": charts.interruptions_chart(breaks.table("interruptions")),
                "grades": charts.grades_chart(breaks.table("grades")),
                "pump": charts.pump_chart(breaks.table("pump_by_hour")),
            },
        )
    return render(request, PAGE, context)


def unit_report_csv(request):
    """One section's tables as CSV, one line per cell; logged as an export of the unit's data."""
    section_key = request.GET.get("section", "")
    if section_key not in SECTIONS:
        raise Http404("No such section of the report.")
    form, valid, unit, period = _chosen(request)
    if not valid:
        # A bad request, not a missing report: a link typed by hand, or kept until "today" moved
        # on. The page says what to correct at its field, and no report is drawn nor exported.
        context = {"form": form, "unit": unit, "period": period, "valid": False}
        return render(request, PAGE, context, status=400)
    section = SECTIONS[section_key](unit, period)
    audit_record(
        action=AuditEvent.Action.EXPORT,
        object_type=OBJECT_TYPE,
        object_id=unit.pk,
        detail={"section": section_key, "first": str(period.first), "last": str(period.last)},
        request=request,
    )
    name = f"report-{section_key.replace('_', '-')}-{unit.pk}-{period.first:%Y%m%d}-{period.last:%Y%m%d}"
    return csv_response(name, CSV_HEADER, list(csv_lines(section.tables)))
