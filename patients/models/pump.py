"""Pump and line events at the bedside or at home: an alarm, a disconnection, a leak, a dislodged
needle. Most happen out of hours (the seed article), so each is marked by the unit's office hours;
a stop of the infusion opens an interruption (patients/services/pump.py), which moves the plan.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.triggers import PATIENT_COLUMN, change_trigger

from .course import Interruption, TreatmentCourse
from .record import Patient


class PumpEvent(models.Model):
    class Kind(models.TextChoices):
        OCCLUSION_ALARM = "occlusion_alarm", "Alarm: occlusion"
        AIR_IN_LINE_ALARM = "air_in_line_alarm", "Alarm: air in line"
        LOW_BATTERY_ALARM = "low_battery_alarm", "Alarm: low battery"
        COMPLETE_EARLY = "complete_early", "Infusion complete early"
        COMPLETE_LATE = "complete_late", "Infusion not complete when due"
        DISCONNECTION = "disconnection", "Disconnection"
        LEAK = "leak", "Leak"
        DISLODGED_NEEDLE = "dislodged_needle", "Dislodged needle or catheter"

    class Reporter(models.TextChoices):
        NURSE = "nurse", "The nurse, who saw it"
        CAREGIVER = "caregiver", "The patient or caregiver, through the nurse"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="pump_events")
    course = models.ForeignKey(TreatmentCourse, on_delete=models.PROTECT, related_name="pump_events")
    kind = models.CharField("what happened", max_length=30, choices=Kind.choices)
    occurred_at = models.DateTimeField("happened at")
    reported_by = models.CharField("reported by", max_length=20, choices=Reporter.choices)
    volume_left_ml = models.DecimalField(
        "volume left in the bag (mL)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
    )
    action_taken = models.CharField("what was done", max_length=500)
    infusion_stopped_at = models.DateTimeField("infusion stopped at", null=True, blank=True)
    infusion_restarted_at = models.DateTimeField("infusion restarted at", null=True, blank=True)
    interruption = models.ForeignKey(
        Interruption, on_delete=models.SET_NULL, null=True, blank=True, related_name="pump_events"
    )
    out_of_hours = models.BooleanField(default=False, editable=False, help_text="Outside the unit's office hours.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["patient", "-occurred_at"])]
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.CheckConstraint(
                condition=Q(infusion_restarted_at__isnull=True)
                | (Q(infusion_stopped_at__isnull=False) & Q(infusion_restarted_at__gt=models.F("infusion_stopped_at"))),
                name="pump_restart_after_its_stop",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"
