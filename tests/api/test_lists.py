"""Every list of the API: what a nurse sees of her patients, in a constant number of queries
whether her care teams hold one patient or several."""

import base64
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from checklists.services import checklists_instantiate
from coordination.api.filters import EMPTY_PARAMETER
from coordination.reminders.models import Notification
from patients.models import Assessment, HomeCheckIn, Interruption, PumpEvent

from ..checklists.helpers import make_event, publish_template
from ..coordination.handoff_helpers import draft_handoff, make_agency, make_discharge
from ..factories import CareTeamMemberFactory, PatientFactory
from ..patients.helpers import make_bag
from .helpers import bearer, token_for

LISTS = [
    *("patient", "course", "cycle", "event", "checklist", "task", "interruption", "assessment", "pump-event"),
    *("check-in", "bag", "handoff", "notification", "regimen"),
]


@pytest.fixture
def templates():
    publish_template(items=[{"text": "Weight", "response_kind": "number", "min_value": 1, "max_value": 300}])
    publish_template(items=[{"text": "Teach-back done"}], name="Hospital-to-home", trigger_kind="discharge_home")


def give_a_record(patient, nurse, case_manager, agency) -> None:
    """A course with a cycle, an event with its checklist and its bag, a stop, an assessment, a pump
    event, a home check, a draft handoff, a notification."""
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    make_bag(event, compounded_by=case_manager, checked_by=nurse)
    now, course = timezone.now(), event.cycle.course
    Interruption.objects.create(
        patient=patient, course=course, cycle=event.cycle, stopped_at=now, cause="other", stopped_by=nurse
    )
    Assessment.objects.create(
        patient=patient, assessed_at=now, recorded_by=nurse, crs_grade=1, crs_rule="Fever", icans_grade=0
    )
    PumpEvent.objects.create(
        patient=patient, course=course, kind="leak", occurred_at=now, reported_by="nurse", recorded_by=nurse
    )
    HomeCheckIn.objects.create(
        patient=patient,
        checked_at=now,
        temperature=37,
        temperature_unit="C",
        temperature_celsius=37,
        pump_status="running",
        recorded_by=nurse,
    )
    draft_handoff(make_discharge(patient, with_bag_changes=False), case_manager, agency)
    Notification.objects.create(recipient=nurse, title=f"About {patient}")


def queries(client, name: str, secret: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(f"api:{name}-list"), **bearer(secret))
    assert response.status_code == 200, response.content[:300]
    return len(captured), len(response.json()["results"])


@pytest.mark.parametrize("name", LISTS)
def test_a_list_costs_the_same_queries_for_one_patient_and_for_several(
    client, name, nurse, case_manager, patient, templates, settings
):
    settings.PAGE_CACHE_SECONDS = 0
    agency = make_agency(patient.unit)
    give_a_record(patient, nurse, case_manager, agency)
    secret = token_for(nurse)
    queries(client, name, secret)  # the token's first use writes its last use
    one, rows = queries(client, name, secret)
    for _ in range(3):
        other = PatientFactory(unit=patient.unit)
        for user in (nurse, case_manager):
            CareTeamMemberFactory(patient=other, user=user, role=user.role)
        give_a_record(other, nurse, case_manager, agency)
    several, more_rows = queries(client, name, secret)
    assert several == one
    assert more_rows > rows or name == "regimen"


@pytest.mark.parametrize("path", ["/api/v1/patients", "/api/v1/tasks"])  # ordered by -id, by due_at (a time)
@pytest.mark.parametrize("cursor", [b"o=0&p=abc", b"o=0&p=\x00", b"o=x", "o=0&p=\u00e9".encode()])
def test_a_cursor_that_is_not_ours_is_a_404_invalid_cursor(client, templates, patient, nurse, path, cursor):
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))])
    query = {"cursor": base64.b64encode(cursor).decode()}
    response = client.get(path, query, **bearer(token_for(nurse)))
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "Invalid cursor"


