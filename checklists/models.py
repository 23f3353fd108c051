import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import dateformat, timezone

from accounts import moments
from accounts.models import Role, register_audit_actions
from accounts.triggers import PATIENT_COLUMN, AppendOnly, change_trigger, patient_via
from patients.models import CareEvent, Patient

from . import conditions

MAX_OFFSET_MINUTES = 30 * 24 * 60  # an item is due at most 30 days before or after its event
# A checklist of a few hundred items never needs more positions. Moving and reordering pass an
# item through a free position above the largest one: a position near the database's integer
# limit (2,147,483,647, which a typed or imported position could reach) made that overflow.
MAX_ITEM_ORDER = 9999
MAX_OPTION_LENGTH = 200  # an option of a single choice: a short answer, well within Task.value
_UPDATE_OR_DELETE = pgtrigger.Update | pgtrigger.Delete

_BAG_DURATION = re.compile(r"(\d+)\s*(h|hours?|days?)\b", re.IGNORECASE)


def bag_duration_hours(answer: str) -> int | None:
    """The bag duration an answer of a `records: bag_duration` item begins with, in hours:
    "24 h (10 mL/h)" 24, "7 days (0.6 mL/h, benzyl alcohol)" 168; None when it names none."""
    match = _BAG_DURATION.match(answer.strip())
    if match is None:
        return None
    number = int(match.group(1))
    return number * 24 if match.group(2).lower().startswith("day") else number


class PublishedVersionError(Exception):
    """A published or retired template version was about to change."""


@register_audit_actions
class ChecklistAuditAction(models.TextChoices):
    """What the audit log says was done to tasks, gates and templates (beyond create, update, complete)."""

    CLAIM = "claim", "Claim"
    RELEASE = "release", "Release"
    VERIFY = "verify", "Verify"
    UNDO = "undo", "Undo"
    NOT_APPLICABLE = "not_applicable", "Mark not applicable"
    REASSIGN = "reassign", "Reassign"
    OVERRIDE = "override", "Override a gate"
    PUBLISH = "publish", "Publish a template"
    SUBMIT = "submit", "Submit a template draft for review"
    APPROVE = "approve", "Approve and publish a template draft"
    RETURN_DRAFT = "return_draft", "Return a template draft with comments"
    EMERGENCY_PUBLISH = "emergency_publish", "Publish a template without review"
    REVIEW_AFTER = "review_after", "Review an emergency publication"
    IMPORT = "import", "Import a template"
    INSTALL = "install", "Install a starter template"
    DISCARD = "discard", "Discard a template draft"
    CLOSE_LEFT_OPEN = "close_left_open", "Close a task left open when its event was done"


