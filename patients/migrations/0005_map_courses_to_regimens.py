"""Existing data: the starter regimens and bag options, every course pinned to its indication's
regimen version, each cycle's pump-off written down, and each patient's weight as a weighing.

Existing plans stay as they are (no event moves) until they are rebuilt.
"""

import datetime as dt
import zoneinfo

from django.db import migrations
from django.utils import timezone

from patients.regimen_library import regimen_library_load

EVENT_LOCAL_TIME = dt.time(9, 0)


def forwards(apps, schema_editor):
    regimen_library_load(
        regimen_model=apps.get_model("patients", "Regimen"),
        version_model=apps.get_model("patients", "RegimenVersion"),
        cycle_rule_model=apps.get_model("patients", "RegimenCycleRule"),
        premedication_model=apps.get_model("patients", "PremedicationRule"),
        bag_model=apps.get_model("patients", "BagOption"),
        now=timezone.now(),
    )
    version_model = apps.get_model("patients", "RegimenVersion")
    course_model = apps.get_model("patients", "TreatmentCourse")
    for version in version_model.objects.filter(status="published").select_related("regimen"):
        course_model.objects.filter(indication=version.regimen.indication, regimen_version__isnull=True).update(
            regimen_version=version
        )
    cycle_model = apps.get_model("patients", "Cycle")
    cycles = list(cycle_model.objects.select_related("course__patient__unit"))
    for cycle in cycles:
        zone = zoneinfo.ZoneInfo(cycle.course.patient.unit.time_zone)
        end_day = cycle.start_date + dt.timedelta(days=cycle.infusion_days)
        cycle.planned_ends_at = cycle.infusion_ends_at = dt.datetime.combine(end_day, EVENT_LOCAL_TIME, tzinfo=zone)
        cycle.infusion_end_date = end_day
    cycle_model.objects.bulk_update(cycles, ["planned_ends_at", "infusion_ends_at", "infusion_end_date"])
    weighing_model = apps.get_model("patients", "Weighing")
    patient_model = apps.get_model("patients", "Patient")
    weighing_model.objects.bulk_create(
        weighing_model(
            patient=patient,
            weight_kg=patient.weight_kg,
            measured_at=dt.datetime.combine(
                patient.weight_measured_on, dt.time(12, 0), tzinfo=zoneinfo.ZoneInfo(patient.unit.time_zone)
            ),
            source="The weight on the record before weighings were kept",
        )
        for patient in patient_model.objects.select_related("unit")
        if not weighing_model.objects.filter(patient=patient).exists()
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0004_regimens_interruptions_bags")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
