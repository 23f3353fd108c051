import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.triggers import PATIENT_COLUMN, change_trigger, patient_via

from ..weights import weight_shown
from .record import Indication, Patient, Setting
from .regimen import BagOption, Phase, RegimenVersion

# A ceiling of the tracker, whatever the regimen allows (the longest label regimen has 9).
MAX_PLANNED_CYCLES = 9


class TreatmentCourse(models.Model):
    class Regimen(models.TextChoices):
        BLINATUMOMAB = "blinatumomab", "Blinatumomab"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"

    # One course under way at a time: a patient's next course (after a relapse) is planned once the
    # last one has completed (its status follows its events: patients.services.course_status) or
    # was stopped for good.
    UNDER_WAY = (Status.PLANNED, Status.ACTIVE)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    regimen = models.CharField(max_length=30, choices=Regimen.choices, default=Regimen.BLINATUMOMAB)
    indication = models.CharField(max_length=30, choices=Indication.choices)
    regimen_version = models.ForeignKey(
        RegimenVersion,
        on_delete=models.PROTECT,
        related_name="courses",
        help_text="The regimen version the course was planned with; later versions never change it.",
    )
    planned_cycles = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PLANNED_CYCLES)]
    )
    start_date = models.DateField(help_text="Day 1 of cycle 1, in the unit's calendar.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    bag_hours = models.PositiveSmallIntegerField(
        "bag duration (hours)",
        default=48,
        help_text="Outside hospital: 24, 48, 72, 96 or 168 hours, as on the pharmacy label.",
    )
    # The hospital pharmacy's practice, not the label's: the label offers every bag length, and a
    # ward may hang 24 h bags (most do: a change each morning round) or 48 h ones.
    inpatient_bag_hours = models.PositiveSmallIntegerField(
        "bag duration in hospital (hours)",
        default=24,
        help_text="During the days in hospital, as the hospital pharmacy prepares them.",
    )
    outpatient_setting = models.CharField(
        max_length=20,
        choices=[(Setting.HOME, Setting.HOME.label), (Setting.CLINIC, Setting.CLINIC.label)],
        default=Setting.HOME,
    )

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        ordering = ["-start_date"]

    def __str__(self) -> str:
        return f"{self.get_regimen_display()} ({self.get_indication_display()}) for {self.patient}"

    @property
    def is_under_way(self) -> bool:
        return self.status in self.UNDER_WAY

    @property
    def open_interruption(self) -> "Interruption | None":
        """The stop still waiting for its restart (reads prefetched interruptions)."""
        return next((stop for stop in self.interruptions.all() if stop.is_open), None)

    @property
    def stop_in_effect(self) -> "Interruption | None":
        """The stop that keeps the pump off now: waiting for its restart, or with its restart
        planned and still ahead (reads prefetched interruptions)."""
        return next((stop for stop in self.interruptions.all() if stop.holds_the_infusion), None)


