"""Operations that migrations share."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations

# Whether the table already has an index of that name, and whether it is valid: a concurrent
# build that failed (a deadlock, a unique violation, the migration killed) leaves its index
# behind, marked invalid, unused by queries but still kept up to date by every insert.
INDEX_VALIDITY = """
SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = to_regclass(%s) AND c.relname = %s
"""


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """Every change and every logged look inserts into the audit log: a plain CREATE INDEX would
    stop them all while it reads the whole table. SQLite (`make run`) has no such option.

    Safe to run again after a build that failed on PostgreSQL: the invalid index it left is dropped
    (concurrently too) and built anew, where CREATE INDEX would stop at its name; a valid index of
    that name is kept as it is."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        self._ensure_not_in_transaction(schema_editor)
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return None
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(INDEX_VALIDITY, [schema_editor.quote_name(model._meta.db_table), self.index.name])
            found = cursor.fetchone()
        if found is not None and found[0]:
            return None  # built whole by an earlier run
        if found is not None:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}")
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
