# The acknowledgement window is a handoff rule: it now lives in coordination.HandoffUnitRule,
# whose migration copies each unit's value first (it runs before this one, see its run_before).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_audit_actions_registered_by_apps"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="unit",
            name="handoff_acknowledge_hours",
        ),
    ]