# --- ids beyond any id: a clear 400, not a 500 on SQLite (`make run`), whose integers overflow ----

BEYOND = f"An id: a whole number from 1 to {2**63 - 1}."


@pytest.mark.parametrize("value", [str(2**63), "99999999999999999999", "-99999999999999999999", "0"])
@pytest.mark.parametrize("path", ["/api/v1/tasks/?patient=", "/api/v1/handoffs/?to_unit=", "/api/v1/patients/?unit="])
def test_an_id_filter_that_no_id_can_match_is_a_400_at_its_parameter(client, nurse, path, value):
    response = client.get(path + value, **bearer(token_for(nurse)))
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    parameter = path.rsplit("?", 1)[1].rstrip("=")
    assert response.json()["errors"] == {parameter: [BEYOND]}


def test_the_largest_id_there_can_be_filters_to_nothing(client, nurse, patient, templates):
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))])
    response = client.get(f"/api/v1/tasks/?patient={2**63 - 1}", **bearer(token_for(nurse)))
    assert response.status_code == 200 and response.json()["results"] == []


def test_marking_read_an_id_that_no_notification_can_have_is_a_400_at_its_place(client, nurse):
    Notification.objects.create(recipient=nurse, title="Yours")
    response = client.post(
        reverse("api:notification-read-all"),
        {"ids": [1, 10**20]},
        content_type="application/json",
        **bearer(token_for(nurse)),
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"ids.1": [BEYOND]}
    assert Notification.objects.get().read_at is None


# --- an unknown query parameter is refused, never ignored: `?patients=12` would answer every task ---


@pytest.mark.parametrize(
    ("path", "unknown"),
    [
        ("/api/v1/tasks/?patients={patient}", "patients"),  # a typo for `patient`
        ("/api/v1/tasks/?patient={patient}&satus=open", "satus"),
        ("/api/v1/events/?ordering=-planned_at", "ordering"),  # no list is ordered on request
        ("/api/v1/notifications/?unread=true&mine=1", "mine"),
        ("/api/v1/regimens/?indication=relapsed", "indication"),
    ],
)
def test_an_unknown_query_parameter_is_a_400_naming_it(client, nurse, patient, path, unknown):
    response = client.get(path.format(patient=patient.pk), **bearer(token_for(nurse)))
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    (message,) = response.json()["errors"][unknown]
    assert message.startswith("Unknown parameter. This list takes: ")
    assert list(response.json()["errors"]) == [unknown]


@pytest.mark.parametrize(
    ("path", "empty"),
    [
        ("/api/v1/bags/?event=&needs_decision=", ["event", "needs_decision"]),  # a variable left unfilled
        ("/api/v1/checklists/?event=", ["event"]),
        ("/api/v1/pump-events/?kind=&page_size=5", ["kind"]),
        ("/api/v1/tasks/?patient={patient}&status=", ["status"]),
        ("/api/v1/tasks/?patient={patient}&patient=", ["patient"]),  # one of two values empty
    ],
)
def test_a_known_parameter_given_empty_is_a_400_naming_it_not_every_row(client, nurse, patient, path, empty):
    response = client.get(path.format(patient=patient.pk), **bearer(token_for(nurse)))
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {name: [EMPTY_PARAMETER] for name in empty}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tasks/?patient={patient}&status=open&role=nurse&page_size=2&format=json",
        "/api/v1/notifications/?unread=true&page_size=5",
        "/api/v1/patients/?unit={unit}&mrn=X",
        "/api/v1/regimens/?page_size=1",
    ],
)
def test_the_known_filters_paging_and_format_parameters_are_taken(client, nurse, patient, templates, path):
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))])
    secret = token_for(nurse)
    response = client.get(path.format(patient=patient.pk, unit=patient.unit_id), **bearer(secret))
    assert response.status_code == 200, response.content
    while response.json()["next"]:  # the cursor's own parameter too
        response = client.get(response.json()["next"], **bearer(secret))
        assert response.status_code == 200, response.content
