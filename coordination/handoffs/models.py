"""Handoffs between units (hospital → home above all), in I-PASS form, with their actions,
the coordinators' comments and the history of who moved them along.

Statuses change only through the services (coordination/handoffs/services.py, under a row lock);
the constraints here hold what the database can: a handoff never goes to its own unit, an
accepted one always has the receiver's synthesis, a returned or cancelled one always its reason.
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts import moments
from accounts.models import Role, Unit, register_audit_actions
from accounts.triggers import PATIENT_COLUMN, change_trigger, patient_via
from patients.models import AccessGrant, CareEvent, Cycle, Patient, TreatmentCourse

# The limits of the free-text fields: the forms say them at the field, the database holds them.
SUMMARY_MAX = 4000
TEXT_MAX = 2000
REASON_MAX = 500
ACTION_MAX = 300
LINE_MAX = 200
COMMENT_MAX = 1000


@register_audit_actions
class HandoffAuditAction(models.TextChoices):
    """What the audit log says was done to a handoff (beyond create, update and complete)."""

    SEND = "send", "Send a handoff"
    ACKNOWLEDGE = "acknowledge", "Acknowledge a handoff"
    ACCEPT = "accept", "Accept a handoff"
    RETURN = "return", "Return a handoff"
    CANCEL = "cancel", "Cancel a handoff"
    COMMENT = "comment", "Comment on a handoff"
    FLAG = "flag", "Flag a handoff"
    SIGN_OFF = "sign_off", "Sign off a handoff"


# The I-PASS content that the sender writes, in the order of the form and the page. Declared here
# once: the form's fields (their labels, limits and choices are the model's), the content that the
# services take, and the edit form's first values are all made from this list.
IPASS_FIELDS = ("illness_severity", "patient_summary", "pump", "line", "situation_awareness", "contingency_plan")


class HandoffUnitRule(models.Model):
    """A receiving unit's handoff rule; a unit without a row uses the default shown on a new one."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="handoff_rule")
    acknowledge_hours = models.PositiveSmallIntegerField(
        "acknowledge within (hours)",
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(72)],
        help_text="As a receiving unit: how long after a handoff is sent its receipt must be acknowledged.",
    )
    done_early_hours = models.PositiveSmallIntegerField(
        "mark done at most (hours) before due",
        default=12,
        validators=[MaxValueValidator(168)],
        help_text="As a receiving unit: how long before its due time a handoff task may be marked done "
        "(never before the discharge). The agency's own practice: a visit brought forward to the evening "
        "before is recorded, a task of next week is not.",
    )

    class Meta:
        triggers = [change_trigger(patient=None)]

    def __str__(self) -> str:
        return f"Handoff rule of {self.unit}"

    @classmethod
    def for_unit(cls, unit: Unit) -> "HandoffUnitRule":
        """The unit's row, or an unsaved one holding the default."""
        try:
            return unit.handoff_rule
        except cls.DoesNotExist:
            return cls(unit=unit)

    @property
    def acknowledge_within(self) -> dt.timedelta:
        return dt.timedelta(hours=self.acknowledge_hours)

    @property
    def done_early(self) -> dt.timedelta:
        return dt.timedelta(hours=self.done_early_hours)


