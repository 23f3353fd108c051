# The acknowledgement window moves from accounts.Unit up to the handoffs that it belongs to.
# Each unit's value is copied before accounts drops its column (run_before).

import django.core.validators
import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

DEFAULT_HOURS = 4


def copy_acknowledge_hours(apps, schema_editor):
    Unit = apps.get_model("accounts", "Unit")
    HandoffUnitRule = apps.get_model("coordination", "HandoffUnitRule")
    HandoffUnitRule.objects.bulk_create(
        HandoffUnitRule(unit_id=unit_id, acknowledge_hours=hours)
        for unit_id, hours in Unit.objects.exclude(handoff_acknowledge_hours=DEFAULT_HOURS).values_list(
            "id", "handoff_acknowledge_hours"
        )
    )


def copy_back(apps, schema_editor):
    Unit = apps.get_model("accounts", "Unit")
    HandoffUnitRule = apps.get_model("coordination", "HandoffUnitRule")
    for rule in HandoffUnitRule.objects.all():
        Unit.objects.filter(pk=rule.unit_id).update(handoff_acknowledge_hours=rule.acknowledge_hours)


class Migration(migrations.Migration):
    run_before = [("accounts", "0008_remove_unit_handoff_acknowledge_hours")]

    dependencies = [
        ("accounts", "0007_audit_actions_registered_by_apps"),
        ("coordination", "0003_reminders"),
    ]

    operations = [
        migrations.CreateModel(
            name="HandoffUnitRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "acknowledge_hours",
                    models.PositiveSmallIntegerField(
                        default=4,
                        help_text="As a receiving unit: how long after a handoff is sent its receipt must be acknowledged.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(72),
                        ],
                        verbose_name="acknowledge within (hours)",
                    ),
                ),
                (
                    "unit",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="handoff_rule", to="accounts.unit"
                    ),
                ),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="handoffunitrule",
            trigger=pgtrigger.compiler.Trigger(
                name="audit_changes",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="\nDECLARE\n    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;\n    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;\n    row jsonb := COALESCE(new_row, old_row);\n    context jsonb := COALESCE(NULLIF(current_setting('care.audit', true), '')::jsonb, '{}'::jsonb);\n    changes jsonb;\n    action text := COALESCE(context ->> 'action', CASE TG_OP WHEN 'INSERT' THEN 'create'\n                                                          WHEN 'UPDATE' THEN 'update' ELSE 'delete' END);\nBEGIN\n    IF TG_OP = 'UPDATE' THEN\n        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO changes\n        FROM jsonb_each(new_row) AS n\n        WHERE n.key <> ALL (ARRAY[]::text[]) AND (old_row -> n.key) IS DISTINCT FROM n.value;\n        IF changes IS NULL THEN\n            RETURN NULL;\n        END IF;\n    ELSE\n        changes := row - ARRAY[]::text[];\n    END IF;\n    \n    INSERT INTO accounts_auditevent\n        (at, actor_id, actor_username, actor_role, action, object_type, object_id, patient_id,\n         ip, user_agent, outcome, detail, prev_hash, hash)\n    VALUES\n        (clock_timestamp(), (context ->> 'actor_id')::bigint, COALESCE(context ->> 'username', ''),\n         COALESCE(context ->> 'role', ''), action, TG_TABLE_NAME, row ->> 'id', NULL,\n         (context ->> 'ip')::inet, COALESCE(context ->> 'user_agent', ''), 'success',\n         jsonb_build_object('operation', lower(TG_OP), 'changes', changes), '', '');\n    RETURN NULL;\nEND;\n",
                    hash="0e73a34ceabab035dca58db463b4db63d955b7fd",
                    operation="INSERT OR UPDATE OR DELETE",
                    pgid="pgtrigger_audit_changes_d723d",
                    table="coordination_handoffunitrule",
                    when="AFTER",
                ),
            ),
        ),
        migrations.RunPython(copy_acknowledge_hours, copy_back),
    ]
