"""What the API's records look like (read-only: changes go through the actions and their services),
and the bodies that actions take. Times are ISO 8601 in UTC ("2026-12-06T11:55:00Z"); a time sent
without an offset is read as UTC."""

import datetime as dt

from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from rest_framework import serializers

from accounts.fields import utc_unless_offset
from accounts.models import User
from checklists.models import Checklist, Task, TemplateItem
from patients.models import (
    DEMOGRAPHICS,
    Assessment,
    CareEvent,
    CareTeamMember,
    Cycle,
    HomeCheckIn,
    InfusionBag,
    Interruption,
    Patient,
    PumpEvent,
    Regimen,
    RegimenVersion,
    TreatmentCourse,
)

from ..handoffs.models import (
    ACTION_MAX,
    IPASS_FIELDS,
    LINE_MAX,
    REASON_MAX,
    SUMMARY_MAX,
    TEXT_MAX,
    Handoff,
    HandoffAction,
)
from ..reminders.models import Notification


class UTCDateTimeField(serializers.DateTimeField):
    """Times in UTC, whatever the caller's unit's clock."""

    def default_timezone(self):
        return dt.UTC


class JSONValue(serializers.JSONField):
    """Any JSON whose strings, nested ones and keys included, hold no NUL character: DRF's
    CharField refuses one (ProhibitNullCharactersValidator), its JSONField does not, and
    PostgreSQL's text and jsonb cannot hold it (a DataError, a 500)."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if _holds_nul(data):
            raise serializers.ValidationError(
                ProhibitNullCharactersValidator.message, code="null_characters_not_allowed"
            )
        return data


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(inner) for key, inner in value.items())
    if isinstance(value, list):
        return any(_holds_nul(inner) for inner in value)
    return False


class Record(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


# The largest id there can be: PostgreSQL's bigint, and SQLite's integer (`make run`). A larger
# number names nothing, and SQLite cannot even compare it (an OverflowError, a 500): a 400 says so,
# which tells nobody which ids exist.
MAX_ID = 2**63 - 1
NOT_AN_ID = f"An id: a whole number from 1 to {MAX_ID}."


class IdField(serializers.IntegerField):
    """An id in a body, from 1 to MAX_ID."""

    default_error_messages = {"min_value": NOT_AN_ID, "max_value": NOT_AN_ID}

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class Body(serializers.Serializer):
    """The body of an action: a field it does not know is an error, not silently dropped (a typo
    in `reason` must not pass for a missing reason)."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := sorted(set(data) - set(self.fields))):
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class Person(Record):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "role"]


# --- the clinical record --------------------------------------------------------------------------


class CareTeamMemberOut(Record):
    user = Person(read_only=True)

    class Meta:
        model = CareTeamMember
        fields = ["user", "role", "added_at"]


class PatientOut(Record):
    care_team = CareTeamMemberOut(many=True, read_only=True)

    class Meta:
        model = Patient
        fields = ["id", *DEMOGRAPHICS, "care_team"]


class CourseOut(Record):
    class Meta:
        model = TreatmentCourse
        fields = [
            "id",
            "patient",
            "regimen",
            "indication",
            "regimen_version",
            "planned_cycles",
            "start_date",
            "status",
            "bag_hours",
            "inpatient_bag_hours",
            "outpatient_setting",
        ]


class CycleOut(Record):
    patient = serializers.IntegerField(source="course.patient_id", read_only=True)

    class Meta:
        model = Cycle
        fields = [
            "id",
            "patient",
            "course",
            "number",
            "phase",
            "start_date",
            "infusion_days",
            "rest_days",
            "inpatient_days",
            "repeats_cycle",
            "infusion_ends_at",
            "planned_ends_at",
            "ended_early_at",
        ]


class CareEventOut(Record):
    class Meta:
        model = CareEvent
        fields = ["id", "patient", "cycle", "kind", "sequence", "setting", "planned_at", "actual_at", "status", "note"]


class TaskOut(Record):
    assignee = Person(read_only=True, allow_null=True)
    completed_by = Person(read_only=True, allow_null=True)
    verified_by = Person(read_only=True, allow_null=True)
    version = serializers.CharField(
        source="state_version",
        read_only=True,
        help_text="The task's state as you read it (opaque; it changes with its status, answer, checks and "
        "holder). `undo` and `verify` send it back: changed since, they are refused with a 409.",
    )

    class Meta:
        model = Task
        fields = [
            "id",
            "patient",
            "event",
            "checklist",
            "text",
            "role",
            "response_kind",
            "needs_verification",
            "due_at",
            "status",
            "assignee",
            "value",
            "hard_stop_failed",
            "completed_by",
            "completed_at",
            "verified_by",
            "verified_at",
            "not_applicable_reason",
            "version",
        ]
        extra_kwargs = {
            "value": {
                "help_text": "The answer as text, as the page shows it. A date and time: as sent, with +00:00 added "
                "when it came without an offset; a premedication time: on the unit's clock, without an offset."
            }
        }