class Handoff(models.Model):
    class Kind(models.TextChoices):
        HOSPITAL_HOME = "hospital_home", "Hospital → home"
        HOME_HOSPITAL = "home_hospital", "Home → hospital (readmission)"
        WARD_CLINIC = "ward_clinic", "Ward → infusion clinic"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent, waiting for acknowledgement"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        ACCEPTED = "accepted", "Accepted"
        COMPLETED = "completed", "Completed"
        RETURNED = "returned", "Returned to the sender"
        CANCELLED = "cancelled", "Cancelled"

    class Severity(models.TextChoices):
        STABLE = "stable", "Stable"
        WATCHER = "watcher", "Watcher"
        UNSTABLE = "unstable", "Unstable"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="handoffs")
    course = models.ForeignKey(TreatmentCourse, on_delete=models.PROTECT, related_name="handoffs")
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="handoffs")
    event = models.ForeignKey(
        CareEvent, on_delete=models.PROTECT, related_name="handoffs", help_text="The discharge it belongs to."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.HOSPITAL_HOME)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)

    # From: the patient's unit and the person answering for the handoff (its sender).
    from_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="handoffs_sent")
    from_person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # To: a home-health agency, an infusion clinic or a ward; optionally a named person there.
    to_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="handoffs_received")
    to_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # I-PASS content.
    illness_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.STABLE)
    patient_summary = models.CharField(max_length=SUMMARY_MAX)
    situation_awareness = models.CharField(max_length=TEXT_MAX, blank=True)
    contingency_plan = models.CharField(max_length=TEXT_MAX)
    pump = models.CharField("pump and programme", max_length=LINE_MAX, blank=True)
    line = models.CharField("line and site", max_length=LINE_MAX, blank=True)
    synthesis = models.CharField("receiver's synthesis", max_length=TEXT_MAX, blank=True)
    # The facts from the record as they were sent: [[label, value], …], so that the receiver
    # reads what the sender saw.
    facts = models.JSONField(default=list, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledge_by = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_visit_at = models.DateTimeField("first home visit", null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    return_reason = models.CharField(max_length=REASON_MAX, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(max_length=REASON_MAX, blank=True)
    # The receiving unit's window on the patient, opened at sending (see the services).
    access_grant = models.OneToOneField(
        AccessGrant, on_delete=models.SET_NULL, null=True, blank=True, related_name="handoff"
    )

    # The coordinator's review.
    flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=REASON_MAX, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    flagged_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.CheckConstraint(condition=~Q(to_unit=F("from_unit")), name="handoff_not_to_its_own_unit"),
            # One handoff per discharge at a time: to change the receiving unit, cancel and write anew.
            models.UniqueConstraint(
                fields=["event"], condition=~Q(status="cancelled"), name="one_live_handoff_per_event"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["accepted", "completed"]) | (~Q(synthesis="") & Q(accepted_at__isnull=False)),
                name="accepted_handoff_has_synthesis",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False), name="completed_handoff_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | ~Q(return_reason=""), name="returned_handoff_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""), name="cancelled_handoff_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(signed_off_at__isnull=True) | Q(status="completed"),
                name="only_completed_handoffs_are_signed_off",
            ),
        ]
        indexes = [
            models.Index(fields=["to_unit", "status"]),
            models.Index(fields=["from_unit", "status"]),
            models.Index(fields=["patient", "-created_at"]),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} handoff for {self.patient}"

    @property
    def receiving_rule(self) -> HandoffUnitRule:
        return HandoffUnitRule.for_unit(self.to_unit)

    def ipass(self) -> dict[str, str]:
        """The I-PASS content as written (IPASS_FIELDS → value)."""
        return {name: getattr(self, name) for name in IPASS_FIELDS}

    def local_time(self, at) -> str:
        """A time as the handoff's messages say it, on the sending unit's clock, with its zone (the
        receiving side may be on another); "" for none. Kept beside accounts.moments, unlike the
        modules' thin wrappers: it names the handoff's one shape of a time and chooses its clock, so
        that a policy refusal, a notification and a service's message of one handoff agree."""
        if at is None:
            return ""
        return moments.moment_zoned(at, self.from_unit.zone)

    @property
    def is_waiting(self) -> bool:
        """Sent or acknowledged: the receiving side has not taken it over yet."""
        return self.status in (self.Status.SENT, self.Status.ACKNOWLEDGED)

    def acknowledgement_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.SENT and self.acknowledge_by is not None and self.acknowledge_by < now

    @property
    def event_at(self) -> dt.datetime:
        """When its event (the discharge) happens: when it did, once done; else when it is planned."""
        return self.event.actual_at or self.event.planned_at

    def first_visit_action(self) -> "HandoffAction | None":
        """The first home visit among the actions: the one written as such (the default list's, kept
        by its purpose whatever its words); else the receiving nurses' earliest due at or after the
        discharge: a nurse's action due before the patient leaves the ward (a call to the ward) is no
        visit at home. None when no action is. Reads `actions.all()`, so that a page that loaded them
        asks nothing more."""
        actions = list(self.actions.all())
        marked = [action for action in actions if action.purpose == HandoffAction.Purpose.FIRST_VISIT]
        if marked:
            return marked[0]
        left = self.event_at
        nursing = [action for action in actions if action.role == Role.NURSE and action.due_at >= left]
        return min(nursing, key=lambda action: (action.due_at, action.order, action.pk), default=None)

    @property
    def time_to_acknowledge(self):
        if self.sent_at and self.acknowledged_at:
            return self.acknowledged_at - self.sent_at
        return None

    @property
    def time_to_accept(self):
        if self.sent_at and self.accepted_at:
            return self.accepted_at - self.sent_at
        return None


# Which kind of unit receives which kind of handoff, and which kinds belong to a discharge.
RECEIVING_UNIT_KINDS = {
    Handoff.Kind.HOSPITAL_HOME: Unit.Kind.HOME_HEALTH,
    Handoff.Kind.WARD_CLINIC: Unit.Kind.INFUSION_CLINIC,
    Handoff.Kind.HOME_HOSPITAL: Unit.Kind.INPATIENT_WARD,
}
DISCHARGE_KINDS = {Handoff.Kind.HOSPITAL_HOME, Handoff.Kind.WARD_CLINIC}


