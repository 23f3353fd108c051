"""The FHIR mappings that an integrating system acts on, each on a record made for it: who is on
the care team, what a stopped course still plans, and the vital signs as R4's profiles ask."""

import datetime as dt
import zoneinfo
from decimal import Decimal

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from accounts.models import Role
from checklists.models import Task
from checklists.services import checklists_instantiate
from patients.models import Assessment, CareEvent, InfusionBag
from patients.services import assessment_confirm, course_stop_for_good

from ..checklists.helpers import make_event, publish_template
from ..factories import UserFactory
from ..patients.helpers import make_bag, rr_course

NY = zoneinfo.ZoneInfo("America/New_York")


def read(client, path):
    response = client.get("/fhir/R4/" + path)
    assert response.status_code == 200, response.content[:400]
    body = response.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def test_the_care_team_leaves_out_members_who_no_longer_count(client, patient, nurse, nurse2, pharmacist, case_manager):
    # The care-team page marks them: a deactivated member, and one added in a role they no longer
    # hold, work no task and see no patient. A system paging "the team's nurse" must not get them.
    nurse2.is_active = False
    nurse2.save(update_fields=["is_active"])
    pharmacist.role = Role.CASE_MANAGER
    pharmacist.save(update_fields=["role"])
    client.force_login(nurse)

    team = read(client, f"CareTeam/{patient.pk}")

    members = {p["member"]["identifier"]["value"] for p in team["participant"]}
    assert members == {"nurse", "casemanager"}


def test_a_stopped_course_plans_none_of_its_later_cycles(client, patient, nurse, oncologist):
    course = rr_course(patient, start=dt.date(2026, 3, 2), cycles=3, now=dt.datetime(2026, 2, 20, 12, tzinfo=NY))
    stopped_at = dt.datetime(2026, 3, 13, 10, tzinfo=NY)  # cycle 1, day 12
    course_stop_for_good(course=course, stopped_at=stopped_at, reason="Grade 4 CRS", actor=oncologist, now=stopped_at)
    client.force_login(nurse)

    plan = read(client, f"CarePlan/{course.pk}")

    assert plan["status"] == "revoked"
    statuses = [activity["detail"]["status"] for activity in plan["activity"]]
    assert statuses == ["stopped", "cancelled", "cancelled"]


def test_oxygen_saturation_carries_the_loinc_code_of_the_r4_vital_signs_profile(client, patient, nurse):
    # R4's oxygensat profile (http://hl7.org/fhir/StructureDefinition/oxygensat) requires LOINC
    # 2708-6; 59408-5 (pulse oximetry) alone fails an R4 validator.
    assessment = Assessment.objects.create(
        patient=patient,
        assessed_at=timezone.now(),
        recorded_by=nurse,
        oxygen_saturation=93,
        crs_grade=0,
        crs_rule="None",
        icans_grade=0,
        icans_rule="None",
    )
    client.force_login(nurse)

    observation = read(client, f"Observation/assessment-{assessment.pk}-spo2")

    codes = [(coding["system"], coding["code"]) for coding in observation["code"]["coding"]]
    assert ("http://loinc.org", "2708-6") in codes and ("http://loinc.org", "59408-5") in codes
    assert observation["valueQuantity"]["code"] == "%"
    found = client.get(f"/fhir/R4/Observation?patient={patient.pk}&code=http://loinc.org|2708-6").json()
    assert [entry["resource"]["id"] for entry in found["entry"]] == [observation["id"]]


def test_a_confirmed_grade_names_the_oncologist_who_gave_it(client, patient, nurse, oncologist):
    # The oncologist grades CRS and ICANS (CLINICAL.md, roles): once confirmed, the final grade is
    # theirs, not only the nurse's who recorded the assessment.
    assessment = Assessment.objects.create(
        patient=patient,
        assessed_at=timezone.now(),
        recorded_by=nurse,
        temperature=Decimal("38.6"),
        temperature_unit="C",
        temperature_celsius=Decimal("38.6"),
        crs_grade=1,
        crs_rule="Grade 1: fever",
        icans_grade=0,
        icans_rule="None",
    )
    assessment_confirm(
        assessment=assessment, crs_grade=2, icans_grade=0, reason="Hypotension on fluids", actor=oncologist
    )
    client.force_login(nurse)

    crs = read(client, f"Observation/assessment-{assessment.pk}-crs")
    temperature = read(client, f"Observation/assessment-{assessment.pk}-temperature")

    assert (crs["status"], crs["valueInteger"]) == ("final", 2)
    assert [p["identifier"]["value"] for p in crs["performer"]] == ["oncologist", "nurse"]
    assert [p["identifier"]["value"] for p in temperature["performer"]] == ["nurse"]


