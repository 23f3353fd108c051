"""The code systems that the FHIR server emits, declared once.

Standard systems where a code exists (LOINC for body weight and the vital signs, SNOMED CT for
the care-team roles it names, HL7's own systems for identifier types and encounter classes);
the project's own code system for what no standard names: the checklist and handoff task kinds,
the care-event kinds, the roles without a SNOMED CT code, the ICE score, CRS grade and ICANS
grade (LOINC has no code that we could verify for the ASTCT consensus grades or the ICE score:
they stay in the project's system until one is assigned, and only this module changes then), and
the drug of a bag, `medication-{regimen}` (the course's regimen names it; the project's data hold
no RxNorm or SNOMED CT code for blinatumomab to check one against).
"""

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
DISPENSE_PERFORMER = "http://terminology.hl7.org/CodeSystem/medicationdispense-performer-function"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

# The project's namespace. Hospitals that publish their own canonical base replace it here.
PROJECT_BASE = "https://care-coordination-tracker.example.org/fhir"
PROJECT_CODES = f"{PROJECT_BASE}/CodeSystem/care-coordination"
# A patient's MRN is unique within its organisation: one identifier system per organisation.
MRN_SYSTEM = f"{PROJECT_BASE}/NamingSystem/mrn"
# Users are named by their user name in the product (no Practitioner resources are served).
USERNAME_SYSTEM = f"{PROJECT_BASE}/NamingSystem/username"


def mrn_system(organisation_id: int) -> str:
    return f"{MRN_SYSTEM}/{organisation_id}"


def coding(system: str, code: str, display: str) -> dict:
    return {"system": system, "code": code, "display": display}


def concept(*codings: dict, text: str | None = None) -> dict:
    value: dict = {"coding": list(codings)}
    if text:
        value["text"] = text
    return value


def token_matches(codings: list[dict], token: str) -> bool:
    """A FHIR token search value (`code`, `system|code` or `|code`) against codings."""
    system, bar, code = token.rpartition("|")
    return any(
        coding.get("code") == code and (not bar or not system or coding.get("system") == system) for coding in codings
    )


def project(code: str, display: str) -> dict:
    return coding(PROJECT_CODES, code, display)


# Care-team roles: SNOMED CT occupations where one is known, the project's code always.
ROLE_SNOMED = {
    "pharmacist": ("46255001", "Pharmacist"),
    "nurse": ("106292003", "Professional nurse"),
    "oncologist": ("309295000", "Oncologist"),
}

# Observations: (code system, code, display, UCUM unit or None).
BODY_WEIGHT = (LOINC, "29463-7", "Body weight", "kg")
BODY_TEMPERATURE = (LOINC, "8310-5", "Body temperature", "Cel")
HEART_RATE = (LOINC, "8867-4", "Heart rate", "/min")
# R4's oxygen saturation profile (StructureDefinition/oxygensat) requires 2708-6; the pulse
# oximetry code, how the wards measure it, goes beside it (as US Core does).
OXYGEN_SATURATION = (LOINC, "2708-6", "Oxygen saturation in Arterial blood", "%")
PULSE_OXIMETRY = (LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%")
BLOOD_PRESSURE = (LOINC, "85354-9", "Blood pressure panel with all children optional", None)
SYSTOLIC = (LOINC, "8480-6", "Systolic blood pressure", "mm[Hg]")
DIASTOLIC = (LOINC, "8462-4", "Diastolic blood pressure", "mm[Hg]")
# The codings that go beside a definition's own in Observation.code.
ALSO_CODED = {OXYGEN_SATURATION: (PULSE_OXIMETRY,)}
ICE_SCORE = (PROJECT_CODES, "ice-score", "Immune effector cell-associated encephalopathy (ICE) score", None)
CRS_GRADE = (PROJECT_CODES, "crs-grade", "Cytokine release syndrome grade (ASTCT)", None)
ICANS_GRADE = (PROJECT_CODES, "icans-grade", "ICANS grade (ASTCT)", None)

# The project's codes for what the standards do not name, listed for the README and the
# CapabilityStatement's readers.
TASK_CHECKLIST = project("checklist-task", "Checklist task")
TASK_HANDOFF = project("handoff", "Care handoff")
COMMUNICATION_HANDOFF_ACK = project("handoff-acknowledgement", "Handoff acknowledged by the receiving side")
COMMUNICATION_ALERT_ACK = project("alert-acknowledgement", "Toxicity alert acknowledged")
CYCLE_ACTIVITY = project("treatment-cycle", "Treatment cycle")

# What each person named on a bag did (MedicationDispense.performer.function): who compounded it
# prepared it; the second pharmacist's independent check of it against the order is the final
# check; who recorded it entered the data.
PACKAGER = coding(DISPENSE_PERFORMER, "packager", "Packager")
FINAL_CHECKER = coding(DISPENSE_PERFORMER, "finalchecker", "Final Checker")
DATA_ENTERER = coding(DISPENSE_PERFORMER, "dataenterer", "Data Enterer")
