"""FHIR reads that a client can cache: meta.versionId and meta.lastUpdated, the ETag and
Last-Modified headers, If-None-Match answered with 304, and HEAD. On the same world as test_fhir."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from checklists.models import Task

from ..test_authorization_matrix import matrix_world, sign_in
from .test_fhir import _extras, _ids, fhir_get, parsed, reads


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
