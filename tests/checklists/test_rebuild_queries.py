"""A course's build and rebuild, with the checklists that follow its events, take as many queries for
a long course as for a short one (docs/performance.md, "Rebuilding a course, cheaper")."""

import datetime as dt

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from checklists.models import Task
from patients.models import CareEvent
from patients.services import course_schedule_build

from ..factories import PatientFactory
from ..patients.helpers import rr_course
from .helpers import publish_template

START = dt.date(2031, 3, 3)
PLANNED_ON = dt.datetime(2031, 3, 1, 12, tzinfo=dt.UTC)


def _templates():
    start_items = [{"text": "Consent"}, {"text": "Weight"}]
    publish_template(name="Start", items=start_items, dependencies=[("Weight", "Consent")])
    publish_template(
        name="Bag",
        trigger_kind=CareEvent.Kind.BAG_CHANGE,
        items=[
            {"text": "Hang the bag"},
            {"text": "Check the line", "conditions": [("cycle_day", "le", "7")]},
            {"text": "Home visit", "conditions": [("setting", "eq", "home")]},
        ],
        dependencies=[("Check the line", "Hang the bag")],
    )
    # A template with its own condition: its checklists' conditions are read with them, not one by one.
    publish_template(
        name="Line care",
        trigger_kind=CareEvent.Kind.BAG_CHANGE,
        conditions=[("cycle_day", "ge", "1")],
        items=[{"text": "Flush the line"}],
    )


def _built(ward, cycles: int) -> tuple[object, int]:
    """A new course of `cycles` cycles and the queries of its first build."""
    patient = PatientFactory(unit=ward)
    with CaptureQueriesContext(connection) as queries:
        course = rr_course(patient, start=START, cycles=cycles, now=PLANNED_ON)
    return course, len(queries) - 1  # rr_course reads the course again after the build


def _rebuilt(course) -> tuple[int, int]:
    """The events as a rebuild finds them after a break (5 hours earlier than now planned), then
    the queries of the rebuild that moves them and their tasks, and how many moved."""
    ahead = list(CareEvent.objects.filter(cycle__course=course, scheduled=True))
    for event in ahead:
        event.planned_at -= dt.timedelta(hours=5)
    CareEvent.objects.bulk_update(ahead, ["planned_at"])
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        changes = course_schedule_build(course=course, now=PLANNED_ON)
    return len(queries), len(changes.moved)


def test_a_first_build_takes_as_many_queries_for_4_cycles_as_for_1(ward):
    _templates()
    short, short_queries = _built(ward, 1)
    long, long_queries = _built(ward, 4)
    assert (
        Task.objects.filter(event__cycle__course=long).count()
        > 3 * Task.objects.filter(event__cycle__course=short).count()
    )
    assert short_queries == long_queries


def test_a_rebuild_that_moves_events_takes_as_many_queries_for_4_cycles_as_for_1(ward):
    _templates()
    short, _ = _built(ward, 1)
    long, _ = _built(ward, 4)
    short_queries, short_moved = _rebuilt(short)
    long_queries, long_moved = _rebuilt(long)
    assert 0 < short_moved < long_moved
    # The tasks moved with their events.
    moved = CareEvent.objects.filter(cycle__course=long, kind=CareEvent.Kind.BAG_CHANGE).first()
    hang = Task.objects.get(event=moved, text="Hang the bag")
    assert hang.due_at == moved.planned_at + dt.timedelta(minutes=hang.due_offset_minutes)
    assert short_queries == long_queries
