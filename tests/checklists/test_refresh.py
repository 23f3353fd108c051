"""Checklists are made when a course is planned, months before a later cycle: what they ask (the
dose by weight band or by body-surface area, the bag limits by weight) is decided again when the
weight, height or birth date on the record changes (found by a review: a patient planned at 70 kg
who weighs 40 kg at cycle 2 was asked to verify the flat 28 mcg/day band)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklists.models import Task, TaskActivity
from checklists.services import checklists_instantiate
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


UNDER_45_TEMPLATE = "Dosing under 45 kg"


def test_a_checklist_whose_template_no_longer_applies_leaves_and_comes_back(patient, nurse, pharmacist):
    """A template's own conditions are asked again as its items' are: a checklist "only when weight
    (kg) is less than 45" stops asking for the BSA work once the patient weighs 60 kg, and asks for
    it again at 40 kg; the work already done stays as done."""
    from .helpers import checklist_for, make_event, publish_template

    patient.weight_kg = Decimal("40.0")
    patient.save(update_fields=["weight_kg"])
    version = publish_template(
        name=UNDER_45_TEMPLATE,
        conditions=[("weight_kg", "lt", "45")],
        items=[
            {"text": "Height measured"},
            {"text": BY_AREA, "conditions": [("cycle_number", "le", "6")]},
            {"text": "Dose calculation double-checked"},
        ],
    )
    event = make_event(patient)
    checklist = checklist_for(event, version)
    Task.objects.filter(checklist=checklist, text="Height measured").update(
        status=Task.Status.DONE, value="on", completed_by=pharmacist, completed_at=NOW
    )
    Task.objects.filter(checklist=checklist, text=BY_AREA).update(assignee=pharmacist)

    weighing_record(patient=patient, weight_kg="60", actor=nurse, confirmed=True)

    assert asked(event) == {
        "Height measured": Task.Status.DONE,
        BY_AREA: Task.Status.CANCELLED,
        "Dose calculation double-checked": Task.Status.CANCELLED,
    }
    assert checklist.tasks.get(text=BY_AREA).assignee is None  # let go, as a cancelled item's task is
    history = TaskActivity.objects.filter(checklist=checklist, action=TaskActivity.Action.CONDITIONS)
    assert dict(history.values_list("task__text", "detail")) == {
        BY_AREA: "No longer applies: weight (kg) is less than 45 (asked again after a change to the record).",
        "Dose calculation double-checked": (
            "No longer applies: weight (kg) is less than 45 (asked again after a change to the record)."
        ),
    }

    weighing_record(patient=patient, weight_kg="40", actor=nurse, confirmed=True)

    assert asked(event) == {
        "Height measured": Task.Status.DONE,
        BY_AREA: Task.Status.OPEN,
        "Dose calculation double-checked": Task.Status.OPEN,
    }
    assert history.filter(task__text=BY_AREA).order_by("pk").last().detail == (
        "Applies again: weight (kg) is less than 45 and cycle number is at most 6 "
        "(asked again after a change to the record)."
    )
    assert checklist.tasks.count() == 3  # opened again, not made twice


def test_a_checklist_keeps_the_template_conditions_it_was_made_under(patient):
    """A template's own conditions are not versioned: a change of them applies to the checklists
    made from then on. A refresh asks an existing checklist the conditions it was made under (as it
    asks its pinned version's items), not those an admin set since: narrowed since, the template
    cancels nothing at a later weighing; the next event's checklist is made under the new ones."""
    from checklists.services import checklists_refresh

    from .helpers import checklist_for, make_event, publish_template

    patient.weight_kg = Decimal("40.0")
    patient.save(update_fields=["weight_kg"])
    version = publish_template(
        name=UNDER_45_TEMPLATE,
        conditions=[("weight_kg", "lt", "45")],
        items=[{"text": "Height measured"}, {"text": UNDER_22, "conditions": [("weight_kg", "lt", "22")]}],
    )
    event = make_event(patient)
    checklist_for(event, version)
    assert asked(event) == {"Height measured": Task.Status.OPEN}
    version.template.conditions.update(value="15")  # an admin narrows the template since
    patient.weight_kg = Decimal("20.0")
    patient.save(update_fields=["weight_kg"])

    checklists_refresh(events=[event])

    assert asked(event) == {"Height measured": Task.Status.OPEN, UNDER_22: Task.Status.OPEN}
    later = make_event(patient, planned_at=event.planned_at + dt.timedelta(days=7))
    assert checklists_instantiate(events=[later]) == []  # 20 kg is not under 15


def _queries_to_refresh(events) -> int:
    from checklists.services import checklists_refresh

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        changed = checklists_refresh(events=events)
    assert changed["cancelled"] == 2 * len(events)  # each event's two checklists lost a task
    return len(queries)


def test_a_refresh_takes_as_many_queries_for_ten_checklists_as_for_two(patient):
    """The templates' conditions are read with the checklists, not a query per checklist."""
    from .helpers import make_event, publish_template

    patient.weight_kg = Decimal("40.0")
    patient.save(update_fields=["weight_kg"])
    for name in ("Dosing under 45 kg", "Bag under 45 kg"):
        publish_template(name=name, conditions=[("weight_kg", "lt", "45")], items=[{"text": f"{name}: checked"}])
    one, five = make_event(patient), [make_event(patient) for _ in range(5)]
    checklists_instantiate(events=[one, *five])
    patient.weight_kg = Decimal("60.0")
    patient.save(update_fields=["weight_kg"])

    assert _queries_to_refresh([one]) == _queries_to_refresh(five)


def test_the_migration_pins_the_conditions_their_templates_have_now_on_existing_checklists(patient):
    """Checklists made before checklists 0029 get their template's conditions as they stand (the
    only record of them there is); those of a template without conditions keep none."""
    import importlib

    from django.apps import apps

    from checklists.models import Checklist

    from .helpers import checklist_for, make_event, publish_template

    patient.weight_kg = Decimal("40.0")
    patient.save(update_fields=["weight_kg"])
    under_45 = publish_template(name=UNDER_45_TEMPLATE, conditions=[("weight_kg", "lt", "45")], items=[{"text": "A"}])
    plain = publish_template(name="Plain", items=[{"text": "B"}])
    event = make_event(patient)
    pinned, unconditioned = checklist_for(event, under_45), checklist_for(event, plain)
    Checklist.objects.update(template_conditions=[])  # as the database stood before the migration

    importlib.import_module(
        "checklists.migrations.0029_checklist_pins_template_conditions"
    ).pin_the_conditions_of_today(apps, None)

    pinned.refresh_from_db()
    unconditioned.refresh_from_db()
    assert pinned.template_conditions == [["weight_kg", "lt", "45"]]
    assert unconditioned.template_conditions == []
