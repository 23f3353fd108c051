"""Reminders and escalations: the fixtures of their tests (the cast, a cycle start's checklist, `run`).

Tasks run eagerly (`eager_celery`, which the modules that deliver ask for) and the sweep's
`on_commit` callbacks are captured and run (`django_capture_on_commit_callbacks`), so a test sees
what a worker would do; the clock is moved with time-machine. test_delivery_service.py runs the
same code through a real worker and Redis, so nothing here is autouse.
"""

import datetime as dt

import pytest

from checklists.services import checklists_instantiate
from coordination.reminders.sweep import reminders_sweep

from ...checklists.helpers import make_event, publish_template
from .helpers import EVENT_AT, ITEMS


@pytest.fixture
def eager_celery():
    """Delivery tasks run in the test's process when the sweep's on_commit callback sends them."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def cast(patient, nurse, nurse2, pharmacist, oncologist, coordinator):
    return {"nurse": nurse, "nurse2": nurse2, "pharmacist": pharmacist, "oncologist": oncologist, "coord": coordinator}


@pytest.fixture
def event(cast, patient, time_machine):
    time_machine.move_to(EVENT_AT - dt.timedelta(days=1), tick=False)
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=EVENT_AT)
    checklists_instantiate(events=[event])
    return event


@pytest.fixture
def run(django_capture_on_commit_callbacks, time_machine):
    """run(at): move the clock to `at`, sweep, and deliver what the sweep hands over."""

    def sweep_at(at: dt.datetime):
        time_machine.move_to(at, tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            return reminders_sweep()

    return sweep_at
