"""The suite's two database roles, as in production (accounts.database_roles).

From the configured user (a superuser, as `postgres` on the machine and in CI), the session makes
two roles if they are missing: an owner that creates, migrates and drops the test databases,
and an application role that the tests run as. So every test runs with the rights that the
application has in production, and the tests of the audit log's protection
(tests/accounts/test_database_roles.py) try what that role may not do.
"""

import psycopg
from django.conf import settings
from django.db import connections

OWNER, APPLICATION = "care_test_owner", "care_test_app"
PASSWORD = "care-test-role"  # noqa: S105 (a local test role; trust authentication ignores it)
_ROLE_OPTIONS = {OWNER: "LOGIN CREATEDB", APPLICATION: "LOGIN"}
_admin: dict = {}


def _postgresql() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def _maintenance(user: str, password: str | None):
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=user,
        password=password or None,
        dbname="postgres",
        autocommit=True,
    )


def prepare() -> None:
    """Make the roles (as the configured user), drop a kept test database that another role owns
    (one kept from before the roles), and connect as the owner."""
    if not _postgresql():
        return
    db = settings.DATABASES["default"]
    _admin.update(USER=db["USER"], PASSWORD=db.get("PASSWORD"))
    test_database = connections["default"].creation._get_test_db_name()
    with _maintenance(db["USER"], db.get("PASSWORD")) as admin:
        for role, options in _ROLE_OPTIONS.items():
            # Several test processes start at once: a role made by another meanwhile is fine.
            admin.execute(
                f"DO $$ BEGIN CREATE ROLE {role} {options} PASSWORD '{PASSWORD}'; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
        owner = admin.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [test_database]
        ).fetchone()
        if owner and owner[0] != OWNER:
            admin.execute(f'DROP DATABASE "{test_database}" WITH (FORCE)')
    settings.DATABASE_OWNER = {**db, "USER": OWNER, "PASSWORD": PASSWORD}
    settings.DATABASE_APP_ROLE = APPLICATION
    _connect(OWNER)


def _connect(user: str) -> None:
    connections["default"].close()
    settings.DATABASES["default"].update(USER=user, PASSWORD=PASSWORD)


def connect_as_application() -> None:
    if _postgresql():
        _connect(APPLICATION)


def connect_as_owner() -> None:
    if _postgresql():
        _connect(OWNER)


def owner_connection():
    """A connection of the owner's to the test database, beside the tests' own (psycopg)."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=OWNER,
        password=PASSWORD,
        dbname=db["NAME"],
        autocommit=True,
    )


def superuser_connection():
    """A connection of the configured superuser's (`postgres`) to the test database (psycopg), for
    what neither role may do: switch off foreign-key checks, write the system catalogue."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=_admin.get("USER") or db["USER"],
        password=_admin.get("PASSWORD") or None,
        dbname=db["NAME"],
        autocommit=True,
    )
