"""The change triggers no longer heed `pgtrigger.ignore`, nor write the dropped hash columns."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

import accounts.triggers


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0014_transfers"),
    ]

    # Before accounts drops the columns that the old triggers write.
    run_before = [("accounts", "0011_drop_the_insert_time_chain")]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name="accessgrant",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="bagoption",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="careevent",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="careteammember",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="cycle",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="homecheckin",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="infusionbag",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="interruption",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="patient",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="premedicationrule",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="pumpevent",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="regimencyclerule",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="regimenversion",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="toxicityassessment",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="transfer",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="treatmentcourse",
            name="audit_changes",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="weighing",
            name="audit_changes",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="accessgrant",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="c4c18fc5f722e6933012e63827c7f4db3a734fea",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_0af73",
                    table="patients_accessgrant",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="bagoption",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="1652e1a33a4d808c99903b1f88ae83ef368c033b",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_a1b30",
                    table="patients_bagoption",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="careevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="76631e86f3dd73ed676471f90822f59f13809ef5",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_18008",
                    table="patients_careevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="careteammember",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="76526a591da9a0ece767f7d889c73150c9a0f851",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_7df23",
                    table="patients_careteammember",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="cycle",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (SELECT patient_id FROM patients_treatmentcourse WHERE id = (row ->> 'course_id')::bigint),\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="8142cff3e8c7f358bda0f14e99d4c0b9ad17a075",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_eb70b",
                    table="patients_cycle",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="homecheckin",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="35e14fe66c5093dd4de8569355e028dba4408622",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_a07f7",
                    table="patients_homecheckin",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="infusionbag",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="55693fc1bb95d6bf8de85af4cdfb781e45a8f12b",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_01cff",
                    table="patients_infusionbag",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="interruption",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="3262f56656ff32a254c9e0ec682ce4886151e996",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_420e9",
                    table="patients_interruption",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="patient",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="8eefec38adf159eec0b1f2cd3a9405e2ebba64c9",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_f3037",
                    table="patients_patient",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="premedicationrule",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="ae930069b82dc985e444c3fb8d3184366cae1c31",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_4ba11",
                    table="patients_premedicationrule",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="pumpevent",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="eb71116b4adb573471f74506e3d8d910fa4bb006",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_29a91",
                    table="patients_pumpevent",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="regimencyclerule",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="429d7e48bd089c4285bf53c4b222c7707feb38d0",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_0ff64",
                    table="patients_regimencyclerule",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="regimenversion",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="b4708221b4f78a24780241fe9ab12969bc08c365",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_a803f",
                    table="patients_regimenversion",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="toxicityassessment",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="ebca200b8c0641cd7b1ded3447b147d9b6cd0523",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_f6b2a",
                    table="patients_toxicityassessment",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="transfer",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="7d19172bbf83784124c2b1b07e5f970f1bb3dcbf",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_f0043",
                    table="patients_transfer",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="treatmentcourse",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="8e3c4ddfa00a3c6981d8184391ef1aa3f543d78c",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_82688",
                    table="patients_treatmentcourse",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="weighing",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="b19baa5432cb05c17b57843b5866675bce81ae2f",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_028ed",
                    table="patients_weighing",
                    when="AFTER",
                ),
            ),
        ),
    ]
