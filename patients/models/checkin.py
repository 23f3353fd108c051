"""The home nurse's daily check: temperature, the warning signs, handwriting and the pump.
Its red flags (patients/services/checkins.py) reach the oncologist on call as a grade does."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.triggers import PATIENT_COLUMN, change_trigger

from ..vitals import TemperatureUnit
from ..warning_signs import BY_KEY
from .course import TreatmentCourse
from .record import Patient


class HomeCheckIn(models.Model):
    class PumpStatus(models.TextChoices):
        RUNNING = "running", "Running normally"
        ALARM = "alarm", "Alarming"
        STOPPED = "stopped", "Stopped"
        DISCONNECTED = "disconnected", "Disconnected or leaking"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="check_ins")
    # The course it was made in, as an assessment's: a seizure reported here counts towards the
    # course's "more than one seizure" as one seen at an assessment does (CLINICAL.md).
    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, null=True, blank=True, related_name="check_ins"
    )
    checked_at = models.DateTimeField("checked at")
    temperature = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("25")), MaxValueValidator(Decimal("113"))],
    )
    temperature_unit = models.CharField("measured in", max_length=1, choices=TemperatureUnit.choices)
    temperature_celsius = models.DecimalField(max_digits=4, decimal_places=1, editable=False)
    signs = models.JSONField("warning signs", default=list, blank=True, help_text="Keys of patients.warning_signs.")
    handwriting_changed = models.BooleanField("handwriting changed from the usual", default=False)
    pump_status = models.CharField("pump", max_length=20, choices=PumpStatus.choices)
    note = models.CharField(max_length=1000, blank=True)
    red_flags = models.JSONField(default=list, editable=False, help_text="What routed it to the oncologist on call.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-checked_at", "-pk"]
        indexes = [models.Index(fields=["patient", "-checked_at"])]
        triggers = [change_trigger(patient=PATIENT_COLUMN)]

    def __str__(self) -> str:
        return f"Home check of {self.patient} at {self.checked_at:%Y-%m-%d %H:%M}"

    @property
    def sign_labels(self) -> list[str]:
        """The warning signs in words, as the form asked them."""
        return [BY_KEY[key].label if key in BY_KEY else key for key in self.signs]
