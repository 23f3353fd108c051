"""The audit log: who did what to which record, when, from where (HIPAA §164.312(b)).

Three ways rows reach `AuditEvent`:
- `audit_record()` writes reads, exports and sign-ins from Python;
- `accounts.triggers.change_trigger()` declares, for a model, a PostgreSQL trigger that writes one row for every
  inserted, updated or deleted row, so that no code path (a bulk update, raw SQL, the admin)
  escapes the log;
- the triggers learn who is acting from `audit_context()`: while a context is open, every
  write statement on the connection is prefixed with `set_config('care.audit', …, true)`,
  which the trigger reads. A write with no context (a migration, a Celery sweep) is logged
  with no actor: the system.

On PostgreSQL the application's role may only insert and read the table, a trigger refuses UPDATE
and DELETE whatever the session says, and a job seals the rows into a keyed hash chain after the
fact, with checkpoints kept outside the database (`accounts.audit_seal`; `audit_verify`).
SQLite (`make run`) keeps the rows written from Python, without triggers or seals.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import Http404

from .client_address import client_ip_address
from .db import CompiledQuery
from .models import READ_ACTIONS, AuditEvent, AuditSealRun
from .permissions import ADMIN

# The context of the current request or job: actor, role, ip, user agent, semantic action.
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("audit_context", default={})  # noqa: B039


def request_context(request) -> dict[str, Any]:
    """What the log keeps of a request: the user, their role, the address and the browser."""
    user = getattr(request, "user", None)
    context: dict[str, Any] = {
        "ip": client_ip_address(request),  # the client's, not our reverse proxy's
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
    }
    if user is not None and user.is_authenticated:
        context.update(actor_fields(user))
    return context


def actor_fields(user) -> dict[str, Any]:
    """Who acts, as the log names them: id, user name, and role (an admin without a clinical role
    as "admin")."""
    return {"actor_id": user.pk, "username": user.get_username(), "role": user.role or (ADMIN if user.is_staff else "")}


@contextlib.contextmanager
def audit_context(**values: Any) -> Iterator[None]:
    """Name the actor (and optionally the action) of every change made inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


@contextlib.contextmanager
def acting(actor) -> Iterator[None]:
    """Name `actor` on the changes made inside the block, unless the request (or a service around
    it) named one already; the triggers name each change by its operation (create, update, delete).
    `audited` is the same with one action for all."""
    values = actor_fields(actor) if actor is not None and "actor_id" not in _context.get() else {}
    with audit_context(**values):
        yield


def name_actor(user) -> None:
    """Name `user` as the actor for the rest of the request: a user known only once the view ran
    (an API token, read after `AuditContextMiddleware` opened the request's context). The
    middleware's context, undone when the request ends, takes this with it."""
    _context.set({**_context.get(), **actor_fields(user)})


def audit_record(
    *,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    patient_id: int | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    detail: dict | None = None,
    actor=None,
    request=None,
) -> AuditEvent:
    """Write one row from Python: a read, an export, a sign-in or its failure.

    What the caller sent (an id in the URL, a query string, a browser's name) is logged as it came,
    but made to fit: cut to its column's length and without NUL characters, which PostgreSQL's text
    and jsonb cannot hold. Otherwise a request made to fail (an id of 70 digits, a `%00`) would
    fail again at its own audit row, as a 500 instead of its 404 or 400 (DESIGN rule 8).
    """
    context = {**_context.get(), **(request_context(request) if request is not None else {})}
    if actor is not None:
        context.update(actor_fields(actor))
    return AuditEvent.objects.create(
        actor_id=context.get("actor_id"),
        actor_username=_fit(context.get("username", ""), "actor_username"),
        actor_role=_fit(context.get("role", ""), "actor_role"),
        action=action,
        object_type=_fit(object_type, "object_type"),
        object_id=_fit(object_id, "object_id"),
        patient_id=patient_id,
        ip=context.get("ip"),
        user_agent=_fit(context.get("user_agent", ""), "user_agent"),
        outcome=outcome,
        detail=_without_nul(detail or {}),
    )


def _fit(value: Any, field: str) -> str:
    """`value` as text for the column `field` of AuditEvent: without NUL, cut to its max_length."""
    return _without_nul(str(value))[: AuditEvent._meta.get_field(field).max_length]


def _without_nul(value: Any) -> Any:
    """`value` (text, or JSON's lists and dicts of it, keys included) without NUL characters."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(inner) for inner in value]
    return value


def get_or_404_audited(queryset, pk, *, object_type: str):
    """The row of `queryset` with this pk, or 404, logging the refusal.

    The access helpers use it: an id that the user may not see answers 404, so that its
    existence does not leak, and the attempt lands in the log as denied.
    """
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        audit_record(
            action=AuditEvent.Action.VIEW, object_type=object_type, object_id=pk, outcome=AuditEvent.Outcome.DENIED
        )
        raise Http404 from None


# --- reads of patient data -----------------------------------------------------------------


def shows(request, *, patient_id: int | None = None, **detail: Any) -> None:
    """Say what the page being answered shows, for its read's row (`logs_read`): the patient, and
    for a list the ids of what it names (`patients=[...]`, `handoffs=[...]`)."""
    request.audit_read = {"patient_id": patient_id, "detail": detail}


def logs_read(object_type: str, *, page: str = ""):
    """Decorate a view that shows patient data: every read of it (a GET or HEAD answered 200, a
    whole page or an htmx fragment) writes one VIEW row naming `object_type` with the id in the
    URL (`pk`), `page` when one object has several pages, and what the view said it showed with
    `shows()`. A view that answers 200 without saying so is a defect, and fails loudly.

    A refused look writes its own row (`get_or_404_audited`) or none (403); a POST writes none
    (what it changes, the database triggers log).
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            record_read(request, response, object_type, object_id=kwargs.get("pk", ""), page=page, view=view)
            return response

        return wrapper

    return decorate


