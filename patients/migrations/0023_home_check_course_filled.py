"""The home checks recorded before 0022 belong to a course too: without one, a seizure reported at
such a check would not count towards the second seizure of the course (CLINICAL.md: more than one
seizure, stop for good) for patients on treatment when this release is deployed."""

from django.db import migrations


def fill_courses(apps, schema_editor):
    """Each home check without a course gets the patient's course that had started by the check's
    day: the latest started, the newest of a day (a check belongs to the course under way)."""
    HomeCheckIn = apps.get_model("patients", "HomeCheckIn")
    TreatmentCourse = apps.get_model("patients", "TreatmentCourse")
    for check_in in HomeCheckIn.objects.filter(course__isnull=True).only("pk", "patient_id", "checked_at"):
        course_id = (
            TreatmentCourse.objects.filter(patient_id=check_in.patient_id, start_date__lte=check_in.checked_at.date())
            .order_by("-start_date", "-pk")
            .values_list("pk", flat=True)
            .first()
        )
        if course_id is not None:
            HomeCheckIn.objects.filter(pk=check_in.pk).update(course_id=course_id)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0022_home_check_course"),
    ]

    operations = [migrations.RunPython(fill_courses, migrations.RunPython.noop)]
