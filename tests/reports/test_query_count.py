"""The report costs the same number of queries for a unit of 10 patients and of 100 (a query a
patient would show there as it did at 1,000, which took twice as long to build): every
number is aggregated by the database (each patient here has an overridden event with a late task,
an interruption, an assessment, a pump event and reminders, all in the period)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklists.models import Checklist, ItemContent, Task
from coordination.reminders.models import Reminder
from coordination.reports.selectors import SECTIONS
from patients.models import Assessment, CareEvent, Cycle, Interruption, Patient, PumpEvent, TreatmentCourse

from ..accounts.helpers import verified_login
from ..checklists.helpers import publish_template
from ..factories import CourseFactory, PatientFactory, UserFactory
from .world import NOW, at

CONTENT = [field.name for field in ItemContent._meta.fields]


def add_patients(ward, count: int, *, version, nurse, oncologist) -> None:
    """`count` patients of `ward`, each with a history in the period, written in bulk."""
    patients = Patient.objects.bulk_create(PatientFactory.build(unit=ward) for _ in range(count))
    template_course = CourseFactory.build(patient=patients[0])
    courses = TreatmentCourse.objects.bulk_create(
        TreatmentCourse(
            patient=patient,
            indication=template_course.indication,
            regimen_version=template_course.regimen_version,
            planned_cycles=2,
            start_date=dt.date(2026, 3, 1),
            bag_hours=48,
        )
        for patient in patients
    )
    cycles = Cycle.objects.bulk_create(
        Cycle(course=course, number=1, phase=Cycle.Phase.INDUCTION, start_date=dt.date(2026, 3, 1))
        for course in courses
    )
    events = CareEvent.objects.bulk_create(
        CareEvent(patient=p, cycle=c, kind=CareEvent.Kind.CYCLE_START, sequence=1, planned_at=at(3, 2, 9))
        for p, c in zip(patients, cycles, strict=True)
    )
    checklists = Checklist.objects.bulk_create(
        Checklist(
            event=event,
            template=version.template,
            version=version,
            overridden_by=oncologist,
            overridden_at=at(3, 2, 8),
            override_reason="Urgent",
            override_justification="clinical_urgency",
        )
        for event in events
    )
    item = version.items.get()
    content = {name: getattr(item, name) for name in CONTENT}
    tasks = Task.objects.bulk_create(
        Task(
            **content,
            checklist=checklist,
            item=item,
            patient_id=event.patient_id,
            event=event,
            due_at=event.planned_at,
            status="done",
            completed_by=nurse,
            completed_at=event.planned_at + dt.timedelta(hours=2),
        )
        for checklist, event in zip(checklists, events, strict=True)
    )
    # Each override covered what blocked its checklist then: the task, open at the override.
    for checklist, task in zip(checklists, tasks, strict=True):
        checklist.overridden_blockers = [f"{task.pk}:open"]
    Checklist.objects.bulk_update(checklists, ["overridden_blockers"])
    Interruption.objects.bulk_create(
        Interruption(
            patient=p,
            course=c.course,
            cycle=c,
            stopped_at=at(3, 5, 10),
            restarted_at=at(3, 5, 15),
            cause="other",
            stopped_by=nurse,
        )
        for p, c in zip(patients, cycles, strict=True)
    )
    Assessment.objects.bulk_create(
        Assessment(
            patient=p,
            course=c.course,
            assessed_at=at(3, 6, 9),
            recorded_by=nurse,
            crs_grade=1,
            crs_rule="-",
            icans_grade=0,
            icans_rule="-",
        )
        for p, c in zip(patients, cycles, strict=True)
    )
    PumpEvent.objects.bulk_create(
        PumpEvent(
            patient=p,
            course=c.course,
            kind="leak",
            occurred_at=at(3, 7, 2),
            reported_by="nurse",
            action_taken="-",
            recorded_by=nurse,
        )
        for p, c in zip(patients, cycles, strict=True)
    )
    Reminder.objects.bulk_create(
        Reminder(
            kind="overdue",
            target=f"task:{p.pk}",
            recipient=nurse,
            due_at=at(3, 2, 9),
            fire_at=at(3, 2, 9),
            dispatch_after=at(3, 2, 9),
            state="sent",
            sent_at=at(3, 2, 9, 5),
        )
        for p in patients
    )


def queries_of_the_page(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("reports:unit"), {"period": "90"})
    assert response.status_code == 200
    return len(captured)


def queries_of_the_csvs(client) -> dict[str, int]:
    """Each section's CSV download, and what it reads."""
    counted = {}
    for section in SECTIONS:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("reports:csv"), {"period": "90", "section": section})
            assert response.status_code == 200
            b"".join(response.streaming_content)
        counted[section] = len(captured)
    return counted


@pytest.mark.django_db
def test_the_query_count_is_the_same_for_10_and_100_patients(client, ward, coordinator, time_machine, settings):
    settings.PAGE_CACHE_SECONDS = 0
    time_machine.move_to(NOW, tick=False)
    version = publish_template(items=[{"text": "Weight"}])
    nurse = UserFactory(role="nurse", unit=ward)
    oncologist = UserFactory(role="oncologist", unit=ward)
    verified_login(client, coordinator)
    add_patients(ward, 10, version=version, nurse=nurse, oncologist=oncologist)
    small, small_csvs = queries_of_the_page(client), queries_of_the_csvs(client)
    add_patients(ward, 90, version=version, nurse=nurse, oncologist=oncologist)
    large, large_csvs = queries_of_the_page(client), queries_of_the_csvs(client)
    assert small == large, (small, large)
    assert small_csvs == large_csvs
    page = client.get(reverse("reports:unit"), {"period": "90"}).context
    assert page["sections"]["readiness"].table("by_kind").rows[-1][:5] == ["All events", 100, 0, 100, 0]
    assert page["sections"]["on_time"].table("by_role").rows[0][:5] == ["Nurse", 100, 0, 100, 0]
