"""Reminders and escalations: the rules a unit sets, each person's preferences, task snoozes,
the ledger of every reminder (`Reminder`), which is the source of truth for delivery, and the
bell's messages (`Notification`), where reminders and other news land in the tracker.

A beat-driven sweep writes `Reminder` rows (one per target, kind, recipient and due time) and
delivery marks them sent under a row lock; see `coordination.reminders.sweep` and `.delivery`. A broker that loses
messages or a worker that dies delays a reminder, never loses or doubles it.

Audit: `ReminderRule` (what a unit has chosen), `ReminderPreference` (how each person hears) and
`TaskSnooze` (who held a task's reminders, and why) are logged by triggers. `Reminder` rows are
not: they are written by the system, hold ids and times only (no clinical content), and are
themselves the record of what was sent to whom and when (the ledger page). A trigger on them
would write three log rows per reminder on the delivery path.
"""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Unit
from accounts.triggers import PATIENT_COLUMN, change_trigger
from checklists.models import Task
from patients.models import CareEvent, Patient

from ..handoffs.models import Handoff

MINUTES_IN_A_DAY = 24 * 60


class ReminderRule(models.Model):
    """A unit's reminder timings. A unit without a row uses the defaults (the field defaults)."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="reminder_rule")
    due_soon_minutes = models.PositiveIntegerField(
        "due soon: remind this long before the due time (minutes)",
        default=120,
        validators=[MinValueValidator(5), MaxValueValidator(MINUTES_IN_A_DAY)],
    )
    overdue_minutes = models.PositiveIntegerField(
        "overdue: remind this long after the due time (minutes)",
        default=0,
        validators=[MaxValueValidator(MINUTES_IN_A_DAY)],
    )
    escalate_minutes = models.PositiveIntegerField(
        "escalate to the unit's coordinator this long after the due time (minutes)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(MINUTES_IN_A_DAY)],
    )
    escalate_hard_stop_minutes = models.PositiveIntegerField(
        "hard-stop items: escalate this long after the due time (minutes)",
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(MINUTES_IN_A_DAY)],
    )
    gate_hours = models.PositiveIntegerField(
        "events not ready: warn the blocking roles this long before the event (hours)",
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(72)],
    )
    handoff_escalate_minutes = models.PositiveIntegerField(
        "handoffs not acknowledged: escalate this long after the deadline (minutes)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(MINUTES_IN_A_DAY)],
        help_text="The receiving unit is reminded at the deadline; then its coordinator, the sending unit's "
        "coordinator and the sender.",
    )

    class Meta:
        triggers = [change_trigger(patient=None)]
        constraints = [
            models.CheckConstraint(
                condition=Q(escalate_hard_stop_minutes__lte=models.F("escalate_minutes")),
                name="hard_stop_escalates_no_later",
            ),
        ]

    def __str__(self) -> str:
        return f"Reminder rules of {self.unit}"

    @classmethod
    def defaults(cls) -> "ReminderRule":
        """The rules of a unit that has not changed them (an unsaved row holding the defaults)."""
        return cls()

    def escalation_delay(self, *, hard_stop: bool) -> dt.timedelta:
        return dt.timedelta(minutes=self.escalate_hard_stop_minutes if hard_stop else self.escalate_minutes)


class ReminderPreference(models.Model):
    """How one person wants to hear: the bell always; email unless switched off; a daily digest
    at the hour they choose, in their unit's time zone. A user without a row has the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_preference")
    email = models.BooleanField("also by email", default=True, help_text="The bell in the tracker always rings.")
    digest_hour = models.PositiveSmallIntegerField(
        "daily digest at",
        null=True,
        blank=True,
        validators=[MaxValueValidator(23)],
        help_text="A summary of your open work once a day, at this hour in your unit's time zone. Empty: none.",
    )

    class Meta:
        # Whether someone hears of overdue work and alerts by email (an admin may switch it off): logged.
        triggers = [change_trigger(patient=None)]

    def __str__(self) -> str:
        return f"Reminder preferences of {self.user}"


