"""The toxicity watch around the clock: who is on call, and the urgent alerts a grade sets off.

An alert goes to the first-call oncologist on the patient's unit's roster now and to the unit's
coordinator on call; it must be acknowledged, and unacknowledged after the unit's set minutes it
goes to the next oncologist on the roster (coordination/watch/services.py, run by the sweep).
Delivery (email and the bell) goes through the reminder ledger: once, never twice, through crashes.
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Role, Unit
from accounts.triggers import PATIENT_COLUMN, change_trigger, patient_via
from patients.models import Assessment, Patient, PumpEvent

# Roles a roster names: the oncologist decides, the coordinator organises, a home agency's nurse
# answers the caregivers at night.
ON_CALL_ROLES = [(role, role.label) for role in (Role.ONCOLOGIST, Role.COORDINATOR, Role.NURSE)]


class WatchUnitRule(models.Model):
    """A unit's alert policy: from which CRS grade an assessment calls the oncologist, and how long
    an alert waits for acknowledgement. A unit without a row uses the defaults shown on a new one."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="watch_rule")
    acknowledge_minutes = models.PositiveSmallIntegerField(
        "urgent alerts: acknowledge within (minutes)",
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
        help_text="Unacknowledged after this long, an alert goes to the next oncologist on the roster.",
    )
    # A unit's policy, not the label's: the label asks for CRS and neurological toxicity to be
    # watched and graded (ASTCT), and leaves to the unit which grade brings the doctor at once.
    alert_from_crs_grade = models.PositiveSmallIntegerField(
        "urgent alerts: from CRS grade",
        default=2,
        choices=[(grade, f"Grade {grade}") for grade in (1, 2, 3)],
        help_text="An assessment with CRS of this grade or higher raises an urgent alert. Any ICANS grade, any "
        "seizure and a home check's red flags always do; grade 3 and 4 always ask the oncologist to act.",
    )

    class Meta:
        triggers = [change_trigger(patient=None)]

    def __str__(self) -> str:
        return f"Watch rule of {self.unit}"

    @classmethod
    def for_unit(cls, unit: Unit) -> "WatchUnitRule":
        try:
            return unit.watch_rule
        except cls.DoesNotExist:
            return cls(unit=unit)

    @property
    def crs_words(self) -> str:
        """Which CRS raises an alert, as the pages say it."""
        return "any CRS" if self.alert_from_crs_grade <= 1 else f"CRS grade {self.alert_from_crs_grade} or more"

    @property
    def acknowledge_within(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.acknowledge_minutes)


class OnCallShift(models.Model):
    """One person on call for a role at a unit, from `starts_at` to `ends_at` (stored in UTC,
    entered and shown on the unit's clock, so that a shift across a clock change keeps its real
    length). Rank 1 is first call; 2 the next person an unacknowledged alert goes to, and so on."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="on_call_shifts")
    role = models.CharField(max_length=20, choices=ON_CALL_ROLES)
    rank = models.PositiveSmallIntegerField(
        "call order", default=1, validators=[MinValueValidator(1), MaxValueValidator(5)], help_text="1: first call."
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="on_call_shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["starts_at", "role", "rank"]
        indexes = [models.Index(fields=["unit", "role", "ends_at"], name="on_call_lookup_idx")]
        triggers = [change_trigger(patient=None)]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after_it_starts"),
        ]

    def __str__(self) -> str:
        return f"{self.user} on call ({self.get_role_display()}, {self.rank}) {self.starts_at:%Y-%m-%d %H:%M}"


class ToxicityAlert(models.Model):
    """An urgent alert: what set it off, who it went to, who acknowledged it, and what the
    oncologist is asked to record (an interruption, a stop for good)."""

    class Ask(models.TextChoices):
        NOTHING = "", "Assess and decide"
        INTERRUPTION = "interruption", "Record an interruption (grade 3)"
        # Every case signal_of asks it for: an ICANS grade 3 at the low dose or recurring too
        # (CLINICAL.md), whose alert said "grade 4" while its reason said grade 3.
        STOP_FOR_GOOD = (
            "stop_for_good",
            "Stop for good (grade 4, a second seizure, or ICANS grade 3 at the low dose or recurring)",
        )

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="toxicity_alerts")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", help_text="Whose roster routes it.")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts")
    pump_event = models.ForeignKey(PumpEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="alerts")
    reason = models.CharField(max_length=300)
    ask = models.CharField(max_length=20, choices=Ask.choices, blank=True)
    # The grades it alerts for now (CRS from the unit's alert grade; 0: none, or not an assessment's):
    # a confirmation of its assessment alerts again only for more than these (services._on_confirmed).
    crs_grade = models.PositiveSmallIntegerField("CRS grade alerted for", default=0)
    icans_grade = models.PositiveSmallIntegerField("ICANS grade alerted for", default=0)
    raised_at = models.DateTimeField(default=timezone.now)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Who has it now: level 0 is the first call; each escalation goes one rank down the roster.
    # Whom it went to is in the reminder ledger (its reminders' recipients).
    level = models.PositiveSmallIntegerField(default=0)
    escalate_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Unacknowledged then, the sweep looks again: the next on call, or an oncologist come on call since.",
    )
    no_one_on_call = models.BooleanField(
        default=False, help_text="The roster had no one left: it went to the unit's coordinators and the care team."
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledge_note = models.CharField(max_length=500, blank=True)
    # The person grants that let those it reached, who would not see the patient otherwise (the
    # on-call oncologist of another team), open it: open-ended while it is open, ended when it is
    # taken (services._let_see, _end_on_call_access). A grant may serve several open alerts.
    access_grants = models.ManyToManyField("patients.AccessGrant", blank=True, related_name="+")

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [
            models.Index(
                fields=["escalate_at"], condition=Q(acknowledged_at__isnull=True), name="alert_to_escalate_idx"
            ),
            models.Index(fields=["patient", "-raised_at"]),
        ]
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(acknowledged_by__isnull=False),
                name="acknowledged_alert_names_who",
            ),
        ]

    def __str__(self) -> str:
        return f"Alert for {self.patient}: {self.reason}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class ToxicityAlertGrant(ToxicityAlert.access_grants.through):
    """The grants an alert holds open (the many-to-many's own table, seen through a proxy so that it
    can carry a trigger): which alerts hold a grant decides when it ends (services._end_on_call_access),
    so a link added or removed is logged, under the alert's patient."""

    class Meta:
        proxy = True
        triggers = [change_trigger(patient=patient_via("coordination_toxicityalert", "toxicityalert_id"))]
