"""CSV downloads of the coordinators' lists (the board's, the handoffs', the reminder ledger, the
alerts): the list's own view, asked with `?format=csv`, answers the rows it would show, under the
same filters and through the same selectors, as a file (accounts.csv_export).

Each download writes one EXPORT row to the audit log naming the list, its filters and the
patients it holds, and no read row (accounts.audit.logs_read leaves an export to this one).

A list that a page shows whole is written from the rows the page reads (`csv_download`); a list
that grows with the hospital (the reminder ledger) is read as it streams, a chunk at a time
(`csv_stream`), so that its memory does not grow with it.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from django.db.models import Count, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.csv_export import csv_response
from accounts.models import AuditEvent
from accounts.paging import keyset_chunks

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
    anything else the list names, such as `handoffs=[...]`); `filters` as in `_log_export`."""
    rows = list(rows)
    _log_export(request, what=what, filters=filters, rows=len(rows), patient_ids=patient_ids, **named)
    return csv_response(what, header, rows)


def csv_stream(
    request,
    *,
    what: str,
    header: Sequence[str],
    rows: QuerySet,
    row: Callable[..., Sequence],
    filters: Iterable[str] = (),
) -> StreamingHttpResponse:
    """`rows` (each with a `patient_id`, None for no patient) as `<what>-<stamp>.csv`, newest first
    by row id, each written by `row`, read a chunk at a time as the file streams
    (accounts.paging.keyset_chunks); and the export's audit row, as `csv_download`'s.

    The audit row is written before the first byte, so no file leaves unlogged, even one cut off
    midway. It names the rows and patients counted by one grouped query (a row per patient,
    not per reminder) over the rows up to the newest at that moment, and the file stops at that row
    too: rows written while it streams are in neither. (A reminder that changes state meanwhile, under
    a filter by state, can be in one and not the other: the two reads are not one snapshot.)"""
    newest = rows.order_by("-pk").values_list("pk", flat=True).first()
    rows = rows.filter(pk__lte=newest) if newest is not None else rows.none()
    per_patient = dict(rows.order_by().values_list("patient_id").annotate(n=Count("pk")).values_list("patient_id", "n"))
    patient_ids = [patient_id for patient_id in per_patient if patient_id is not None]
    count = sum(per_patient.values())
    _log_export(request, what=what, filters=filters, rows=count, patient_ids=patient_ids)
    return csv_response(what, header, (row(each) for each in keyset_chunks(rows)))


def _log_export(request, *, what: str, filters: Iterable[str], rows: int, patient_ids: Iterable[int], **named):
    """The export's audit row. `filters` names the query parameters that the list filters by: the
    row keeps those as asked, not whatever else a caller added to the URL (the log records what was
    exported, not noise)."""
    filters = {key: request.GET[key] for key in filters if key in request.GET}
    audit_record(
        action=AuditEvent.Action.EXPORT,
        object_type=f"coordination.{what.replace('-', '_')}",
        detail={"filters": filters, "rows": rows, "patients": sorted(set(patient_ids)), **named},
        request=request,
    )
    request.audit_exported = True  # logs_read: this answer is an export, not a read
