"""What the tests need of PostgreSQL itself: trigger names, the owner's hand, and snapshots of the tables."""

import threading

from django.db import connection

from .database_roles import owner_connection, superuser_connection


def race(*calls):
    """Run each call in its own thread and database connection, released together; their outcomes
    (a result or the exception raised) in order. Fails if one never ends: a lock never released."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[index] = error
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: a lock was never released"
    return outcomes


def trigger_names(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table])
        return [name for (name,) in cursor.fetchall()]


def as_database_owner(*statements: str) -> None:
    """What an intruder with the owner's rights could do, committed: the triggers switched off
    around the statements, as only the owner may."""
    with owner_connection() as owner, owner.transaction():
        for table in ("accounts_auditevent", "accounts_auditseal", "accounts_auditsealrun"):
            owner.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for statement in statements:
            owner.execute(statement)
        for table in ("accounts_auditevent", "accounts_auditseal", "accounts_auditsealrun"):
            owner.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


class TableSnapshot:
    """A copy of every table of the test database, kept in a schema of its own, to put back for
    a later test instead of building the same world again (tests/e2e/worlds.py, `demo_ward`).

    Taken and put back by the configured superuser (`postgres`), the only role that may switch
    off foreign-key checks and triggers while the rows go back (`session_replication_role`):
    the rows are the ones the triggers saw when they were first written. A snapshot lives as long
    as the test process: a kept test database's copy from an earlier run is dropped, not used."""

    def __init__(self, schema: str):
        self.schema = schema
        self.taken = False

    def _superuser(self):
        return superuser_connection()

    @staticmethod
    def _tables(cursor) -> list[str]:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'django_migrations' "
            "ORDER BY tablename"
        )
        return [name for (name,) in cursor.fetchall()]

    def take(self) -> None:
        if connection.vendor != "postgresql":
            return
        with self._superuser() as admin, admin.transaction(), admin.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{self.schema}"')
            for table in self._tables(cursor):
                cursor.execute(f'CREATE TABLE "{self.schema}"."{table}" AS TABLE public."{table}"')
        self.taken = True

    def restore(self) -> bool:
        """Put the snapshot back in place of whatever the tables hold; False when none was taken."""
        if not self.taken:
            return False
        from django.contrib.contenttypes.models import ContentType

        with self._superuser() as admin, admin.transaction(), admin.cursor() as cursor:
            tables = self._tables(cursor)
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("TRUNCATE " + ", ".join(f'public."{table}"' for table in tables))
            for table in tables:
                cursor.execute(f'INSERT INTO public."{table}" SELECT * FROM "{self.schema}"."{table}"')
            cursor.execute(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name = 'id' AND column_default IS NOT NULL "
                "OR table_schema = 'public' AND column_name = 'id' AND is_identity = 'YES'"
            )
            for (table,) in cursor.fetchall():
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('public.\"{table}\"', 'id'), "
                    f'COALESCE(max(id), 1), max(id) IS NOT NULL) FROM public."{table}"'
                )
        ContentType.objects.clear_cache()  # the ids are the snapshot's again
        return True
