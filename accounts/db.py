"""Small helpers about the database that every app may use."""

import datetime as dt
import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL


def constraint_of(error: DatabaseError) -> str | None:
    """The name of the constraint that a PostgreSQL integrity error broke, if it says."""
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", None)


# --- advisory locks --------------------------------------------------------------------------------
# Every PostgreSQL advisory lock the project takes, by its number, here and nowhere else: two jobs
# given one number make each other skip their turn (the audit sealer and the reminder sweep shared
# 7_201_956 until a review found it: a sealing pass, every few seconds, made the minute's sweep skip).
# A new lock takes a new number here; tests/accounts/test_advisory_locks.py checks they all differ.
ADVISORY_LOCKS = {
    # The audit chain hashed on insert (accounts/migrations/0002; its trigger dropped by 0011): retired, never reused.
    "audit chain on insert": 7_201_955,
    "reminder sweep": 7_201_956,  # one sweep at a time (coordination/reminders/sweep.py)
    "audit seal": 7_201_957,  # one sealer at a time (accounts/audit_seal.py)
}


# --- queries compiled once -------------------------------------------------------------------------
# A kept page asks the same few questions on every request (whom the reader sees, the bell's count),
# and building them with the ORM cost more of its CPU than PostgreSQL answering them (the access
# policy's UNION: 1.3 ms of Python a request; docs/performance.md, issue 19's seventh look). Their
# SQL depends only on a few values of the reader (their id, unit, role) and on the time, so it is
# compiled once per such values, with a stand-in for the time that each request replaces.

# The time of the request, in a compiled query: an instant that no real parameter can be. A query
# asked without `.at()` fails closed: in 1901 no access grant has started.
NOW = dt.datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=dt.UTC)


@dataclass(frozen=True)
class CompiledQuery:
    """A query's SQL and its parameters, for a statement that asks it inside its own
    (accounts.audit.scope_of)."""

    sql: str
    params: tuple

    def at(self, now: dt.datetime) -> "CompiledQuery":
        """The same query, asked at `now` instead of the stand-in NOW."""
        return CompiledQuery(self.sql, tuple(now if param == NOW else param for param in self.params))

    def where_id(self, pk: int) -> "CompiledQuery":
        """Of this query of ids, the one `pk` if it is among them (PostgreSQL asks each part of a
        UNION for it alone)."""
        sql = f"SELECT id FROM ({self.sql}) AS selected(id) WHERE id = %s"  # noqa: S608 (the ORM's SQL; pk a parameter)
        return CompiledQuery(sql, (*self.params, pk))

    def as_subquery(self) -> RawSQL:
        """This query inside another one the ORM builds (`pk__in=…`), asked as compiled."""
        return RawSQL(self.sql, self.params)  # noqa: S611 (the ORM's own SQL, its parameters apart)


def compiled(build: Callable[..., QuerySet], *args: Hashable) -> CompiledQuery | None:
    """`build(*args)` compiled for the default database, once per `args` (kept for the life of
    the process). `build` must read nothing but its arguments, so that its SQL is the same every
    time it is called with them: a pure function of values, never of a user or a row. Pass NOW
    for the time, and ask the result `.at(timezone.now())`. None where the database is not
    PostgreSQL, whose driver takes a time as it is: SQLite's takes it as text, where NOW could
    not be found again."""
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return None
    return _compiled(build, args)


# A few kilobytes each: one per reader and kind of question, for the readers of a few hours.
@functools.lru_cache(maxsize=4096)
def _compiled(build: Callable[..., QuerySet], args: tuple) -> CompiledQuery:
    sql, params = build(*args).query.sql_with_params()
    return CompiledQuery(sql, tuple(params))
