"""Regimens as data: how a course of blinatumomab runs, per indication, naming its source.

A regimen version is versioned like a checklist template: admins edit a draft, publish it,
and a published version never changes. A course is pinned to the version it was planned
with, so a later label change never rewrites a running plan. Bag options are reference data
with their source: label versions disagree on them (shared/CLINICAL.md).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.triggers import change_trigger

from .record import Indication


class PublishedRegimenError(Exception):
    """A published or retired regimen version was about to change."""


class Regimen(models.Model):
    """The regimen of one indication (relapsed/refractory, MRD-positive, consolidation)."""

    name = models.CharField(max_length=200, unique=True)
    indication = models.CharField(max_length=30, choices=Indication.choices, unique=True)

    class Meta:
        ordering = ["indication"]
        # A course's plan is found by its indication's regimen: a change is logged, as its versions' are.
        triggers = [change_trigger(patient=None)]

    def __str__(self) -> str:
        return self.name

    def published_version(self) -> "RegimenVersion | None":
        return self.versions.filter(status=RegimenVersion.Status.PUBLISHED).first()


class RegimenVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    regimen = models.ForeignKey(Regimen, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(
        "label version", max_length=300, help_text="The label or policy these rules come from, with its date."
    )
    max_cycles = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Empty when the number comes from the chemotherapy protocol.",
    )
    infusion_days = models.PositiveSmallIntegerField(
        "days of infusion per cycle", default=28, validators=[MinValueValidator(1), MaxValueValidator(42)]
    )
    step_up_day = models.PositiveSmallIntegerField(
        "step-up on day",
        null=True,
        blank=True,
        validators=[MinValueValidator(2), MaxValueValidator(28)],
        help_text="Cycle 1 only; empty when the regimen has no step-up.",
    )
    starting_dose = models.CharField("cycle 1 dose", max_length=300)
    step_up_dose = models.CharField("step-up dose", max_length=300, blank=True)
    later_cycle_dose = models.CharField("later cycles' dose", max_length=300)
    restart_dose = models.CharField(
        "restart dose after a grade 3 toxicity", max_length=300, help_text="Wording carried by the restart."
    )
    re_escalation_dose = models.CharField("re-escalation dose", max_length=300)
    re_escalation_after_days = models.PositiveSmallIntegerField(
        "re-escalate after (days)", default=7, validators=[MinValueValidator(1)]
    )
    longest_break_in_cycle_days = models.PositiveSmallIntegerField(
        "longest break that continues the cycle (days)",
        default=7,
        help_text="A longer break ends the cycle and a new one is planned.",
    )
    supervised_restart_after_hours = models.PositiveSmallIntegerField(
        "supervised, premedicated restart after a break of (hours)", default=4
    )
    # The label's limits on a restart after a grade 3 reaction (CLINICAL.md, "Interruptions and
    # toxicity"): a reaction that takes longer to resolve (to grade 1 or less) means stopping.
    neurological_resolve_within_days = models.PositiveSmallIntegerField(
        "grade 3 neurological toxicity: stop for good unless resolved within (days)",
        default=7,
        validators=[MinValueValidator(1)],
        help_text="Also stopped for good: one at the low dose (the starting dose before a step-up, or the restart "
        "dose), or one that recurs.",
    )
    other_toxicity_resolve_within_days = models.PositiveSmallIntegerField(
        "other grade 3 reactions: stop unless resolved within (days)", default=14, validators=[MinValueValidator(1)]
    )
    restart_after_resolved_days = models.PositiveSmallIntegerField(
        "grade 3 neurological and other reactions: restart after grade 1 or less for (days)",
        default=3,
        help_text="Not for CRS, which restarts once resolved.",
    )
    # The grade from which the label stops a reaction for good, by kind (CLINICAL.md: "Grade 4:
    # stop for good" for CRS and for neurological toxicity; for other reactions it gives the grade
    # 3 rule only, which a higher grade then follows). Empty: no grade stops for good by itself.
    crs_stop_for_good_from_grade = models.PositiveSmallIntegerField(
        "CRS: stop for good from grade",
        null=True,
        blank=True,
        default=4,
        validators=[MinValueValidator(3), MaxValueValidator(4)],
        help_text="Empty: CRS of any grade follows the restart rule of grade 3.",
    )
    neurological_stop_for_good_from_grade = models.PositiveSmallIntegerField(
        "neurological toxicity: stop for good from grade",
        null=True,
        blank=True,
        default=4,
        validators=[MinValueValidator(3), MaxValueValidator(4)],
        help_text="Empty: neurological toxicity of any grade follows the restart rule of grade 3.",
    )
    other_stop_for_good_from_grade = models.PositiveSmallIntegerField(
        "other reactions: stop for good from grade",
        null=True,
        blank=True,
        validators=[MinValueValidator(3), MaxValueValidator(4)],
        help_text="Empty (the label): other reactions of grade 3 or more follow the other reactions' restart rule.",
    )
    adult_from_age = models.PositiveSmallIntegerField("adult premedication from age", default=18)
    # The label doses by body-surface area under this weight and by a flat band at or above it
    # (CLINICAL.md: "Under 45 kg the dose is by body-surface area"): a bag's basis must match
    # today's weighing.
    dose_by_area_under_kg = models.DecimalField(
        "dose by body-surface area under (kg)",
        max_digits=4,
        decimal_places=1,
        default=Decimal("45"),
        validators=[MinValueValidator(Decimal("1"))],
        help_text="At or above it, the flat dose of the weight band.",
    )
    inpatient_assessment_hours = models.PositiveSmallIntegerField(
        "CRS and ICANS assessment in hospital every (hours)",
        null=True,
        blank=True,
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text="During the days in hospital, from the cycle's start; empty: no scheduled assessments. "
        "At home, the bag change checklist asks for one.",
    )
    change_summary = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        triggers = [change_trigger(patient=None)]
        constraints = [
            models.UniqueConstraint(fields=["regimen", "number"], name="regimen_version_number_once"),
            models.UniqueConstraint(
                fields=["regimen"], condition=Q(status="published"), name="one_published_regimen_version"
            ),
            models.UniqueConstraint(fields=["regimen"], condition=Q(status="draft"), name="one_draft_regimen_version"),
        ]
        ordering = ["regimen", "-number"]

    def __str__(self) -> str:
        return f"{self.regimen} v{self.number} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        # Once published, the only change a version may see is its retirement.
        if self.pk:
            stored = RegimenVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            retiring = stored == self.Status.PUBLISHED and self.status == self.Status.RETIRED
            if stored not in (None, self.Status.DRAFT) and not (retiring and kwargs.get("update_fields") == ["status"]):
                raise PublishedRegimenError("A published regimen version never changes; make a new draft.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status != self.Status.DRAFT:
            raise PublishedRegimenError("A published regimen version is kept for the courses planned with it.")
        return super().delete(*args, **kwargs)

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def has_step_up(self) -> bool:
        return self.step_up_day is not None

    def cycle_rule(self, number: int) -> "RegimenCycleRule":
        """The rule covering cycle `number`: the last rule starting at or before it.

        Reads the prefetched rules when there are any, so a schedule rebuild asks once.
        """
        rules = sorted(self.cycle_rules.all(), key=lambda rule: rule.first_cycle)
        covering = [rule for rule in rules if rule.first_cycle <= number]
        if not covering:
            raise ValidationError(f"{self} has no rule for cycle {number}.")
        return covering[-1]

    def stops_for_good_from_grade(self, kind: str) -> int | None:
        """The grade from which a reaction of this kind (Interruption.ToxicityKind) stops for good."""
        return {
            "crs": self.crs_stop_for_good_from_grade,
            "neurological": self.neurological_stop_for_good_from_grade,
            "other": self.other_stop_for_good_from_grade,
        }.get(kind)

    def steps_up_in_cycle(self, number: int) -> bool:
        """Whether the rule of cycle `number` has the step-up (the step-up day is cycle 1's)."""
        return self.has_step_up and number == 1

    def dose_for_cycle(self, number: int) -> str:
        """The dose wording of the rule of cycle `number`: pass `Cycle.rule_number` (a cycle that
        repeats cycle 1's step-up takes cycle 1's starting dose), not the cycle's own number."""
        return self.starting_dose if number == 1 else self.later_cycle_dose


class DraftOnlyQuerySet(models.QuerySet):
    """Bulk updates and deletes of a version's rows check the version, as saves do."""

    def _refuse_unless_draft(self):
        locked = self.exclude(version__status=RegimenVersion.Status.DRAFT)
        if locked.exists():
            raise PublishedRegimenError("A published regimen version never changes; make a new draft.")

    def update(self, **kwargs):
        self._refuse_unless_draft()
        return super().update(**kwargs)

    def delete(self):
        self._refuse_unless_draft()
        return super().delete()


class VersionPart(models.Model):
    """A row that belongs to a regimen version and shares its immutability."""

    objects = DraftOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self._refuse_unless_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_unless_draft()
        return super().delete(*args, **kwargs)

    def _refuse_unless_draft(self):
        if self.version.status != RegimenVersion.Status.DRAFT:
            raise PublishedRegimenError("A published regimen version never changes; make a new draft.")
        if self.pk:  # moved from a published version?
            stored = type(self).objects.filter(pk=self.pk).values_list("version__status", flat=True).first()
            if stored not in (None, RegimenVersion.Status.DRAFT):
                raise PublishedRegimenError("A published regimen version never changes; make a new draft.")


class Phase(models.TextChoices):
    INDUCTION = "induction", "Induction"
    CONSOLIDATION = "consolidation", "Consolidation"
    CONTINUED = "continued", "Continued therapy"


class RegimenCycleRule(VersionPart):
    """From cycle `first_cycle` on (until the next rule): phase, rest and days in hospital."""

    version = models.ForeignKey(RegimenVersion, on_delete=models.CASCADE, related_name="cycle_rules")
    first_cycle = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    phase = models.CharField(max_length=20, choices=Phase.choices)
    rest_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty: set per cycle from the chemotherapy plan."
    )
    inpatient_days = models.PositiveSmallIntegerField(
        "days in hospital", default=0, validators=[MaxValueValidator(28)], help_text="From day 1 of the cycle."
    )

    class Meta:
        triggers = [change_trigger(patient=None)]
        constraints = [
            models.UniqueConstraint(fields=["version", "first_cycle"], name="regimen_cycle_rule_once"),
        ]
        ordering = ["version", "first_cycle"]

    def __str__(self) -> str:
        rest = f"{self.rest_days} rest days" if self.rest_days is not None else "rest set by the chemotherapy plan"
        return f"From cycle {self.first_cycle}: {self.get_phase_display()}, {rest}, {self.inpatient_days} in hospital"


