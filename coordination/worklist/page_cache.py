"""Rendered pages kept while nothing they show can have changed (My work; docs/performance.md).

A clinician's My work is read far more often than the record under it changes: a page left
open, a return from a patient, a refresh. Rendering it costs most of a request, so the rendered
parts are kept under a key that names everything they depend on:

- the user, and the address with its filters;
- the patients it shows, and their version: the number of committed changes in the audit log of
  these patients and of the records of no patient (`accounts.audit.change_version`), which every
  change of their tasks, events, record and care teams, and of any user, unit or rule, moves on
  in the same transaction. A change that may show on the page makes a new key, so no entry is
  ever stale and nothing has to be deleted; a change on another ward leaves the key as it is;
- the minute, because overdue and due soon are worked out from the clock;
- the browser's CSRF secret, because the page's forms carry a token made from it.

The parts are what the page needs to answer again: its rendered fragments, and the ids of the
patients they name, for the read that every answer logs, kept or not (accounts.audit.logs_read).

Entries live PAGE_CACHE_SECONDS (a minute; the key moves on with the clock anyway; 0 keeps
nothing). Where the log has no triggers (SQLite, `make run`) there is no version, and nothing
is kept.
"""

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.middleware.csrf import get_token
from django.utils import timezone

from accounts.audit import Scope, scope_of

from ..reminders.selectors import unread_count_query

# The shape of what is kept: a change of it (the patient ids, then the handoff tasks, were added)
# moves every key on, so that a page kept by the previous release is never read as the new shape
# after a deploy.
PARTS_FORMAT = "5"  # 5: the patient page keeps its title


def page_key(request, page: str, scope: Scope) -> str | None:
    """The key of this request's rendering of `page`, which shows (at most) the patients of
    `scope`, or None when it may not be kept."""
    if not settings.PAGE_CACHE_SECONDS or scope.version is None:
        return None
    get_token(request)  # makes sure the browser has a CSRF secret before we name it
    parts = (
        PARTS_FORMAT,
        page,
        str(request.user.pk),
        request.get_full_path(),
        ",".join(map(str, scope.patient_ids)),
        str(scope.version),
        timezone.now().strftime("%Y%m%d%H%M"),
        request.META["CSRF_COOKIE"],
    )
    return f"page:{page}:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def cached_parts(
    request,
    page: str,
    render_parts: Callable[[list[int]], dict[str, Any]],
    *,
    patient_ids: QuerySet | Iterable[int],
) -> dict[str, Any]:
    """The rendered parts of `page` for this request, which shows (at most) the patients
    `patient_ids` (their ids, or a query of them): kept ones if nothing of theirs has changed,
    else `render_parts(ids)`, then kept.

    One statement reads the ids, their version and, for a whole page, the bell's count (which
    the navigation shows: coordination.context_processors), so that a kept page costs one
    round trip beside the session, the user and the read's audit row."""
    bell = {} if request.htmx else {"unread": unread_count_query(request.user)}
    scope = scope_of(patient_ids, **bell)
    if bell:
        request.unread_notifications = scope.values["unread"] or 0
    key = page_key(request, page, scope)
    parts = cache.get(key) if key else None
    if parts is None:
        parts = render_parts(scope.patient_ids)
        if key:
            cache.set(key, parts, settings.PAGE_CACHE_SECONDS)
    return parts