class Cycle(models.Model):
    Phase = Phase

    course = models.ForeignKey(TreatmentCourse, on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    phase = models.CharField(max_length=20, choices=Phase.choices)
    start_date = models.DateField(help_text="Day 1, in the unit's calendar.")
    # A cycle starts at 09:00 on its day 1 (the schedule's EVENT_LOCAL_TIME), but one that a break
    # too long to continue the last cycle began starts when the infusion restarted: its 28 days of
    # infusion and its premedication window run from then.
    start_time = models.TimeField(
        default=dt.time(9, 0), help_text="When the infusion starts on day 1, on the unit's clock."
    )
    # The step-up protects a first exposure (CLINICAL.md, regimen table). A break too long to
    # continue a cycle whose step-up had not been given yet begins a new cycle that repeats that
    # cycle's step-up: the dose, step-up day, days in hospital and premedication of its rule, under
    # its own number (README, "Interruptions"; the tracker's decision, the label is silent).
    repeats_cycle = models.PositiveSmallIntegerField(
        "repeats the step-up of cycle",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Set when a long break came before the step-up of the cycle it replaces.",
    )
    infusion_days = models.PositiveSmallIntegerField(default=28, validators=[MinValueValidator(1)])
    rest_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty until the chemotherapy plan sets the next start (consolidation)."
    )
    inpatient_days = models.PositiveSmallIntegerField(default=0)
    infusion_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="When the pump comes off: moved by breaks, set by the schedule."
    )
    infusion_end_date = models.DateField(
        null=True, blank=True, help_text="The calendar day the pump comes off, in the unit's calendar."
    )
    planned_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="When the pump would come off without breaks."
    )
    ended_early_at = models.DateTimeField(
        null=True, blank=True, help_text="The infusion ended here: a break of more than 7 days, or a stop for good."
    )

    class Meta:
        triggers = [change_trigger(patient=patient_via("patients_treatmentcourse", "course_id"))]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="cycle_number_once_per_course"),
        ]
        ordering = ["course", "number"]

    def __str__(self) -> str:
        return f"Cycle {self.number}"

    @property
    def rest_end_date(self) -> dt.date | None:
        """The next cycle's earliest day 1; None while the chemotherapy plan has not set it."""
        if self.rest_days is None or self.infusion_end_date is None:
            return None
        return self.infusion_end_date + dt.timedelta(days=self.rest_days)

    @property
    def extended_by(self) -> dt.timedelta:
        """How far breaks moved the end: the infusion still lasts `infusion_days`."""
        if self.ended_early_at or not (self.infusion_ends_at and self.planned_ends_at):
            return dt.timedelta(0)
        return self.infusion_ends_at - self.planned_ends_at

    @property
    def has_next_cycle(self) -> bool:
        """Another cycle of its course follows this one: the course plans more cycles than this
        one's number and was not stopped for good. The count, not the cycle rows: a consolidation
        cycle's successor has no row until the chemotherapy plan sets its start, and a restart that
        begins a new cycle after the last planned one adds it to the count
        (interruptions._start_new_cycle). Reads the course the cycle was loaded with."""
        course = self.course
        return course.status != TreatmentCourse.Status.STOPPED and self.number < course.planned_cycles

    @property
    def rule_number(self) -> int:
        """The cycle number whose regimen rule sets this cycle's dose, step-up and premedication:
        its own, or the cycle whose step-up it repeats."""
        return self.repeats_cycle or self.number

    def day_number(self, day: dt.date) -> int:
        """Day N of the cycle for a calendar date (day 1 = start date)."""
        return (day - self.start_date).days + 1


