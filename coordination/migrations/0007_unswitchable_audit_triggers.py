"""The change triggers no longer heed `pgtrigger.ignore`, nor write the dropped hash columns."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

import accounts.triggers


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0006_handoff_comment_submission"),
    ]

    # Before accounts drops the columns that the old triggers write.
    run_before = [("accounts", "0011_drop_the_insert_time_chain")]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="handoff",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="handoffaction",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="handoffactivity",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="handoffcomment",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="handoffunitrule",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="oncallshift",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="reminderrule",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="tasksnooze",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="toxicityalert",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="watchunitrule",
            name="audit_changes",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="handoff",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="e626ff7e4a27ba624a2aead44ddb3014a0a5f467",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_4cc65",
                    table="coordination_handoff",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="handoffaction",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (SELECT patient_id FROM coordination_handoff WHERE id = (row ->> 'handoff_id')::bigint),\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="9c5a0cc4bf0e04d5ef99c3365e643e9c870f624c",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_26697",
                    table="coordination_handoffaction",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="handoffactivity",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (SELECT patient_id FROM coordination_handoff WHERE id = (row ->> 'handoff_id')::bigint),\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="48b97e5142405c2f4e679003e72b3fe91075434a",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_e4da5",
                    table="coordination_handoffactivity",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="handoffcomment",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (SELECT patient_id FROM coordination_handoff WHERE id = (row ->> 'handoff_id')::bigint),\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="a270ddc42dbbd7878427ac213a32bd26d31facc3",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_6f1a5",
                    table="coordination_handoffcomment",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="handoffunitrule",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="e46002128d8947810f90e5e2dc167e26a04e0a74",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_d723d",
                    table="coordination_handoffunitrule",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="oncallshift",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="a7a7f83d9aab717e391d9c744bad369365cda27c",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_2b006",
                    table="coordination_oncallshift",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="reminderrule",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="07c1b23a04df40f3b0409cd447d60efa361892cb",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_68965",
                    table="coordination_reminderrule",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="tasksnooze",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="edf552f2949e307af4c6aa5b00e25f9506975513",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_e2cc9",
                    table="coordination_tasksnooze",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="toxicityalert",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="4aa4d3351afac563e53f3e1b36c7dad8e14b1123",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_feb34",
                    table="coordination_toxicityalert",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="watchunitrule",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="0255d01e97fcd9d7fe3a88d88e25546b49680aa1",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_d9860",
                    table="coordination_watchunitrule",
                    when="AFTER",
                ),
            ),
        ),
    ]
