"""Audit reports for administrators: filter the log, page through it, export it as CSV.

Patients are named by their id, as the log keeps them (the log outlives any record, and an id
in a URL carries no patient information). Every export is itself written to the log.
"""

import csv

import django_filters
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from .audit import audit_record
from .filters import PeriodFilterSet, period_filters
from .models import AuditEvent, audit_action_choices
from .permissions import READ_AUDIT_LOG, ability_required

PAGE_SIZE = 100
CSV_COLUMNS = [
    "id",
    "at",
    "actor_id",
    "actor_username",
    "actor_role",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "patient_id",
    "ip",
    "user_agent",
    "detail",
]


class AuditFilter(PeriodFilterSet):
    user = django_filters.CharFilter(label="User name", field_name="actor_username", lookup_expr="iexact")
    patient = django_filters.NumberFilter(label="Patient id", field_name="patient_id", min_value=1)
    action = django_filters.ChoiceFilter(label="Action", choices=audit_action_choices, empty_label="Any")
    outcome = django_filters.ChoiceFilter(label="Outcome", choices=AuditEvent.Outcome.choices, empty_label="Any")
    start, end = period_filters("at", start_label="From (date)", end_label="To (date, included)")

    class Meta:
        model = AuditEvent
        fields: list[str] = []


def _filtered(request) -> AuditFilter:
    # Always bound: no filter at all is valid and shows every row.
    return AuditFilter(request.GET, queryset=AuditEvent.objects.order_by("-id"))


@ability_required(READ_AUDIT_LOG)
def audit_log(request):
    filterset = _filtered(request)
    events = filterset.qs if filterset.is_valid() else AuditEvent.objects.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "query": query.urlencode()}
    return render(request, "accounts/audit_log.html", context)


class _Echo:
    """csv.writer writes into this, and the response streams what it returns."""

    def write(self, value):
        return value


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): the
# browser string of a failed sign-in is the attacker's to choose.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """The value as a CSV cell that a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


@ability_required(READ_AUDIT_LOG)
def audit_export(request):
    filterset = _filtered(request)
    if not filterset.is_valid():
        return render(request, "accounts/audit_log.html", {"filter": filterset, "page": None, "query": ""}, status=400)
    events = filterset.qs
    audit_record(
        action=AuditEvent.Action.EXPORT,
        object_type="accounts.auditevent",
        detail={"filters": {key: str(value) for key, value in filterset.form.cleaned_data.items() if value}},
    )
    writer = csv.writer(_Echo())
    rows = (
        writer.writerow([csv_cell(getattr(event, column)) for column in CSV_COLUMNS]) for event in events.iterator(2000)
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        (line for chunk in ([writer.writerow(CSV_COLUMNS)], rows) for line in chunk), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    return response
