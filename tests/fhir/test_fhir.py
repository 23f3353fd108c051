"""The FHIR server: what it emits parses back with fhir.resources, references resolve, search
behaves as integrators expect (HAPI, Medplum), errors are OperationOutcomes, and every read goes
through the access policy and the audit log. Walked on the authorization matrix's world (our
patient with a checklist, a course with a stop, an assessment and an alert; handoffs in each
status), plus a weighing, an assessment with vital signs and an acknowledged alert."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from accounts.models import AuditEvent
from checklists.services import checklists_instantiate
from coordination.fhir.codes import mrn_system
from coordination.fhir.models import ServedVersion
from patients.models import Assessment, CareEvent, InfusionBag, Weighing

from ..checklists.helpers import make_event
from ..coordination.handoff_helpers import write_handoff
from ..factories import CareTeamMemberFactory, PatientFactory, UnitFactory, UserFactory
from ..patients.helpers import make_bag
from ..test_authorization_matrix import matrix_world, sign_in

FHIR_JSON = "application/fhir+json"


def _extras(world):
    users, handoffs = world
    patient = handoffs["patient"]
    weighing = Weighing.objects.create(
        patient=patient, weight_kg=Decimal("71.5"), measured_at=timezone.now() - dt.timedelta(days=1)
    )
    vitals = Assessment.objects.create(
        patient=patient,
        assessed_at=timezone.now(),
        recorded_by=users["nurse"],
        temperature=Decimal("38.4"),
        temperature_unit="C",
        temperature_celsius=Decimal("38.4"),
        heart_rate=104,
        oxygen_saturation=95,
        systolic_bp=118,
        diastolic_bp=72,
        ice_orientation=4,
        ice_naming=3,
        ice_commands=1,
        ice_writing=1,
        ice_attention=0,
        crs_grade=1,
        crs_rule="Grade 1: fever",
        icans_grade=1,
        icans_rule="ICE 9",
    )
    alert = patient.toxicity_alerts.get()
    alert.acknowledged_at, alert.acknowledged_by, alert.acknowledge_note = timezone.now(), users["oncologist"], "Seen"
    alert.save()
    # Bags whose events were cancelled: one waiting for the pharmacist's decision, one returned.
    bags = {}
    for name, hours in (("waiting_bag", 30), ("returned_bag", 54)):
        event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=hours))
        event.status = CareEvent.Status.CANCELLED
        event.save(update_fields=["status"])
        bags[name] = make_bag(event, compounded_by=users["pharmacist"], checked_by=UserFactory(role="pharmacist"))
    InfusionBag.objects.filter(pk=bags["returned_bag"].pk).update(
        decision=InfusionBag.Decision.RETURNED, decision_reason="Course stopped", decided_by=users["pharmacist"]
    )
    return {"weighing": weighing, "vitals": vitals, "alert": alert, **bags}


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    with matrix_world(django_db_blocker, _extras) as world:
        yield world


@pytest.fixture
def world(_module_world, db):
    """Users by role; our patient's objects by name; the other team's patient's objects."""
    return _module_world


def fhir_get(client, path, **headers):
    return client.get("/fhir/R4/" + path, **headers)


