"""The clinical record, read-only: patients, courses, cycles, care events, checklists, stops of the
infusion, the pharmacy's bags, the toxicity watch (assessments, pump events, home checks), and the
regimen library. Writes go through the pages (and their services)."""

from operator import attrgetter

import django_filters
from django.db.models import Prefetch
from rest_framework import viewsets

from checklists.models import Checklist
from checklists.selectors import events_visible_to
from patients.models import (
    Assessment,
    CareEvent,
    CareTeamMember,
    Cycle,
    HomeCheckIn,
    InfusionBag,
    Interruption,
    Patient,
    PumpEvent,
    Regimen,
    TreatmentCourse,
)
from patients.selectors import patients_for_user

from .. import serializers
from ..filters import filters_for
from .base import PatientData


def on_record(user):
    """The patients a user sees on the record (care team, unit), not only through a handoff's
    grant: as on the pages, a receiving unit sees the handoff, not the plan and its work."""
    return Patient.objects.visible_to(user, grants=False)


def on_the_watch(user):
    """The patients whose toxicity watch a user sees: everyone who sees the patient, a receiving
    unit through its grant included, as the assessments page (patients:assessments) opens to them."""
    return Patient.objects.visible_to(user)


class PatientViewSet(PatientData):
    """Patients the caller may see, with their care team."""

    serializer_class = serializers.PatientOut
    audit_type = "patients.patient"
    patient_of = attrgetter("pk")
    filterset_class = filters_for(Patient, ids={"unit": "unit"}, fields=("mrn",))

    def visible(self, user):
        # The members who count, as FHIR's CareTeam and the patient page list them.
        team = CareTeamMember.objects.who_count().select_related("user").order_by("role", "pk")
        return patients_for_user(user).prefetch_related(Prefetch("care_team", queryset=team))


class CourseViewSet(PatientData):
    serializer_class = serializers.CourseOut
    audit_type = "patients.treatmentcourse"
    filterset_class = filters_for(TreatmentCourse, ids={"patient": "patient"}, fields=("status",))

    def visible(self, user):
        return TreatmentCourse.objects.filter(patient__in=on_record(user))


class CycleViewSet(PatientData):
    serializer_class = serializers.CycleOut
    audit_type = "patients.cycle"
    patient_of = attrgetter("course.patient_id")
    filterset_class = filters_for(Cycle, ids={"patient": "course__patient", "course": "course"})

    def visible(self, user):
        return Cycle.objects.filter(course__patient__in=on_record(user)).select_related("course")


class CareEventViewSet(PatientData):
    serializer_class = serializers.CareEventOut
    audit_type = "patients.careevent"
    ordering = ("planned_at", "id")
    filterset_class = filters_for(CareEvent, ids={"patient": "patient", "cycle": "cycle"}, fields=("kind", "status"))

    def visible(self, user):
        return events_visible_to(user)


class ChecklistViewSet(PatientData):
    serializer_class = serializers.ChecklistOut
    audit_type = "checklists.checklist"
    patient_of = attrgetter("event.patient_id")
    filterset_class = filters_for(Checklist, ids={"patient": "event__patient", "event": "event"})

    def visible(self, user):
        return (
            Checklist.objects.filter(event__patient__in=on_record(user))
            .select_related("event", "template", "version")
            .prefetch_related("tasks")
        )


class InterruptionViewSet(PatientData):
    """Stops of the infusion and their restarts (the course plan's, on the patient's record),
    oldest first."""

    serializer_class = serializers.InterruptionOut
    audit_type = "patients.interruption"
    ordering = ("stopped_at", "id")
    filterset_class = filters_for(Interruption, ids={"patient": "patient", "course": "course", "cycle": "cycle"})

    def visible(self, user):
        return Interruption.objects.filter(patient__in=on_record(user)).select_related("stopped_by", "restarted_by")


class BagFilter(filters_for(InfusionBag, ids={"patient": "patient", "event": "event"})):
    # "true" or "false" and nothing else: a typo must be a 400, not the whole list.
    needs_decision = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="waiting",
        label="Only the bags waiting for a decision (true), or only the others (false).",
        error_messages={"invalid_choice": "Say true or false."},
    )

    def waiting(self, queryset, name, value):
        waiting = InfusionBag.AWAITING_DECISION
        return queryset.filter(waiting) if value == "true" else queryset.exclude(waiting)


class BagViewSet(PatientData):
    """Bags the pharmacy prepared, each for an event (as on the event's page: the course plan's, not
    a handoff's grant), and what became of those whose event was cancelled; newest first. Bags are
    recorded and decided on the pages."""

    serializer_class = serializers.BagOut
    audit_type = "patients.infusionbag"
    filterset_class = BagFilter

    def visible(self, user):
        return InfusionBag.objects.filter(patient__in=on_record(user)).select_related(
            "event", "compounded_by", "checked_by", "recorded_by", "decided_by"
        )


class AssessmentViewSet(PatientData):
    """CRS and ICANS assessments with their computed and confirmed grades."""

    serializer_class = serializers.AssessmentOut
    audit_type = "patients.assessment"
    filterset_class = filters_for(Assessment, ids={"patient": "patient", "course": "course"})

    def visible(self, user):
        return Assessment.objects.filter(patient__in=on_the_watch(user))


class PumpEventViewSet(PatientData):
    """Pump and line events (alarms, disconnections, leaks), marked when out of hours; oldest first."""

    serializer_class = serializers.PumpEventOut
    audit_type = "patients.pumpevent"
    ordering = ("occurred_at", "id")
    filterset_class = filters_for(PumpEvent, ids={"patient": "patient", "course": "course"}, fields=("kind",))

    def visible(self, user):
        return PumpEvent.objects.filter(patient__in=on_the_watch(user)).select_related("recorded_by")


class CheckInViewSet(PatientData):
    """Daily home checks (temperature, warning signs, the pump) and their red flags; oldest first."""

    serializer_class = serializers.CheckInOut
    audit_type = "patients.homecheckin"
    ordering = ("checked_at", "id")
    filterset_class = filters_for(HomeCheckIn, ids={"patient": "patient"}, fields=("pump_status",))

    def visible(self, user):
        return HomeCheckIn.objects.filter(patient__in=on_the_watch(user)).select_related("recorded_by")


class RegimenViewSet(viewsets.ReadOnlyModelViewSet):
    """The regimen library and its versions (no patient data), by id."""

    serializer_class = serializers.RegimenOut
    queryset = Regimen.objects.prefetch_related("versions")
    ordering = ("id",)