class TaskSnooze(models.Model):
    """A task's reminders held until a time, with the reason. The newest live one counts."""

    MAX_DURATION = dt.timedelta(hours=24)

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="snoozes")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")  # for the audit log
    until = models.DateTimeField()
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Ended early, by hand.")
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.CheckConstraint(condition=Q(until__gt=models.F("created_at")), name="snooze_ends_after_it_starts"),
            models.CheckConstraint(condition=~Q(reason=""), name="snooze_has_reason"),
        ]
        indexes = [
            # The sweep's anti-join: is this task snoozed now?
            models.Index(fields=["task", "until"], condition=Q(ended_at__isnull=True), name="live_snooze_idx"),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Reminders of task {self.task_id} held until {self.until:%Y-%m-%d %H:%M}"

    def is_live(self, now: dt.datetime) -> bool:
        return self.ended_at is None and self.until > now


class Reminder(models.Model):
    """One reminder of one kind, about one target, to one person: the delivery ledger."""

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", "Due soon"
        OVERDUE = "overdue", "Overdue"
        ESCALATION = "escalation", "Overdue, escalated"
        GATE_NOT_READY = "gate_not_ready", "Event soon, not ready"
        HANDOFF_UNACKNOWLEDGED = "handoff_unacknowledged", "Handoff not acknowledged"
        HANDOFF_ESCALATION = "handoff_escalation", "Handoff not acknowledged, escalated"
        DIGEST = "digest", "Daily digest"
        TOXICITY_ALERT = "toxicity_alert", "Urgent toxicity alert"
        TOXICITY_ESCALATION = "toxicity_escalation", "Urgent alert not acknowledged, escalated"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (no longer needed)"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    # What it is about, as "task:12", "event:3", "handoff:7" or "digest": with the kind, the
    # recipient and the due time, the identity of a reminder (see the unique constraint).
    target = models.CharField(max_length=40)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders")
    # Indexed only where set (see Meta): most reminders are about a task, and every index costs
    # delivery an entry for each reminder written and sent.
    event = models.ForeignKey(
        CareEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders", db_index=False
    )
    handoff = models.ForeignKey(
        Handoff, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders", db_index=False
    )
    alert = models.ForeignKey(
        "coordination.ToxicityAlert",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders",
        db_index=False,
    )
    # The time the reminder is about (the task's due time, the event's start, the handoff's
    # deadline, the digest's hour): a task moved to another time is reminded again.
    due_at = models.DateTimeField()
    # When the rule said to send it: the lag is measured from here.
    fire_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # While pending: when the sweep hands it to the broker again if it is still pending then
    # (a lost message, a crashed worker, a retry after a failure, the end of a snooze).
    dispatch_after = models.DateTimeField()
    dispatch_count = models.PositiveIntegerField(default=0, help_text="How often it was handed to the broker.")
    attempts = models.PositiveIntegerField(default=0, help_text="Delivery attempts that failed.")
    last_error = models.CharField(max_length=500, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the bell got it.")
    # The claim of the delivery lane that sends it (committed before anything is sent), cleared
    # when the outcome is recorded: `claim` names the lane (unique: two lanes claimed in the same
    # microsecond stay two), `sending_since` is when its lease began. Older than
    # REMINDER_REDISPATCH_SECONDS: the sender died.
    sending_since = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    # The lapsed claim it was taken over from, kept for good: with the reminders still pending
    # under that claim, it tells which of them all came first, however many deliveries took
    # them over one after the other (delivery._first_of_lapsed_claims).
    lapsed_claim = models.UUIDField(null=True, blank=True, editable=False)
    in_doubt = models.BooleanField(
        default=False,
        help_text="A send was interrupted by a crash and repeated: the recipient may have it twice "
        "(with the same Message-ID, by which mail systems recognise the copy).",
    )
    channels = models.JSONField(default=list, blank=True, help_text="The channels it went out on.")
    sent_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    note = models.CharField(
        max_length=200,
        blank=True,
        help_text="Why it went to this recipient, when not the rule's first choice (a unit without a coordinator).",
    )

    class Meta:
        constraints = [
            # A reminder exists once, however many sweeps (or beats) find it.
            models.UniqueConstraint(fields=["target", "kind", "due_at", "recipient"], name="reminder_once"),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False), name="sent_reminder_has_time"
            ),
        ]
        indexes = [
            # The sweep's re-dispatch: pending rows whose time to be handed over again has come.
            models.Index(fields=["dispatch_after"], condition=Q(state="pending"), name="pending_reminder_idx"),
            # The ledger, newest first.
            models.Index(fields=["-created_at"], name="reminder_created_idx"),
            models.Index(fields=["event"], condition=Q(event__isnull=False), name="reminder_event_idx"),
            models.Index(fields=["handoff"], condition=Q(handoff__isnull=False), name="reminder_handoff_idx"),
            models.Index(fields=["alert"], condition=Q(alert__isnull=False), name="reminder_alert_idx"),
            # A lapsed claim's reminders, found again when it is taken over (few are claimed at a time).
            models.Index(fields=["claim"], condition=Q(claim__isnull=False), name="reminder_claim_idx"),
            models.Index(
                fields=["lapsed_claim"], condition=Q(lapsed_claim__isnull=False), name="reminder_lapsed_claim_idx"
            ),
        ]
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.target}) to {self.recipient_id}: {self.get_state_display()}"

    @property
    def lag(self) -> dt.timedelta | None:
        return self.sent_at - self.fire_at if self.sent_at else None


class Notification(models.Model):
    """An in-app message (the bell). Reminders and escalations land here."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True, help_text="A path inside the tracker.")
    # The task a reminder was about: once it is done (or closed otherwise), the notification is
    # resolved, off the bell's count, and no longer "New" (selectors.unread_count).
    task = models.ForeignKey("checklists.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The patient it names, if any: shown only while the recipient may still see that patient
    # (selectors.visible_notifications): someone taken off the care team, or whose grant ended,
    # no longer reads the patient's name and MRN on their bell.
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="unread_notification_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_resolved(self) -> bool:
        """Its task is no longer open: nothing is left to do about it."""
        return self.task_id is not None and self.task.status != "open"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
