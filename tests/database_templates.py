"""Each test process's database, copied from one migrated template instead of migrated again.

`make test` starts three processes at once (two xdist workers and the service tests), and each
used to build its database by running every migration: some 11 s of CPU each, on a 2-core
machine, before the first test. Now the first process to get here builds a template database
once (the test database's name plus `_template`) and every process copies it (PostgreSQL's
`CREATE DATABASE … TEMPLATE`, well under a second). The template is kept between runs and built
again when a migration or a requirement changes (its comment holds a fingerprint of both).

Only on PostgreSQL, and only for a database that does not exist yet: the suite keeps each
process's database between runs (`--reuse-db`, pyproject.toml), and a kept one is migrated by
pytest-django as before.
"""

import fcntl
import hashlib
import tempfile
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections

ROOT = Path(settings.BASE_DIR)


def fingerprint() -> str:
    """What the migrated schema depends on: this project's migrations and the installed packages'
    (their versions, through the requirements files)."""
    digest = hashlib.sha256()
    files = sorted(ROOT.glob("*/migrations/*.py")) + sorted(ROOT.glob("requirements*.txt"))
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def copy_of_migrated_template_if_missing() -> None:
    """Make this process's test database, when it does not exist, as a copy of the migrated
    template (built first if missing or stale), as the role that owns the test databases
    (tests.database_roles). pytest-django then finds it, as `--reuse-db` does, and migrates only
    what the template lacks (nothing)."""
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return
    owner = settings.DATABASE_OWNER
    database = connections["default"].creation._get_test_db_name()
    template = _template_name(database)
    lock = Path(tempfile.gettempdir()) / f"care-tracker-{template}.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # one process builds; the others wait, then copy
        with _maintenance(owner) as admin:
            if not _exists(admin, database):  # else kept from an earlier run: pytest-django migrates what it lacks
                if _comment(admin, template) != fingerprint():
                    _build(admin, template)
                admin.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
            _without_waiting_for_the_disk(admin, database)


def _without_waiting_for_the_disk(admin, database: str) -> None:
    """Commits in the test database do not wait for the write-ahead log to reach the disk: a crash
    could lose the last few, which a test database can afford. About 1 ms a commit on this machine
    (1,000 one-row commits: 1.2 s against 0.12 s), and the transactional and browser tests, the
    live server and the service tests' workers commit tens of thousands of times in a run. Every
    connection to the database takes it, the Celery workers the service tests start included;
    what a transaction sees, and in what order, is unchanged."""
    admin.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')


def _template_name(database: str) -> str:
    """One template for every process of a run: the name without xdist's `_gw<n>` suffix."""
    base, _, suffix = database.rpartition("_gw")
    return f"{base if base and suffix.isdigit() else database}_template"


def _build(admin, template: str) -> None:
    """Migrate a new database under the template's name, as the owner role, and label it."""
    from django.core.management import call_command

    admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{template}"')
    db = settings.DATABASES["default"]
    kept = db["NAME"]
    connections["default"].close()
    db["NAME"] = template
    try:
        call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
    finally:
        connections["default"].close()  # a template must have no connection when it is copied
        db["NAME"] = kept
    admin.execute(f"COMMENT ON DATABASE \"{template}\" IS '{fingerprint()}'")


def _exists(admin, database: str) -> bool:
    return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is not None


def _comment(admin, database: str) -> str | None:
    row = admin.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [database]
    ).fetchone()
    return row[0] if row else None


def _maintenance(owner: dict):
    return psycopg.connect(
        host=owner["HOST"] or None,
        port=owner["PORT"] or None,
        user=owner["USER"],
        password=owner.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )
