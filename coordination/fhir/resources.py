"""The product's records as FHIR resources (plain dicts, validated by `validate` before they leave).

One function per mapping; each reads only the relations that its source's queryset loads
(coordination.fhir.catalogue), so that a page of resources costs a fixed number of queries.
References between resources are relative (`Patient/12`), and every one of them points to a
resource that this server serves, so that a patient's `$everything` Bundle resolves in itself.
People are named in references by display and user name (no Practitioner resources).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from accounts.models import Role

from . import codes

# --- helpers -----------------------------------------------------------------------------------


def validate(resource: dict) -> dict:
    """The resource, once fhir.resources' model of its type accepts it (it raises otherwise):
    whatever the server emits is valid FHIR."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def instant(moment: dt.datetime | None) -> str | None:
    return None if moment is None else timezone.localtime(moment, dt.UTC).isoformat().replace("+00:00", "Z")


def ref(resource_type: str, resource_id) -> dict:
    return {"reference": f"{resource_type}/{resource_id}"}


def person(user) -> dict | None:
    """A user as a reference without a resource: their name and their user name."""
    if user is None:
        return None
    return {
        "display": str(user),
        "identifier": {"system": codes.USERNAME_SYSTEM, "value": user.get_username()},
    }


def role_concept(role: str) -> dict:
    label = Role(role).label if role in Role.values else role
    codings = []
    if role in codes.ROLE_SNOMED:
        code, display = codes.ROLE_SNOMED[role]
        codings.append(codes.coding(codes.SNOMED, code, display))
    codings.append(codes.project(f"role-{role}", label))
    return codes.concept(*codings, text=label)


