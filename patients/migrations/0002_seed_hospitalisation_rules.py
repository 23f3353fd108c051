"""Inpatient days from the blinatumomab prescribing information (shared/CLINICAL.md).

Data that admins edit afterwards; the rows are only created when missing.
"""

from django.db import migrations

RULES = [
    ("relapsed_refractory", 1, 9),
    ("mrd_positive", 1, 3),
    ("consolidation", 1, 3),
    ("", 2, 2),
]


def seed(apps, schema_editor):
    rule_model = apps.get_model("patients", "HospitalisationRule")
    for indication, cycle_number, days in RULES:
        rule_model.objects.get_or_create(
            indication=indication,
            cycle_number=cycle_number,
            defaults={"inpatient_days": days, "source": "Blinatumomab prescribing information"},
        )


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