def test_the_care_plan_gives_the_bag_length_in_hospital_and_outside(client, patient, nurse):
    # The rate on the pump follows the bag's length (24 h: 10 mL/h, 48 h: 5 mL/h): a plan that
    # names only the home bags misstates what hangs on the ward.
    course = rr_course(
        patient,
        start=dt.date(2026, 3, 2),
        cycles=2,
        now=dt.datetime(2026, 2, 20, 12, tzinfo=NY),
        bag_hours=48,
        inpatient_bag_hours=24,
    )
    client.force_login(nurse)

    plan = read(client, f"CarePlan/{course.pk}")

    assert "24 h in hospital" in plan["description"] and "48 h outside hospital" in plan["description"]


def test_a_checklist_task_whose_answer_failed_its_hard_stop_is_not_read_as_simply_completed(client, patient, nurse):
    # The worklist shows "Hard stop failed: blocks the event" and "Awaiting verification"; a system
    # reading the Task must not take the pump check for passed.
    publish_template(items=[{"text": "Pump rate matches the bag"}, {"text": "Line primed"}, {"text": "Filter fitted"}])
    event = make_event(patient)
    checklists_instantiate(events=[event])
    failed, unchecked, passed = Task.objects.filter(event=event).order_by("order")
    done = {"status": "done", "completed_by": nurse, "completed_at": timezone.now()}
    Task.objects.filter(pk=failed.pk).update(**done, value="12", hard_stop_failed=True)
    Task.objects.filter(pk=unchecked.pk).update(**done, needs_verification=True)
    Task.objects.filter(pk=passed.pk).update(**done)
    client.force_login(nurse)

    tasks = {pk: read(client, f"Task/task-{pk}") for pk in (failed.pk, unchecked.pk, passed.pk)}

    assert (tasks[failed.pk]["status"], tasks[failed.pk]["businessStatus"]["text"]) == (
        "failed",
        "Hard stop failed: blocks the event",
    )
    assert (tasks[unchecked.pk]["status"], tasks[unchecked.pk]["businessStatus"]["text"]) == (
        "completed",
        "Done, awaiting verification",
    )
    assert (tasks[passed.pk]["status"], tasks[passed.pk]["businessStatus"]["text"]) == ("completed", "Done")
    for status, expected in (("failed", {failed.pk}), ("completed", {unchecked.pk, passed.pk})):
        found = client.get(f"/fhir/R4/Task?patient={patient.pk}&status={status}").json()
        assert {int(entry["resource"]["id"].removeprefix("task-")) for entry in found.get("entry", [])} == expected


# --- the pharmacy's bags as MedicationDispense ---------------------------------------------------


def _bag(patient, compounder, checker, *, hours_ahead: int, **fields):
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=hours_ahead))
    return make_bag(event, compounded_by=compounder, checked_by=checker, hours=72, **fields)