class CareEvent(models.Model):
    class Kind(models.TextChoices):
        CYCLE_START = "cycle_start", "Cycle start"
        DOSE_STEP_UP = "dose_step_up", "Dose step-up"
        DISCHARGE_HOME = "discharge_home", "Planned discharge home"
        BAG_CHANGE = "bag_change", "Bag change"
        HOME_VISIT = "home_visit", "Home visit"
        INTERRUPTION = "interruption", "Interruption"
        RESTART = "restart", "Restart"
        CYCLE_END = "cycle_end", "Cycle end"
        TOXICITY_CHECK = "toxicity_check", "CRS and ICANS check"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        # Set by the beat once its time has passed (checklists.services.events_settle): its gate
        # was not ready, and it was neither done nor cancelled.
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="events")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sequence = models.PositiveSmallIntegerField(
        default=1, help_text="Which one of its kind in the cycle (the 3rd bag change…)."
    )
    scheduled = models.BooleanField(
        default=False, help_text="Created by the course schedule, which may move it while it is in the future."
    )
    setting = models.CharField(max_length=20, choices=Setting.choices, default=Setting.INPATIENT)
    planned_at = models.DateTimeField()
    actual_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "kind", "sequence"],
                condition=Q(scheduled=True),
                name="scheduled_event_once",
            ),
        ]
        indexes = [models.Index(fields=["patient", "planned_at"]), models.Index(fields=["planned_at"])]
        ordering = ["planned_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}, cycle {self.cycle.number} day {self.day_number}"

    @property
    def label(self) -> str:
        """What the pages call the event: its kind, and a bag change its number ("Bag change #3")."""
        kind = self.get_kind_display()
        return f"{kind} #{self.sequence}" if self.kind == self.Kind.BAG_CHANGE else kind

    @property
    def zone(self):
        return self.patient.unit.zone

    @property
    def is_live(self) -> bool:
        """Planned or under way: its gate still decides something (a done, missed or cancelled
        event's gate is history)."""
        return self.status in (self.Status.PLANNED, self.Status.IN_PROGRESS)

    @property
    def local_planned_at(self) -> dt.datetime:
        return timezone.localtime(self.planned_at, self.zone)

    @property
    def day_number(self) -> int:
        return self.cycle.day_number(self.local_planned_at.date())


class Interruption(models.Model):
    """The infusion stopped at `stopped_at` and (once known) restarts at `restarted_at`.

    The schedule reads these rows: a break of up to the regimen's limit (7 days) extends its
    cycle so that the cycle keeps its days of infusion; a longer one ends the cycle.
    """

    class Cause(models.TextChoices):
        ADVERSE_REACTION = "adverse_reaction", "Adverse reaction"
        PUMP_OR_LINE = "pump_or_line", "Pump or line problem"
        OTHER = "other", "Other"

    class ToxicityKind(models.TextChoices):
        """The label's three rows for a grade 3 reaction: each restarts, or stops, by its own rule."""

        CRS = "crs", "CRS (cytokine release syndrome)"
        NEUROLOGICAL = "neurological", "Neurological (ICANS, seizures)"
        OTHER = "other", "Other reaction"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="interruptions")
    course = models.ForeignKey(TreatmentCourse, on_delete=models.CASCADE, related_name="interruptions")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="interruptions")
    stopped_at = models.DateTimeField()
    cause = models.CharField(max_length=20, choices=Cause.choices)
    detail = models.CharField(max_length=500, blank=True, help_text="What happened, in a sentence.")
    toxicity_grade = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        choices=[(grade, f"Grade {grade}") for grade in (1, 2, 3, 4)],
        help_text="For an adverse reaction: its grade (grade 3 restarts at the restart dose).",
    )
    toxicity_kind = models.CharField(
        "kind of toxicity",
        max_length=20,
        choices=ToxicityKind.choices,
        blank=True,
        help_text="For an adverse reaction (needed from grade 3): which of the label's rules applies.",
    )
    stopped_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    restarted_at = models.DateTimeField(null=True, blank=True)
    restarted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(
        "grade 1 or less since",
        null=True,
        blank=True,
        help_text="After a grade 3 reaction: when it resolved, which the label's limits on a restart read.",
    )
    restart_dose = models.CharField(max_length=300, blank=True, help_text="The dose wording the restart carries.")
    new_cycle = models.BooleanField(
        default=False, help_text="The break was too long to continue the cycle: the restart began a new one."
    )
    permanent = models.BooleanField(default=False, help_text="Stopped for good: the course ended here.")
    restart_event = models.ForeignKey(CareEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    re_escalation_event = models.ForeignKey(
        CareEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.CheckConstraint(
                condition=Q(restarted_at__isnull=True) | Q(restarted_at__gt=models.F("stopped_at")),
                name="interruption_restarts_after_its_stop",
            ),
            models.CheckConstraint(
                condition=~Q(permanent=True) | Q(restarted_at__isnull=True),
                name="permanent_stop_never_restarts",
            ),
            models.CheckConstraint(
                condition=Q(toxicity_kind="") | Q(cause="adverse_reaction"),
                name="toxicity_kind_of_an_adverse_reaction_only",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gt=models.F("stopped_at")),
                name="interruption_resolves_after_its_stop",
            ),
            # At most one open break per course: a second stop needs the first restart.
            models.UniqueConstraint(
                fields=["course"],
                condition=Q(restarted_at__isnull=True),
                name="one_open_interruption_per_course",
            ),
        ]
        indexes = [models.Index(fields=["course", "stopped_at"])]
        ordering = ["stopped_at"]

    def __str__(self) -> str:
        return f"Stopped {self.stopped_at:%Y-%m-%d %H:%M} ({self.get_cause_display()})"

    @property
    def is_open(self) -> bool:
        return self.restarted_at is None and not self.permanent

    @property
    def restart_is_planned(self) -> bool:
        """The restart is recorded ahead of time (planned) and has not come yet."""
        return self.restarted_at is not None and self.restarted_at > timezone.now()

    @property
    def holds_the_infusion(self) -> bool:
        """The pump is off now: a planned restart still ahead leaves it off until it comes."""
        return not self.permanent and (self.restarted_at is None or self.restart_is_planned)

    @property
    def length(self) -> dt.timedelta | None:
        return self.restarted_at - self.stopped_at if self.restarted_at else None


