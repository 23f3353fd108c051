"""No parallel scans of the audit log: counting a page's version (accounts.audit.change_version)
reads a few rows since the sealer's horizon, a value the planner cannot see while planning, so it
guessed thousands and started a parallel worker, which cost 8 ms to start for rows read in 0.02 ms
(docs/performance.md, issue 19). Reports over the whole log are rare and admin-only."""

from django.db import migrations


def no_parallel(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE accounts_auditevent SET (parallel_workers = 0)")


def parallel_again(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE accounts_auditevent RESET (parallel_workers)")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0012_patient_change_counts")]

    operations = [migrations.RunPython(no_parallel, parallel_again)]