class HandoffAction(models.Model):
    """One action of the I-PASS action list: written by the sender, taken over by the
    receiving side at acceptance, when it becomes a task of its owning role there."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"  # part of the handoff's content, nobody's task yet
        OPEN = "open", "To do"
        DONE = "done", "Done"

    class Purpose(models.TextChoices):
        """What an action is for, when the tracker must know it (never read from its words)."""

        OTHER = "", "Other"
        FIRST_VISIT = "first_visit", "First home visit"
        FIRST_BAG_CHANGE = "first_bag_change", "First bag change at home"

    # The roles that work on a receiving side (accounts.permissions: who may accept a handoff).
    ROLE_CHOICES = [(Role.NURSE.value, Role.NURSE.label), (Role.CASE_MANAGER.value, Role.CASE_MANAGER.label)]

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="actions")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=ACTION_MAX)
    role = models.CharField("owning role", max_length=20, choices=ROLE_CHOICES)
    due_at = models.DateTimeField("due")
    purpose = models.CharField(max_length=20, choices=Purpose.choices, blank=True, default=Purpose.OTHER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    taken_over_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=ACTION_MAX, blank=True)

    class Meta:
        triggers = [change_trigger(patient=patient_via("coordination_handoff", "handoff_id"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done_by__isnull=False, done_at__isnull=False),
                name="done_handoff_action_has_doer",
            ),
        ]
        indexes = [models.Index(fields=["status", "role", "due_at"])]
        ordering = ["due_at", "order", "pk"]

    def __str__(self) -> str:
        return self.text

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_at < timezone.now()


class HandoffActionDefault(models.Model):
    """One action that a new hospital-to-home draft starts with (the sender edits them): data that
    an administrator keeps (Admin → Handoff default actions), each naming what it rests on.

    Due times follow the clinical order at home: the discharge, the first home visit (pump and line
    check), then the bag changes. An action is due `hours_after_discharge` after the discharge; the
    first bag change at home is due at the record's next bag change, and the first home visit never
    after it (a bag change sooner than the usual visit makes that visit's time)."""

    order = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=ACTION_MAX)
    role = models.CharField("owning role", max_length=20, choices=HandoffAction.ROLE_CHOICES)
    purpose = models.CharField(
        max_length=20, choices=HandoffAction.Purpose.choices, blank=True, default=HandoffAction.Purpose.OTHER
    )
    hours_after_discharge = models.PositiveSmallIntegerField(
        default=24,
        validators=[MaxValueValidator(24 * 14)],
        help_text="Due this long after the discharge (the first bag change at home: at the next bag change "
        "of the record instead).",
    )
    source = models.CharField(max_length=300, help_text="What it rests on: the label, the institution's policy.")
    active = models.BooleanField(default=True)

    class Meta:
        triggers = [change_trigger(patient=None)]
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"], condition=~Q(purpose="") & Q(active=True), name="one_active_default_per_purpose"
            ),
        ]

    def __str__(self) -> str:
        return self.text


class HandoffComment(models.Model):
    """A coordinator's internal comment: never on the printed summary."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    text = models.CharField(max_length=COMMENT_MAX)
    # The key of the form that sent it: a double click, a resent request or a second tab's
    # repeat of one submission finds this comment instead of adding another.
    submission = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        triggers = [change_trigger(patient=patient_via("coordination_handoff", "handoff_id"))]
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["handoff", "author", "submission"], name="handoff_comment_once_per_submission"
            ),
        ]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.at:%Y-%m-%d %H:%M}"


class HandoffActivity(models.Model):
    """Who moved the handoff along, when, and with which reason: its history."""

    class Action(models.TextChoices):
        CREATE = "create", "Prepared"
        UPDATE = "update", "Edited"
        SEND = "send", "Sent"
        ACKNOWLEDGE = "acknowledge", "Acknowledged"
        ACCEPT = "accept", "Accepted"
        RETURN = "return", "Returned"
        CANCEL = "cancel", "Cancelled"
        COMPLETE = "complete", "Completed (first home visit done)"
        ACTION_DONE = "action_done", "Action done"
        FLAG = "flag", "Flagged"
        UNFLAG = "unflag", "Flag removed"
        SIGN_OFF = "sign_off", "Signed off"

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=COMMENT_MAX, blank=True)

    class Meta:
        triggers = [change_trigger(patient=patient_via("coordination_handoff", "handoff_id"))]
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor or 'the system'}"
