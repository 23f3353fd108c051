"""Two database roles: the owner, which migrates, and the application, which owns nothing.

The application connects as a role that may read and write the data, but may only insert into and
read the audit log and its seals: no UPDATE, DELETE or TRUNCATE there, no table of its own, so no
ALTER TABLE … DISABLE TRIGGER either (and the audit triggers ignore `pgtrigger.ignore`,
accounts.triggers.AlwaysOn). Whoever holds the application's credentials cannot rewrite the log.

`manage.py migrate` and `flush` connect as the owner (DATABASE_OWNER_URL; `as_owner`), and after
every migration the owner grants the application's role (DATABASE_APP_ROLE) its rights on every
table, those of later migrations included (`grant_application_role`, run on post_migrate).
Without DATABASE_OWNER_URL there is one role, as in a developer's database: nothing to grant.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connections

from .models import AuditEvent, AuditSeal, AuditSealRun

# The tables that the application's role may only insert into and read.
APPEND_ONLY_TABLES = [model._meta.db_table for model in (AuditEvent, AuditSeal, AuditSealRun)]
_OWNER_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


@contextlib.contextmanager
def as_owner(alias: str = "default") -> Iterator[None]:
    """Connect `alias` as the owner role for the block (the database's name stays: a test
    database is migrated and emptied as the owner too)."""
    connection = connections[alias]
    owner = settings.DATABASE_OWNER
    if not owner or connection.vendor != "postgresql":
        yield
        return
    saved = {key: connection.settings_dict.get(key) for key in _OWNER_KEYS}
    connection.close()
    connection.settings_dict.update({key: owner.get(key) for key in _OWNER_KEYS})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def grant_application_role(*, using: str = "default") -> str | None:
    """Give the application's role its rights, as the owner; the role, or None when there is
    no separate one (one role, or not PostgreSQL)."""
    role = settings.DATABASE_APP_ROLE
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return None
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] == role:
            return None
        grantee = quote(role)
        data, sequences = "SELECT, INSERT, UPDATE, DELETE", "USAGE, SELECT"
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {grantee}",
            f"GRANT {data} ON ALL TABLES IN SCHEMA public TO {grantee}",
            f"GRANT {sequences} ON ALL SEQUENCES IN SCHEMA public TO {grantee}",
            # Tables that later migrations create (as this owner) get the same rights.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {data} ON TABLES TO {grantee}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {sequences} ON SEQUENCES TO {grantee}",
            *(
                f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {quote(table)} FROM {grantee}"
                for table in APPEND_ONLY_TABLES
            ),
        ):
            cursor.execute(statement)
    return role


def on_post_migrate(sender, using: str = "default", **kwargs) -> None:
    grant_application_role(using=using)
