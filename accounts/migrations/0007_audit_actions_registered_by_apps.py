# The audit log's verbs come from a callable: the log's own and those each app registers
# (accounts.models.register_audit_actions). Choices live in Python only: nothing changes in the database.

from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_unit_audit_trigger"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(choices=accounts.models.audit_action_choices, max_length=20),
        ),
    ]
