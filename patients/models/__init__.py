"""The clinical record: patients and their care teams, regimens, courses and their events."""

from .checkin import HomeCheckIn
from .course import MAX_PLANNED_CYCLES, CareEvent, Cycle, InfusionBag, Interruption, TreatmentCourse, Weighing
from .pump import PumpEvent
from .record import DEMOGRAPHICS, AccessGrant, CareTeamMember, Indication, Patient, PatientQuerySet, Setting, Transfer
from .regimen import (
    BagOption,
    Phase,
    PremedicationRule,
    PublishedRegimenError,
    Regimen,
    RegimenCycleRule,
    RegimenVersion,
)
from .toxicity import Assessment

__all__ = [
    "DEMOGRAPHICS",
    "MAX_PLANNED_CYCLES",
    "AccessGrant",
    "BagOption",
    "CareEvent",
    "CareTeamMember",
    "HomeCheckIn",
    "Cycle",
    "Indication",
    "InfusionBag",
    "Interruption",
    "Patient",
    "PatientQuerySet",
    "Phase",
    "PremedicationRule",
    "PublishedRegimenError",
    "PumpEvent",
    "Regimen",
    "RegimenCycleRule",
    "RegimenVersion",
    "Setting",
    "Assessment",
    "TreatmentCourse",
    "Transfer",
    "Weighing",
]
