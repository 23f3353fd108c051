"""FHIR search: the query string read into a `Search`, run against the catalogue, paged.

As HAPI and Medplum do: repeated parameters are ANDed, comma-separated values ORed; `_count`
(default 50, at most 500) and `_offset` page the matches, whose `total` the Bundle carries. An
unknown parameter or modifier is refused (400), not ignored, so that a client never mistakes an
unfiltered answer for a filtered one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import QuerySet

from .catalogue import ResourceType, Source, visible_patients
from .codes import token_matches

DEFAULT_COUNT = 50
MAX_COUNT = 500
COMMON_PARAMS = {
    "_id": "the resource id",
    "_count": f"page size (default {DEFAULT_COUNT}, at most {MAX_COUNT})",
    "_offset": "matches to skip (the next link sets it)",
    "_format": "json (the only format served; read by the views' content negotiation)",
}
JSON_FORMATS = {"json", "application/json", "application/fhir+json", "fhir+json"}


class SearchError(Exception):
    """A search that cannot be run as asked: answered as an OperationOutcome with `status`."""

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid"):
        super().__init__(message)
        self.status, self.code = status, code


@dataclass
class Search:
    kind: ResourceType
    ids: set[str] | None = None
    patient_ids: set[int] | None = None
    filters: list[Callable[[dict], bool]] = field(default_factory=list)
    # The same filters as (parameter, values ORed), for the sources that the database can answer.
    terms: list[tuple[str, list[str]]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0


def _alternatives(values: list[str]) -> list[list[str]]:
    return [[part.strip() for part in value.split(",") if part.strip()] for value in values]


def _patient_id(value: str) -> int | None:
    """`12`, `Patient/12` or a full URL ending in it; None for anything else (matches nothing)."""
    tail = value.rstrip("/").split("/")
    if len(tail) >= 2 and tail[-2] != "Patient":
        return None
    return int(tail[-1]) if tail[-1].isdecimal() and len(tail[-1]) <= 18 else None


def _codings(resource: dict, element: str) -> list[dict]:
    value = resource.get(element)
    concepts = value if isinstance(value, list) else [value] if value else []
    return [coding for concept in concepts for coding in concept.get("coding", [])]


def _identifier_matches(resource: dict, token: str) -> bool:
    system, bar, value = token.rpartition("|")
    return any(
        item.get("value") == value and (not bar or not system or item.get("system") == system)
        for item in resource.get("identifier", [])
    )


def check_format(values: list[str]) -> list[str]:
    """`_format`'s values, JSON only, else a 406 SearchError. A `+` left unencoded in a query string
    arrives as a space ("application/fhir json"): read as the `+` it was, as HAPI does."""
    values = [value.strip().replace(" ", "+") for value in values]
    if any(value not in JSON_FORMATS for value in values):
        raise SearchError("This server answers in JSON only (_format=json).", status=406, code="not-supported")
    return values


def _patients(user, search: Search):
    """The patients the user sees, narrowed to those the search names (`patient=`, `subject=`)."""
    patients = visible_patients(user)
    return patients if search.patient_ids is None else patients.filter(pk__in=search.patient_ids)


def _integer(name: str, raw: str, *, low: int, high: int) -> int:
    if not raw.isdecimal() or not low <= int(raw) <= high:
        raise SearchError(f"{name} must be a whole number from {low} to {high}, not “{raw[:40]}”.")
    return int(raw)


def parse(kind: ResourceType, query) -> Search:
    """The search that `query` (a QueryDict) asks for, or SearchError."""
    supported = {**COMMON_PARAMS, **kind.params}
    unsupported = sorted(name for name in query if name not in supported)
    if unsupported:
        raise SearchError(
            f"Unsupported search parameter {', '.join(unsupported)} for {kind.name}. "
            f"Supported: {', '.join(sorted(supported))}.",
            code="not-supported",
        )
    search = Search(kind)
    for name in query:
        values = query.getlist(name)
        if name == "_count":
            search.count = _integer("_count", values[-1], low=0, high=MAX_COUNT)
        elif name == "_offset":
            search.offset = _integer("_offset", values[-1], low=0, high=10**9)
        elif name == "_id":
            for options in _alternatives(values):
                search.ids = set(options) if search.ids is None else search.ids & set(options)
        elif name in ("patient", "subject"):
            for options in _alternatives(values):
                found = {pk for pk in map(_patient_id, options) if pk is not None}
                search.patient_ids = found if search.patient_ids is None else search.patient_ids & found
        if name in ("status", "code", "category", "identifier"):
            search.terms += [(name, options) for options in _alternatives(values)]
        if name == "status":
            for options in _alternatives(values):
                search.filters.append(lambda resource, options=options: resource.get("status") in options)
        elif name in ("code", "category"):
            for options in _alternatives(values):
                search.filters.append(
                    lambda resource, options=options, element=name: any(
                        token_matches(_codings(resource, element), token) for token in options
                    )
                )
        elif name == "identifier":
            for options in _alternatives(values):
                search.filters.append(
                    lambda resource, options=options: any(_identifier_matches(resource, token) for token in options)
                )
    return search


def run(user, search: Search) -> list[tuple[int, dict]]:
    """Every match of the search among what the user may see, as (patient id, resource), in the
    catalogue's order (by source, then by time)."""
    kind = search.kind
    patients = _patients(user, search)
    rows = kind.pks_for(sorted(search.ids)) if search.ids is not None else None
    matches = []
    for source in kind.sources:
        pks = None if rows is None else rows[source]
        if pks is not None and not pks:
            continue
        for patient_id, resource in source.resources(user, patients, pks):
            if search.ids is not None and resource["id"] not in search.ids:
                continue
            if all(test(resource) for test in search.filters):
                matches.append((patient_id, resource))
    return matches


