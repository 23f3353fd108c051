"""Bedside assessments for the two boxed warnings, CRS and ICANS, and the grades they give.

A nurse (or a home nurse under an access grant) records what they saw; the service
(patients/services/toxicity.py) grades it by the ASTCT consensus (patients/grading.py) and keeps
the computed grades with the rule that gave them. The oncologist then confirms the grades or
changes them with a reason; the confirmed grade is the one that counts.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import register_renamed_records
from accounts.triggers import PATIENT_COLUMN, change_trigger

from ..grading import (
    CAPD_MAX,
    Consciousness,
    MotorFinding,
    OxygenDevice,
    RaisedPressure,
    Seizure,
    Vasopressors,
)
from ..vitals import TemperatureUnit
from .course import CareEvent, TreatmentCourse
from .record import Patient

# The ICE score's five parts and their maxima (10 in all).
ICE_PARTS = {
    "ice_orientation": 4,  # year, month, city, hospital
    "ice_naming": 3,  # three objects
    "ice_commands": 1,  # follows simple commands
    "ice_writing": 1,  # writes a standard sentence
    "ice_attention": 1,  # counts back from 100 by ten
}
GRADES = [(grade, f"Grade {grade}" if grade else "None") for grade in range(5)]


def _ice_part(label: str, maximum: int) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        f"{label} (0–{maximum})",
        null=True,
        blank=True,
        validators=[MaxValueValidator(maximum, f"At most {maximum} point{'s' if maximum > 1 else ''}.")],
    )


class Assessment(models.Model):
    TemperatureUnit = TemperatureUnit

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments")
    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, null=True, blank=True, related_name="assessments"
    )
    event = models.ForeignKey(
        CareEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assessments",
        help_text="The event the assessment was due for, if any.",
    )
    assessed_at = models.DateTimeField("assessed at")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    # --- vital signs (CRS) ---
    temperature = models.DecimalField(
        "temperature",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("25")), MaxValueValidator(Decimal("113"))],
    )
    temperature_unit = models.CharField(max_length=1, choices=TemperatureUnit.choices, blank=True)
    temperature_celsius = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True, editable=False)
    fever_masked = models.BooleanField(
        "on antipyretics or anti-cytokine treatment",
        default=False,
        help_text="Fever is then no longer needed to grade CRS (ASTCT).",
    )
    systolic_bp = models.PositiveSmallIntegerField(
        "systolic blood pressure (mmHg)", null=True, blank=True, validators=[MaxValueValidator(300)]
    )
    diastolic_bp = models.PositiveSmallIntegerField(
        "diastolic blood pressure (mmHg)", null=True, blank=True, validators=[MaxValueValidator(200)]
    )
    hypotension = models.BooleanField("hypotension", default=False, help_text="Low blood pressure for this patient.")
    heart_rate = models.PositiveSmallIntegerField(
        "heart rate (/min)", null=True, blank=True, validators=[MaxValueValidator(300)]
    )
    oxygen_saturation = models.PositiveSmallIntegerField(
        "oxygen saturation (%)",
        null=True,
        blank=True,
        validators=[
            MinValueValidator(50, "An oxygen saturation below 50 is not plausible: check it."),
            MaxValueValidator(100, "An oxygen saturation is at most 100."),
        ],
    )
    oxygen_device = models.CharField(max_length=30, choices=OxygenDevice.choices, default=OxygenDevice.NONE)
    oxygen_flow_l_min = models.DecimalField(
        "oxygen flow (L/min)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MaxValueValidator(Decimal("80"))],
    )
    vasopressors = models.CharField(max_length=10, choices=Vasopressors.choices, default=Vasopressors.NONE)

    # --- the neurological screen (ICANS) ---
    uses_capd = models.BooleanField(
        "screened with the CAPD", default=False, editable=False, help_text="Children under 12: the CAPD, not the ICE."
    )
    ice_orientation = _ice_part("orientation: year, month, city, hospital", ICE_PARTS["ice_orientation"])
    ice_naming = _ice_part("naming three objects", ICE_PARTS["ice_naming"])
    ice_commands = _ice_part("following simple commands", ICE_PARTS["ice_commands"])
    ice_writing = _ice_part("writing a standard sentence", ICE_PARTS["ice_writing"])
    ice_attention = _ice_part("attention: counting back from 100 by 10", ICE_PARTS["ice_attention"])
    ice_unable = models.BooleanField(
        "unarousable, cannot be screened", default=False, help_text="Grade 4 ICANS whatever else is found."
    )
    capd_score = models.PositiveSmallIntegerField(
        f"CAPD score (0–{CAPD_MAX})",
        null=True,
        blank=True,
        validators=[MaxValueValidator(CAPD_MAX, f"At most {CAPD_MAX} points.")],
    )
    consciousness = models.CharField(
        "level of consciousness", max_length=30, choices=Consciousness.choices, default=Consciousness.ALERT
    )
    seizure = models.CharField(max_length=20, choices=Seizure.choices, default=Seizure.NONE)
    motor_finding = models.CharField(
        "motor findings", max_length=30, choices=MotorFinding.choices, default=MotorFinding.NONE
    )
    raised_pressure = models.CharField(
        "raised intracranial pressure", max_length=20, choices=RaisedPressure.choices, default=RaisedPressure.NONE
    )
    handwriting_note = models.CharField(
        "handwriting sample", max_length=500, blank=True, help_text="Any change from the patient's usual hand."
    )
    note = models.TextField(blank=True, max_length=2000)

    # --- the grades: computed by the consensus, then confirmed or changed by the oncologist ---
    crs_grade = models.PositiveSmallIntegerField("CRS grade (computed)", choices=GRADES, editable=False)
    crs_rule = models.CharField(max_length=200, editable=False)
    icans_grade = models.PositiveSmallIntegerField("ICANS grade (computed)", choices=GRADES, editable=False)
    icans_rule = models.CharField(max_length=200, editable=False)
    confirmed_crs_grade = models.PositiveSmallIntegerField("CRS grade", choices=GRADES, null=True, blank=True)
    confirmed_icans_grade = models.PositiveSmallIntegerField("ICANS grade", choices=GRADES, null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirm_reason = models.CharField(
        "reason for a change",
        max_length=500,
        blank=True,
        help_text="Needed when a grade differs from the computed one.",
    )

    class Meta:
        ordering = ["-assessed_at", "-pk"]
        indexes = [models.Index(fields=["patient", "-assessed_at"])]
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.CheckConstraint(condition=Q(crs_grade__lte=4) & Q(icans_grade__lte=4), name="grades_0_to_4"),
            models.CheckConstraint(
                condition=Q(oxygen_saturation__isnull=True) | Q(oxygen_saturation__lte=100),
                name="oxygen_saturation_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True)
                | (Q(confirmed_crs_grade__isnull=False) & Q(confirmed_icans_grade__isnull=False)),
                name="confirmed_assessment_has_grades",
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment of {self.patient} at {self.assessed_at:%Y-%m-%d %H:%M}"

    @property
    def ice_score(self) -> int | None:
        """The ICE score (0–10) when all five parts were scored."""
        parts = [getattr(self, name) for name in ICE_PARTS]
        return None if any(part is None for part in parts) else sum(parts)

    @property
    def crs(self) -> int:
        """The grade that counts: the oncologist's once confirmed, the computed one until then."""
        return self.crs_grade if self.confirmed_crs_grade is None else self.confirmed_crs_grade

    @property
    def icans(self) -> int:
        return self.icans_grade if self.confirmed_icans_grade is None else self.confirmed_icans_grade

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


# The names that the audit rows of assessments were written with before the model took DESIGN.md's
# name (migration 0027): the change triggers wrote the table, the reads the label. The audit log's
# page shows those rows as assessments.
register_renamed_records(
    {
        "patients_toxicityassessment": Assessment._meta.db_table,
        "patients.toxicityassessment": Assessment._meta.label_lower,
    }
)