def test_a_bag_is_a_completed_dispense_for_its_encounter_with_its_label(client, patient, nurse, pharmacist):
    checker = UserFactory(role=Role.PHARMACIST, unit=patient.unit)
    expires = dt.datetime(2026, 12, 10, 8, 30, tzinfo=dt.UTC)
    bag = _bag(
        patient, pharmacist, checker, hours_ahead=3, dose="28 mcg/day", volume_ml=Decimal("130.5"), expires_at=expires
    )
    client.force_login(nurse)

    dispense = read(client, f"MedicationDispense/bag-{bag.pk}")

    assert (dispense["id"], dispense["status"]) == (f"bag-{bag.pk}", "completed")
    assert dispense["subject"] == {"reference": f"Patient/{patient.pk}"}
    assert dispense["context"] == {"reference": f"Encounter/{bag.event_id}"}
    (medication,) = dispense["contained"]
    assert dispense["medicationReference"]["reference"] == f"#{medication['id']}"
    assert medication["code"]["text"] == "Blinatumomab"
    assert medication["code"]["coding"][0]["code"] == "medication-blinatumomab"
    assert medication["batch"] == {"expirationDate": "2026-12-10T08:30:00Z"}
    added = [item["itemCodeableConcept"]["text"] for item in medication["ingredient"][1:]]
    assert added == ["IV solution stabiliser", "Bacteriostatic saline (benzyl alcohol preservative)"]
    assert dispense["quantity"] == {"value": 130.5, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"}
    assert dispense["whenPrepared"] == bag.recorded_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    functions = {p["function"]["coding"][0]["code"]: p["actor"]["identifier"]["value"] for p in dispense["performer"]}
    assert functions == {
        "packager": pharmacist.username,
        "finalchecker": checker.username,
        "dataenterer": pharmacist.username,
    }
    (dosage,) = dispense["dosageInstruction"]
    assert dosage["text"] == "28 mcg/day, flat dose (weight band), at 1.8 mL/h for 72 h"
    assert dosage["doseAndRate"][0]["rateQuantity"]["value"] == 1.8
    assert dosage["doseAndRate"][0]["rateQuantity"]["code"] == "mL/h"
    assert dosage["timing"]["repeat"] == {"duration": 72, "durationUnit": "h"}
    assert "note" not in dispense and "statusReasonCodeableConcept" not in dispense


def _cancel(bag):
    CareEvent.objects.filter(pk=bag.event_id).update(status=CareEvent.Status.CANCELLED)


def test_a_bag_whose_event_was_cancelled_is_on_hold_until_the_pharmacist_decides(client, patient, nurse, pharmacist):
    bag = _bag(patient, pharmacist, UserFactory(role=Role.PHARMACIST), hours_ahead=3)
    _cancel(bag)
    client.force_login(nurse)

    dispense = read(client, f"MedicationDispense/bag-{bag.pk}")

    assert dispense["status"] == "on-hold"
    assert "waiting for the pharmacist's decision" in dispense["note"][0]["text"]
    found = read(client, f"MedicationDispense?patient={patient.pk}&status=on-hold")
    assert [entry["resource"]["id"] for entry in found["entry"]] == [f"bag-{bag.pk}"]


def test_a_returned_or_discarded_bag_is_a_cancelled_dispense_saying_why(client, patient, nurse, pharmacist):
    bag = _bag(patient, pharmacist, UserFactory(role=Role.PHARMACIST), hours_ahead=3)
    _cancel(bag)
    decided = dt.datetime(2026, 12, 6, 11, 55, tzinfo=dt.UTC)
    InfusionBag.objects.filter(pk=bag.pk).update(
        decision="discarded", decision_reason="Expired before the restart", decided_by=pharmacist, decided_at=decided
    )
    client.force_login(nurse)

    dispense = read(client, f"MedicationDispense/bag-{bag.pk}")

    assert dispense["status"] == "cancelled"
    assert dispense["statusReasonCodeableConcept"] == {"text": "Discarded: Expired before the restart"}
    assert dispense["note"] == [
        {
            "authorString": str(pharmacist),
            "time": "2026-12-06T11:55:00Z",
            "text": "Discarded: Expired before the restart",
        }
    ]
    assert read(client, "MedicationDispense?status=completed,on-hold")["total"] == 0


def test_a_bag_used_for_another_event_is_completed_there_and_names_the_cancelled_one(
    client, patient, nurse, pharmacist
):
    bag = _bag(patient, pharmacist, UserFactory(role=Role.PHARMACIST), hours_ahead=3)
    _cancel(bag)
    other = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=5), cycle=bag.event.cycle)
    InfusionBag.objects.filter(pk=bag.pk).update(
        event=other, moved_from_event=bag.event, decision="reused", decided_by=pharmacist, decided_at=timezone.now()
    )
    client.force_login(nurse)

    dispense = read(client, f"MedicationDispense/bag-{bag.pk}")

    assert dispense["status"] == "completed"
    assert dispense["context"] == {"reference": f"Encounter/{other.pk}"}
    assert dispense["note"][0]["text"] == f"Prepared for Encounter/{bag.event_id}, since cancelled; used for this one."