class ChecklistTemplate(models.Model):
    name = models.CharField(max_length=200, unique=True)
    trigger_kind = models.CharField(
        "triggered by", max_length=20, choices=CareEvent.Kind.choices, help_text="The kind of care event."
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive templates create no new checklists.")
    approver_role = models.CharField(
        "approved by",
        max_length=20,
        blank=True,
        choices=[(Role.PHARMACIST, "An admin who is a pharmacist"), (Role.ONCOLOGIST, "An admin who is an oncologist")],
        help_text="Who must approve a draft before it is published. Empty: any other admin.",
    )

    class Meta:
        ordering = ["trigger_kind", "name"]
        # Whether it makes checklists at all (is_active) and who approves its drafts are changed in
        # the Admin: logged, as its versions are.
        triggers = [change_trigger(patient=None)]

    def __str__(self) -> str:
        return self.name


class ConditionRow(models.Model):
    """fact operator value, for example weight_kg < 45 or setting is home."""

    fact = models.CharField(max_length=40, choices=conditions.FACT_CHOICES)
    operator = models.CharField(max_length=4, choices=conditions.OPERATOR_CHOICES)
    value = models.CharField(max_length=200, help_text="Several values separated by commas for “is one of”.")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return conditions.describe(self.fact, self.operator, self.value)

    def clean(self):
        conditions.parse_value(self.fact, self.operator, self.value)

    def holds_for(self, event: CareEvent) -> bool:
        return conditions.condition_holds(fact=self.fact, operator_name=self.operator, value=self.value, event=event)


@dataclass(frozen=True)
class PinnedCondition:
    """A template's condition as it stood when a checklist was made (`Checklist.template_conditions`),
    read as a ConditionRow is: the template's rows change in place, and a change of them applies to
    the checklists made from then on."""

    fact: str
    operator: str
    value: str

    def __str__(self) -> str:
        return conditions.describe(self.fact, self.operator, self.value)

    def holds_for(self, event: CareEvent) -> bool:
        return conditions.condition_holds(fact=self.fact, operator_name=self.operator, value=self.value, event=event)


class TemplateCondition(ConditionRow):
    """When a template applies at all (for example: cycle number is 1)."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="conditions")


class TemplateVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "Submitted for review"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"
        # An abandoned draft (checklists.governance.template_version_discard). It is kept, not
        # deleted, so that its review history (append-only, and the reason it was discarded),
        # its items and its number stay readable; it never changes again, and it is no longer
        # the template's draft, so a new draft, an import or a starter update may follow.
        DISCARDED = "discarded", "Discarded"

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    change_summary = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Everyone who wrote any of the draft (made it, edited an item, imported it): none of them
    # may approve it (checklists.review).
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        triggers = [change_trigger(patient=None)]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="version_number_once"),
            models.UniqueConstraint(fields=["template"], condition=Q(status="published"), name="one_published_version"),
            # A draft in review is still the template's one unpublished version.
            models.UniqueConstraint(
                fields=["template"], condition=Q(status__in=["draft", "in_review"]), name="one_draft_version"
            ),
        ]
        ordering = ["template", "-number"]

    def __str__(self) -> str:
        return f"{self.template} v{self.number} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        # Once published, the only change a version may see is its retirement; once discarded, none.
        if self.pk:
            stored = TemplateVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            retiring = stored == self.Status.PUBLISHED and self.status == self.Status.RETIRED
            if stored in self.FROZEN and not (retiring and kwargs.get("update_fields") == ["status"]):
                raise PublishedVersionError("A published, retired or discarded template version never changes.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status not in self.UNPUBLISHED:
            raise PublishedVersionError(
                "A published, retired or discarded template version is kept for its checklists and its history."
            )
        return super().delete(*args, **kwargs)

    # On its way to publication: the template's one draft (constraint one_draft_version).
    UNPUBLISHED = (Status.DRAFT, Status.IN_REVIEW)
    FROZEN = (Status.PUBLISHED, Status.RETIRED, Status.DISCARDED)
    # What a new draft is copied from: never a discarded draft, whose changes were abandoned.
    RELEASED = (Status.PUBLISHED, Status.RETIRED)

    @property
    def is_editable(self) -> bool:
        """Only a draft is edited: one in review is what its reviewer reads, so it is returned first."""
        return self.status == self.Status.DRAFT

    @property
    def is_unpublished(self) -> bool:
        return self.status in self.UNPUBLISHED


class TemplateReview(models.Model):
    """One step of a version's way to publication, kept for its history: submitted, returned with
    comments, approved (which publishes it), published alone in an emergency, reviewed afterwards;
    or a new template's first version installed from the starter library; or a draft discarded
    (the comment: why)."""

    class Step(models.TextChoices):
        SUBMITTED = "submitted", "Submitted for review"
        RETURNED = "returned", "Returned with comments"
        APPROVED = "approved", "Approved and published"
        EMERGENCY = "emergency", "Published without review (emergency)"
        REVIEWED_AFTER = "reviewed_after", "Emergency publication reviewed"
        INSTALLED = "installed", "Installed from the starter library (published without review)"
        DISCARDED = "discarded", "Draft discarded"

    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="reviews")
    step = models.CharField(max_length=20, choices=Step.choices)
    # None only for an installation that nobody signed (the starter library loaded by the system).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    comment = models.TextField(blank=True)

    class Meta:
        triggers = [change_trigger(patient=None), AppendOnly(name="review_append_only", operation=_UPDATE_OR_DELETE)]
        ordering = ["version", "at", "pk"]
        indexes = [models.Index(fields=["step"], condition=Q(step="emergency"), name="review_emergency_idx")]

    def __str__(self) -> str:
        return f"{self.get_step_display()} by {self.actor or 'the system'} ({self.version})"


def _refuse_unless_draft(version_ids) -> None:
    locked = TemplateVersion.objects.filter(pk__in=set(version_ids)).exclude(status=TemplateVersion.Status.DRAFT)
    if locked.exists():
        raise PublishedVersionError("A published or retired template version never changes; make a new draft.")


class ImmutableUnlessDraftQuerySet(models.QuerySet):
    """Bulk update and delete check the versions too, so no code path edits a published one."""

    version_path = "version_id"

    def update(self, **kwargs):
        _refuse_unless_draft(self.values_list(self.version_path, flat=True))
        return super().update(**kwargs)

    def delete(self):
        _refuse_unless_draft(self.values_list(self.version_path, flat=True))
        return super().delete()


class ItemContent(models.Model):
    """What an item asks, defined once: a template item holds it, and a task keeps a copy of it
    (a snapshot: later template edits never change a task)."""

    class ResponseKind(models.TextChoices):
        CHECKBOX = "checkbox", "Checkbox"
        NUMBER = "number", "Number"
        TEXT = "text", "Text"
        CHOICE = "choice", "Single choice"
        ATTESTATION = "attestation", "Attestation"
        DATETIME = "datetime", "Date and time"

    class Records(models.TextChoices):
        """What the answer records beyond the task: a stable key, never the item's text."""

        NOTHING = "", "Nothing more"
        WEIGHT = "weight", "Today's weight: becomes the patient's weight"
        PUMP_RATE = "pump_rate", "Pump rate: checked against the bag's record"
        PREMEDICATION_TIME = "premedication_time", "Premedication time: checked against the regimen's window"
        TOXICITY_ASSESSMENT = "toxicity_assessment", "CRS and ICANS assessment: done by recording one"
        BAG_PREPARED = "bag_prepared", "The bag for this event: done once the bag is recorded"
        BAG_DURATION = "bag_duration", "Bag duration: checked against the bag's record"

    section = models.CharField(max_length=100)
    order = models.PositiveIntegerField(
        validators=[MaxValueValidator(MAX_ITEM_ORDER, f"A position is at most {MAX_ITEM_ORDER}.")]
    )
    text = models.CharField(max_length=500)
    help_text = models.TextField(blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    due_offset_minutes = models.IntegerField(
        "due (minutes from the event)",
        default=0,
        validators=[
            MinValueValidator(-MAX_OFFSET_MINUTES, "An item is due at most 30 days (43,200 minutes) before its event."),
            MaxValueValidator(MAX_OFFSET_MINUTES, "An item is due at most 30 days (43,200 minutes) after its event."),
        ],
        help_text="Negative: before the event.",
    )
    response_kind = models.CharField(max_length=12, choices=ResponseKind.choices, default=ResponseKind.CHECKBOX)
    unit = models.CharField(max_length=20, blank=True, help_text="For numbers: kg, mcg/day, °C…")
    min_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    choices = models.JSONField(default=list, blank=True, help_text="For single choice: the options.")
    failing_choices = models.JSONField(default=list, blank=True, help_text="Hard stop: the options that fail it.")
    required = models.BooleanField(default=True)
    hard_stop = models.BooleanField(
        default=False, help_text="A failing answer (a number out of range, a failing option) blocks readiness."
    )
    needs_verification = models.BooleanField(default=False, help_text="A second user must verify it.")
    verifier_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    records = models.CharField(
        max_length=30,
        choices=Records.choices,
        blank=True,
        default="",
        help_text="An answer that the record keeps or checks (a weight, a pump rate, a premedication time, "
        "the bag recorded for the event).",
    )
    source = models.CharField(
        max_length=300,
        blank=True,
        help_text="What the item rests on: the label and its version, or the institution's policy. "
        "Shown to the person doing the task.",
    )

    class Meta:
        abstract = True


ITEM_CONTENT_FIELDS = [field.name for field in ItemContent._meta.fields]


class TemplateItem(ItemContent):
    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="items")
    key = models.UUIDField(default=uuid.uuid4, editable=False, help_text="The same item across versions.")
    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="dependents")

    objects = ImmutableUnlessDraftQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "order"], name="item_order_once_per_version"),
            models.UniqueConstraint(fields=["version", "key"], name="item_key_once_per_version"),
            models.CheckConstraint(
                condition=Q(due_offset_minutes__gte=-MAX_OFFSET_MINUTES)
                & Q(due_offset_minutes__lte=MAX_OFFSET_MINUTES),
                name="item_offset_within_30_days",
            ),
        ]
        ordering = ["version", "order"]

    def __str__(self) -> str:
        return f"{self.order}. {self.text}"

    def save(self, *args, **kwargs):
        _refuse_unless_draft([self.version_id])
        if self.pk:  # moved from a published version?
            _refuse_unless_draft(TemplateItem.objects.filter(pk=self.pk).values_list("version_id", flat=True))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_unless_draft([self.version_id])
        return super().delete(*args, **kwargs)

    def clean(self):
        errors = {}
        kind = self.ResponseKind
        if self.response_kind == kind.CHOICE:
            options = [str(option).strip() for option in self.choices or [] if str(option).strip()]
            # An answer is read without its surrounding spaces (services.parse_task_value) and
            # matched against the options as stored: an option with spaces around it could never
            # be chosen (a failing one: the hard stop could never fail), and an empty one would
            # record an empty answer as done. The editor writes them trimmed; a file may not.
            if any(
                not isinstance(option, str) or option != option.strip() or not option for option in self.choices or []
            ):
                errors["choices"] = "Each option needs text, without spaces before or after it."
            elif any(len(option) > MAX_OPTION_LENGTH for option in options):
                # A chosen option is stored as the task's answer (Task.value, 1,000 characters):
                # a longer one made choosing it at the bedside a server error.
                errors["choices"] = f"Keep each option to at most {MAX_OPTION_LENGTH} characters."
            elif len(options) < 2:
                errors["choices"] = "A single-choice item needs at least two options."
            elif len(set(options)) != len(options):
                errors["choices"] = "Each option may appear only once."
            unknown = set(self.failing_choices or []) - set(options)
            if unknown:
                errors["failing_choices"] = f"Not among the options: {', '.join(sorted(unknown))}."
        elif self.choices or self.failing_choices:
            errors["choices"] = "Only single-choice items have options."
        if self.response_kind == kind.NUMBER:
            if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
                errors["max_value"] = "The maximum must not be below the minimum."
            if self.hard_stop and self.min_value is None and self.max_value is None:
                errors["hard_stop"] = "A number hard stop needs a minimum or a maximum."
        elif self.min_value is not None or self.max_value is not None or self.unit:
            errors["min_value"] = "Only number items have a unit and limits."
        checked_by_record = self.records in (
            self.Records.PUMP_RATE,
            self.Records.PREMEDICATION_TIME,
            self.Records.BAG_DURATION,
        )
        if self.hard_stop and self.response_kind not in (kind.NUMBER, kind.CHOICE) and not checked_by_record:
            errors["hard_stop"] = "Only a number with limits or a single choice with failing options can fail."
        expected_kind = {
            self.Records.WEIGHT: kind.NUMBER,
            self.Records.PUMP_RATE: kind.NUMBER,
            self.Records.PREMEDICATION_TIME: kind.DATETIME,
            self.Records.BAG_DURATION: kind.CHOICE,
        }.get(self.records)
        if expected_kind and self.response_kind != expected_kind:
            errors["records"] = f"This answer is a {kind(expected_kind).label.lower()}: change the response kind."
        # The bag's record holds what was prepared; the task confirms it (and that it was sent),
        # so a number or a text beside it would be a second, unchecked copy of the record.
        if self.records == self.Records.BAG_PREPARED and self.response_kind not in (kind.CHECKBOX, kind.ATTESTATION):
            errors["records"] = "This answer confirms the bag's record: a checkbox or an attestation."
        if self.records == self.Records.BAG_DURATION and "records" not in errors:
            # Each option names a bag's duration ("24 h (10 mL/h)", "7 days …"), read to compare it
            # with the bag recorded; the bag's record decides what fails, not a list of options.
            if unnamed := [option for option in options if bag_duration_hours(option) is None]:
                errors["choices"] = f"Begin each option with a bag's duration (“24 h”, “7 days”): {', '.join(unnamed)}."
            if self.failing_choices:
                errors["failing_choices"] = "The bag's record decides what fails here: clear the failing options."
        if self.hard_stop and self.response_kind == kind.CHOICE and not self.failing_choices and not checked_by_record:
            errors["failing_choices"] = "Name the options that fail the hard stop."
        elif self.response_kind == kind.CHOICE and self.failing_choices and "failing_choices" not in errors:
            # Failing options do what they say only on a hard stop: without it a failing answer is
            # recorded as done. And with every option failing, the item could never pass, so its
            # event would wait for an override.
            if not self.hard_stop:
                errors["failing_choices"] = "Failing options only count on a hard stop: tick Hard stop, or clear them."
            elif not set(options) - set(self.failing_choices):
                errors["failing_choices"] = "Leave at least one option that passes."
        if self.hard_stop and not self.required and "hard_stop" not in errors:
            # The gate waits for required tasks only, and a hard stop is never skipped: optional,
            # it could be left unanswered and the event would start unchecked.
            errors["required"] = "A hard stop is required: left unanswered, the event would start unchecked."
        if self.verifier_role and not self.needs_verification:
            errors["verifier_role"] = "A verifier role only makes sense when the item needs verification."
        errors.update(_roles_refused(self.role, self.verifier_role))
        if errors:
            raise ValidationError(errors)


