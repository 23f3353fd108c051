"""The audit log's rare outcomes by their own index (docs/performance.md, "The audit log's pages"):
built concurrently on PostgreSQL, as every change and logged look inserts into the log."""

from django.db import migrations, models

from accounts.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("accounts", "0014_personal_tokens")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("outcome", "success"), _negated=True),
                fields=["outcome", "id"],
                name="audit_outcome_id_idx",
            ),
        ),
    ]
