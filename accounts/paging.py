"""Pages of a long log shown newest first (the audit log, the reminder ledger), each read from a row
id (keyset paging): "Older" goes on below the last row shown and "Newer" above the first, so a row
written meanwhile never shifts a page. No page counts the rows nor skips them with OFFSET, which
on a log of millions of rows cost seconds a page (docs/performance.md, "The audit log's pages").
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import QuerySet

# Rows a CSV download reads at a time (keyset_chunks): the memory of one chunk, one query per chunk.
CHUNK_SIZE = 2000

# The links' parameters: the row id that a page goes on from, below it or above it.
BEFORE, AFTER = "before", "after"


@dataclass
class Arms:
    """The rows of `whole`, which is an OR of conditions that no one index answers, given also as
    `arms`: querysets, one a condition, each read by an index of its own, whose union is `whole`.
    Every read here takes a page (or chunk) from each arm, below or above the same row id, and
    keeps the newest of their union: one query, whose cost is the page's, where `whole` walked
    the primary key down through the whole log to find a name that did nothing
    (docs/performance.md, "The audit log's pages"). Where the database cannot order and limit
    each part of a UNION (SQLite, `make run`), `whole` is read as it is."""

    whole: QuerySet
    arms: list[QuerySet]


Rows = QuerySet | Arms


def _newest(rows: Rows, limit: int, *, below: int | None = None, above: int | None = None) -> list:
    """Up to `limit` rows below row `below` (newest first) or above row `above` (oldest first)."""
    order = "pk" if above is not None else "-pk"

    def part(queryset: QuerySet) -> QuerySet:
        if below is not None:
            queryset = queryset.filter(pk__lt=below)
        if above is not None:
            queryset = queryset.filter(pk__gt=above)
        return queryset.order_by(order)[:limit]

    if not isinstance(rows, Arms):
        return list(part(rows))
    if not connections[rows.whole.db].features.supports_slicing_ordering_in_compound:
        return list(part(rows.whole))
    first, *others = (part(arm) for arm in rows.arms)
    # UNION, not UNION ALL: a row that two arms hold (a sign-in failed as a name that is also its
    # row's actor) is shown once, as `whole` shows it; each arm brings at most `limit` rows.
    # A UNION is ordered by its columns' names: the primary key's, not "pk".
    column = order.replace("pk", rows.whole.model._meta.pk.attname)
    return list(first.union(*others).order_by(column)[:limit])


@dataclass
class KeysetPage:
    """One page, newest first: `newer` and `older` are the ids that the "Newer" and "Older" links
    go on from, or None at either end; `links` are those links' query strings (the filters kept)."""

    rows: list
    newer: int | None = None
    older: int | None = None
    links: dict[str, str] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def whole(self) -> bool:
        """Every matching row is on this page, so its length is their number."""
        return self.newer is None and self.older is None


def cursor(request, name: str) -> int | None:
    """A row id from the query string, or None (a value that is not one is ignored)."""
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 18 else None


def keyset_page(rows: Rows, *, size: int, before: int | None = None, after: int | None = None) -> KeysetPage:
    """The page of `rows` below row `before`, or above row `after`, or the newest: one query,
    `size` + 1 rows by the primary key's index (or each arm's, Arms), the extra row telling
    whether more follow."""
    if before is not None:
        found = _newest(rows, size + 1, below=before)
        more, found = len(found) > size, found[:size]
        return KeysetPage(found, newer=found[0].pk if found else before - 1, older=found[-1].pk if more else None)
    if after is not None:
        found = _newest(rows, size + 1, above=after)
        if len(found) > size:
            found = found[:size][::-1]
            return KeysetPage(found, newer=found[0].pk, older=found[-1].pk)
        # Fewer than a page above: that is the top, shown as the newest page is.
    found = _newest(rows, size + 1)
    more, found = len(found) > size, found[:size]
    return KeysetPage(found, older=found[-1].pk if more else None)


def page_of(request, rows: Rows, *, size: int) -> tuple[KeysetPage, dict[str, int]]:
    """The page that the request asks for (`?before=` or `?after=`, else the newest), with its
    links keeping the request's other parameters; and the cursor it was read from, for the log."""
    before, after = cursor(request, BEFORE), cursor(request, AFTER)
    if before is not None:
        after = None
    page = keyset_page(rows, size=size, before=before, after=after)
    query = request.GET.copy()
    for name in (BEFORE, AFTER, "page", "upto"):  # page and upto: links of the paged versions
        query.pop(name, None)
    page.links["query"] = query.urlencode()
    for name, parameter, row in (("newer", AFTER, page.newer), ("older", BEFORE, page.older)):
        if row is not None:
            link = query.copy()
            link[parameter] = str(row)
            page.links[name] = link.urlencode()
    read_from = {BEFORE: before} if before is not None else {AFTER: after} if after is not None else {}
    return page, read_from


def keyset_chunks(rows: Rows, *, size: int | None = None) -> Iterator:
    """Every row of `rows`, newest first by the primary key, read `size` (CHUNK_SIZE) at a time, each
    chunk from the last row id read: one query a chunk by the primary key's index, so a download of
    millions of rows holds one chunk in memory and no statement or cursor stays open between chunks
    (a streamed CSV: accounts.csv_export)."""
    size = size or CHUNK_SIZE
    below = None
    while True:
        chunk = _newest(rows, size, below=below)
        yield from chunk
        if len(chunk) < size:
            return
        below = chunk[-1].pk
