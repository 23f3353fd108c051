"""The toxicity watch's assessment takes the name DESIGN.md gives it: `Assessment`.

Its table is renamed with it (patients_toxicityassessment → patients_assessment), and so are its
index and audit trigger. The audit rows already written keep the old names they were written with
(the trigger's `patients_toxicityassessment`, the reads' `patients.toxicityassessment`): the log is
append-only and sealed; the audit log's page shows them as assessments
(accounts.models.register_renamed_records, called in patients/models/toxicity.py).

It depends on coordination's last migration because the toxicity alert points at the model: that
migration's state must hold the foreign key that the rename moves (Django's autodetector adds it).
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations

import accounts.triggers

# The old trigger's function: RemoveTrigger drops the trigger only, and the new trigger has a
# function of its own (its name hashes the model's new name).
OLD_TRIGGER_FUNCTION = "pgtrigger_audit_changes_f6b2a"
ACTIONS = ("add", "change", "delete", "view")


def drop_old_trigger_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {OLD_TRIGGER_FUNCTION}()")


def _rename_permissions(apps, old: tuple[str, str], new: tuple[str, str]) -> None:
    """Django renames the model's content type but not its permissions: whoever was granted one keeps
    it under the new codename, and the admin lists no stale "toxicity assessment" beside the new.
    `old` and `new` are (model name, verbose name)."""
    permission = apps.get_model("auth", "Permission")
    for action in ACTIONS:
        ours = permission.objects.filter(content_type__app_label="patients", codename=f"{action}_{old[0]}")
        if not permission.objects.filter(content_type__app_label="patients", codename=f"{action}_{new[0]}").exists():
            ours.update(codename=f"{action}_{new[0]}", name=f"Can {action} {new[1]}")


OLD_NAMES = ("toxicityassessment", "toxicity assessment")
NEW_NAMES = ("assessment", "assessment")


def rename_permissions(apps, schema_editor):
    _rename_permissions(apps, OLD_NAMES, NEW_NAMES)


def rename_permissions_back(apps, schema_editor):
    _rename_permissions(apps, NEW_NAMES, OLD_NAMES)


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0021_toxicity_alert_ask_words"),
        ("patients", "0026_bag_decision"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The old trigger goes first, while its table still has the name that its compiled SQL
        # names: after the rename its `DROP TRIGGER IF EXISTS … ON patients_toxicityassessment`
        # would find no table, skip, and leave the old trigger on the renamed table beside the
        # new one (every change logged twice).
        pgtrigger.migrations.RemoveTrigger(
            model_name="toxicityassessment",
            name="audit_changes",
        ),
        migrations.RunPython(drop_old_trigger_function, migrations.RunPython.noop),
        migrations.RenameModel(
            old_name="ToxicityAssessment",
            new_name="Assessment",
        ),
        migrations.RunPython(rename_permissions, rename_permissions_back),
        migrations.RenameIndex(
            model_name="assessment",
            new_name="patients_as_patient_6d1075_idx",
            old_name="patients_to_patient_4aaa5e_idx",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="assessment",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=accounts.triggers.AlwaysOnTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', (row ->> 'patient_id')::bigint,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes));\n    RETURN NULL;\nEND;\n",
                    hash="c9450613020da86b2dad1af664e1a4bb98377743",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_693ad",
                    table="patients_assessment",
                    when="AFTER",
                ),
            ),
        ),
    ]
