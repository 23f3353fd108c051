# My work reads a team's open tasks by patient and due time, and the completions awaiting an
# independent check (docs/performance.md, "Dashboard load"). Both indexes are partial: they
# hold only the rows those reads want.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0005_audit_triggers"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("status", "open")), fields=["patient", "due_at"], name="open_task_patient_due_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("needs_verification", True), ("status", "done"), ("verified_by__isnull", True)),
                fields=["patient"],
                name="task_awaiting_check_idx",
            ),
        ),
    ]