def record_read(request, response, object_type: str, *, object_id: Any = "", page: str = "", view=None) -> None:
    """The VIEW row of `logs_read` for a request answered 200 to a GET or HEAD (also an API view's,
    whose reads name what they showed with `shows()` as pages do)."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return
    if getattr(request, "audit_exported", False):
        return  # a download writes its own EXPORT row instead (coordination.exports)
    shown = getattr(request, "audit_read", None)
    if shown is None:
        where = f"{view.__module__}.{view.__qualname__}" if view is not None else object_type
        raise ImproperlyConfigured(f"{where} must call shows(request, ...)")
    audit_record(
        action=AuditEvent.Action.VIEW,
        object_type=object_type,
        object_id=object_id,
        patient_id=shown["patient_id"],
        detail={"page": page, **shown["detail"]} if page else shown["detail"],
    )


# --- passing the context to the database triggers ------------------------------------------

_SET_CONTEXT = "SELECT set_config('care.audit', %s, true); "


def _inject_context(execute, sql, params, many, context):
    """Prefix write statements with the audit context, local to their transaction.

    Every write carries it, an empty one included, so that a context set earlier in the same
    transaction never labels a later write. Reads are left alone (the triggers log no reads),
    and so are statements without parameters, whose SQL may hold a literal % that the
    prefix's %s would disturb (migrations, raw DDL).
    """
    if params is None or sql.lstrip()[:6].upper() in {"SELECT", "SAVEPO", "RELEAS"}:
        return execute(sql, params, many, context)
    values = _context.get()
    payload = json.dumps(values, default=str) if values else ""
    if many:
        context["cursor"].execute(_SET_CONTEXT.strip(" ;"), [payload])
        return execute(sql, params, many, context)
    if isinstance(params, Mapping):  # named placeholders: the prefix must be named too
        sql, params = _SET_CONTEXT.replace("%s", "%(care_audit)s") + sql, {**params, "care_audit": payload}
    else:
        sql, params = _SET_CONTEXT + sql, [payload, *params]
    result = execute(sql, params, many, context)
    context["cursor"].nextset()  # on to the statement's own result (RETURNING rows, row count)
    return result


@receiver(connection_created)
def _install_context_wrapper(sender, connection, **kwargs):
    if connection.vendor == "postgresql" and _inject_context not in connection.execute_wrappers:
        connection.execute_wrappers.append(_inject_context)


def install_on_open_connections() -> None:
    """Connections opened before this module was imported get the wrapper too."""
    for connection in connections.all(initialized_only=True):
        _install_context_wrapper(sender=None, connection=connection)


def audited(action: str):
    """Decorate a service so that the changes it makes are logged as `action` by its actor."""

    def decorate(service):
        @functools.wraps(service)
        def wrapper(*args, **kwargs):
            actor = kwargs.get("actor")
            values: dict[str, Any] = {"action": action}
            if actor is not None and "actor_id" not in _context.get():
                values.update(actor_fields(actor))
            with audit_context(**values):
                return service(*args, **kwargs)

        return wrapper

    return decorate


class AuditContextMiddleware:
    """Names the signed-in user, their address and browser on every change a request makes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(**request_context(request)):
            return self.get_response(request)


# --- sign-in events ---------------------------------------------------------------------------


@receiver(user_logged_in)
def _log_login(sender, request, user, **kwargs):
    audit_record(
        action=AuditEvent.Action.LOGIN, object_type="accounts.user", object_id=user.pk, actor=user, request=request
    )


@receiver(user_logged_out)
def _log_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(
            action=AuditEvent.Action.LOGOUT, object_type="accounts.user", object_id=user.pk, actor=user, request=request
        )


@receiver(user_login_failed)
def _log_login_failure(sender, credentials, request=None, **kwargs):
    audit_record(
        action=AuditEvent.Action.LOGIN_FAILED,
        object_type="accounts.user",
        outcome=AuditEvent.Outcome.FAILURE,
        detail={"username": str(credentials.get("username", ""))[:150]},
        request=request,
    )


def log_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(
        action=AuditEvent.Action.LOCKOUT,
        object_type="accounts.user",
        outcome=AuditEvent.Outcome.DENIED,
        detail={"username": str(username or "")[:150], "ip": ip_address},
        request=request,
    )


