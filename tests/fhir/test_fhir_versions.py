"""FHIR reads that a client can cache and page: meta.versionId and meta.lastUpdated, the ETag and
Last-Modified headers, If-None-Match answered with 304, HEAD, and `$everything` paged with
`_count` and `next` links (as HAPI FHIR and Medplum page it). On the same world as test_fhir."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from checklists.models import Task
from checklists.services import checklists_instantiate
from patients.models import Assessment, Weighing

from ..checklists.helpers import make_event
from ..test_authorization_matrix import matrix_world, sign_in
from .test_fhir import _extras, _ids, _references, fhir_get, outcome_of, parsed, reads


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    with matrix_world(django_db_blocker, _extras) as world:
        yield world


@pytest.fixture
def world(_module_world, db):
    return _module_world


TYPES = ["Patient", "CareTeam", "CarePlan", "Encounter", "Task", "Communication", "Observation"]


def _links(bundle: dict) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle["link"]}


# --- versions on a read ------------------------------------------------------------------------


@pytest.mark.parametrize("resource_type", TYPES)
def test_a_read_gives_its_version_in_meta_and_as_etag_and_last_modified(client, world, resource_type):
    users, targets, _ = world
    sign_in(client, users["case_manager"])

    response = fhir_get(client, f"{resource_type}/{_ids(targets)[resource_type]}")

    assert response.status_code == 200
    meta = parsed(response.json()).meta
    assert meta.versionId and meta.lastUpdated
    assert response["ETag"] == f'W/"{meta.versionId}"'
    assert dt.datetime.strptime(response["Last-Modified"], "%a, %d %b %Y %H:%M:%S GMT").replace(
        tzinfo=dt.UTC
    ) == meta.lastUpdated.replace(microsecond=0)


def test_if_none_match_with_the_current_etag_is_a_304_without_a_body_that_still_logs_the_read(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    path = f"Patient/{targets['patient'].pk}"
    etag = fhir_get(client, path)["ETag"]
    before = reads().count()

    response = fhir_get(client, path, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304 and response.content == b""
    assert response["ETag"] == etag and "no-store" in response["Cache-Control"]
    (row,) = reads()[before:]
    assert (row.object_type, row.object_id, row.patient_id) == (
        "fhir.Patient",
        path.split("/")[1],
        targets["patient"].pk,
    )
    assert fhir_get(client, path, HTTP_IF_NONE_MATCH='W/"something-else"').status_code == 200


def test_a_resource_that_reads_the_same_keeps_its_version_and_last_updated(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    path = f"Task/task-{targets['weight'].pk}"
    first = fhir_get(client, path).json()["meta"]
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        assert fhir_get(client, path).json()["meta"] == first


def test_a_change_to_what_the_resource_shows_gives_a_new_version_and_a_later_last_updated(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    path = f"Task/task-{targets['weight'].pk}"
    old = fhir_get(client, path)
    Task.objects.filter(pk=targets["weight"].pk).update(assignee=users["nurse"])  # claimed: ready → accepted

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        new = fhir_get(client, path, HTTP_IF_NONE_MATCH=old["ETag"])

    assert new.status_code == 200 and new.json()["status"] == "accepted"
    assert new["ETag"] != old["ETag"]
    assert new.json()["meta"]["versionId"] != old.json()["meta"]["versionId"]
    assert new.json()["meta"]["lastUpdated"] > old.json()["meta"]["lastUpdated"]


def test_search_entries_carry_the_same_meta_as_the_read(client, world):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    bundle = fhir_get(client, f"Task?patient={targets['patient'].pk}&_count=500").json()

    Bundle.model_validate(bundle)
    for entry in bundle["entry"][:5]:
        item = entry["resource"]
        assert item["meta"] == fhir_get(client, f"Task/{item['id']}").json()["meta"]


@pytest.mark.parametrize("path", ["Patient/{patient}", "Task?patient={patient}", "Patient/{patient}/$everything"])
def test_head_answers_as_get_does_without_a_body(client, world, path):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    path = path.format(patient=targets["patient"].pk)
    got = fhir_get(client, path)

    response = client.head("/fhir/R4/" + path)

    assert response.status_code == 200 and response.content == b""
    assert response["Content-Type"] == got["Content-Type"]
    assert response.get("ETag") == got.get("ETag")


def test_the_capability_statement_says_reads_are_versioned_and_conditional(client, world):
    users, _, _ = world
    sign_in(client, users["nurse"])
    statement = fhir_get(client, "metadata").json()
    for entry in statement["rest"][0]["resource"]:
        assert entry["versioning"] == "versioned" and entry["readHistory"] is False
        assert entry["conditionalRead"] == "not-match"


# --- $everything, paged --------------------------------------------------------------------------


def test_everything_pages_with_count_and_next_links_giving_every_resource_once(client, world):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    path = f"/fhir/R4/Patient/{targets['patient'].pk}/$everything"
    whole = client.get(f"{path}?_count=500").json()
    expected = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in whole["entry"]]
    assert len(expected) > 10 and whole["total"] == len(expected)
    before = reads().count()

    seen, url, pages = [], f"{path}?_count=3", 0
    while url:
        page = client.get(url).json()
        Bundle.model_validate(page)
        assert page["total"] == len(expected) and len(page["entry"]) <= 3
        assert _links(page)["self"].endswith(url.split("/fhir/R4/")[-1])
        seen += [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in page["entry"]]
        url, pages = _links(page).get("next"), pages + 1

    assert seen == expected
    assert set(_references(whole["entry"])) <= set(expected)
    rows = list(reads()[before:])
    assert len(rows) == pages and all(row.detail["operation"] == "everything" for row in rows)


def test_everything_pages_by_default_and_refuses_too_large_a_count(client, world):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    path = f"Patient/{targets['patient'].pk}/$everything"
    for _ in range(30):
        Weighing.objects.create(patient=targets["patient"], weight_kg=Decimal("70.0"), measured_at=timezone.now())

    first = fhir_get(client, path).json()

    assert len(first["entry"]) == 50 and first["total"] > 50 and "next" in _links(first)
    assert "_offset=50" in _links(first)["next"]
    issue = outcome_of(fhir_get(client, f"{path}?_count=501"), 400)
    assert "_count" in issue["diagnostics"]
    assert "start" in outcome_of(fhir_get(client, f"{path}?start=2020-01-01"), 400)["diagnostics"]


def test_a_page_of_everything_costs_the_same_queries_for_a_long_record_and_reads_only_its_rows(client, world, settings):
    settings.PAGE_CACHE_SECONDS = 0
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    patient = targets["patient"]
    path = f"Patient/{patient.pk}/$everything"

    def queries():
        """A page of 4 from the first checklist task on (the tasks come after the events)."""
        whole = fhir_get(client, f"{path}?_count=500").json()["entry"]
        first = next(n for n, e in enumerate(whole) if e["resource"]["id"].startswith("task-"))
        with CaptureQueriesContext(connection) as counted:
            response = fhir_get(client, f"{path}?_count=4&_offset={first}")
        assert response.status_code == 200
        assert [e["resource"]["id"] for e in response.json()["entry"]] == [
            e["resource"]["id"] for e in whole[first : first + 4]
        ]
        return len(counted), counted.captured_queries

    few, _ = queries()
    now = timezone.now()
    for n in range(5):
        checklists_instantiate(events=[make_event(patient, planned_at=now + dt.timedelta(days=n + 1))])
        Assessment.objects.create(
            patient=patient, assessed_at=now, recorded_by=users["nurse"], crs_grade=1, crs_rule="Fever", icans_grade=0
        )
    many, captured = queries()

    assert many == few
    task_rows = [q["sql"] for q in captured if 'FROM "checklists_task"' in q["sql"] and "COUNT(" not in q["sql"]]
    assert all("LIMIT" in sql for sql in task_rows), task_rows


def test_an_assessments_observations_are_counted_as_they_are_built(client, world):
    """The database counts an assessment's observations to page them: the count matches the build."""
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    patient = targets["patient"]
    Assessment.objects.create(
        patient=patient,
        assessed_at=timezone.now(),
        recorded_by=users["nurse"],
        heart_rate=90,
        crs_grade=0,
        crs_rule="None",
        icans_grade=0,
        systolic_bp=120,  # no diastolic: no blood pressure
    )
    path = f"Patient/{patient.pk}/$everything"
    whole = fhir_get(client, f"{path}?_count=500").json()
    observations = [e for e in whole["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert whole["total"] == len(whole["entry"])
    first = whole["entry"].index(observations[0])
    tail = fhir_get(client, f"{path}?_count=500&_offset={first}").json()
    assert tail["entry"] == observations


def test_a_grant_readers_everything_pages_resolve_inside_the_whole_bundle(client, world):
    users, targets, _ = world
    sign_in(client, users["homenurse"])
    path = f"/fhir/R4/Patient/{targets['patient'].pk}/$everything"
    entries, url = [], f"{path}?_count=2"
    while url:
        page = client.get(url).json()
        entries += page["entry"]
        url = _links(page).get("next")
    present = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries}
    assert set(_references(entries)) <= present
    assert not {item.split("/")[0] for item in present} & {"CarePlan", "Encounter"}
