from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0015_audit_outcome_id_idx"),
    ]

    operations = [
        # The tokens made so far acted as their user in full: they keep doing so (read and write),
        # so that no integration stops at the upgrade. Only then does a new token default to read only.
        migrations.AddField(
            model_name="personaltoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "Read only"), ("read_write", "Read and write")], default="read_write", max_length=10
            ),
        ),
        migrations.AlterField(
            model_name="personaltoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "Read only"), ("read_write", "Read and write")], default="read", max_length=10
            ),
        ),
    ]
