"""Audit reports for administrators: filter the log, page through it, export it as CSV.

Patients are named by their id, as the log keeps them (the log outlives any record, and an id
in a URL carries no patient information). Every export is itself written to the log.
"""

import json
import operator
from functools import reduce

import django_filters
from django import forms
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.shortcuts import render

from .audit import audit_record, logs_read, shows
from .csv_export import csv_response
from .filters import PeriodFilterSet, period_filters
from .models import AuditEvent, User, audit_action_choices
from .paging import Arms, Rows, keyset_chunks, page_of
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


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number ("7.5" is refused, not rounded down to another record's 7)."""

    field_class = forms.IntegerField


class AuditFilter(PeriodFilterSet):
    user = django_filters.CharFilter(label="User name", method="by_user")
    patient = IdFilter(label="Patient id", field_name="patient_id", min_value=1)
    action = django_filters.ChoiceFilter(label="Action", choices=audit_action_choices, empty_label="Any")
    outcome = django_filters.ChoiceFilter(label="Outcome", choices=AuditEvent.Outcome.choices, empty_label="Any")
    start, end = period_filters("at", start_label="From (date)", end_label="To (date, included)")

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def by_user(self, queryset, name, value):
        return queryset.filter(reduce(operator.or_, _user_arms(value)))

    @property
    def rows(self) -> Rows:
        """The filtered rows as the pages and the CSV read them (accounts.paging): a user's rows as
        the union of the user filter's arms, each with the other filters, read by its own index."""
        value = self.form.cleaned_data.get("user")
        if not value:
            return self.qs
        others = self.queryset.all()
        for name, asked in self.form.cleaned_data.items():
            if name != "user":
                others = self.filters[name].filter(others, asked)
        return Arms(self.qs, [others.filter(arm) for arm in _user_arms(value)])


def _user_arms(name: str) -> list[Q]:
    """What the user did, and the failed sign-ins as them, which have no actor (nobody was signed
    in): a wrong password or a lockout names the user name tried in its detail, a refused API token
    names its user as the record. Each condition has its index (migration accounts.0017)."""
    users = User.objects.filter(username__iexact=name).values_list(Cast("pk", CharField()))
    return [
        Q(actor_username__iexact=name),
        Q(actor_id__isnull=True, detail__username__iexact=name),
        Q(actor_id__isnull=True, object_type="accounts.user", object_id__in=users),
    ]


def shown_detail(event: AuditEvent):
    """What the page and its CSV show of a row's detail. A change to a patient's data names the
    fields that changed, not their values: administrators read the log but see no patient record
    (README, "Admins see no patient record"); the values stay in the log, for the record's own
    history and for an investigation from the database."""
    detail = event.detail
    if event.patient_id is not None and isinstance(detail, dict) and isinstance(detail.get("changes"), dict):
        return {**detail, "changes": sorted(detail["changes"])}
    return detail


def detail_text(detail) -> str:
    """A row's detail as the page shows it: "changes: weight_kg, family_name; operation: update",
    not a Python dictionary."""
    if not detail:
        return ""
    if not isinstance(detail, dict):
        return json.dumps(detail, ensure_ascii=False, default=str)
    parts = []
    for key, value in detail.items():
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = ", ".join(value) or "none"
        elif not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def _filtered(request) -> AuditFilter:
    # Always bound: no filter at all is valid and shows every row.
    return AuditFilter(request.GET, queryset=AuditEvent.objects.order_by("-id"))


def _filters_asked(filterset: AuditFilter) -> dict[str, str]:
    """The filters given, as the log's own rows name them (a read's or an export's)."""
    return {key: str(value) for key, value in filterset.form.cleaned_data.items() if value}


@ability_required(READ_AUDIT_LOG)
@logs_read("accounts.auditevent")
def audit_log(request):
    filterset = _filtered(request)
    valid = filterset.is_valid()
    events = filterset.rows if valid else AuditEvent.objects.none()
    # Read from a row id, never counted nor skipped to (accounts.paging): a page of a million-row
    # log costs what the first does.
    page, read_from = page_of(request, events, size=PAGE_SIZE)
    for event in page:
        event.shown_detail = detail_text(shown_detail(event))
    # The log says what a patient's record went through and who looked: reading it is a read too.
    shown = sorted({event.patient_id for event in page if event.patient_id is not None})
    shows(request, filters=_filters_asked(filterset) if valid else {}, **read_from, patients=shown)
    context = {"filter": filterset, "page": page, "query": page.links["query"]}
    return render(request, "accounts/audit_log.html", context)


@ability_required(READ_AUDIT_LOG)
def audit_export(request):
    filterset = _filtered(request)
    if not filterset.is_valid():
        return render(request, "accounts/audit_log.html", {"filter": filterset, "page": None, "query": ""}, status=400)
    events = filterset.rows
    audit_record(
        action=AuditEvent.Action.EXPORT,
        object_type="accounts.auditevent",
        detail={"filters": _filters_asked(filterset)},
    )
    rows = (
        [
            json.dumps(shown_detail(event), ensure_ascii=False, default=str)
            if column == "detail"
            else getattr(event, column)
            for column in CSV_COLUMNS
        ]
        # A chunk at a time from the last id read, as the reminder ledger's CSV: no cursor held open
        # for the whole download (a server-side cursor outside a transaction is materialised whole
        # by PostgreSQL before its first row).
        for event in keyset_chunks(events)
    )
    return csv_response("audit-log", CSV_COLUMNS, rows)
