"""No input answers 5xx (issue 15): generated values posted to every form of the task, patient,
handoff, care-team and template pages, a few fields at a time over a valid submission.

Hypothesis draws from what people and attackers type: any text (control, format and
bidirectional characters, other scripts), numbers of any size and spelling, impossible dates,
markup and very long strings. A refusal (200 with a message, 403, 404) is fine; a 5xx fails.
"""

import datetime as dt
from contextlib import contextmanager

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role, Unit
from checklists.models import ChecklistTemplate, Task, TemplateItem, TemplateVersion
from checklists.services import checklists_instantiate, template_version_new_draft, template_version_publish
from patients.models import CareEvent

from .accounts.helpers import verified_login
from .checklists.helpers import item_form_data, make_event, publish_template
from .coordination.handoff_helpers import (
    form_data,
    make_agency,
    ready_discharge,
)
from .factories import UnitFactory
from .patients.helpers import registration_data

NASTY = [
    "",
    " ",
    "\x00",
    "a\r\nb",
    "\u202egnirts",
    "\ufeff",
    "٦٥",
    "𝟔𝟓",
    "1e-2000",
    "1e999999",
    "-1",
    "0",
    "99999999999999999999",
    "NaN",
    "Infinity",
    "1_000",
    "0001-01-01",
    "9999-12-31T23:59",
    "2026-13-45T25:61",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "'; DROP TABLE patients_patient; --",
    "x" * 5000,
    "null",
    "[]",
    "{}",
]
VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=200),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates(min_value=dt.date(1, 1, 1)).map(dt.date.isoformat),
)
FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextmanager
def one_example():
    """Each example starts from the test's fixtures: what it made or changed is rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def changes(fields):
    """A few of `fields`, each given a generated value (a list of values now and then: repeated keys)."""
    return st.dictionaries(st.sampled_from(sorted(fields)), VALUES, min_size=1, max_size=4)


def post_never_fails(client, url, data, **headers):
    response = client.post(url, data, **headers)
    assert response.status_code < 500, (url, data, response.status_code)


# --- the forms -----------------------------------------------------------------------------------


@pytest.fixture
def tasks(patient):
    publish_template(
        items=[
            {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
            {"text": "Bag", "response_kind": "choice", "choices": ["24 h", "48 h"]},
            {"text": "Note", "response_kind": "text"},
            {"text": "Pump stopped at", "response_kind": "datetime"},
        ]
    )
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=2))
    checklists_instantiate(events=[event])
    return list(Task.objects.filter(event=event))


@FUZZ
@given(value=VALUES)
def test_a_task_answer(client, nurse, tasks, value):
    client.force_login(nurse)
    with one_example():
        for task in tasks:
            for url in ("task_complete", "task_not_applicable"):
                data = {f"task-{task.pk}-value": value, f"na-{task.pk}-reason": value}
                post_never_fails(client, reverse(url, args=[task.pk]), data)


REGISTRATION = registration_data(mrn="FUZ0001")


@FUZZ
@given(data=changes(REGISTRATION))
def test_a_registration_and_an_edit(client, coordinator, patient, data):
    verified_login(client, coordinator)
    with one_example():
        post_never_fails(client, reverse("patients:create"), {**REGISTRATION, "unit": patient.unit_id, **data})
        post_never_fails(client, reverse("patients:edit", args=[patient.pk]), {**REGISTRATION, **data})


@FUZZ
@given(data=changes(["user", "remove", "to_unit", "reason"]))
def test_the_care_team_and_a_transfer(client, coordinator, patient, nurse, data):
    verified_login(client, coordinator)
    with one_example():
        UnitFactory(organisation=patient.organisation, kind=Unit.Kind.INFUSION_CLINIC)
        post_never_fails(client, reverse("patients:care_team", args=[patient.pk]), data)
        post_never_fails(client, reverse("patients:transfer", args=[patient.pk]), data)


@pytest.fixture
def discharge_ready(patient, nurse, nurse2, case_manager):
    return ready_discharge(patient, nurse=nurse, nurse2=nurse2, case_manager=case_manager)


# The handoff form's fields, as its valid POST names them (tests/coordination/handoff_helpers.py).
HANDOFF_FIELDS = [
    "event",
    "kind",
    "to_unit",
    "to_person",
    "illness_severity",
    "patient_summary",
    "pump",
    "line",
    "situation_awareness",
    "contingency_plan",
    "actions-TOTAL_FORMS",
    "actions-0-text",
    "actions-0-role",
    "actions-0-due_at",
]


@FUZZ
@given(data=changes(HANDOFF_FIELDS))
def test_a_handoff(client, case_manager, discharge_ready, data):
    client.force_login(case_manager)
    with one_example():
        base = form_data(discharge_ready, make_agency(discharge_ready.patient.unit))
        post_never_fails(client, reverse("handoff_new", args=[discharge_ready.patient_id]), {**base, **data})


# A number item with a condition: every field of the editor's form has a valid value to replace.
ITEM = item_form_data([("weight_kg", "lt", "45")], response_kind="number", unit="kg", min_value="1", max_value="300")


@pytest.fixture
def draft(admin_user):
    template = ChecklistTemplate.objects.create(name="Fuzzed", trigger_kind=CareEvent.Kind.CYCLE_START)
    version = TemplateVersion.objects.create(template=template, number=1)
    TemplateItem.objects.create(version=version, section="Before", order=1, text="Line primed", role=Role.NURSE)
    template_version_publish(version=version, actor=None, change_summary="First")
    return template_version_new_draft(template=template, actor=admin_user)


@FUZZ
@given(data=changes(ITEM))
def test_a_template_item(client, admin_user, draft, data):
    verified_login(client, admin_user)
    item = draft.items.get(order=1)
    with one_example():
        post_never_fails(client, reverse("checklists:item_add", args=[draft.pk]), {**ITEM, **data})
        post_never_fails(client, reverse("checklists:item_edit", args=[item.pk]), {**ITEM, "order": "1", **data})
