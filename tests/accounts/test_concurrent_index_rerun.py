"""A concurrent index build that failed leaves an invalid index behind (PostgreSQL): running the
migration again drops it and builds it anew; a valid index of that name is left alone. (accounts
0015's index on the audit log, through accounts.migration_operations.)"""

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations.state import ProjectState

from accounts.migration_operations import AddIndexConcurrentlyOnPostgres

from ..database_roles import connect_as_application, connect_as_owner, superuser_connection

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent builds are PostgreSQL's")

NAME = "audit_outcome_id_idx"


@pytest.fixture(autouse=True)
def _as_the_migrations_owner(transactional_db):
    """Migrations run as the database's owner, who owns the index (the tests' application role
    may not drop it); CREATE and DROP INDEX CONCURRENTLY refuse a transaction."""
    connect_as_owner()
    yield
    connect_as_application()


def _operation() -> AddIndexConcurrentlyOnPostgres:
    # accounts 0015's own operation.
    index = models.Index(condition=~models.Q(outcome="success"), fields=["outcome", "id"], name=NAME)
    return AddIndexConcurrentlyOnPostgres(model_name="auditevent", index=index)


def _run_forwards() -> None:
    state = ProjectState.from_apps(apps)
    with connection.schema_editor(atomic=False) as editor:
        _operation().database_forwards("accounts", editor, state, state)


def _index() -> tuple[int, bool] | None:
    """The index's oid and whether it is valid (None: no index of that name)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexrelid::bigint, indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [NAME])
        return cursor.fetchone()


def _mark_invalid() -> None:
    """What a failed CREATE INDEX CONCURRENTLY leaves; only a superuser may write the catalogue."""
    with superuser_connection() as admin:
        admin.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)", [NAME])


def test_an_invalid_index_left_by_a_failed_build_is_dropped_and_built_again():
    before = _index()
    assert before is not None and before[1]
    _mark_invalid()
    assert _index() == (before[0], False)
    _run_forwards()
    oid, valid = _index()
    assert valid and oid != before[0]  # a new index, not the invalid one


def test_a_valid_index_of_that_name_is_kept_as_it_is():
    before = _index()
    _run_forwards()  # CREATE INDEX would stop at "relation already exists"
    assert _index() == before


def test_without_the_index_it_is_built():
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX CONCURRENTLY {NAME}")
    assert _index() is None
    _run_forwards()
    assert _index()[1]