class ChecklistOut(Record):
    patient = serializers.IntegerField(source="event.patient_id", read_only=True)
    template = serializers.CharField(source="template.name", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    tasks = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Checklist
        fields = ["id", "patient", "event", "template", "version", "created_at", "overridden_at", "tasks"]


class AssessmentOut(Record):
    class Meta:
        model = Assessment
        fields = [
            "id",
            "patient",
            "course",
            "event",
            "assessed_at",
            "recorded_at",
            "temperature_celsius",
            "hypotension",
            "systolic_bp",
            "diastolic_bp",
            "heart_rate",
            "oxygen_saturation",
            "oxygen_device",
            "vasopressors",
            "consciousness",
            "seizure",
            "crs_grade",
            "crs_rule",
            "icans_grade",
            "icans_rule",
            "confirmed_crs_grade",
            "confirmed_icans_grade",
            "confirmed_at",
        ]


class InterruptionOut(Record):
    """A stop of the infusion and (once known) its restart: the plan moves by it."""

    stopped_by = Person(read_only=True)
    restarted_by = Person(read_only=True, allow_null=True)

    class Meta:
        model = Interruption
        fields = [
            "id",
            "patient",
            "course",
            "cycle",
            "stopped_at",
            "cause",
            "detail",
            "toxicity_grade",
            "toxicity_kind",
            "stopped_by",
            "resolved_at",
            "restarted_at",
            "restarted_by",
            "restart_dose",
            "new_cycle",
            "permanent",
            "recorded_at",
        ]


class PumpEventOut(Record):
    recorded_by = Person(read_only=True)

    class Meta:
        model = PumpEvent
        fields = [
            "id",
            "patient",
            "course",
            "kind",
            "occurred_at",
            "reported_by",
            "volume_left_ml",
            "action_taken",
            "infusion_stopped_at",
            "infusion_restarted_at",
            "interruption",
            "out_of_hours",
            "recorded_by",
            "recorded_at",
        ]


class CheckInOut(Record):
    """A daily home check: the temperature as measured and in °C, the warning signs (keys of
    patients.warning_signs), the pump, and the red flags that routed it to the oncologist."""

    recorded_by = Person(read_only=True)

    class Meta:
        model = HomeCheckIn
        fields = [
            "id",
            "patient",
            "checked_at",
            "temperature",
            "temperature_unit",
            "temperature_celsius",
            "signs",
            "handwriting_changed",
            "pump_status",
            "note",
            "red_flags",
            "recorded_by",
            "recorded_at",
        ]


class BagOut(Record):
    """A bag the pharmacy prepared for an event, as its label and record give it, and what became of
    it when its event was cancelled (`decision`: used for another event, returned or discarded)."""

    compounded_by = Person(read_only=True)
    checked_by = Person(read_only=True)
    recorded_by = Person(read_only=True)
    decided_by = Person(read_only=True, allow_null=True)
    needs_decision = serializers.BooleanField(
        read_only=True,
        help_text="Its event was cancelled and nobody has said yet whether it is used for another event, "
        "returned or discarded.",
    )

    class Meta:
        model = InfusionBag
        fields = [
            "id",
            "patient",
            "event",
            "dose",
            "dose_basis",
            "volume_ml",
            "rate_ml_per_hour",
            "duration_hours",
            "preservative",
            "stabiliser_added",
            "expires_at",
            "compounded_by",
            "checked_by",
            "recorded_by",
            "recorded_at",
            "needs_decision",
            "decision",
            "decision_reason",
            "decided_by",
            "decided_at",
            "moved_from_event",
        ]
        extra_kwargs = {
            "event": {"help_text": "The event it is hung at (the one it was moved to, when used for another)."},
            "moved_from_event": {"help_text": "The cancelled event it was prepared for, when used for another."},
        }


class RegimenVersionOut(Record):
    class Meta:
        model = RegimenVersion
        fields = [
            "id",
            "number",
            "status",
            "max_cycles",
            "infusion_days",
            "starting_dose",
            "step_up_dose",
            "later_cycle_dose",
            "restart_dose",
            "re_escalation_dose",
            "neurological_resolve_within_days",
            "other_toxicity_resolve_within_days",
            "restart_after_resolved_days",
            "crs_stop_for_good_from_grade",
            "neurological_stop_for_good_from_grade",
            "other_stop_for_good_from_grade",
            "published_at",
        ]


class RegimenOut(Record):
    versions = RegimenVersionOut(many=True, read_only=True)

    class Meta:
        model = Regimen
        fields = ["id", "name", "indication", "versions"]


# --- handoffs and notifications -----------------------------------------------------------------


class HandoffActionOut(Record):
    class Meta:
        model = HandoffAction
        fields = ["id", "text", "role", "due_at", "purpose", "status", "done_at"]


class HandoffOut(Record):
    actions = HandoffActionOut(many=True, read_only=True)

    class Meta:
        model = Handoff
        fields = [
            "id",
            "patient",
            "event",
            "kind",
            "status",
            "from_unit",
            "to_unit",
            "to_person",
            *IPASS_FIELDS,
            "synthesis",
            "created_at",
            "sent_at",
            "acknowledge_by",
            "acknowledged_at",
            "accepted_at",
            "completed_at",
            "first_visit_at",
            "returned_at",
            "return_reason",
            "actions",
        ]


class NotificationOut(Record):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "link", "task", "created_at", "read_at"]


