"""What the FHIR server serves: for each resource type, where its resources come from (sources:
querysets of the product's records, narrowed to the patients that the user sees) and which
search parameters it answers. The CapabilityStatement is written from this table, so that it
never promises what the server does not do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When

from checklists.models import Task
from coordination.handoffs.selectors import handoffs_visible_to
from coordination.watch.models import ToxicityAlert
from patients.models import (
    Assessment,
    CareEvent,
    CareTeamMember,
    Cycle,
    InfusionBag,
    Interruption,
    Patient,
    TreatmentCourse,
    Weighing,
)
from patients.models.toxicity import ICE_PARTS

from . import codes
from . import resources as fhir

NOTHING = Q(pk__in=[])


def _statuses(mapping: dict[str, str]) -> Callable[[list[str]], Q]:
    """The rows whose status maps (`mapping`: the product's status → FHIR's) to one asked for."""
    return lambda options: Q(status__in=[ours for ours, theirs in mapping.items() if theirs in options])


def _conditions(conditions: dict[str, Q]) -> Callable[[list[str]], Q]:
    """The rows that meet the condition (`conditions`: FHIR's status → Q) of a status asked for."""

    def found(options: list[str]) -> Q:
        rows = NOTHING
        for option in options:
            rows |= conditions.get(option, NOTHING)
        return rows

    return found


# resources.checklist_task_status, as conditions on the rows.
_checklist_task_statuses = _conditions(
    {
        "ready": Q(status="open", assignee__isnull=True),
        "accepted": Q(status="open", assignee__isnull=False),
        "completed": Q(status="done", hard_stop_failed=False),
        "failed": Q(status="done", hard_stop_failed=True) | Q(status="not_done"),
        "cancelled": Q(status__in=["not_applicable", "cancelled"]),
    }
)
# resources.bag_dispense_status, as conditions on the rows.
_OUT_OF_USE = Q(decision__in=InfusionBag.OUT_OF_USE)
_bag_statuses = _conditions(
    {
        "cancelled": _OUT_OF_USE,
        "on-hold": InfusionBag.AWAITING_DECISION,
        "completed": ~_OUT_OF_USE & ~InfusionBag.AWAITING_DECISION,
    }
)


def _identifiers(options: list[str]) -> Q:
    """The patients whose MRN is one asked for (`value`, or `system|value` with the system of the
    patient's organisation: codes.mrn_system), as search._identifier_matches tells it of resources."""
    found = NOTHING
    for token in options:
        system, bar, value = token.rpartition("|")
        if "\x00" in token:  # PostgreSQL's text cannot hold one, and no MRN has one
            continue
        if not bar or not system:
            found |= Q(mrn=value)
            continue
        organisation = system.removeprefix(f"{codes.MRN_SYSTEM}/")
        if organisation != system and re.fullmatch(r"[1-9][0-9]{0,17}", organisation):  # as mrn_system writes it
            found |= Q(mrn=value, organisation_id=int(organisation))
    return found


def _coded(coding: dict) -> Callable[[list[str]], Q]:
    """Every row of a source whose resources all carry `coding`, or none."""
    return lambda options: Q() if any(codes.token_matches([coding], token) for token in options) else NOTHING


@dataclass(frozen=True, eq=False)  # hashed by identity: a key of `ResourceType.pks_for`
class Source:
    """Rows of one model (`rows(user, patients)`, the patients a queryset the user may see),
    each made into one or more resources whose ids start with `prefix` and the row's pk."""

    prefix: str
    rows: Callable[[object, QuerySet], QuerySet]
    to_resources: Callable[[object], list[dict]]
    # One resource per row: a search without filters is then counted and paged by the database.
    one_per_row: bool = True
    # Else, when set, the number of resources that a row makes, as an expression on its rows:
    # the database then counts them, and a page builds only the rows that it shows.
    resources_per_row: Callable[[], Any] | None = None
    # Search parameters that the database can answer for this source: name → the condition on
    # its rows for the values asked (ORed). A search with only these is paged by the database.
    db_filters: dict[str, Callable[[list[str]], Q]] = field(default_factory=dict)
    # Whether a reader who sees the patient only through an access grant (a receiving unit during
    # a handoff, the oncologist an urgent alert reached) gets these rows. Such a reader's page
    # shows the patient, the care team, the weight and toxicity summary and the handoffs, not the
    # record (patients.selectors.sees_only_through_grant); FHIR answers the same.
    through_grant: bool = False

    def queryset(self, user, patients: QuerySet, pks: set[int] | None) -> QuerySet:
        if not self.through_grant:
            patients = patients.filter(pk__in=Patient.objects.visible_to(user, grants=False).values("pk"))
        rows = self.rows(user, patients)
        return rows if pks is None else rows.filter(pk__in=pks)

    @property
    def paged_by_database(self) -> bool:
        return self.one_per_row or self.resources_per_row is not None

    def resources(self, user, patients: QuerySet, pks: set[int] | None) -> Iterator[tuple[int, dict]]:
        return self.resources_of(self.queryset(user, patients, pks))

    def resources_of(self, rows) -> Iterator[tuple[int, dict]]:
        for row in rows:
            patient_id = row.pk if isinstance(row, Patient) else row.patient_id
            for item in self.to_resources(row):
                yield patient_id, item


@dataclass(frozen=True)
class ResourceType:
    name: str
    sources: tuple[Source, ...]
    # Search parameters beyond the common ones (_id, _count, _offset, _format): name → what it matches.
    params: dict[str, str]

    def pks_for(self, ids: list[str]) -> dict[Source, set[int]]:
        """The rows that these resource ids can come from, by source (an id of no source: none)."""
        found: dict[Source, set[int]] = {source: set() for source in self.sources}
        for resource_id in ids:
            for source in self.sources:
                match = re.fullmatch(rf"{re.escape(source.prefix)}(\d{{1,18}})(-[a-z0-9-]+)?", resource_id)
                if match:
                    found[source].add(int(match.group(1)))
        return found


def _members_who_count() -> QuerySet:
    """The care team as a system acting on it must read it (CareTeamMemberQuerySet.who_count)."""
    return CareTeamMember.objects.who_count().select_related("user").order_by("pk")


def _stopped_for_good_at() -> Subquery:
    """When the course was stopped for good (its permanent interruption), for its cycles' status."""
    permanent = Interruption.objects.filter(course=OuterRef("pk"), permanent=True).order_by("stopped_at")
    return Subquery(permanent.values("stopped_at")[:1])


def _observations_of_an_assessment():
    """How many Observations resources.assessment_observations makes of an assessment: its CRS
    and ICANS grades always; each vital sign measured; the blood pressure when both parts are;
    the ICE score when all its parts are (Assessment.ice_score)."""

    def when(*fields):
        return Case(When(Q(**{f"{name}__isnull": False for name in fields}), then=Value(1)), default=Value(0))

    return (
        Value(2)
        + when("temperature_celsius")
        + when("heart_rate")
        + when("oxygen_saturation")
        + when("systolic_bp", "diastolic_bp")
        + when(*ICE_PARTS)
    )


def _one(resource_builder):
    return lambda row: [resource_builder(row)]


PATIENT_SUBJECT = {"patient": "the patient (an id or Patient/id)", "subject": "the same, as Patient/id"}
STATUS = {"status": "the resource's status code"}

CATALOGUE = {
    kind.name: kind
    for kind in [
        ResourceType(
            "Patient",
            (
                Source(
                    "",
                    lambda user, patients: patients.select_related("organisation", "unit").order_by("pk"),
                    _one(fhir.patient_resource),
                    db_filters={"identifier": _identifiers},
                    through_grant=True,
                ),
            ),
            {"identifier": "the MRN (value, or system|value)"},
        ),
        ResourceType(
            "CareTeam",
            (
                Source(
                    "",
                    lambda user, patients: (
                        patients.select_related("unit")
                        .prefetch_related(Prefetch("care_team", queryset=_members_who_count()))
                        .order_by("pk")
                    ),
                    _one(fhir.care_team_resource),
                    through_grant=True,
                ),
            ),
            {**PATIENT_SUBJECT, **STATUS},
        ),
        ResourceType(
            "CarePlan",
            (
                Source(
                    "",
                    lambda user, patients: (
                        TreatmentCourse.objects.filter(patient__in=patients)
                        .annotate(stopped_for_good_at=_stopped_for_good_at())
                        .select_related("patient__unit")
                        .prefetch_related(Prefetch("cycles", queryset=Cycle.objects.order_by("number")))
                        .order_by("pk")
                    ),
                    _one(fhir.care_plan_resource),
                    db_filters={"status": _statuses(fhir.COURSE_STATUS)},
                ),
            ),
            {**PATIENT_SUBJECT, **STATUS},
        ),
        ResourceType(
            "Encounter",
            (
                Source(
                    "",
                    lambda user, patients: CareEvent.objects.filter(patient__in=patients).order_by("planned_at", "pk"),
                    _one(fhir.encounter_resource),
                    db_filters={"status": _statuses(fhir.EVENT_STATUS)},
                ),
            ),
            {**PATIENT_SUBJECT, **STATUS},
        ),
        ResourceType(
            "MedicationDispense",
            (
                Source(
                    "bag-",
                    lambda user, patients: (
                        InfusionBag.objects.filter(patient__in=patients)
                        .select_related(
                            "event__cycle__course", "compounded_by", "checked_by", "recorded_by", "decided_by"
                        )
                        .order_by("recorded_at", "pk")
                    ),
                    _one(fhir.bag_dispense_resource),
                    db_filters={"status": _bag_statuses},
                ),
            ),
            {**PATIENT_SUBJECT, **STATUS},
        ),
        ResourceType(
            "Task",
            (
                Source(
                    "task-",
                    lambda user, patients: (
                        Task.objects.filter(patient__in=patients)
                        .select_related("event__cycle", "assignee")
                        .order_by("due_at", "pk")
                    ),
                    _one(fhir.checklist_task_resource),
                    db_filters={"status": _checklist_task_statuses, "code": _coded(codes.TASK_CHECKLIST)},
                ),
                Source(
                    "handoff-",
                    lambda user, patients: (
                        handoffs_visible_to(user)
                        .filter(patient__in=patients)
                        .select_related("from_person", "from_unit", "to_person", "to_unit")
                        .order_by("created_at", "pk")
                    ),
                    _one(fhir.handoff_task_resource),
                    db_filters={
                        "status": _statuses(fhir.HANDOFF_STATUS),
                        "code": _coded(codes.TASK_HANDOFF),
                    },
                    through_grant=True,
                ),
            ),
            {**PATIENT_SUBJECT, **STATUS, "code": "checklist-task or handoff (system|code or code)"},
        ),
        ResourceType(
            "Communication",
            (
                Source(
                    "handoff-",
                    lambda user, patients: (
                        handoffs_visible_to(user)
                        .filter(patient__in=patients, acknowledged_at__isnull=False)
                        .select_related("acknowledged_by", "from_person", "to_unit")
                        .order_by("acknowledged_at", "pk")
                    ),
                    _one(fhir.handoff_acknowledgement_resource),
                    through_grant=True,
                ),
                Source(
                    "alert-",
                    lambda user, patients: (
                        ToxicityAlert.objects.filter(patient__in=patients, acknowledged_at__isnull=False)
                        .select_related("acknowledged_by")
                        .order_by("acknowledged_at", "pk")
                    ),
                    _one(fhir.alert_acknowledgement_resource),
                    through_grant=True,
                ),
            ),
            {**PATIENT_SUBJECT, **STATUS, "category": "handoff-acknowledgement or alert-acknowledgement"},
        ),
        ResourceType(
            "Observation",
            (
                Source(
                    "weighing-",
                    lambda user, patients: Weighing.objects.filter(patient__in=patients).order_by("measured_at", "pk"),
                    fhir.weighing_observations,
                    through_grant=True,
                ),
                Source(
                    "assessment-",
                    lambda user, patients: (
                        Assessment.objects.filter(patient__in=patients)
                        .select_related("recorded_by", "confirmed_by")
                        .order_by("assessed_at", "pk")
                    ),
                    fhir.assessment_observations,
                    one_per_row=False,
                    resources_per_row=_observations_of_an_assessment,
                    through_grant=True,
                ),
            ),
            {
                **PATIENT_SUBJECT,
                **STATUS,
                "code": "LOINC or project code (system|code or code)",
                "category": "vital-signs or survey",
            },
        ),
    ]
}


def served_through_grant(reference: str) -> bool:
    """Whether a reference (`Type/id`) names a resource that a reader through an access grant is
    served (Source.through_grant): their `$everything` cuts the others, page after page."""
    resource_type, _, resource_id = reference.partition("/")
    kind = CATALOGUE.get(resource_type)
    return kind is not None and any(source.through_grant and pks for source, pks in kind.pks_for([resource_id]).items())


def visible_patients(user) -> QuerySet:
    """The one door to patient data: the access policy."""
    return Patient.objects.visible_to(user)
