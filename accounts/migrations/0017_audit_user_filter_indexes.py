"""The audit log's user filter by three indexes, one for each of its conditions (docs/performance.md,
"The audit log's pages"): built concurrently on PostgreSQL, as every change and logged look inserts
into the log."""

from django.db import migrations, models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Upper

from accounts.migration_operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("accounts", "0016_personal_token_scope")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="auditevent",
            index=models.Index(Upper("actor_username"), models.F("id"), name="audit_actor_name_id_idx"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="auditevent",
            index=models.Index(
                Upper(KeyTextTransform("username", "detail")),
                models.F("id"),
                condition=models.Q(("actor_id", None)),
                name="audit_tried_name_id_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("actor_id", None), ("object_type", "accounts.user")),
                fields=["object_id", "id"],
                name="audit_refused_user_id_idx",
            ),
        ),
    ]
