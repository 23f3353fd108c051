"""CSV downloads: one way to stream a table as a file that a spreadsheet opens safely.

Every caller writes its own audit row (an export names what was exported, which only the caller
knows); this module only turns rows into a streamed response.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse
from django.utils import timezone

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): a
# browser string of a failed sign-in, a handoff's comment or a patient's name is someone's to choose.
# Only the first character is checked: a separator inside a cell could start a second one where a
# spreadsheet splits on another character (";" in many locales: `Doe;=cmd|…` would become a cell
# `=cmd|…`). So every cell is also written quoted (QUOTE_ALL), which keeps it one cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A spreadsheet opened on a double click reads a CSV in the computer's legacy code page unless the
# file begins with a UTF-8 byte-order mark: "Zoë" would read "ZoÃ«", an arrow "â†’".
BYTE_ORDER_MARK = "\ufeff"
# The last line of a file whose rows stopped coming midway (a streamed list reads them as it
# goes, after the status and the first bytes have left): without it the file looks whole.
INCOMPLETE = "This file is incomplete: reading its rows failed after the row above. Download it again."


def csv_cell(value) -> str:
    """The value as a CSV cell that a spreadsheet shows as text, never runs."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """csv.writer writes into this, and the response streams what it returns."""

    def write(self, value):
        return value


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    """Stream `rows` under `header` as `<name>-<UTC stamp>.csv` in UTF-8 with its byte-order mark,
    every cell made safe; a file whose rows fail midway ends with the INCOMPLETE line."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    lines = _said_if_cut_off((writer.writerow([csv_cell(value) for value in row]) for row in rows), writer)
    response = StreamingHttpResponse(
        (line for chunk in ([BYTE_ORDER_MARK + writer.writerow(header)], lines) for line in chunk),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


def _said_if_cut_off(lines: Iterator[str], writer) -> Iterator[str]:
    """`lines`, and, when reading them fails midway, the INCOMPLETE line before the error goes on
    (the server logs it and ends the response, which a browser can then show as failed)."""
    try:
        yield from lines
    except Exception:
        yield writer.writerow([INCOMPLETE])
        raise