# --- the version of the record ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a kept page's key needs, read in one statement (`scope_of`)."""

    patient_ids: list[int]  # sorted
    version: int | None  # change_version() of these patients; None where the log has no triggers
    values: dict[str, Any]  # the answers of the extra one-value queries asked for


def scope_of(patient_ids: QuerySet | CompiledQuery | Iterable[int], **scalars: QuerySet | CompiledQuery) -> Scope:
    """The patients that `patient_ids` selects (a query of patient ids, compiled or not, or the ids), their
    `change_version`, and each of `scalars` (`.values("name")` queries of at most one row: None
    without one),
    in one statement on PostgreSQL: a kept page is answered after this one round trip instead
    of one per question (docs/performance.md, issue 19's third pass)."""
    connection = connections[AuditEvent.objects.db]
    if connection.vendor != "postgresql":
        ids = sorted(set(patient_ids))
        return Scope(ids, None, {name: _first_value(query) for name, query in scalars.items()})
    if isinstance(patient_ids, QuerySet | CompiledQuery):
        ids_sql, ids_params = _sql_of(patient_ids)
    else:
        ids_sql, ids_params = "SELECT unnest(%s::bigint[])", (sorted(set(patient_ids)),)
    columns, params = [], []
    for query in scalars.values():
        sql, query_params = _sql_of(query)
        columns.append(f"({sql})")
        params.extend(query_params)
    extra = "".join(f", {column}" for column in columns)
    statement = SCOPE.format(ids=ids_sql, extra=extra)
    with connection.cursor() as cursor:
        cursor.execute(statement, (list(READ_ACTIONS), *params, *ids_params))
        ids, version, *answers = cursor.fetchone()
    return Scope(ids, version, dict(zip(scalars, answers, strict=True)))


def _sql_of(query: QuerySet | CompiledQuery) -> tuple[str, tuple]:
    if isinstance(query, CompiledQuery):
        return query.sql, query.params
    return query.query.sql_with_params()


def _first_value(query: QuerySet):
    """The one value of a `.values("name")` query of at most one row (None without a row)."""
    row = next(iter(query[:1]), None)
    return next(iter(row.values())) if row else None


# The changes of some patients (and of no patient: 0) in one statement, one snapshot, with other
# one-value questions beside them. The ids are read once into an array (`scope`): OFFSET 0 keeps
# PostgreSQL from pulling the array's subquery up into each place that reads it, where it ran once
# per place. Each patient's count is looked up by its key, one id at a time: `patient_id = ANY(ids)`
# was planned as a scan of every patient's row, whose cost grew with the hospital, not with what the
# reader sees (issue 19's ninth look). The count since the horizon reads the partial index
# `audit_change_xid_idx` (its predicate, word for word). It starts with SELECT: the audit
# context's prefix (`_inject_context`) leaves reads alone.
SCOPE = """
SELECT scope.ids,
  (SELECT COALESCE(SUM((SELECT counted.changes FROM accounts_patientchangecount AS counted
                        WHERE counted.patient_id = scoped.id)), 0)
   FROM unnest(array_append(scope.ids, 0::bigint)) AS scoped(id))
  + (SELECT count(*) FROM accounts_auditevent
     WHERE outcome = 'success' AND NOT (action = ANY(%s))
       AND xid >= COALESCE((SELECT horizon FROM accounts_auditsealrun ORDER BY id DESC LIMIT 1), 0)
       AND COALESCE(patient_id, 0) = ANY(array_append(scope.ids, 0::bigint))){extra}
FROM (SELECT ARRAY(SELECT DISTINCT visible.id FROM ({ids}) AS visible(id) ORDER BY visible.id)::bigint[] AS ids
      OFFSET 0)
  AS scope
"""


def change_version(patient_ids: Iterable[int] | None = None) -> int | None:
    """A number that grows with every committed change to the data, and only then; None where
    the log has no triggers (SQLite). With `patient_ids`, only with the changes of those patients
    and of the records that belong to no patient (users, units, templates, rules): a page that
    shows these patients is kept while changes elsewhere in the hospital go on.

    Every insert, update and delete of patient data, care teams, checklists, tasks, users and units
    writes its audit row in the same transaction as the change, and rows are never removed: so the
    number of change rows visible now is such a number, and a page rendered after reading it shows
    at least every change it counts (coordination.worklist.page_cache). It is counted as the
    change rows below the sealer's last horizon (counted by the sealer, in all and by patient:
    those transactions have ended, the count is final), plus the visible change rows at or above
    it: a few seconds' worth, from a partial index. Both are read in one statement, so that a
    pass of the sealer between them cannot count a row twice.
    Ids would not do: they are drawn before commit, so a change can commit under a smaller id
    than one already seen.
    """
    connection = connections[AuditEvent.objects.db]
    if connection.vendor != "postgresql":
        return None
    if patient_ids is None:
        last = AuditSealRun.objects.order_by("-id").values("horizon", "changes").first() or {"horizon": 0, "changes": 0}
        since = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.SUCCESS, xid__gte=last["horizon"])
        return last["changes"] + since.exclude(action__in=READ_ACTIONS).count()
    return scope_of(patient_ids).version