def _roles_refused(role: str, verifier_role: str) -> dict[str, str]:
    """An item's task goes to a role that works tasks, and its check to one that verifies them
    (checklists.policy, which says who may): given to a coordinator, or to be checked by a case
    manager or a coordinator, the task could be done, skipped or checked by nobody, and its event
    would wait for an oncologist's override."""
    from .policy import VERIFY_TASKS, WORK_TASKS  # the policy reads these models: imported when asked

    refused = {}
    if role in Role.values and role not in WORK_TASKS.roles:  # an unknown value: the field's own message
        refused["role"] = f"{Role(role).label}s do no checklist tasks: choose {_roles_said(WORK_TASKS)}."
    if verifier_role in Role.values and verifier_role not in VERIFY_TASKS.roles:
        refused["verifier_role"] = (
            f"{Role(verifier_role).label}s verify no task: choose {_roles_said(VERIFY_TASKS)}, or leave it empty."
        )
    return refused


def _roles_said(ability) -> str:
    labels = [label.lower() for value, label in Role.choices if value in ability.roles]
    return f"{', '.join(labels[:-1])} or {labels[-1]}"


class ItemConditionQuerySet(ImmutableUnlessDraftQuerySet):
    version_path = "item__version_id"


class ItemCondition(ConditionRow):
    """When an item applies (for example: weight_kg < 45, setting is home)."""

    item = models.ForeignKey(TemplateItem, on_delete=models.CASCADE, related_name="conditions")

    objects = ItemConditionQuerySet.as_manager()

    def save(self, *args, **kwargs):
        _refuse_unless_draft([self.item.version_id])
        if self.pk:  # moved from an item of a published version? (as TemplateItem.save asks)
            stored = ItemCondition.objects.filter(pk=self.pk).values_list("item__version_id", flat=True)
            _refuse_unless_draft(stored)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse_unless_draft([self.item.version_id])
        return super().delete(*args, **kwargs)


