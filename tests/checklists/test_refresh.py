"""Checklists are made when a course is planned, months before a later cycle: what they ask (the
dose by weight band or by body-surface area, the bag limits by weight) is decided again when the
weight, height or birth date on the record changes (found by a review: a patient planned at 70 kg
who weighs 40 kg at cycle 2 was asked to verify the flat 28 mcg/day band)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from checklists.models import Task, TaskActivity
from checklists.starter import starter_library_load
from patients.models import CareEvent
from patients.services import course_schedule_build, weighing_record

from ..factories import CourseFactory
from ..patients.helpers import registration_data

NOW = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
FLAT = "Dose band verified for a patient of at least 45 kg: 28 mcg/day"
BY_AREA = "BSA-based dose verified for a patient under 45 kg: 15 mcg/m²/day (not above 28 mcg/day)"
UNDER_22 = "Patient under 22 kg: no 7-day bag"


@pytest.fixture
def cycle_2_start(patient):
    starter_library_load()
    assert patient.weight_kg == Decimal("70.0")
    course = CourseFactory(patient=patient, planned_cycles=3, start_date=dt.date(2030, 1, 7))
    course_schedule_build(course=course, now=NOW)
    return CareEvent.objects.get(cycle__course=course, cycle__number=2, kind=CareEvent.Kind.CYCLE_START)


def asked(event) -> dict[str, str]:
    return dict(Task.objects.filter(event=event).values_list("text", "status"))


def test_a_new_weighing_asks_the_dose_by_body_surface_area_instead_of_the_flat_band(cycle_2_start, nurse):
    assert asked(cycle_2_start)[FLAT] == Task.Status.OPEN and BY_AREA not in asked(cycle_2_start)

    weighing_record(patient=cycle_2_start.patient, weight_kg="40", actor=nurse, confirmed=True)

    tasks = asked(cycle_2_start)
    assert (tasks[FLAT], tasks[BY_AREA]) == (Task.Status.CANCELLED, Task.Status.OPEN)
    assert UNDER_22 not in tasks
    why = TaskActivity.objects.get(task__text=FLAT, task__event=cycle_2_start).detail
    assert why == "No longer applies: weight (kg) is at least 45 (asked again after a change to the record)."
    # The new task is due where its item says, and waits for what its item waits for.
    added = Task.objects.get(event=cycle_2_start, text=BY_AREA)
    assert added.due_at == cycle_2_start.planned_at + dt.timedelta(minutes=added.item.due_offset_minutes)
    assert {t.item_id for t in added.depends_on.all()} == {i.pk for i in added.item.depends_on.all()}

    weighing_record(patient=cycle_2_start.patient, weight_kg="21", actor=nurse, confirmed=True)
    assert asked(cycle_2_start)[UNDER_22] == Task.Status.OPEN

    # The event moves while the flat band's task is cancelled: reopened, it is due where its item says.
    CareEvent.objects.filter(pk=cycle_2_start.pk).update(planned_at=cycle_2_start.planned_at + dt.timedelta(days=2))
    weighing_record(patient=cycle_2_start.patient, weight_kg="70", actor=nurse, confirmed=True)
    flat = Task.objects.get(event=cycle_2_start, text=FLAT)
    moved = cycle_2_start.planned_at + dt.timedelta(days=2)
    assert flat.due_at == moved + dt.timedelta(minutes=flat.due_offset_minutes)
    tasks = asked(cycle_2_start)
    assert (tasks[FLAT], tasks[BY_AREA], tasks[UNDER_22]) == (Task.Status.OPEN, Task.Status.CANCELLED, "cancelled")
    assert Task.objects.filter(event=cycle_2_start, text=FLAT).count() == 1  # opened again, not made twice


def test_done_work_and_past_events_are_history(cycle_2_start, nurse, pharmacist):
    done = {"status": Task.Status.DONE, "value": "on", "completed_by": pharmacist, "completed_at": NOW}
    Task.objects.filter(event=cycle_2_start, text=FLAT).update(**done)
    start_1 = CareEvent.objects.get(cycle__course=cycle_2_start.cycle.course, cycle__number=1, kind="cycle_start")
    CareEvent.objects.filter(pk=start_1.pk).update(status=CareEvent.Status.DONE)
    before = asked(start_1)

    weighing_record(patient=cycle_2_start.patient, weight_kg="40", actor=nurse, confirmed=True)

    assert asked(cycle_2_start)[FLAT] == Task.Status.DONE  # the answer given stays as given
    assert asked(cycle_2_start)[BY_AREA] == Task.Status.OPEN  # and what now applies is asked too
    assert asked(start_1) == before


def test_a_weight_typed_on_the_record_asks_again_too(client, cycle_2_start, nurse):
    client.force_login(nurse)
    patient = cycle_2_start.patient
    # weighed today on the unit's clock; 40 kg after 70 is asked about, and confirmed
    data = registration_data(patient, weight_kg="40", weight_confirmed="40.0", weight_is_right="on")
    assert client.post(reverse("patients:edit", args=[patient.pk]), data).status_code == 302
    assert asked(cycle_2_start)[BY_AREA] == Task.Status.OPEN


def test_a_task_whose_item_no_longer_applies_holds_back_nothing(patient, nurse):
    """Found by a review: cancelled by a refresh (a weight band crossed), a task held its dependents
    for ever ("First: …", and nobody could act). A checklist made today would not have made it, and
    its dependents would not wait for it; after the refresh they do not wait either."""
    from checklists.services import checklists_refresh, task_complete

    from .helpers import checklist_for, make_event, publish_template

    version = publish_template(
        items=[
            {"text": FLAT, "conditions": [("weight_kg", "ge", "45")]},
            {"text": "Hang the bag"},
        ],
        dependencies=[("Hang the bag", FLAT)],
    )
    event = make_event(patient)
    checklist = checklist_for(event, version)
    patient.weight_kg = Decimal("40.0")
    patient.save(update_fields=["weight_kg"])
    checklists_refresh(events=[event])
    assert checklist.tasks.get(text=FLAT).status == Task.Status.CANCELLED

    task = task_complete(task=checklist.tasks.get(text="Hang the bag"), actor=nurse, value="on")

    assert task.status == Task.Status.DONE


def test_a_moved_event_asks_its_conditions_again(patient):
    """Found by a review: a break that moves a bag change shifts its day of the cycle, but the
    conditions were asked only when a fact of the record changed, so an item conditioned on the
    day stayed on the wrong bag change."""
    from patients.services import event_move

    from .helpers import checklist_for, make_event, publish_template

    version = publish_template(
        items=[
            {"text": "Day 1 only", "conditions": [("cycle_day", "le", "1")]},
            {"text": "From day 2", "conditions": [("cycle_day", "ge", "2")]},
        ],
        trigger_kind=CareEvent.Kind.BAG_CHANGE,
    )
    event = make_event(patient, kind=CareEvent.Kind.BAG_CHANGE)
    checklist_for(event, version)
    assert asked(event) == {"Day 1 only": Task.Status.OPEN}

    event_move(event=event, planned_at=event.planned_at + dt.timedelta(days=2))

    assert asked(event) == {"Day 1 only": Task.Status.CANCELLED, "From day 2": Task.Status.OPEN}
    added = checklist_for(event, version).tasks.get(text="From day 2")
    assert added.due_at == event.planned_at + dt.timedelta(days=2, minutes=added.due_offset_minutes)