class PremedicationRule(VersionPart):
    """A premedication the regimen asks for: who, what, before which start, and its window."""

    class Population(models.TextChoices):
        ADULT = "adult", "Adults"
        CHILD = "child", "Children"

    class Moment(models.TextChoices):
        CYCLE_START = "cycle_start", "Before the first dose of the cycle"
        STEP_UP = "step_up", "Before the step-up dose"
        RESTART = "restart", "Before a restart after a long break"

    version = models.ForeignKey(RegimenVersion, on_delete=models.CASCADE, related_name="premedications")
    population = models.CharField(max_length=10, choices=Population.choices)
    moment = models.CharField(max_length=20, choices=Moment.choices)
    last_cycle = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty: every cycle; 1: cycle 1 only."
    )
    medication = models.CharField(max_length=300, help_text="Drug, dose and route, as the label words it.")
    window_min_minutes = models.PositiveSmallIntegerField("given at least (minutes before)", default=30)
    window_max_minutes = models.PositiveSmallIntegerField("given at most (minutes before)", default=90)

    class Meta:
        triggers = [change_trigger(patient=None)]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_max_minutes__gt=models.F("window_min_minutes")),
                name="premedication_window_not_empty",
            ),
        ]
        ordering = ["version", "population", "moment"]

    def __str__(self) -> str:
        cycles = "every cycle" if self.last_cycle is None else f"cycles 1–{self.last_cycle}"
        if self.last_cycle == 1:
            cycles = "cycle 1 only"
        return f"{self.get_population_display()}: {self.medication}, {self.get_moment_display().lower()} ({cycles})"

    def applies_to_cycle(self, number: int) -> bool:
        return self.last_cycle is None or number <= self.last_cycle

    @property
    def window_text(self) -> str:
        return f"given {self.window_min_minutes}–{self.window_max_minutes} minutes before the start"


