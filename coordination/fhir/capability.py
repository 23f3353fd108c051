"""The CapabilityStatement (GET /fhir/R4/metadata), written from the catalogue.

fhirVersion 4.3.0 (R4B): fhir.resources 8.3, which validates everything this server emits,
ships R5, R4B and STU3 models but not R4 4.0.1. The resources served here (Patient, CareTeam,
CarePlan, Encounter, MedicationDispense with its contained Medication, Task, Communication,
Observation, Bundle) are used only through elements that R4 and R4B share, so an R4 client reads
them as R4.
"""

from django.utils import timezone

from . import codes
from . import resources as fhir
from .catalogue import CATALOGUE
from .search import COMMON_PARAMS

FHIR_VERSION = "4.3.0"
SEARCH_TYPES = {"_count": "number", "_offset": "number", "_format": "string", "_id": "token"}


def _param_type(name: str) -> str:
    if name in SEARCH_TYPES:
        return SEARCH_TYPES[name]
    return "reference" if name in ("patient", "subject") else "token"


def capability_statement(base_url: str) -> dict:
    resources = []
    for kind in CATALOGUE.values():
        params = {**COMMON_PARAMS, **kind.params}
        entry = {
            "type": kind.name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            # meta.versionId on every resource, but no history (`_history`) of past versions; a
            # read answers If-None-Match with 304 (coordination.fhir.versions).
            "versioning": "versioned",
            "readHistory": False,
            "conditionalRead": "not-match",
            "searchParam": [
                {"name": name, "type": _param_type(name), "documentation": text} for name, text in params.items()
            ],
        }
        if kind.name == "Patient":
            entry["operation"] = [
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
            ]
        resources.append(entry)
    return fhir.validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": fhir.instant(timezone.now()),
            "publisher": "Care Coordination Tracker",
            "kind": "instance",
            "software": {"name": "Care Coordination Tracker"},
            "implementation": {"description": "Read and search of the care coordination record", "url": base_url},
            "fhirVersion": FHIR_VERSION,
            "format": ["json", "application/fhir+json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": f"Codes without a standard code come from {codes.PROJECT_CODES}.",
                    "security": {
                        "service": [{"text": "A signed-in session or a personal token (see the README)"}],
                        "description": "Only the patients the caller may see in the product are served.",
                    },
                    "resource": resources,
                }
            ],
        }
    )
