"""Audit reports for administrators: filter the log, page through it, export it as CSV.

Patients are named by their id, as the log keeps them (the log outlives any record, and an id
in a URL carries no patient information). Every export is itself written to the log.
"""

import json
from dataclasses import dataclass

import django_filters
from django import forms
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.shortcuts import render

from .audit import audit_record, logs_read, shows
from .csv_export import csv_response
from .filters import PeriodFilterSet, period_filters
from .models import AuditEvent, User, audit_action_choices
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
        """What the user did, and the failed sign-ins as them, which have no actor (nobody was
        signed in): a wrong password or a lockout names the user name tried in its detail, a
        refused API token names its user as the record."""
        users = User.objects.filter(username__iexact=value).values_list(Cast("pk", CharField()))
        as_them = Q(detail__username__iexact=value) | Q(object_type="accounts.user", object_id__in=users)
        return queryset.filter(Q(actor_username__iexact=value) | Q(actor_id__isnull=True) & as_them)


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


@dataclass
class LogPage:
    """One page of the log, newest first, found from a row id (keyset paging): `newer` and `older`
    are the ids that the "Newer" and "Older" links go on from, or None at either end. Neither
    counts the rows nor skips them with OFFSET, which on a log of millions of rows cost seconds a
    page (docs/performance.md, "The audit log's pages")."""

    rows: list[AuditEvent]
    newer: int | None = None
    older: int | None = None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def whole(self) -> bool:
        """Every matching row is on this page, so its length is their number."""
        return self.newer is None and self.older is None


# The links go on from the last row shown ("Older": rows below it) or the first ("Newer": rows
# above it), so a row written meanwhile, each read of a page included, never shifts a page.
BEFORE, AFTER = "before", "after"


def _cursor(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 18 else None


def log_page(events, *, before: int | None = None, after: int | None = None) -> LogPage:
    """The page of `events` below row `before`, or above row `after`, or the newest: one query,
    PAGE_SIZE + 1 rows by the primary key's index, the extra row telling whether more follow."""
    if before is not None:
        rows = list(events.filter(id__lt=before).order_by("-id")[: PAGE_SIZE + 1])
        more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
        return LogPage(rows, newer=rows[0].pk if rows else before - 1, older=rows[-1].pk if more else None)
    if after is not None:
        rows = list(events.filter(id__gt=after).order_by("id")[: PAGE_SIZE + 1])
        if len(rows) > PAGE_SIZE:
            rows = rows[:PAGE_SIZE][::-1]
            return LogPage(rows, newer=rows[0].pk, older=rows[-1].pk)
        # Fewer than a page above: that is the top of the log, shown as the newest page is.
    rows = list(events.order_by("-id")[: PAGE_SIZE + 1])
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    return LogPage(rows, older=rows[-1].pk if more else None)


@ability_required(READ_AUDIT_LOG)
@logs_read("accounts.auditevent")
def audit_log(request):
    filterset = _filtered(request)
    valid = filterset.is_valid()
    events = filterset.qs if valid else AuditEvent.objects.none()
    before, after = _cursor(request, BEFORE), _cursor(request, AFTER)
    page = log_page(events, before=before, after=None if before is not None else after)
    for event in page:
        event.shown_detail = detail_text(shown_detail(event))
    # The log says what a patient's record went through and who looked: reading it is a read too.
    shown = sorted({event.patient_id for event in page if event.patient_id is not None})
    cursor = {BEFORE: before} if before is not None else {AFTER: after} if after is not None else {}
    shows(request, filters=_filters_asked(filterset) if valid else {}, **cursor, patients=shown)
    query = request.GET.copy()
    for name in (BEFORE, AFTER, "page", "upto"):  # page and upto: links of the paged version
        query.pop(name, None)
    context = {"filter": filterset, "page": page, "query": query.urlencode()}
    for name, cursor_name, row in (("newer_query", AFTER, page.newer), ("older_query", BEFORE, page.older)):
        if row is not None:
            link = query.copy()
            link[cursor_name] = str(row)
            context[name] = link.urlencode()
    return render(request, "accounts/audit_log.html", context)


@ability_required(READ_AUDIT_LOG)
def audit_export(request):
    filterset = _filtered(request)
    if not filterset.is_valid():
        return render(request, "accounts/audit_log.html", {"filter": filterset, "page": None, "query": ""}, status=400)
    events = filterset.qs
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
        for event in events.iterator(2000)
    )
    return csv_response("audit-log", CSV_COLUMNS, rows)