def parsed(resource: dict):
    """The resource read back by fhir.resources' model of its type (raises when invalid)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def outcome_of(response, status):
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    parsed(body)
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]


def reads(**filters):
    return AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, **filters).order_by("id")


# --- the CapabilityStatement ------------------------------------------------------------------


def test_the_capability_statement_names_the_version_and_every_resource_served(client, world):
    users, _, _ = world
    sign_in(client, users["nurse"])
    response = fhir_get(client, "metadata")
    assert response.status_code == 200 and response["Content-Type"].startswith(FHIR_JSON)
    statement = parsed(response.json())
    assert statement.fhirVersion == "4.3.0" and "no-store" in response["Cache-Control"]
    served = {entry.type for entry in statement.rest[0].resource}
    assert served == {
        *("Patient", "CareTeam", "CarePlan", "Encounter", "MedicationDispense", "Task", "Communication"),
        "Observation",
    }
    dispense = next(entry for entry in statement.rest[0].resource if entry.type == "MedicationDispense")
    assert {param.name for param in dispense.searchParam} >= {"_id", "patient", "subject", "status"}
    patient = next(entry for entry in statement.rest[0].resource if entry.type == "Patient")
    assert [operation.name for operation in patient.operation] == ["everything"]


@pytest.mark.parametrize("path", ["metadata", "Patient", "Patient/1", "Patient/1/$everything"])
def test_an_anonymous_caller_gets_an_operation_outcome_not_the_sign_in_page(client, world, path):
    response = fhir_get(client, path)
    assert outcome_of(response, response.status_code)["code"] in {"login", "forbidden"}
    assert response.status_code in (401, 403)


def test_a_coordinator_who_owes_the_second_step_is_not_signed_in_yet(client, world):
    users, targets, _ = world
    client.force_login(users["coordinator"])  # password only; the role needs the second step
    response = fhir_get(client, f"Patient/{targets['patient'].pk}")
    assert response.status_code in (401, 403)
    assert "enter the code from your authenticator app" in outcome_of(response, response.status_code)["diagnostics"]


# --- read --------------------------------------------------------------------------------------


def _ids(targets):
    handoff = targets["acknowledged"]
    return {
        "Patient": str(targets["patient"].pk),
        "CareTeam": str(targets["patient"].pk),
        "CarePlan": str(targets["course"].pk),
        "Encounter": str(targets["event"].pk),
        "MedicationDispense": f"bag-{targets['bag'].pk}",
        "Task": f"task-{targets['weight'].pk}",
        "Communication": f"handoff-{handoff.pk}-ack",
        "Observation": f"weighing-{targets['weighing'].pk}",
    }


@pytest.mark.parametrize(
    "resource_type",
    ["Patient", "CareTeam", "CarePlan", "Encounter", "MedicationDispense", "Task", "Communication", "Observation"],
)
def test_a_resource_of_our_patient_reads_back_valid_and_logs_one_read(client, world, resource_type):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    resource_id = _ids(targets)[resource_type]
    before = reads().count()

    response = fhir_get(client, f"{resource_type}/{resource_id}")

    assert response.status_code == 200, response.content[:400]
    resource = parsed(response.json())
    assert (resource.get_resource_type(), resource.id) == (resource_type, resource_id)
    (row,) = reads()[before:]
    assert (row.actor_id, row.object_type, row.object_id) == (
        users["case_manager"].pk,
        f"fhir.{resource_type}",
        resource_id,
    )
    assert row.patient_id == targets["patient"].pk and row.detail["patients"] == [targets["patient"].pk]


@pytest.mark.parametrize("resource_type", ["Patient", "CarePlan", "Encounter", "MedicationDispense", "Task"])
def test_a_resource_of_another_teams_patient_is_not_found_and_the_attempt_is_logged(client, world, resource_type):
    users, _, foreign = world
    sign_in(client, users["nurse"])
    resource_id = {
        "Patient": foreign["patient"].pk,
        "CarePlan": foreign["course"].pk,
        "Encounter": foreign["event"].pk,
        "MedicationDispense": f"bag-{foreign['bag'].pk}",
        "Task": f"task-{foreign['weight'].pk}",
    }[resource_type]

    issue = outcome_of(fhir_get(client, f"{resource_type}/{resource_id}"), 404)

    assert issue["code"] == "not-found"
    assert reads(actor_id=users["nurse"].pk, outcome=AuditEvent.Outcome.DENIED).count() == 1
    assert not reads(actor_id=users["nurse"].pk, outcome=AuditEvent.Outcome.SUCCESS).exists()


@pytest.mark.parametrize("path", ["Patient/999999999", "Patient/abc", "Task/handoff-x", "Medication/1", "Medication"])
def test_an_unknown_id_or_type_is_an_operation_outcome_404(client, world, path):
    users, _, _ = world
    sign_in(client, users["nurse"])
    assert outcome_of(fhir_get(client, path), 404)["code"] == "not-found"


@pytest.mark.parametrize(
    "path",
    [
        "Patient/" + "a" * 80,
        "Task/task-" + "1" * 70,
        "Patient/" + "1" * 70,
        "Patient/" + "1" * 70 + "/$everything",
        "Patient/%00",
        "Patient/%00/$everything",
    ],
)
def test_an_id_too_long_or_with_a_nul_is_a_logged_404_not_a_server_error(client, world, path):
    users, _, _ = world
    sign_in(client, users["nurse"])
    assert outcome_of(fhir_get(client, path), 404)["code"] == "not-found"
    refused = reads(actor_id=users["nurse"].pk, outcome=AuditEvent.Outcome.DENIED).get()
    assert len(refused.object_id) <= 64 and "\x00" not in refused.object_id


def test_a_write_is_refused_and_changes_nothing(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    patient = targets["patient"]
    response = client.put(f"/fhir/R4/Patient/{patient.pk}", {"resourceType": "Patient"}, content_type=FHIR_JSON)
    assert response.status_code in (403, 405)  # DRF checks the session's CSRF token first
    patient.refresh_from_db()
    assert patient.family_name == targets["patient"].family_name


def test_json_is_answered_as_json_and_xml_is_not_acceptable(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    path = f"Patient/{targets['patient'].pk}"
    assert fhir_get(client, path, HTTP_ACCEPT="application/json")["Content-Type"].startswith("application/json")
    assert fhir_get(client, path)["Content-Type"].startswith(FHIR_JSON)
    assert outcome_of(fhir_get(client, path, HTTP_ACCEPT="application/fhir+xml"), 406)
    assert outcome_of(fhir_get(client, "Patient?_format=xml"), 406)
    assert outcome_of(fhir_get(client, f"{path}/$everything?_format=xml"), 406)


@pytest.mark.parametrize("path", ["", "Patient/", "Patient/{patient}/_history", "metadata/", "Patient/{patient}/x/y"])
def test_an_address_that_is_no_route_is_an_operation_outcome_404_not_the_sites_page(client, world, path):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    response = fhir_get(client, path.format(patient=targets["patient"].pk))
    assert response["Content-Type"].startswith(FHIR_JSON)
    assert outcome_of(response, 404)["code"] == "not-found"
    client.logout()  # nor to a caller not signed in: the answer names no data
    assert outcome_of(fhir_get(client, path.format(patient=targets["patient"].pk)), 404)["code"] == "not-found"


@pytest.mark.parametrize("fmt", ["json", "application/fhir+json", "fhir+json"])
@pytest.mark.parametrize("path", ["Patient", "Patient/{patient}", "Patient/{patient}/$everything", "metadata"])
def test_format_json_is_answered_as_fhir_json(client, world, path, fmt):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    response = fhir_get(client, path.format(patient=targets["patient"].pk) + f"?_format={fmt}")
    assert response.status_code == 200 and response["Content-Type"].startswith(FHIR_JSON)
    parsed(response.json())


@pytest.mark.parametrize("path", ["Patient", "Patient/{patient}", "Patient/{patient}/$everything", "metadata"])
def test_format_application_json_is_answered_as_json_and_xml_is_not_acceptable_everywhere(client, world, path):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    path = path.format(patient=targets["patient"].pk)
    assert fhir_get(client, f"{path}?_format=application/json")["Content-Type"].startswith("application/json")
    for xml in ("xml", "application/fhir+xml"):
        response = fhir_get(client, f"{path}?_format={xml}")
        assert response["Content-Type"].startswith(FHIR_JSON)
        assert outcome_of(response, 406)["code"] == "not-supported"


def test_drfs_format_is_no_fhir_parameter_and_is_refused_as_any_unknown_one(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    for fmt in ("xml", "json"):
        for path in ("Patient", f"Patient/{targets['patient'].pk}"):
            response = fhir_get(client, f"{path}?format={fmt}")
            assert response["Content-Type"].startswith(FHIR_JSON)
            issue = outcome_of(response, 400)
            assert "format" in issue["diagnostics"] and "_format" in issue["diagnostics"]


# --- the mappings --------------------------------------------------------------------------------


def test_handoffs_are_tasks_whose_status_follows_the_handoff(client, world):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    expected = {"draft": "draft", "sent": "requested", "acknowledged": "received"}
    expected |= {"accepted": "accepted", "completed": "completed"}
    for status, task_status in expected.items():
        body = fhir_get(client, f"Task/handoff-{targets[status].pk}").json()
        assert body["status"] == task_status, status
        assert body["for"] == {"reference": f"Patient/{targets['patient'].pk}"}


def test_an_assessment_gives_vital_signs_in_loinc_and_grades_in_the_projects_code_system(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    bundle = fhir_get(client, f"Observation?patient={targets['patient'].pk}&_count=500").json()
    by_id = {entry["resource"]["id"]: entry["resource"] for entry in bundle["entry"]}
    vitals = targets["vitals"].pk

    def code(suffix):
        coding = by_id[f"assessment-{vitals}-{suffix}"]["code"]["coding"][0]
        return coding["system"], coding["code"]

    assert code("temperature") == ("http://loinc.org", "8310-5")
    assert code("heart-rate") == ("http://loinc.org", "8867-4")
    assert code("bp") == ("http://loinc.org", "85354-9")
    assert by_id[f"assessment-{vitals}-ice"]["valueInteger"] == 9
    assert by_id[f"assessment-{vitals}-crs"]["status"] == "preliminary"  # not confirmed yet
    weight = by_id[f"weighing-{targets['weighing'].pk}"]
    assert weight["code"]["coding"][0]["code"] == "29463-7"
    assert weight["valueQuantity"] == {"value": 71.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}


def test_the_course_is_a_care_plan_with_its_cycles_as_activities(client, world):
    users, targets, _ = world
    sign_in(client, users["oncologist"])
    plan = fhir_get(client, f"CarePlan/{targets['course'].pk}").json()
    cycles = list(targets["course"].cycles.order_by("number"))
    assert [activity["detail"]["code"]["text"] for activity in plan["activity"]] == [
        f"Cycle {cycle.number}" for cycle in cycles
    ]
    assert plan["subject"]["reference"] == f"Patient/{targets['patient'].pk}"


def test_the_care_team_lists_its_members_with_their_roles(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    team = fhir_get(client, f"CareTeam/{targets['patient'].pk}").json()
    members = {p["member"]["identifier"]["value"]: p["role"][0]["coding"] for p in team["participant"]}
    assert {"nurse", "pharmacist", "oncologist", "casemanager"} <= members.keys()
    assert members["pharmacist"][0] == {"system": "http://snomed.info/sct", "code": "46255001", "display": "Pharmacist"}


def test_acknowledgements_are_communications(client, world):
    users, targets, _ = world
    sign_in(client, users["oncologist"])
    bundle = fhir_get(client, f"Communication?patient={targets['patient'].pk}").json()
    ids = {entry["resource"]["id"] for entry in bundle["entry"]}
    acknowledged = [targets[status].pk for status in ("acknowledged", "accepted", "completed")]
    assert ids == {f"handoff-{pk}-ack" for pk in acknowledged} | {f"alert-{targets['alert'].pk}-ack"}


# --- search --------------------------------------------------------------------------------------


def test_a_search_pages_with_total_and_next_and_logs_the_patients_of_the_page(client, world):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    before = reads().count()

    first = fhir_get(client, f"Task?patient=Patient/{targets['patient'].pk}&_count=2").json()

    Bundle.model_validate(first)
    assert first["type"] == "searchset" and first["total"] > 2 and len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "_offset=2" in links["next"]
    second = client.get(links["next"]).json()
    assert {e["resource"]["id"] for e in second["entry"]}.isdisjoint({e["resource"]["id"] for e in first["entry"]})
    rows = list(reads()[before:])
    assert len(rows) == 2 and all(row.detail["patients"] == [targets["patient"].pk] for row in rows)


def test_a_search_shows_only_the_patients_that_the_user_sees(client, world):
    users, targets, foreign = world
    sign_in(client, users["nurse"])
    assert fhir_get(client, f"Patient?_id={foreign['patient'].pk}").json()["total"] == 0
    everyone = fhir_get(client, "Patient").json()
    assert [entry["resource"]["id"] for entry in everyone["entry"]] == [str(targets["patient"].pk)]
    assert fhir_get(client, f"Encounter?patient={foreign['patient'].pk}").json()["total"] == 0


def test_search_by_status_code_and_identifier(client, world):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    patient = targets["patient"]
    handoffs = fhir_get(client, f"Task?patient={patient.pk}&code=handoff&status=requested,received").json()
    assert {e["resource"]["id"] for e in handoffs["entry"]} == {
        f"handoff-{targets['sent'].pk}",
        f"handoff-{targets['acknowledged'].pk}",
    }
    weights = fhir_get(client, "Observation?code=http://loinc.org|29463-7").json()
    # The weighings (the matrix's bag's, and the one above), none of the assessments' observations.
    weighed = Weighing.objects.filter(patient=patient).order_by("measured_at", "pk").values_list("pk", flat=True)
    assert [e["resource"]["id"] for e in weights["entry"]] == [f"weighing-{pk}" for pk in weighed]
    assert f"weighing-{targets['weighing'].pk}" in {e["resource"]["id"] for e in weights["entry"]}
    found = fhir_get(client, f"Patient?identifier={patient.mrn}").json()
    assert found["total"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "Patient?name=Smith",
        "Task?status:not=completed",
        "Observation?_sort=date",
        "Task?_count=9999",
        "Task?_count=x",
        "Task?_count=\u00b2",  # a digit to str.isdigit(), not to int()
    ],
)
def test_an_unsupported_or_bad_search_is_a_400_operation_outcome_and_logs_no_read(client, world, query):
    users, _, _ = world
    sign_in(client, users["nurse"])
    before = reads().count()
    issue = outcome_of(fhir_get(client, query), 400)
    assert issue["severity"] == "error" and issue["diagnostics"]
    assert reads().count() == before


@pytest.mark.parametrize(
    "query",
    [
        *("Patient", "CareTeam", "CarePlan", "Encounter", "Task", "Observation", "MedicationDispense"),
        *("Communication?status=completed", "MedicationDispense?status=completed,on-hold"),
    ],
)
def test_a_search_costs_as_many_queries_for_many_patients_as_for_one(client, world, query, settings):
    settings.PAGE_CACHE_SECONDS = 0
    users, targets, _ = world
    coordinator = users["coordinator"]
    sign_in(client, coordinator)
    fhir_get(client, query)  # warm the session and the user's caches

    def queries():
        ServedVersion.objects.all().delete()  # each count records every version anew: one statement
        with CaptureQueriesContext(connection) as counted:
            assert fhir_get(client, query).status_code == 200
        return len(counted)

    one = queries()
    for _ in range(3):  # three more patients on the coordinator's unit, each with a checklist
        other = PatientFactory(unit=targets["patient"].unit)
        event = make_event(other, planned_at=timezone.now() + dt.timedelta(hours=4))
        checklists_instantiate(events=[event])
        Weighing.objects.create(patient=other, weight_kg=Decimal("60.0"), measured_at=timezone.now())
        make_bag(event, compounded_by=users["pharmacist"], checked_by=UserFactory(role="pharmacist"))
    assert fhir_get(client, "Patient").json()["total"] == 4
    assert queries() == one


def test_a_search_by_identifier_reads_only_the_matching_patient_however_many_are_visible(client, world, settings):
    settings.PAGE_CACHE_SECONDS = 0
    users, targets, _ = world
    sign_in(client, users["coordinator"])
    query = f"Patient?identifier={targets['patient'].mrn}"
    fhir_get(client, query)  # warm the session and the user's caches

    def queries():
        with CaptureQueriesContext(connection) as counted:
            found = fhir_get(client, query).json()
        assert [entry["resource"]["id"] for entry in found["entry"]] == [str(targets["patient"].pk)]
        return counted

    one = queries()
    for _ in range(3):
        PatientFactory(unit=targets["patient"].unit)
    assert fhir_get(client, "Patient").json()["total"] == 4
    many = queries()
    assert len(many) == len(one)
    # The database picks the patient by MRN, not Python among every visible patient's resource.
    assert any('"patients_patient"."mrn" =' in query["sql"] for query in many.captured_queries)


@pytest.mark.parametrize(
    ("token", "found"),
    [
        ("{mrn}", True),
        ("{system}|{mrn}", True),
        ("|{mrn}", True),
        ("{system}0|{mrn}", False),  # another organisation's system
        ("http://other.example/mrn|{mrn}", False),
        ("nobodys-mrn,{mrn}", True),
        ("%00", False),
    ],
)
def test_a_search_by_identifier_matches_the_mrn_and_the_organisations_system(client, world, token, found):
    users, targets, _ = world
    sign_in(client, users["nurse"])
    patient = targets["patient"]
    token = token.format(mrn=patient.mrn, system=mrn_system(patient.organisation_id))
    answer = fhir_get(client, f"Patient?identifier={token}")
    assert answer.status_code == 200
    assert [entry["resource"]["id"] for entry in answer.json()["entry"]] == ([str(patient.pk)] if found else [])


# --- $everything ----------------------------------------------------------------------------------


def test_everything_about_a_patient_is_one_bundle_whose_references_resolve_inside_it(client, world):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    patient = targets["patient"]
    before = reads().count()

    response = fhir_get(client, f"Patient/{patient.pk}/$everything")

    assert response.status_code == 200
    body = response.json()
    bundle = Bundle.model_validate(body)
    present = {f"{e.resource.get_resource_type()}/{e.resource.id}" for e in bundle.entry}
    for entry in body["entry"]:
        parsed(entry["resource"])
        assert entry["fullUrl"].endswith(f"/fhir/R4/{entry['resource']['resourceType']}/{entry['resource']['id']}")
    references = list(_references(body["entry"]))
    assert references and set(references) <= present, set(references) - present
    kinds = {item.split("/")[0] for item in present}
    assert kinds == {
        *("Patient", "CareTeam", "CarePlan", "Encounter", "MedicationDispense", "Task", "Communication"),
        "Observation",
    }
    (row,) = reads()[before:]
    assert row.patient_id == patient.pk and row.detail["operation"] == "everything"


def test_everything_costs_as_many_queries_for_a_long_record_as_for_a_short_one(client, world, settings):
    """More courses, events with their checklists, weighings, assessments, handoffs (sent and
    acknowledged: a Communication each) and care-team members: the same reads."""
    settings.PAGE_CACHE_SECONDS = 0
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    patient = targets["patient"]
    path = f"Patient/{patient.pk}/$everything?_count=500"
    fhir_get(client, path)  # warm the session and the user's caches

    def queries():
        ServedVersion.objects.all().delete()  # each count records every version anew: one statement
        with CaptureQueriesContext(connection) as counted:
            response = fhir_get(client, path)
        assert response.status_code == 200
        return len(counted), len(response.json()["entry"])

    few, entries = queries()
    now, agency = timezone.now(), UnitFactory()
    for n in range(5):
        event = make_event(patient, planned_at=now + dt.timedelta(days=n + 1))
        checklists_instantiate(events=[event])
        make_bag(event, compounded_by=users["pharmacist"], checked_by=UserFactory(role="pharmacist"))
        Weighing.objects.create(patient=patient, weight_kg=Decimal("60.0"), measured_at=now - dt.timedelta(days=n))
        Assessment.objects.create(
            patient=patient, assessed_at=now, recorded_by=users["nurse"], crs_grade=1, crs_rule="Fever", icans_grade=0
        )
        write_handoff(
            event,
            sender=users["case_manager"],
            to_unit=agency,
            status="acknowledged",
            sent_at=now,
            acknowledged_at=now,
            acknowledged_by=UserFactory(unit=agency),
        )
        CareTeamMemberFactory(patient=patient, user=UserFactory(role="nurse", unit=UnitFactory()), role="nurse")
    many, more_entries = queries()
    assert more_entries > entries + 20
    assert many == few


def _references(value):
    """The references to other resources (not `#id`, a resource contained in the one that names it)."""
    if isinstance(value, dict):
        if "reference" in value and not value["reference"].startswith("#"):
            yield value["reference"]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def test_everything_of_another_teams_patient_is_not_found(client, world):
    users, _, foreign = world
    sign_in(client, users["nurse"])
    outcome_of(fhir_get(client, f"Patient/{foreign['patient'].pk}/$everything"), 404)
    outcome_of(fhir_get(client, f"Patient/{foreign['patient'].pk}/$everything?_count=1"), 404)


def test_paging_through_a_search_gives_every_match_once_across_tasks_and_handoffs(client, world):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    everything = fhir_get(client, f"Task?patient={targets['patient'].pk}&_count=500").json()
    expected = [entry["resource"]["id"] for entry in everything["entry"]]
    assert any(i.startswith("handoff-") for i in expected) and any(i.startswith("task-") for i in expected)
    seen, url = [], f"/fhir/R4/Task?patient={targets['patient'].pk}&_count=3"
    while url:
        page = client.get(url).json()
        assert page["total"] == len(expected)
        seen += [entry["resource"]["id"] for entry in page["entry"]]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert seen == expected


@pytest.mark.parametrize(
    ("resource_type", "query"),
    [
        ("Task", "status=ready"),
        ("Task", "status=accepted,completed"),
        ("Task", "status=requested&code=handoff"),
        ("Task", "code=http://loinc.org|handoff"),
        ("Task", "status=cancelled,received,draft"),
        ("Encounter", "status=planned"),
        ("CarePlan", "status=draft,active"),
        ("MedicationDispense", "status=on-hold,cancelled"),
        ("MedicationDispense", "status=completed"),
    ],
)
def test_a_filter_answered_by_the_database_matches_the_same_filter_on_the_resources(
    client, world, resource_type, query
):
    users, targets, _ = world
    sign_in(client, users["case_manager"])
    every = fhir_get(client, f"{resource_type}?_count=500").json()["entry"]
    wanted = dict(part.split("=") for part in query.split("&"))

    def matches(resource):
        status_ok = resource["status"] in wanted.get("status", resource["status"]).split(",")
        code = wanted.get("code")
        code_ok = code is None or any(
            c["code"] == code.split("|")[-1] and ("|" not in code or c["system"] == code.split("|")[0])
            for c in resource["code"]["coding"]
        )
        return status_ok and code_ok

    expected = [e["resource"]["id"] for e in every if matches(e["resource"])]
    found = fhir_get(client, f"{resource_type}?{query}&_count=500").json()
    assert [e["resource"]["id"] for e in found["entry"]] == expected and found["total"] == len(expected)


def test_a_reader_through_a_handoffs_grant_gets_what_their_page_shows_not_the_record(client, world):
    """The receiving home nurse sees our patient through the handoff's access grant: the patient,
    care team, observations and handoffs (as on her page), no course, events or checklist tasks."""
    users, targets, _ = world
    sign_in(client, users["homenurse"])
    patient = targets["patient"]

    body = fhir_get(client, f"Patient/{patient.pk}/$everything").json()

    present = {f"{entry['resource']['resourceType']}/{entry['resource']['id']}" for entry in body["entry"]}
    kinds = {item.split("/")[0] for item in present}
    assert {"Patient", "CareTeam", "Task", "Observation"} <= kinds
    assert not kinds & {"CarePlan", "Encounter", "MedicationDispense"}
    tasks = [entry["resource"] for entry in body["entry"] if entry["resource"]["resourceType"] == "Task"]
    assert tasks and all(task["id"].startswith("handoff-") for task in tasks)
    assert set(_references(body["entry"])) <= present
    checklist_task = targets["task"] if "task" in targets else None
    if checklist_task is not None:
        outcome_of(fhir_get(client, f"Task/task-{checklist_task.pk}"), 404)
    assert fhir_get(client, f"Encounter?patient={patient.pk}").json()["total"] == 0
    assert fhir_get(client, f"CarePlan?patient={patient.pk}").json()["total"] == 0
    assert fhir_get(client, f"MedicationDispense?patient={patient.pk}").json()["total"] == 0
    outcome_of(fhir_get(client, f"MedicationDispense/bag-{targets['bag'].pk}"), 404)


@pytest.mark.parametrize("path", ["Patient/\u00b2/$everything", "Encounter?patient=Patient/\u00b2"])
def test_a_digit_that_is_no_decimal_digit_finds_nothing_and_is_no_server_error(client, world, path):
    users, _, _ = world
    sign_in(client, users["nurse"])
    response = fhir_get(client, path)
    assert response.status_code in (200, 404)
    assert response.json()["resourceType"] in ("OperationOutcome", "Bundle")
    assert response.json().get("total", 0) == 0