class BagOption(models.Model):
    """A bag the pharmacy prepares: its duration, the label's rate and its preservative rule."""

    duration_hours = models.PositiveSmallIntegerField(
        unique=True, validators=[MinValueValidator(1), MaxValueValidator(168)]
    )
    rate_ml_per_hour = models.DecimalField(
        "rate (mL/h)", max_digits=5, decimal_places=1, validators=[MinValueValidator(Decimal("0.1"))]
    )
    preservative = models.BooleanField(help_text="Made with bacteriostatic saline (benzyl alcohol).")
    min_weight_kg = models.DecimalField(
        "lowest weight (kg)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Refused below this weight (today's weighing). Empty: no limit.",
    )
    weight_limit_source = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=300, help_text="Where the duration and rate come from.")
    active = models.BooleanField(default=True)

    class Meta:
        triggers = [change_trigger(patient=None)]
        constraints = [
            models.CheckConstraint(condition=Q(rate_ml_per_hour__gt=0), name="bag_option_rate_positive"),
        ]
        ordering = ["duration_hours"]

    def __str__(self) -> str:
        return f"{self.duration_label} ({self.rate_ml_per_hour.normalize():f} mL/h)"

    @property
    def duration_label(self) -> str:
        if self.duration_hours % 24 == 0 and self.duration_hours >= 168:
            return f"{self.duration_hours // 24}-day"
        return f"{self.duration_hours} h"

    def clean(self):
        if self.min_weight_kg is not None and not self.weight_limit_source.strip():
            raise ValidationError({"weight_limit_source": "Name the label version that sets this weight limit."})
