"""The hashes written on insert, under the old lock, are gone: the seals replace them.

The apps' migrations that replace their change triggers (which wrote these columns) run before
this one (their `run_before`)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_audit_seals_and_unswitchable_triggers")]

    operations = [
        migrations.RemoveField(model_name="auditevent", name="hash"),
        migrations.RemoveField(model_name="auditevent", name="prev_hash"),
    ]