class OverrideJustification(models.TextChoices):
    """Why an oncologist lets an event start that is not ready: said in the record's own words,
    beside the free-text reason, so that overrides can be counted and reviewed by kind."""

    CLINICAL_URGENCY = "clinical_urgency", "Clinical urgency: delaying the start is the greater risk"
    DONE_ELSEWHERE = "done_elsewhere", "Done and documented outside the tracker (paper, another system)"
    NOT_RELEVANT = "not_relevant", "Does not apply to this patient at this event"
    CONFIRMED_VERBALLY = "confirmed_verbally", "Confirmed verbally by the responsible clinician"
    OTHER = "other", "Other: the reason says what"


class Checklist(models.Model):
    """A template version applied to one care event: its tasks are a snapshot of the items."""

    event = models.ForeignKey(CareEvent, on_delete=models.CASCADE, related_name="checklists")
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="checklists")
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="checklists")
    created_at = models.DateTimeField(default=timezone.now)
    override_reason = models.TextField(blank=True)
    override_justification = models.CharField(max_length=30, choices=OverrideJustification.choices, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    overridden_blockers = models.JSONField(
        default=list, blank=True, help_text="The blockers (task:kind) that the override covers; new ones block again."
    )
    # Its template's own conditions when it was made, [fact, operator, value] each. They are not
    # versioned (a change applies to the checklists made from then on), so they are pinned here as
    # the items are by the version: a refresh asks these again, never conditions set since.
    template_conditions = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        triggers = [change_trigger(patient=patient_via("patients_careevent", "event_id"))]
        constraints = [
            models.UniqueConstraint(fields=["event", "template"], name="one_checklist_per_event_and_template"),
        ]
        indexes = [
            # The board's overrides of the last week: few, however many checklists there are.
            models.Index(
                fields=["overridden_at"], condition=Q(overridden_at__isnull=False), name="checklist_override_idx"
            ),
        ]
        ordering = ["event", "template__name"]

    def __str__(self) -> str:
        return f"{self.template.name} for {self.event}"

    @property
    def conditions_made_under(self) -> list[PinnedCondition]:
        """Its template's conditions when it was made (`template_conditions`)."""
        return [PinnedCondition(*condition) for condition in self.template_conditions]


# How a recorded CRS and ICANS assessment answers its task: "assessment:<id> (CRS grade …)"
# (checklists.recorded writes and reads it back).
ASSESSMENT_ANSWER = "assessment:"


def assessment_grades(answer: str) -> str:
    """The grades of an assessment's answer, without the record's id: "(CRS grade 0, ICANS grade 0)"."""
    _, _, grades = answer.partition(" ")
    return grades


# How a premedication time is stored: "2026-10-28 08:00" on the unit's clock (", the second time"
# after it in an hour that came twice), then, outside its window, why (checklists.recorded writes
# it; the gate and the API read it as stored).
PREMEDICATION_STORED = "%Y-%m-%d %H:%M"


def premedication_time_shown(answer: str) -> str:
    """A stored premedication time as the pages write a moment ("Wed 28 Oct 2026, 08:00 (…)"): the
    ISO form read as another date format by a nurse. A value of another shape is shown as stored."""
    stamp, rest = answer[:16], answer[16:]
    try:
        # Naive on purpose: the stored time is already on the unit's clock, and is written as it is.
        given = dt.datetime.strptime(stamp, PREMEDICATION_STORED)  # noqa: DTZ007
    except ValueError:
        return answer
    return f"{dateformat.format(given, moments.MOMENT)}{rest}"


# An event is over once it is done or missed: its open tasks due by its time were left open by it.
EVENT_OVER = (CareEvent.Status.DONE, CareEvent.Status.MISSED)


class Task(ItemContent):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        NOT_APPLICABLE = "not_applicable", "Not applicable"
        CANCELLED = "cancelled", "Cancelled"
        # Left open when its event was done or missed, then closed by its owner or the unit's coordinator
        # with why it was not done (checklists.services.task_close_left_open).
        NOT_DONE = "not_done", "Not done"

    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="tasks")
    item = models.ForeignKey(TemplateItem, on_delete=models.PROTECT, related_name="tasks")
    # Denormalised for the dashboards' and the reminders' indexed queries.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="tasks")
    event = models.ForeignKey(CareEvent, on_delete=models.CASCADE, related_name="tasks")
    depends_on = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="dependents")

    due_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_tasks"
    )
    value = models.CharField(max_length=1000, blank=True)
    hard_stop_failed = models.BooleanField(default=False)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    not_applicable_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        triggers = [change_trigger(patient=PATIENT_COLUMN)]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "item"], name="one_task_per_item"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(completed_by__isnull=False, completed_at__isnull=False),
                name="done_task_has_completer",
            ),
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True) | ~Q(verified_by=models.F("completed_by")),
                name="verifier_is_not_completer",
            ),
        ]
        indexes = [
            # Reminders and "overdue" look only at open tasks by due time.
            models.Index(fields=["due_at"], condition=Q(status="open"), name="open_task_due_idx"),
            models.Index(fields=["patient", "status"]),
            models.Index(fields=["assignee", "status"]),
            # My work: the pool of a team's patients due soon, and the completions awaiting a
            # check, which stay few however long the history grows (docs/performance.md).
            models.Index(fields=["patient", "due_at"], condition=Q(status="open"), name="open_task_patient_due_idx"),
            models.Index(
                fields=["patient"],
                condition=Q(status="done", needs_verification=True, verified_by__isnull=True),
                name="task_awaiting_check_idx",
            ),
            # My work: a user's answers that failed a hard stop (few, whatever the history).
            models.Index(
                fields=["completed_by"],
                condition=Q(status="done", hard_stop_failed=True),
                name="task_failed_hard_stop_idx",
            ),
            # The API's task list, a page of a reader's patients' tasks (every status) soonest due
            # first: its keys read from this index alone, not from the thousands of rows
            # (coordination.api.views.base.PatientData.page_by_keys; docs/performance.md).
            models.Index(fields=["patient", "due_at", "id"], name="task_patient_due_id_idx"),
        ]
        ordering = ["due_at", "order"]

    def __str__(self) -> str:
        return self.text

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def awaits_verification(self) -> bool:
        return self.status == self.Status.DONE and self.needs_verification and self.verified_by_id is None

    @property
    def releases_dependents(self) -> bool:
        """Whether the tasks done after this one may go ahead: it does not apply, or it is done with
        an answer that passed and, where it must be, was checked by a second person. "Hang the bag"
        does not follow a dose that failed its hard stop, nor a pump programme still unchecked.

        A cancelled task no longer applies either: its item's conditions stopped holding when they
        were asked again (a weight band crossed), or its event was cancelled (and its open tasks
        with it). A checklist made now would not have it, and its dependents would not wait for it
        (instantiation links only the tasks made); kept waiting, they read "First: …" for ever and
        nobody could act. What now applies instead (the dose by body-surface area) holds them back
        where the template says so."""
        if self.status in (self.Status.NOT_APPLICABLE, self.Status.CANCELLED):
            return True
        return self.status == self.Status.DONE and not self.hard_stop_failed and not self.awaits_verification

    @property
    def value_shown(self) -> str:
        """The answer as a page shows it: a recorded assessment's reference ("assessment:41 (CRS
        grade 0, ICANS grade 0)", which the services read back) said in words, without its id."""
        if self.records == self.Records.TOXICITY_ASSESSMENT and self.value.startswith(ASSESSMENT_ANSWER):
            return f"Assessment recorded {assessment_grades(self.value)}".strip()
        if self.records == self.Records.PREMEDICATION_TIME:
            return premedication_time_shown(self.value)
        return self.value

    @property
    def state_version(self) -> str:
        """What a row shows of the task, as a short opaque token: its status, answer, who completed,
        verified or holds it, and when. A page (and an API client) sends back the one it drew, so
        that an undo, a verification or a reassignment acts on what its user saw, never on an
        answer given since (checklists.policy.seen_unchanged). Equal tokens: the same state."""
        parts = (
            self.status,
            self.value,
            self.hard_stop_failed,
            self.not_applicable_reason,
            self.completed_by_id,
            _utc(self.completed_at),
            self.verified_by_id,
            _utc(self.verified_at),
            self.assignee_id,
        )
        # str(): a status just set is its enum member, read back it is a plain string; the same state.
        return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]

    @property
    def is_left_open(self) -> bool:
        """Open although its event is over, done (the cycle started, the bag was changed) or missed
        (its time passed without a start), and it was due by then: it can no longer be done before
        the event, so it is not overdue work; it waits to be closed with a reason (`LEFT_OPEN`, the
        same as a query). Work due after the event is still work."""
        event = self.event
        happened = event.actual_at or event.planned_at
        return self.is_open and event.status in EVENT_OVER and self.due_at <= happened

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now() and not self.is_left_open

    @property
    def limits_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.min_value is not None and self.max_value is not None:
            return f"{_plain(self.min_value)}–{_plain(self.max_value)}{unit}"
        if self.min_value is not None:
            return f"at least {_plain(self.min_value)}{unit}"
        if self.max_value is not None:
            return f"at most {_plain(self.max_value)}{unit}"
        return ""