# --- the bodies of actions -------------------------------------------------------------------------


class Empty(Body):
    """No body, or `{}`."""


class Reason(Body):
    reason = serializers.CharField(max_length=REASON_MAX, allow_blank=True)


SEEN_HELP = (
    "The task's `version` as you read it (the list, the task, or the answer to your last action): "
    "the action is on the answer you saw, never on one given since."
)


class SeenTask(Body):
    """An action on the answer the caller saw: its `version` (TaskOut), checked by the service."""

    version = serializers.CharField(source="seen", max_length=64, help_text=SEEN_HELP)


class SeenReason(Reason):
    version = serializers.CharField(source="seen", max_length=64, help_text=SEEN_HELP)


class TaskAnswer(Body):
    value = JSONValue(
        help_text='The answer: true for a checkbox, "attested", a number, a choice, text, a date and time '
        "(ISO 8601; without an offset, UTC)."
    )
    confirmed = serializers.BooleanField(
        default=False,
        help_text="Record an answer that fails the hard stop, or a weight far from the one before, anyway (the 400 "
        "said why).",
    )

    def validate_value(self, value):
        if not isinstance(value, str | int | float | bool) or value is None:
            raise serializers.ValidationError("Send a string, a number or true.")
        task = self.context.get("target")
        if isinstance(value, str) and task is not None and task.response_kind == TemplateItem.ResponseKind.DATETIME:
            # The API's times are UTC, as its docs say; the task's field reads a time without an
            # offset on the unit's clock (the page's, for a person at the bedside). So the offset
            # is added here, and kept with the answer: the page then shows it unmistakably.
            return utc_unless_offset(value)
        return "yes" if value is True else str(value)


class Synthesis(Body):
    synthesis = serializers.CharField(max_length=TEXT_MAX, allow_blank=True)


class FirstVisit(Body):
    first_visit_at = UTCDateTimeField(required=False, help_text="When the first home visit was; now if left out.")


class MarkRead(Body):
    ids = serializers.ListField(child=IdField(), required=False, max_length=500, help_text="Those; all if left out.")


class HandoffActionIn(Body):
    text = serializers.CharField(max_length=ACTION_MAX)
    role = serializers.ChoiceField(choices=HandoffAction.ROLE_CHOICES)
    due_at = UTCDateTimeField()
    purpose = serializers.ChoiceField(
        choices=HandoffAction.Purpose.choices,
        default=HandoffAction.Purpose.OTHER,
        allow_blank=True,
        help_text="What the action is for, when the tracker must know it: the first home visit (after the "
        "discharge; the handoff is completed once it is done) or the first bag change at home (not before the "
        'first visit); "" (left out) for any other. At most one action of each.',
    )


class HandoffIn(Body):
    event = IdField(help_text="The discharge (or other event) it belongs to.")
    kind = serializers.ChoiceField(choices=Handoff.Kind.choices, default=Handoff.Kind.HOSPITAL_HOME)
    to_unit = IdField()
    to_person = IdField(required=False, allow_null=True)
    illness_severity = serializers.ChoiceField(choices=Handoff.Severity.choices, default=Handoff.Severity.STABLE)
    patient_summary = serializers.CharField(allow_blank=True, default="", max_length=SUMMARY_MAX)
    pump = serializers.CharField(allow_blank=True, default="", max_length=LINE_MAX)
    line = serializers.CharField(allow_blank=True, default="", max_length=LINE_MAX)
    situation_awareness = serializers.CharField(allow_blank=True, default="", max_length=TEXT_MAX)
    contingency_plan = serializers.CharField(allow_blank=True, default="", max_length=TEXT_MAX)
    actions = HandoffActionIn(many=True, required=False, max_length=50)


class MarkedRead(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")
