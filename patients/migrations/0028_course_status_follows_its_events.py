"""A course's status follows its events from now on (patients.services.course_status): before this
release nothing set a course completed, and only a rebuild of its schedule made it active, so a
course that ran all its cycles stayed "planned" or "active" and refused the patient's next course.
Existing courses take the status their events give them, by the same rule, written out here on the
models of this migration: completed once the end of their last planned cycle is done or missed,
active once their first cycle's start is under way, done or missed. A course stopped for good keeps
its status. Backwards, nothing is undone: the statuses are what the events say."""

from django.db import migrations
from django.db.models import Exists, OuterRef

ENDED = ("done", "missed")
BEGUN = ("in_progress", "done", "missed")


def courses_follow_their_events(apps, schema_editor):
    TreatmentCourse = apps.get_model("patients", "TreatmentCourse")
    CareEvent = apps.get_model("patients", "CareEvent")
    last_end_passed = Exists(
        CareEvent.objects.filter(
            cycle__course=OuterRef("pk"), cycle__number=OuterRef("planned_cycles"), kind="cycle_end", status__in=ENDED
        )
    )
    first_start_begun = Exists(
        CareEvent.objects.filter(cycle__course=OuterRef("pk"), cycle__number=1, kind="cycle_start", status__in=BEGUN)
    )
    under_way = TreatmentCourse.objects.filter(status__in=["planned", "active"])
    under_way.filter(last_end_passed).update(status="completed")
    under_way.filter(first_start_begun, status="planned").update(status="active")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0027_assessment_named_as_in_design"),
    ]

    operations = [migrations.RunPython(courses_follow_their_events, migrations.RunPython.noop)]
