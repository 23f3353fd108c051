"""The audit log's rows are sealed after the fact (accounts.audit_seal): no hash on insert, and so
no lock; each row names its writing transaction (xid). Its triggers, and the apps' change
triggers, no longer heed `pgtrigger.ignore` (accounts.triggers.AlwaysOn)."""

import django.utils.timezone
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

import accounts.triggers


def hash_columns_may_be_left_out(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":  # SQLite (`make run`) has no triggers to mind
        schema_editor.execute(
            "ALTER TABLE accounts_auditevent ALTER COLUMN hash SET DEFAULT '', ALTER COLUMN prev_hash SET DEFAULT ''"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_unit_contacts_and_office_hours"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                ("position", models.BigIntegerField(primary_key=True, serialize=False)),
                ("event_id", models.BigIntegerField(unique=True)),
                ("hash", models.CharField(max_length=64)),
            ],
            options={
                "ordering": ["position"],
            },
        ),
        migrations.CreateModel(
            name="AuditSealRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("horizon", models.BigIntegerField()),
                ("position", models.BigIntegerField()),
                ("head", models.CharField(max_length=64)),
                ("changes", models.BigIntegerField()),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="auditevent",
            name="audit_chain",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="auditevent",
            name="audit_append_only",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="unit",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="user",
            name="audit_changes",
        ),
        migrations.RemoveIndex(
            model_name="auditevent",
            name="audit_change_id_idx",
        ),
        # The apps' old change triggers still write these two columns until their own migrations
        # replace them (they run before 0011, which drops the columns): they may now be left out.
        migrations.RunPython(hash_columns_may_be_left_out, migrations.RunPython.noop),
        migrations.AddField(
            model_name="auditevent",
            name="xid",
            field=models.BigIntegerField(blank=True, db_index=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(
                    ("outcome", "success"),
                    models.Q(
                        ("action__in", ("view", "export", "login", "logout", "login_failed", "lockout")), _negated=True
                    ),
                ),
                fields=["xid"],
                name="audit_change_xid_idx",
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_stamp",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\n    NEW.xid := pg_current_xact_id()::text::bigint;\n    RETURN NEW;\n",
                    hash="11b9dd6d64c2eea5db5efba8b3e68870d80c2596",
                    operation="INSERT",
                    pgid="pgtrigger_audit_stamp_81172",
                    table="accounts_auditevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_append_only",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="5b3cc4e9a63bb2e2b97cbf3df6a6028daac8bd8d",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_audit_append_only_29779",
                    table="accounts_auditevent",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="unit",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="154b2fee3f619cd5f09b678f4c58eb9aece33d46",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_87878",
                    table="accounts_unit",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="user",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY['password', 'last_login', 'session_epoch']::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY['password', 'last_login', 'session_epoch']::text[];\n    END IF;\n    IF TG_OP = 'UPDATE' AND changes ?| ARRAY['role', 'unit_id', 'is_staff', 'is_superuser', 'is_active'] THEN action := 'permission_change'; END IF;\n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="1c0324e7862edf65c5c97bf100ac28ef1e984920",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_b73d5",
                    table="accounts_user",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditseal",
            trigger=pgtrigger.compiler.Trigger(
                name="seal_append_only",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="5534dd25d6eb19b64e172ae6e6621e403fb47b41",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_seal_append_only_e9a10",
                    table="accounts_auditseal",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="auditsealrun",
            trigger=pgtrigger.compiler.Trigger(
                name="seal_append_only",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;",
                    hash="b7320c736e68a7e6b228085aa1fb3862e8473639",
                    operation="UPDATE OR DELETE",
                    pgid="pgtrigger_seal_append_only_ec5df",
                    table="accounts_auditsealrun",
                    when="BEFORE",
                ),
            ),
        ),
    ]