def _clean(value):
    """Drop empty values, which FHIR forbids (no nulls, no empty strings, lists or objects)."""
    if isinstance(value, dict):
        cleaned = {key: _clean(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        return [item for item in (_clean(entry) for entry in value) if item not in (None, "", [], {})]
    return value


def resource(resource_type: str, resource_id, **fields) -> dict:
    return _clean({"resourceType": resource_type, "id": str(resource_id), **fields})


# --- the record --------------------------------------------------------------------------------


def patient_resource(patient) -> dict:
    caregiver = None
    if patient.caregiver_name or patient.caregiver_phone:
        caregiver = {
            "relationship": [
                codes.concept(codes.coding("http://terminology.hl7.org/CodeSystem/v2-0131", "C", "Emergency Contact"))
            ],
            "name": {"text": patient.caregiver_name},
            "telecom": [{"system": "phone", "value": patient.caregiver_phone}] if patient.caregiver_phone else [],
        }
    return resource(
        "Patient",
        patient.pk,
        identifier=[
            {
                "use": "usual",
                "type": codes.concept(codes.coding(codes.IDENTIFIER_TYPE, "MR", "Medical record number")),
                "system": codes.mrn_system(patient.organisation_id),
                "value": patient.mrn,
                "assigner": {"display": str(patient.organisation)},
            }
        ],
        active=True,
        name=[{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        gender=patient.sex,  # the product's choices are FHIR's administrative genders
        birthDate=patient.birth_date.isoformat(),
        contact=[caregiver] if caregiver else [],
        managingOrganization={"display": str(patient.organisation)},
    )


def care_team_resource(patient) -> dict:
    """The patient's care team: one per patient, named by the patient's id."""
    return resource(
        "CareTeam",
        patient.pk,
        status="active",
        name=f"Care team of {patient.mrn}",
        subject=ref("Patient", patient.pk),
        participant=[
            {
                "role": [role_concept(member.role)],
                "member": person(member.user),
                "period": {"start": instant(member.added_at)},
            }
            for member in patient.care_team.all()
        ],
        managingOrganization=[{"display": str(patient.unit)}],
    )


COURSE_STATUS = {"planned": "draft", "active": "active", "completed": "completed", "stopped": "revoked"}


def _cycle_status(cycle, today: dt.date, stopped_for_good_at: dt.datetime | None) -> str:
    if cycle.ended_early_at is not None:
        return "stopped"
    if stopped_for_good_at is not None and (
        cycle.infusion_ends_at is None or cycle.infusion_ends_at > stopped_for_good_at
    ):
        # The course stopped for good before this cycle's infusion ran: it will never be given,
        # and its dates, frozen at the stop, must not read as scheduled or, once past, completed.
        return "cancelled"
    if today < cycle.start_date:
        return "scheduled"
    if cycle.infusion_end_date is not None and today > cycle.infusion_end_date:
        return "completed"
    return "in-progress"


def care_plan_resource(course) -> dict:
    """The course as a CarePlan, its cycles as activities (status from the unit's calendar, and
    from the stop for good that the catalogue's queryset annotates as `stopped_for_good_at`)."""
    today = timezone.localdate(timezone.now(), course.patient.unit.zone)
    return resource(
        "CarePlan",
        course.pk,
        status=COURSE_STATUS[course.status],
        intent="plan",
        title=f"{course.get_regimen_display()}: {course.get_indication_display()}",
        # Both bag lengths, as the course page gives them: the pump rate follows the bag's length.
        description=f"{course.planned_cycles} planned cycle(s); bags of {course.inpatient_bag_hours} h in hospital "
        f"and {course.bag_hours} h outside hospital",
        subject=ref("Patient", course.patient_id),
        period={"start": course.start_date.isoformat()},
        careTeam=[ref("CareTeam", course.patient_id)],
        activity=[
            {
                "detail": {
                    "code": codes.concept(codes.CYCLE_ACTIVITY, text=f"Cycle {cycle.number}"),
                    "status": _cycle_status(cycle, today, course.stopped_for_good_at),
                    "description": f"Cycle {cycle.number} ({cycle.get_phase_display()}): "
                    f"{cycle.infusion_days} days of infusion",
                    "scheduledPeriod": {
                        "start": cycle.start_date.isoformat(),
                        "end": (cycle.infusion_end_date.isoformat() if cycle.infusion_end_date else None),
                    },
                }
            }
            for cycle in course.cycles.all()
        ],
    )


# Why Encounter rather than Appointment: a care event is where the team meets the patient in a
# setting (ward, clinic, home) and does its checklist there; it is planned, then happens, is
# missed or cancelled, and Task.encounter and Observation.encounter point to it.
EVENT_STATUS = {
    "planned": "planned",
    "in_progress": "in-progress",
    "done": "finished",
    "missed": "unknown",  # its time passed without the work done: FHIR has no closer status
    "cancelled": "cancelled",
}
SETTING_CLASS = {
    "inpatient": codes.coding(codes.ACT_CODE, "IMP", "inpatient encounter"),
    "clinic": codes.coding(codes.ACT_CODE, "AMB", "ambulatory"),
    "home": codes.coding(codes.ACT_CODE, "HH", "home health"),
}


def encounter_resource(event) -> dict:
    start = event.actual_at or event.planned_at
    return resource(
        "Encounter",
        event.pk,
        status=EVENT_STATUS[event.status],
        **{"class": SETTING_CLASS[event.setting]},
        type=[codes.concept(codes.project(f"event-{event.kind}", event.get_kind_display()))],
        subject=ref("Patient", event.patient_id),
        period={"start": instant(start), "end": instant(event.actual_at) if event.status == "done" else None},
    )


# --- the work ----------------------------------------------------------------------------------


def checklist_task_status(task) -> str:
    if task.status == "open":
        return "accepted" if task.assignee_id else "ready"
    if task.status == "done" and task.hard_stop_failed:
        # Its answer is recorded but failed the item's hard stop, and the event waits on it: not
        # the completed check that a reader would act on.
        return "failed"
    # Not done: left open when its event was done or missed, then closed as not done (with why): attempted,
    # never completed.
    return {"done": "completed", "not_applicable": "cancelled", "cancelled": "cancelled", "not_done": "failed"}[
        task.status
    ]


def checklist_task_business_status(task) -> str:
    """As the worklist words a done task: its hard stop failed, or its second check still owed."""
    if task.status == "done" and task.hard_stop_failed:
        return "Hard stop failed: blocks the event"
    if task.awaits_verification:
        return "Done, awaiting verification"
    return task.get_status_display()


def checklist_task_resource(task) -> dict:
    return resource(
        "Task",
        f"task-{task.pk}",
        status=checklist_task_status(task),
        statusReason=(
            {"text": f"{task.get_status_display()}: {task.not_applicable_reason}"}
            if task.status in ("not_applicable", "not_done")
            else None
        ),
        businessStatus={"text": checklist_task_business_status(task)},
        intent="order",
        code=codes.concept(codes.TASK_CHECKLIST),
        description=task.text,
        basedOn=[ref("CarePlan", task.event.cycle.course_id)],
        **{"for": ref("Patient", task.patient_id)},
        encounter=ref("Encounter", task.event_id),
        lastModified=instant(task.completed_at),
        owner=person(task.assignee),
        performerType=[role_concept(task.role)],
        restriction={"period": {"end": instant(task.due_at)}},
        executionPeriod={"end": instant(task.completed_at)} if task.completed_at else None,
        output=[{"type": {"text": "Recorded value"}, "valueString": task.value}] if task.value else [],
    )


# The handoff's statuses as FHIR Task's: sent → requested, acknowledged → received, accepted,
# completed; a return is the receiver's refusal (rejected).
HANDOFF_STATUS = {
    "draft": "draft",
    "sent": "requested",
    "acknowledged": "received",
    "accepted": "accepted",
    "completed": "completed",
    "returned": "rejected",
    "cancelled": "cancelled",
}


def handoff_task_resource(handoff) -> dict:
    reason = handoff.return_reason or handoff.cancel_reason
    return resource(
        "Task",
        f"handoff-{handoff.pk}",
        status=HANDOFF_STATUS[handoff.status],
        statusReason={"text": reason} if reason else None,
        businessStatus={"text": handoff.get_status_display()},
        intent="order",
        priority="urgent" if handoff.illness_severity == "unstable" else "routine",
        code=codes.concept(codes.TASK_HANDOFF, text=handoff.get_kind_display()),
        description=handoff.get_kind_display(),
        basedOn=[ref("CarePlan", handoff.course_id)],
        focus=ref("Encounter", handoff.event_id),
        **{"for": ref("Patient", handoff.patient_id)},
        encounter=ref("Encounter", handoff.event_id),
        authoredOn=instant(handoff.sent_at or handoff.created_at),
        lastModified=instant(handoff.updated_at),
        requester={"display": f"{handoff.from_person} ({handoff.from_unit})"},
        owner=person(handoff.to_person) or {"display": str(handoff.to_unit)},
        restriction={"period": {"end": instant(handoff.acknowledge_by)}} if handoff.acknowledge_by else None,
        executionPeriod={"start": instant(handoff.accepted_at), "end": instant(handoff.completed_at)}
        if handoff.accepted_at
        else None,
    )


def _acknowledgement(resource_id: str, category: dict, *, patient_id, at, by, text: str, **more) -> dict:
    """Something acknowledged (a handoff's receipt, a toxicity alert) as a completed Communication."""
    return resource(
        "Communication",
        resource_id,
        status="completed",
        category=[codes.concept(category)],
        subject=ref("Patient", patient_id),
        sent=instant(at),
        sender=person(by),
        payload=[{"contentString": text}],
        **more,
    )


def handoff_acknowledgement_resource(handoff) -> dict:
    return _acknowledgement(
        f"handoff-{handoff.pk}-ack",
        codes.COMMUNICATION_HANDOFF_ACK,
        patient_id=handoff.patient_id,
        at=handoff.acknowledged_at,
        by=handoff.acknowledged_by,
        text=f"Handoff acknowledged by {handoff.acknowledged_by or handoff.to_unit}.",
        about=[ref("Task", f"handoff-{handoff.pk}")],
        recipient=[person(handoff.from_person)],
    )


def alert_acknowledgement_resource(alert) -> dict:
    note = f" {alert.acknowledge_note}" if alert.acknowledge_note else ""
    return _acknowledgement(
        f"alert-{alert.pk}-ack",
        codes.COMMUNICATION_ALERT_ACK,
        patient_id=alert.patient_id,
        at=alert.acknowledged_at,
        by=alert.acknowledged_by,
        text=f"Alert acknowledged: {alert.reason}.{note}",
        reasonCode=[{"text": alert.reason}],
    )


# --- observations ------------------------------------------------------------------------------


def _code(definition) -> dict:
    codings = [
        codes.coding(system, code, display)
        for system, code, display, _unit in (definition, *codes.ALSO_CODED.get(definition, ()))
    ]
    return codes.concept(*codings, text=definition[2])


def _quantity(definition, value) -> dict:
    return _ucum(value, definition[3])


def _ucum(value, unit: str | None) -> dict:
    return {
        "value": float(value) if isinstance(value, Decimal) else value,
        "unit": unit,
        "system": codes.UCUM,
        "code": unit,
    }


def _category(code: str, display: str) -> list[dict]:
    return [codes.concept(codes.coding(codes.OBSERVATION_CATEGORY, code, display))]


VITAL_SIGNS = _category("vital-signs", "Vital Signs")
SURVEY = _category("survey", "Survey")


def weighing_observations(weighing) -> list[dict]:
    return [
        resource(
            "Observation",
            f"weighing-{weighing.pk}",
            status="final",
            category=VITAL_SIGNS,
            code=_code(codes.BODY_WEIGHT),
            subject=ref("Patient", weighing.patient_id),
            effectiveDateTime=instant(weighing.measured_at),
            valueQuantity=_quantity(codes.BODY_WEIGHT, weighing.weight_kg),
        )
    ]


def assessment_observations(assessment) -> list[dict]:
    """An assessment's vital signs, its ICE score (when all five parts were scored) and its CRS
    and ICANS grades (preliminary until the oncologist confirms them, then final)."""

    def observation(suffix, definition, category, status="final", performers=(assessment.recorded_by,), **value):
        return resource(
            "Observation",
            f"assessment-{assessment.pk}-{suffix}",
            status=status,
            category=category,
            code=_code(definition),
            subject=ref("Patient", assessment.patient_id),
            encounter=ref("Encounter", assessment.event_id) if assessment.event_id else None,
            effectiveDateTime=instant(assessment.assessed_at),
            performer=[person(performer) for performer in performers],
            **value,
        )

    found = []
    vitals = [
        ("temperature", codes.BODY_TEMPERATURE, assessment.temperature_celsius),
        ("heart-rate", codes.HEART_RATE, assessment.heart_rate),
        ("spo2", codes.OXYGEN_SATURATION, assessment.oxygen_saturation),
    ]
    for suffix, definition, value in vitals:
        if value is not None:
            found.append(observation(suffix, definition, VITAL_SIGNS, valueQuantity=_quantity(definition, value)))
    if assessment.systolic_bp is not None and assessment.diastolic_bp is not None:
        components = [
            {"code": _code(codes.SYSTOLIC), "valueQuantity": _quantity(codes.SYSTOLIC, assessment.systolic_bp)},
            {"code": _code(codes.DIASTOLIC), "valueQuantity": _quantity(codes.DIASTOLIC, assessment.diastolic_bp)},
        ]
        found.append(observation("bp", codes.BLOOD_PRESSURE, VITAL_SIGNS, component=components))
    if assessment.ice_score is not None:
        found.append(observation("ice", codes.ICE_SCORE, SURVEY, valueInteger=assessment.ice_score))
    grade_status = "final" if assessment.is_confirmed else "preliminary"
    # A confirmed grade is the oncologist's (they grade, and may change the computed grade): named
    # first, before the nurse who recorded the assessment (once, when they are the same person).
    graders = (assessment.confirmed_by, assessment.recorded_by) if assessment.is_confirmed else ()
    graders = tuple(dict.fromkeys(graders)) or (assessment.recorded_by,)
    for suffix, definition, grade in (
        ("crs", codes.CRS_GRADE, assessment.crs),
        ("icans", codes.ICANS_GRADE, assessment.icans),
    ):
        found.append(observation(suffix, definition, SURVEY, grade_status, graders, valueInteger=grade))
    return found


# --- the pharmacy's bags ------------------------------------------------------------------------


def bag_dispense_status(bag) -> str:
    """A bag's status as a dispense's (R4B medicationdispense-status). Prepared and hung as planned
    (or used for another event): `completed`, the pharmacy's part is done. Its event cancelled and
    nobody has decided yet: `on-hold`, paused until the pharmacist says what becomes of it.
    Returned or discarded: `cancelled`, "not and will never be picked up", the decision and its
    reason in statusReason; not `stopped` (that is a dispense halted part way, and nothing of this
    bag was given) nor `declined` (the pharmacy did prepare it: nobody refused the dispense)."""
    if bag.decision in bag.OUT_OF_USE:
        return "cancelled"
    return "on-hold" if bag.needs_decision else "completed"


def _bag_medication(bag, drug: dict) -> dict:
    """The bag as a product, contained in its dispense: the drug, what was added to it, and its
    expiry. MedicationDispense has no expiry of its own in R4B; Medication.batch.expirationDate is
    the element the standard gives a prepared product's expiry, read by any client without an
    extension of ours (a note would be read by people only)."""
    ingredients = [{"itemCodeableConcept": drug, "isActive": True}]
    if bag.stabiliser_added:
        ingredients.append({"itemCodeableConcept": {"text": "IV solution stabiliser"}, "isActive": False})
    if bag.preservative:
        ingredients.append(
            {"itemCodeableConcept": {"text": "Bacteriostatic saline (benzyl alcohol preservative)"}, "isActive": False}
        )
    return {
        "resourceType": "Medication",
        "id": "bag",
        "code": drug,
        "ingredient": ingredients,
        "batch": {"expirationDate": instant(bag.expires_at)},
    }


def _bag_notes(bag, status: str) -> list[dict]:
    if status == "on-hold":
        return [
            {
                "text": "Its event was cancelled: waiting for the pharmacist's decision (used for another event, "
                "returned to the pharmacy or discarded)."
            }
        ]
    if not bag.decision:
        return []
    prepared_for = f"Encounter/{bag.moved_from_event_id}" if bag.moved_from_event_id else "another event"
    said = {"reused": f"Prepared for {prepared_for}, since cancelled; used for this one."}
    return [
        {
            "authorString": str(bag.decided_by) if bag.decided_by else None,
            "time": instant(bag.decided_at),
            "text": said.get(bag.decision, f"{bag.get_decision_display()}: {bag.decision_reason}"),
        }
    ]


def bag_dispense_resource(bag) -> dict:
    """A bag the pharmacy prepared for an event (the Encounter it is hung at), with its label: the
    dose, the rate and the bag's length as the dosage, the volume as the quantity, the expiry on
    the contained Medication (`_bag_medication`); who compounded, checked and recorded it."""
    course = bag.event.cycle.course
    drug = codes.concept(
        codes.project(f"medication-{course.regimen}", course.get_regimen_display()), text=course.get_regimen_display()
    )
    status = bag_dispense_status(bag)
    rate = bag.rate_ml_per_hour.normalize()
    return resource(
        "MedicationDispense",
        f"bag-{bag.pk}",
        contained=[_bag_medication(bag, drug)],
        status=status,
        statusReasonCodeableConcept=(
            {"text": f"{bag.get_decision_display()}: {bag.decision_reason}"} if status == "cancelled" else None
        ),
        medicationReference={"reference": "#bag", "display": course.get_regimen_display()},
        subject=ref("Patient", bag.patient_id),
        context=ref("Encounter", bag.event_id),
        performer=[
            {"function": codes.concept(function), "actor": person(user)}
            for function, user in (
                (codes.PACKAGER, bag.compounded_by),
                (codes.FINAL_CHECKER, bag.checked_by),
                (codes.DATA_ENTERER, bag.recorded_by),
            )
        ],
        quantity=_ucum(bag.volume_ml, "mL"),
        whenPrepared=instant(bag.recorded_at),
        note=_bag_notes(bag, status),
        dosageInstruction=[
            {
                "text": f"{bag.dose}, {bag.get_dose_basis_display().lower()}, at {rate:f} mL/h "
                f"for {bag.duration_hours} h",
                "timing": {"repeat": {"duration": bag.duration_hours, "durationUnit": "h"}},
                "doseAndRate": [{"rateQuantity": _ucum(bag.rate_ml_per_hour, "mL/h")}],
            }
        ],
    )


def without_references_outside(resource: dict, present: Callable[[str], bool]) -> dict:
    """The resource without the references (`{"reference": "Type/id"}`) to anything that is not
    `present(reference)`: an element that is one is dropped, and so is a list left empty by it."""

    def prune(value):
        if isinstance(value, dict):
            kept = {}
            for key, item in value.items():
                if isinstance(item, dict) and "reference" in item and not present(item["reference"]):
                    continue
                pruned = prune(item)
                if pruned != []:
                    kept[key] = pruned
            return kept
        if isinstance(value, list):
            return [
                prune(item)
                for item in value
                if not (isinstance(item, dict) and "reference" in item and not present(item["reference"]))
            ]
        return value

    return prune(resource)
