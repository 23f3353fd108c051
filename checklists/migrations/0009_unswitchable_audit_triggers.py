"""The change triggers no longer heed `pgtrigger.ignore`, nor write the dropped hash columns."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

import accounts.triggers


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0008_toxicity_assessment_tasks"),
    ]

    # Before accounts drops the columns that the old triggers write.
    run_before = [("accounts", "0011_drop_the_insert_time_chain")]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="checklist",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="task",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="templateversion",
            name="audit_changes",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="checklist",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (SELECT patient_id FROM patients_careevent WHERE id = (row ->> 'event_id')::bigint),\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="6a33493fc77e33dd35115d1094faa13df7d7d01d",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_b2d46",
                    table="checklists_checklist",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="task",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="49bcca7b2548c1d63022649c8b8bc836a9e6052f",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_776bb",
                    table="checklists_task",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="templateversion",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="6be3d13cc20e06afd867d3cebf0f83088b32d378",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_f2f5e",
                    table="checklists_templateversion",
                    when="AFTER",
                ),
            ),
        ),
    ]