def run_page(user, search: Search) -> tuple[int, list[tuple[int, dict]]]:
    """The number of matches and the page of them that `_offset` and `_count` ask for.

    When every source's rows can be counted by the database (`Source.paged_by_database`) and the
    search has only filters that each source can put to it (`Source.db_filters`), the database
    counts and slices each source (`page_of`), so that a page of a nurse's thousands of tasks
    builds only its own resources; otherwise every match is built.
    """
    kind = search.kind
    by_database = search.ids is None and all(
        source.paged_by_database and all(name in source.db_filters for name, _ in search.terms)
        for source in kind.sources
    )
    if not by_database:
        matches = run(user, search)
        return len(matches), matches[search.offset : search.offset + search.count]
    patients = _patients(user, search)
    parts = []
    for source in kind.sources:
        rows = source.queryset(user, patients, None)
        for name, options in search.terms:
            rows = rows.filter(source.db_filters[name](options))
        parts.append((source, rows))
    return page_of(parts, offset=search.offset, count=search.count)


def page_of(parts: list[tuple[Source, QuerySet]], *, offset: int, count: int) -> tuple[int, list[tuple[int, dict]]]:
    """The resources of these sources' rows, one after the other: how many in all, and those from
    `offset` to `offset + count`, built from the rows of the page alone. Two statements a source
    (its count, its page's rows with what they load), whatever the number of rows: a source of
    several resources a row counts them per row (`Source.resources_per_row`) to find its page."""
    total, page, skip, wanted = 0, [], offset, count
    for source, rows in parts:
        if source.one_per_row:
            size = rows.count()
            chosen = list(source.resources_of(rows[skip : skip + wanted])) if wanted and skip < size else []
        else:
            sizes = list(
                rows.prefetch_related(None)
                .annotate(_resources=source.resources_per_row())
                .values_list("pk", "_resources")
            )
            size = sum(n for _pk, n in sizes)
            chosen, start, position = [], None, 0
            if wanted and skip < size:
                pks = []
                for pk, n in sizes:
                    if position + n > skip and position < skip + wanted:
                        start = skip - position if start is None else start
                        pks.append(pk)
                    position += n
                built = list(source.resources_of(rows.filter(pk__in=pks)))
                chosen = built[start : start + wanted]
        total += size
        page.extend(chosen)
        wanted -= len(chosen)
        skip = max(0, skip - size)
    return total, page
