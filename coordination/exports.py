"""CSV downloads of the coordinators' lists (the board's, the handoffs', the reminder ledger, the
alerts): the list's own view, asked with `?format=csv`, answers the rows it would show, under the
same filters and through the same selectors, as a file (accounts.csv_export).

Each download writes one EXPORT row to the audit log naming the list, its filters and the
patients it holds, and no read row (accounts.audit.logs_read leaves an export to this one).
"""

import datetime as dt
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.csv_export import csv_response
from accounts.models import AuditEvent

CSV = "csv"


def wants_csv(request) -> bool:
    return request.GET.get("format") == CSV


def csv_url(request) -> str:
    """This page's URL, its filters kept, asking for the CSV."""
    query = request.GET.copy()
    query["format"] = CSV
    return f"{request.path}?{query.urlencode()}"


def local(moment: dt.datetime | None, zone) -> str:
    """A time on `zone`'s clock in ISO 8601 with its offset, "2026-11-01T01:30-05:00" ("" for none):
    the offset tells apart the hour that happens twice when summer time ends."""
    return "" if moment is None else timezone.localtime(moment, zone).isoformat(timespec="minutes")


def csv_download(
    request,
    *,
    what: str,
    header: Sequence[str],
    rows: Iterable[Sequence],
    patient_ids: Iterable[int],
    filters: Iterable[str] = (),
    **named,
) -> StreamingHttpResponse:
    """The rows as `<what>-<stamp>.csv`, and the export's audit row (what, filters, patients and
    anything else the list names, such as `handoffs=[...]`).

    `filters` names the query parameters that the list filters by: the row keeps those as asked,
    not whatever else a caller added to the URL (the log records what was exported, not noise).
    """
    rows = list(rows)
    filters = {key: request.GET[key] for key in filters if key in request.GET}
    audit_record(
        action=AuditEvent.Action.EXPORT,
        object_type=f"coordination.{what.replace('-', '_')}",
        detail={"filters": filters, "rows": len(rows), "patients": sorted(set(patient_ids)), **named},
        request=request,
    )
    request.audit_exported = True  # logs_read: this answer is an export, not a read
    return csv_response(what, header, rows)