class Weighing(models.Model):
    """A weighing of the patient: the newest is the weight on the record."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="weighings")
    weight_kg = models.DecimalField(
        "weight (kg)",
        max_digits=5,
        decimal_places=2,  # to 10 g, as infant scales read (patients.services.parse_weight)
        validators=[
            MinValueValidator(Decimal("0.5"), "Weight must be more than 0 kg."),
            MaxValueValidator(Decimal("300"), "Weight must be at most 300 kg."),
        ],
    )
    measured_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=200, blank=True, help_text="Where it was recorded (a checklist task…).")

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__gt=0) & Q(weight_kg__lte=300), name="weighing_weight_in_range"
            ),
        ]
        indexes = [models.Index(fields=["patient", "-measured_at"])]
        ordering = ["-measured_at"]
        get_latest_by = "measured_at"

    def __str__(self) -> str:
        return f"{weight_shown(self.weight_kg)} on {self.measured_at:%Y-%m-%d}"


class InfusionBag(models.Model):
    """A bag the pharmacy prepared for an event (a cycle start, bag change or restart).

    A bag whose event is cancelled waits for a decision (`needs_decision`): used for another event
    of the patient (`event` moves there, `moved_from_event` keeps the cancelled one), or returned
    or discarded with a reason. The decision's who and when are kept on the bag; the change
    trigger logs every change of it."""

    class DoseBasis(models.TextChoices):
        WEIGHT = "weight", "Flat dose (weight band)"
        BSA = "bsa", "Body-surface area"

    class Decision(models.TextChoices):
        REUSED = "reused", "Used for another event"
        RETURNED = "returned", "Returned to the pharmacy"
        DISCARDED = "discarded", "Discarded"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="bags")
    event = models.ForeignKey(CareEvent, on_delete=models.CASCADE, related_name="bags")
    option = models.ForeignKey(BagOption, on_delete=models.PROTECT, related_name="+")
    dose = models.CharField(max_length=100, help_text="As on the order, for example 28 mcg/day.")
    dose_basis = models.CharField(max_length=10, choices=DoseBasis.choices)
    weighing = models.ForeignKey(Weighing, on_delete=models.PROTECT, related_name="+", help_text="The weighing used.")
    volume_ml = models.DecimalField("volume (mL)", max_digits=6, decimal_places=1)
    rate_ml_per_hour = models.DecimalField("rate (mL/h)", max_digits=5, decimal_places=1)
    duration_hours = models.PositiveSmallIntegerField()
    preservative = models.BooleanField()
    stabiliser_added = models.BooleanField("IV solution stabiliser added")
    expires_at = models.DateTimeField()
    compounded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    # What became of a bag whose event was cancelled (blank while it was not, or is undecided).
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    moved_from_event = models.ForeignKey(
        CareEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="Prepared for."
    )

    # The decisions that take the bag out of use: no event will hang it.
    OUT_OF_USE = (Decision.RETURNED, Decision.DISCARDED)
    # `needs_decision` as a condition on the rows, for the lists that filter by it.
    AWAITING_DECISION = Q(event__status=CareEvent.Status.CANCELLED) & ~Q(decision__in=OUT_OF_USE)

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision__in=["returned", "discarded"]) | ~Q(decision_reason=""),
                name="bag_out_of_use_has_reason",
            ),
            models.CheckConstraint(condition=Q(rate_ml_per_hour__gt=0), name="bag_rate_positive"),
            models.CheckConstraint(condition=Q(volume_ml__gt=0), name="bag_volume_positive"),
            models.CheckConstraint(
                condition=~Q(checked_by=models.F("compounded_by")), name="bag_checker_is_not_compounder"
            ),
        ]
        ordering = ["-recorded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.duration_hours} h bag at {self.rate_ml_per_hour.normalize():f} mL/h"

    @property
    def needs_decision(self) -> bool:
        """Its event was cancelled and nobody has said yet what becomes of it."""
        return self.event.status == CareEvent.Status.CANCELLED and self.decision not in self.OUT_OF_USE