def _utc(moment) -> str:
    """A time as the database gives it back (UTC), whichever zone it was set in."""
    return moment.astimezone(dt.UTC).isoformat() if moment else ""


# The same as queries: open tasks whose event is over, done or missed, are left open (shown apart,
# neutral, until closed with a reason); only the others are work still due (My work, the board's
# overdue list, the reminders and escalations). A missed event's tasks are left open too: its time
# has passed and it will not start, so they could never be done in time, nor closed otherwise (a
# hard stop is not skipped, nor a settled event's gate overridden).
# Only work due by the time the event happened can have been left open by it: what is due after it
# (a stop's follow-up, a check hours after a cycle start) is still to do, and stays overdue work.
EVENT_TIME = Coalesce(F("event__actual_at"), F("event__planned_at"))
LEFT_OPEN = Q(status=Task.Status.OPEN, event__status__in=EVENT_OVER, due_at__lte=EVENT_TIME)
STILL_DUE = Q(status=Task.Status.OPEN) & (~Q(event__status__in=EVENT_OVER) | Q(due_at__gt=EVENT_TIME))


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


class TaskActivity(models.Model):
    """Who did what to a task and when: the history shown on the patient page.

    No audit trigger: it is itself a log, written only by the services beside the change it tells
    of (a task's, a checklist's override, an interruption's restart), which their tables' triggers
    log with the actor and patient; no page or Admin edits it. A trigger would log each action twice.
    """

    class Action(models.TextChoices):
        CLAIM = "claim", "Claimed"
        RELEASE = "release", "Released"
        REASSIGN = "reassign", "Reassigned"
        COMPLETE = "complete", "Completed"
        HARD_STOP = "hard_stop", "Completed, hard stop failed"
        VERIFY = "verify", "Verified"
        UNDO = "undo", "Completion undone"
        NOT_APPLICABLE = "not_applicable", "Marked not applicable"
        CANCEL = "cancel", "Cancelled"
        MOVE = "move", "Moved"
        OVERRIDE = "override", "Gate overridden"
        OVERRIDE_LIFTED = "override_lifted", "Override lifted"
        CONDITIONS = "conditions", "Conditions asked again"
        DONE_LATE = "done_late", "Closed: done late"
        NOT_DONE = "not_done", "Closed: not done"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="activities", null=True, blank=True)
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="activities")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="task_activities")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["patient", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor or 'the system'}"

    @property
    def detail_shown(self) -> str:
        """The detail as the history shows it: a completion by a recorded assessment keeps the
        task's answer ("assessment:41 (CRS grade 0, ICANS grade 0)"), said without the record's id."""
        if self.detail.startswith(ASSESSMENT_ANSWER):
            # The grades' own brackets go (the history puts the detail in brackets), and only they:
            # an undo's detail goes on after them ("(CRS grade 0, ICANS grade 0): wrong patient").
            grades, _, rest = assessment_grades(self.detail).removeprefix("(").partition(")")
            return f"{grades}{rest}"
        return self.detail
