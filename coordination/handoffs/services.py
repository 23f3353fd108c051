"""Handoffs between units: prepare, send, acknowledge, accept, return, cancel, complete, and the
coordinator's review (comment, flag, sign off).

The status flow, checked here and nowhere else:

    draft ──send──▶ sent ──acknowledge──▶ acknowledged ──accept──▶ accepted ──complete──▶ completed
      ▲               │                        │
      └──(edit)── returned ◀──return (reason)──┘            cancel (reason): draft, sent,
                                                             acknowledged or returned → cancelled

- The sending side (a case manager, nurse or oncologist on the patient's care team) prepares,
  edits, sends and cancels. The receiving side (a nurse, case manager or coordinator of the
  receiving unit, who sees the patient through the handoff's access grant) acknowledges,
  accepts with a synthesis, returns with a reason, works the actions and completes when the
  first home visit is done. The sending unit's coordinator comments, flags and signs off.
- A handoff cannot be sent while its event's checklist (the hospital-to-home transition) has a
  required item open, or is otherwise not ready.
- Sending opens an `AccessGrant` for the receiving unit (patients.services); returning or
  cancelling revokes it at once; completing ends it `access_hours_after_completion()` later.
- Accepting turns the action list into tasks of the receiving side: each action, until then a
  proposal, becomes open for its owning role, with its due time.
- Every transition locks the handoff row: of two people acting at once (or one double click),
  one wins and the other gets a `HandoffConflict` saying who did what, and when.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audited
from accounts.models import AuditEvent, Unit, User
from accounts.permissions import MATRIX, Ability, can
from checklists.gate import event_readiness
from checklists.models import Checklist, Task, TemplateItem
from checklists.selectors import checklists_with_tasks
from checklists.services import checklists_instantiate
from patients.models import CareEvent, CareTeamMember, Patient
from patients.services import access_grant_close, access_grant_open

from .models import Handoff, HandoffAction, HandoffActivity, HandoffComment, Notification
from .models.handoff import ACTION_MAX, COMMENT_MAX, LINE_MAX, REASON_MAX, SUMMARY_MAX, TEXT_MAX

MAX_ACTIONS = 20
Status = Handoff.Status

# Which kind of unit receives which kind of handoff, and which kinds belong to a discharge.
RECEIVING_UNIT_KINDS = {
    Handoff.Kind.HOSPITAL_HOME: Unit.Kind.HOME_HEALTH,
    Handoff.Kind.WARD_CLINIC: Unit.Kind.INFUSION_CLINIC,
    Handoff.Kind.HOME_HOSPITAL: Unit.Kind.INPATIENT_WARD,
}
DISCHARGE_KINDS = {Handoff.Kind.HOSPITAL_HOME, Handoff.Kind.WARD_CLINIC}
# What the receiving unit's users see of a handoff: from sending onwards (returned and
# cancelled ones close the grant, and with it the patient).
RECEIVER_STATUSES = [Status.SENT, Status.ACKNOWLEDGED, Status.ACCEPTED, Status.COMPLETED]
CANCELLABLE = {Status.DRAFT, Status.SENT, Status.ACKNOWLEDGED, Status.RETURNED}
EDITABLE = {Status.DRAFT, Status.RETURNED}


class HandoffConflict(Exception):
    """Somebody else moved the handoff first (or it is not at that step); the message says who."""


def access_hours_after_completion() -> int:
    """How long the receiving unit keeps seeing the patient after the handoff is completed
    (settings.HANDOFF_ACCESS_HOURS_AFTER_COMPLETION, from the environment; 72 by default)."""
    return settings.HANDOFF_ACCESS_HOURS_AFTER_COMPLETION


# --- who is on which side ----------------------------------------------------------------------


def is_sender(user, patient_id: int) -> bool:
    """A case manager, nurse or oncologist on the patient's care team."""
    return (
        user.is_active
        and can(user, Ability.SEND_HANDOFF)
        and CareTeamMember.objects.filter(patient_id=patient_id, user=user).exists()
    )


def is_receiver(user, handoff: Handoff) -> bool:
    """A nurse, case manager or coordinator of the receiving unit, while it sees the patient."""
    return (
        user.is_active
        and can(user, Ability.ACCEPT_HANDOFF)
        and user.unit_id is not None
        and user.unit_id == handoff.to_unit_id
        and Patient.objects.visible_to(user).filter(pk=handoff.patient_id).exists()
    )


def is_reviewer(user, handoff: Handoff) -> bool:
    """The sending unit's coordinator."""
    return user.is_active and can(user, Ability.VIEW_BOARD) and user.unit_id == handoff.from_unit_id


def _require_sender(actor, patient_id: int) -> None:
    if not is_sender(actor, patient_id):
        raise PermissionDenied("Only a case manager, nurse or oncologist on this patient's care team may do this.")


def _require_receiver(actor, handoff: Handoff, allowed=None) -> None:
    """Refuse anyone but the receiving side. With `allowed` statuses, a member of the receiving
    unit who finds the handoff moved on (cancelled while they accepted it) is told so, before
    the closed window would refuse them without saying why."""
    member = (
        actor.is_active
        and can(actor, Ability.ACCEPT_HANDOFF)
        and actor.unit_id is not None
        and actor.unit_id == handoff.to_unit_id
    )
    if member and allowed is not None:
        _require_status(handoff, allowed, actor)
    if not (member and is_receiver(actor, handoff)):
        raise PermissionDenied(f"Only a nurse, case manager or coordinator of {handoff.to_unit} may do this.")


def _require_reviewer(actor, handoff: Handoff) -> None:
    if not is_reviewer(actor, handoff):
        raise PermissionDenied(f"Only a coordinator of {handoff.from_unit} may review this handoff.")


# --- content -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    text: str
    role: str
    due_at: dt.datetime


@dataclass(frozen=True)
class HandoffContent:
    """What the sender writes: the receiving side and the I-PASS content."""

    kind: str
    to_unit: Unit
    illness_severity: str
    patient_summary: str
    contingency_plan: str
    situation_awareness: str = ""
    pump: str = ""
    line: str = ""
    to_person: User | None = None
    actions: Sequence[ActionSpec] = field(default_factory=tuple)


CONTENT_FIELDS = (
    "kind",
    "illness_severity",
    "patient_summary",
    "situation_awareness",
    "contingency_plan",
    "pump",
    "line",
)
LIMITS = {
    "patient_summary": SUMMARY_MAX,
    "situation_awareness": TEXT_MAX,
    "contingency_plan": TEXT_MAX,
    "pump": LINE_MAX,
    "line": LINE_MAX,
}
REQUIRED_MESSAGES = {
    "patient_summary": "Write the patient summary.",
    "contingency_plan": "Write the contingency plan: what to watch for (fever above 38.5 °C, new confusion…) "
    "and whom to call.",
}
SEND_MESSAGES = {
    "pump": "Say which pump goes home and how it is programmed.",
    "line": "Say which line the infusion runs through, and its site.",
}


def _validate_content(content: HandoffContent, *, patient: Patient, event: CareEvent) -> None:
    """Everything the sender may get wrong, each message at its field; nothing saved on error."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if content.kind not in Handoff.Kind.values:
        add("kind", "Choose the kind of handoff.")
    if content.illness_severity not in Handoff.Severity.values:
        add("illness_severity", "Choose stable, watcher or unstable.")
    for name, message in REQUIRED_MESSAGES.items():
        if not getattr(content, name).strip():
            add(name, message)
    for name, limit in LIMITS.items():
        if len(getattr(content, name)) > limit:
            add(name, f"At most {limit:,} characters.")
    to_unit = content.to_unit
    if to_unit.pk == patient.unit_id:
        add("to_unit", "A handoff goes to another unit: this is the sending unit itself.")
    elif to_unit.organisation_id != patient.organisation_id:
        add("to_unit", "Choose a unit of this organisation.")
    elif content.kind in RECEIVING_UNIT_KINDS and to_unit.kind != RECEIVING_UNIT_KINDS[content.kind]:
        wanted = Unit.Kind(RECEIVING_UNIT_KINDS[content.kind]).label.lower()
        add("to_unit", f"A “{Handoff.Kind(content.kind).label}” handoff goes to a {wanted}.")
    if content.to_person is not None and (content.to_person.unit_id != to_unit.pk or not content.to_person.is_active):
        add("to_person", f"{content.to_person} is not an active member of {to_unit}.")
    if event.patient_id != patient.pk:
        add("event", "This event belongs to another patient.")
    elif event.status == CareEvent.Status.CANCELLED:
        add("event", "This event is cancelled.")
    elif content.kind in DISCHARGE_KINDS and event.kind != CareEvent.Kind.DISCHARGE_HOME:
        add("event", "A discharge handoff belongs to a planned discharge.")
    if len(content.actions) > MAX_ACTIONS:
        add("actions", f"At most {MAX_ACTIONS} actions.")
    for action in content.actions:
        if not action.text.strip() or len(action.text) > ACTION_MAX:
            add("actions", f"Each action needs a text of at most {ACTION_MAX} characters.")
        if action.role not in dict(HandoffAction.ROLE_CHOICES):
            add("actions", "Each action is owned by a nurse or a case manager.")
        if action.due_at is None or timezone.is_naive(action.due_at):
            add("actions", "Each action needs a due time.")
    if errors:
        raise ValidationError(errors)


def _apply_content(handoff: Handoff, content: HandoffContent) -> None:
    for name in CONTENT_FIELDS:
        value = getattr(content, name)
        setattr(handoff, name, value.strip() if isinstance(value, str) else value)
    handoff.to_unit = content.to_unit
    handoff.to_person = content.to_person


def _replace_actions(handoff: Handoff, actions: Sequence[ActionSpec]) -> None:
    handoff.actions.all().delete()
    HandoffAction.objects.bulk_create(
        HandoffAction(handoff=handoff, order=order, text=a.text.strip(), role=a.role, due_at=a.due_at)
        for order, a in enumerate(actions, start=1)
    )


def _log(handoff: Handoff, actor, action: str, detail: str = "", now=None) -> None:
    HandoffActivity.objects.create(
        handoff=handoff, actor=actor, action=action, detail=detail[:COMMENT_MAX], at=now or timezone.now()
    )


def _notify(users, *, title: str, body: str, handoff: Handoff, now=None) -> None:
    link = f"/handoffs/{handoff.pk}/"
    Notification.objects.bulk_create(
        Notification(recipient=user, title=title[:200], body=body, link=link, created_at=now or timezone.now())
        for user in users
    )


def _receivers_to_tell(handoff: Handoff):
    if handoff.to_person_id:
        return [handoff.to_person]
    roles = MATRIX[Ability.ACCEPT_HANDOFF]
    return list(User.objects.filter(unit_id=handoff.to_unit_id, is_active=True, role__in=roles))


def _locked(handoff: Handoff) -> Handoff:
    # The handoff row alone ("self"): after waiting for the lock PostgreSQL re-reads it, so the
    # loser of a race sees the winner's status; related rows load on access, fresh.
    return Handoff.objects.select_for_update(of=("self",)).get(pk=handoff.pk)


def _when(handoff: Handoff, at: dt.datetime | None) -> str:
    if at is None:
        return ""
    return timezone.localtime(at, handoff.from_unit.zone).strftime("%d %b %H:%M")


def _conflict(handoff: Handoff, actor) -> HandoffConflict:
    """What the handoff's current status says to someone who expected another one."""

    def who(user_id, user) -> str:
        return "you" if user_id == actor.pk else str(user)

    status = handoff.status
    if status == Status.DRAFT:
        return HandoffConflict("This handoff is a draft: it has not been sent.")
    if status == Status.SENT:
        return HandoffConflict(
            f"Already sent by {who(handoff.from_person_id, handoff.from_person)} at "
            f"{_when(handoff, handoff.sent_at)}; it waits for acknowledgement."
        )
    if status == Status.ACKNOWLEDGED:
        return HandoffConflict(
            f"Already acknowledged by {who(handoff.acknowledged_by_id, handoff.acknowledged_by)} "
            f"at {_when(handoff, handoff.acknowledged_at)}."
        )
    if status == Status.ACCEPTED:
        return HandoffConflict(
            f"Already accepted by {who(handoff.accepted_by_id, handoff.accepted_by)} at "
            f"{_when(handoff, handoff.accepted_at)}."
        )
    if status == Status.COMPLETED:
        return HandoffConflict(
            f"Already completed by {who(handoff.completed_by_id, handoff.completed_by)} at "
            f"{_when(handoff, handoff.completed_at)}."
        )
    if status == Status.RETURNED:
        return HandoffConflict(
            f"Returned by {who(handoff.returned_by_id, handoff.returned_by)} at "
            f"{_when(handoff, handoff.returned_at)}: {handoff.return_reason}"
        )
    return HandoffConflict(
        f"Cancelled by {who(handoff.cancelled_by_id, handoff.cancelled_by)} at "
        f"{_when(handoff, handoff.cancelled_at)}: {handoff.cancel_reason}"
    )


def _require_status(handoff: Handoff, allowed, actor) -> None:
    if handoff.status not in allowed:
        raise _conflict(handoff, actor)


def _reason(reason: str, *, field_name: str = "reason", message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field_name: message})
    if len(reason) > REASON_MAX:
        raise ValidationError({field_name: f"At most {REASON_MAX} characters."})
    return reason


# --- the facts from the record -------------------------------------------------------------------


def _local(at: dt.datetime, zone) -> str:
    return timezone.localtime(at, zone).strftime("%a %d %b %Y, %H:%M")


def handoff_facts(handoff: Handoff, *, now: dt.datetime | None = None) -> list[list[str]]:
    """The facts a receiver needs, read from the record: cycle and day, inpatient days done,
    bag duration and the next change at home, pump programming, weight, last premedication.

    [[label, value], …]; stored on the handoff when it is sent, computed afresh before.
    """
    now = now or timezone.now()
    patient, cycle, course, event = handoff.patient, handoff.cycle, handoff.course, handoff.event
    zone = patient.unit.zone
    discharge_day = cycle.day_number(timezone.localtime(event.planned_at, zone).date())
    today = cycle.day_number(timezone.localtime(now, zone).date())
    inpatient_done = max(0, min(cycle.inpatient_days, today - 1))
    after = max(now, event.planned_at)
    next_bag = (
        CareEvent.objects.filter(cycle__course=course, kind=CareEvent.Kind.BAG_CHANGE, planned_at__gte=after)
        .exclude(status=CareEvent.Status.CANCELLED)
        .order_by("planned_at")
        .first()
    )
    done = Task.objects.filter(patient=patient, status=Task.Status.DONE).select_related("completed_by", "verified_by")
    pump_task = done.filter(text__istartswith="Pump programm").order_by("-completed_at").first()
    # The premedication task is found by what it records, never by its text; its value is the
    # time given, on the unit's clock (checklists/recorded.py).
    premedication = (
        done.filter(records=TemplateItem.Records.PREMEDICATION_TIME)
        .select_related("event")
        .order_by("-completed_at")
        .first()
    )

    pump = "not recorded"
    if pump_task:
        pump = f"programmed {_local(pump_task.completed_at, zone)} by {pump_task.completed_by}"
        if pump_task.verified_by_id:
            pump += f", double-checked by {pump_task.verified_by}"
    if today < 1:
        where = f"starts {cycle.start_date:%d %b}"
    elif today > cycle.infusion_days:
        where = f"infusion ended {cycle.infusion_end_date:%d %b}"
    else:
        where = f"day {today} today"
    return [
        [
            "Cycle and day",
            f"Cycle {cycle.number} ({cycle.get_phase_display().lower()}), {where}; "
            f"{event.get_kind_display().lower()} on day {discharge_day}",
        ],
        ["Inpatient days", f"{inpatient_done} of {cycle.inpatient_days} done"],
        ["Bag duration", f"{course.bag_hours} hours outside hospital"],
        ["Next bag change", _local(next_bag.planned_at, zone) if next_bag else "none planned in this course"],
        ["Pump programming", pump],
        ["Weight", f"{patient.weight_kg} kg, measured {patient.weight_measured_on:%d %b %Y}"],
        [
            "Last premedication",
            f"{premedication.value}, before the {premedication.event.get_kind_display().lower()}"
            if premedication
            else "not recorded",
        ],
    ]


def handoff_checklists(handoff: Handoff) -> list[Checklist]:
    """The checklists of the handoff's event (the hospital-to-home transition), with their tasks."""
    event = CareEvent.objects.prefetch_related(checklists_with_tasks()).get(pk=handoff.event_id)
    return list(event.checklists.all())


# --- the sending side ----------------------------------------------------------------------------


@audited(AuditEvent.Action.CREATE)
@transaction.atomic
def handoff_create(*, event: CareEvent, content: HandoffContent, actor, now: dt.datetime | None = None) -> Handoff:
    """A draft handoff for an event (a planned discharge), prepared by the sending side."""
    now = now or timezone.now()
    event = (
        CareEvent.objects.select_for_update(of=("self",))
        .select_related("patient__unit", "cycle__course")
        .get(pk=event.pk)
    )
    patient = event.patient
    _require_sender(actor, patient.pk)
    _validate_content(content, patient=patient, event=event)
    live = Handoff.objects.filter(event=event).exclude(status=Status.CANCELLED).first()
    if live is not None:
        raise ValidationError({"event": f"This event already has a handoff ({live.get_status_display().lower()})."})
    handoff = Handoff(
        patient=patient,
        course=event.cycle.course,
        cycle=event.cycle,
        event=event,
        from_unit=patient.unit,
        from_person=actor,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    _apply_content(handoff, content)
    handoff.save()
    _replace_actions(handoff, content.actions)
    checklists_instantiate(events=[event])  # its checklist exists, whatever happened before
    _log(handoff, actor, HandoffActivity.Action.CREATE, now=now)
    return handoff


@audited(AuditEvent.Action.UPDATE)
@transaction.atomic
def handoff_update(*, handoff: Handoff, content: HandoffContent, actor, now: dt.datetime | None = None) -> Handoff:
    """Edit a draft; editing a returned handoff makes it a draft again."""
    now = now or timezone.now()
    handoff = _locked(handoff)
    _require_sender(actor, handoff.patient_id)
    if handoff.status not in EDITABLE:
        raise HandoffConflict(f"Only a draft can be edited: {_conflict(handoff, actor)}")
    _validate_content(content, patient=handoff.patient, event=handoff.event)
    _apply_content(handoff, content)
    was_returned = handoff.status == Status.RETURNED
    handoff.status = Status.DRAFT
    handoff.updated_at = now
    handoff.save()
    _replace_actions(handoff, content.actions)
    _log(handoff, actor, HandoffActivity.Action.UPDATE, "after its return" if was_returned else "", now)
    return handoff


def send_blockers(handoff: Handoff, checklists: Sequence[Checklist] | None = None) -> list[str]:
    """Why the handoff cannot be sent yet, in words; empty when it can."""
    problems = []
    for name, message in SEND_MESSAGES.items():
        if not getattr(handoff, name).strip():
            problems.append(message)
    for name, message in REQUIRED_MESSAGES.items():
        if not getattr(handoff, name).strip():
            problems.append(message)
    if not handoff.actions.exists():
        problems.append("Add at least one action for the receiving side.")
    if handoff.event.status == CareEvent.Status.CANCELLED:
        problems.append("Its event is cancelled: cancel this handoff, or write one for the new discharge.")
    checklists = handoff_checklists(handoff) if checklists is None else checklists
    if not checklists and handoff.kind in DISCHARGE_KINDS:
        problems.append(
            "This discharge has no hospital-to-home checklist: ask an administrator to publish the template."
        )
    readiness = event_readiness(checklists)
    if not readiness.ready:
        names = ", ".join(checklist.template.name for checklist in checklists)
        missing = "; ".join(f"{b.text} ({b.reason}, {b.role_label.lower()})" for b in readiness.unresolved)
        problems.append(f"The checklist is not complete ({names}): {missing}.")
    return problems


@audited(AuditEvent.Action.SEND)
@transaction.atomic
def handoff_send(*, handoff: Handoff, actor, now: dt.datetime | None = None) -> Handoff:
    """Send a draft: the receiving unit sees the patient from now and must acknowledge within
    its unit's hours. Refused while the checklist has a required item open."""
    now = now or timezone.now()
    handoff = _locked(handoff)
    _require_sender(actor, handoff.patient_id)
    _require_status(handoff, EDITABLE, actor)
    problems = send_blockers(handoff)
    if problems:
        raise ValidationError(problems)
    if handoff.access_grant_id:  # a returned handoff's grant was revoked; a new window opens
        access_grant_close(grant=handoff.access_grant, actor=actor, now=now)
    handoff.access_grant = access_grant_open(
        patient=handoff.patient,
        unit=handoff.to_unit,
        reason=f"Handoff {handoff.pk}: {handoff.get_kind_display()}",
        actor=actor,
        now=now,
    )
    handoff.facts = handoff_facts(handoff, now=now)
    handoff.status = Status.SENT
    handoff.from_person = actor
    handoff.sent_at = now
    handoff.acknowledge_by = now + dt.timedelta(hours=handoff.to_unit.handoff_acknowledge_hours)
    handoff.acknowledged_at = handoff.acknowledged_by = None
    handoff.returned_at = handoff.returned_by = None
    handoff.return_reason = ""
    handoff.updated_at = now
    handoff.save()
    _log(handoff, actor, HandoffActivity.Action.SEND, now=now)
    _notify(
        _receivers_to_tell(handoff),
        title=f"Handoff to acknowledge by {_when(handoff, handoff.acknowledge_by)}",
        body=f"{handoff.get_kind_display()} from {handoff.from_unit}, sent by {actor}.",
        handoff=handoff,
        now=now,
    )
    return handoff


@audited(AuditEvent.Action.CANCEL)
@transaction.atomic
def handoff_cancel(*, handoff: Handoff, actor, reason: str, now: dt.datetime | None = None) -> Handoff:
    """Withdraw a handoff that has not been accepted; the receiving unit's window closes."""
    now = now or timezone.now()
    reason = _reason(reason, message="Say why the handoff is cancelled.")
    handoff = _locked(handoff)
    _require_sender(actor, handoff.patient_id)
    _require_status(handoff, CANCELLABLE, actor)
    was_sent = handoff.status in (Status.SENT, Status.ACKNOWLEDGED)
    if handoff.access_grant_id:
        access_grant_close(grant=handoff.access_grant, actor=actor, now=now)
    handoff.status = Status.CANCELLED
    handoff.cancelled_at, handoff.cancelled_by, handoff.cancel_reason = now, actor, reason
    handoff.updated_at = now
    handoff.save()
    _log(handoff, actor, HandoffActivity.Action.CANCEL, reason, now)
    if was_sent:
        _notify(
            _receivers_to_tell(handoff),
            title="Handoff cancelled by the sender",
            body=f"{handoff.from_unit}: {reason}",
            handoff=handoff,
            now=now,
        )
    return handoff


# --- the receiving side --------------------------------------------------------------------------


@audited(AuditEvent.Action.ACKNOWLEDGE)
@transaction.atomic
def handoff_acknowledge(*, handoff: Handoff, actor, now: dt.datetime | None = None) -> Handoff:
    """The receiver confirms receipt."""
    now = now or timezone.now()
    handoff = _locked(handoff)
    _require_receiver(actor, handoff, {Status.SENT})
    handoff.status = Status.ACKNOWLEDGED
    handoff.acknowledged_at, handoff.acknowledged_by = now, actor
    handoff.updated_at = now
    handoff.save()
    _log(handoff, actor, HandoffActivity.Action.ACKNOWLEDGE, now=now)
    return handoff


@audited(AuditEvent.Action.ACCEPT)
@transaction.atomic
def handoff_accept(*, handoff: Handoff, actor, synthesis: str, now: dt.datetime | None = None) -> Handoff:
    """The receiver takes over: their synthesis is recorded and the actions become their tasks."""
    now = now or timezone.now()
    handoff = _locked(handoff)
    if handoff.status == Status.SENT and is_receiver(actor, handoff):
        raise HandoffConflict("Acknowledge receipt before accepting the handoff.")
    _require_receiver(actor, handoff, {Status.ACKNOWLEDGED})
    synthesis = (synthesis or "").strip()
    if not synthesis:
        raise ValidationError(
            {"synthesis": "Write your synthesis: the situation in your own words, your questions and what you will do."}
        )
    if len(synthesis) > TEXT_MAX:
        raise ValidationError({"synthesis": f"At most {TEXT_MAX:,} characters."})
    handoff.status = Status.ACCEPTED
    handoff.synthesis = synthesis
    handoff.accepted_at, handoff.accepted_by = now, actor
    handoff.updated_at = now
    handoff.save()
    taken = handoff.actions.filter(status=HandoffAction.Status.PROPOSED).update(
        status=HandoffAction.Status.OPEN, taken_over_at=now
    )
    _log(handoff, actor, HandoffActivity.Action.ACCEPT, f"{taken} action(s) taken over", now)
    _notify(
        [handoff.from_person],
        title=f"Handoff accepted by {actor}",
        body=f"{handoff.to_unit} took over {taken} action(s).",
        handoff=handoff,
        now=now,
    )
    return handoff


@audited(AuditEvent.Action.RETURN)
@transaction.atomic
def handoff_return(*, handoff: Handoff, actor, reason: str, now: dt.datetime | None = None) -> Handoff:
    """The receiver sends it back with a reason; their window on the patient closes."""
    now = now or timezone.now()
    reason = _reason(reason, message="Say why you return the handoff: what is missing or wrong.")
    handoff = _locked(handoff)
    _require_receiver(actor, handoff, {Status.SENT, Status.ACKNOWLEDGED})
    if handoff.access_grant_id:
        access_grant_close(grant=handoff.access_grant, actor=actor, now=now)
    handoff.status = Status.RETURNED
    handoff.returned_at, handoff.returned_by, handoff.return_reason = now, actor, reason
    handoff.acknowledged_at = handoff.acknowledged_by = None
    handoff.updated_at = now
    handoff.save()
    _log(handoff, actor, HandoffActivity.Action.RETURN, reason, now)
    _notify(
        [handoff.from_person],
        title=f"Handoff returned by {actor}",
        body=f"{handoff.to_unit}: {reason}",
        handoff=handoff,
        now=now,
    )
    return handoff


@audited(AuditEvent.Action.COMPLETE)
@transaction.atomic
def handoff_complete(
    *, handoff: Handoff, actor, first_visit_at: dt.datetime | None = None, now: dt.datetime | None = None
) -> Handoff:
    """The first home visit is done: the handoff is complete, and the receiving unit keeps
    seeing the patient for `access_hours_after_completion()` more hours."""
    now = now or timezone.now()
    first_visit_at = first_visit_at or now
    handoff = _locked(handoff)
    _require_receiver(actor, handoff, {Status.ACCEPTED})
    if first_visit_at > now + dt.timedelta(minutes=5):
        raise ValidationError({"first_visit_at": "The first visit cannot be in the future."})
    if handoff.sent_at and first_visit_at < handoff.sent_at:
        raise ValidationError({"first_visit_at": "The first visit cannot be before the handoff was sent."})
    if handoff.access_grant_id:
        ends_at = now + dt.timedelta(hours=access_hours_after_completion())
        access_grant_close(grant=handoff.access_grant, actor=actor, ends_at=ends_at, now=now)
    handoff.status = Status.COMPLETED
    handoff.completed_at, handoff.completed_by, handoff.first_visit_at = now, actor, first_visit_at
    handoff.updated_at = now
    handoff.save()
    _log(handoff, actor, HandoffActivity.Action.COMPLETE, f"first visit {_when(handoff, first_visit_at)}", now)
    return handoff


@audited(AuditEvent.Action.COMPLETE)
@transaction.atomic
def handoff_action_complete(
    *, action: HandoffAction, actor, note: str = "", now: dt.datetime | None = None
) -> HandoffAction:
    """A receiving-side task done by someone of its owning role."""
    now = now or timezone.now()
    note = (note or "").strip()
    if len(note) > ACTION_MAX:
        raise ValidationError({"note": f"At most {ACTION_MAX} characters."})
    action = (
        HandoffAction.objects.select_for_update(of=("self",)).select_related("handoff__from_unit").get(pk=action.pk)
    )
    handoff = action.handoff
    _require_receiver(actor, handoff)
    if action.status == HandoffAction.Status.DONE:
        who = "you" if action.done_by_id == actor.pk else str(action.done_by)
        raise HandoffConflict(f"Already done by {who} at {_when(handoff, action.done_at)}.")
    if action.status != HandoffAction.Status.OPEN or handoff.status not in (Status.ACCEPTED, Status.COMPLETED):
        raise HandoffConflict("This action is not taken over yet: the handoff must be accepted first.")
    if actor.role != action.role:
        raise PermissionDenied(f"This action is for a {action.get_role_display().lower()}.")
    action.status, action.done_by, action.done_at, action.note = HandoffAction.Status.DONE, actor, now, note
    action.save(update_fields=["status", "done_by", "done_at", "note"])
    _log(handoff, actor, HandoffActivity.Action.ACTION_DONE, f"{action.text}{': ' + note if note else ''}", now)
    return action


# --- the coordinator's review --------------------------------------------------------------------


@audited(AuditEvent.Action.COMMENT)
@transaction.atomic
def handoff_comment(*, handoff: Handoff, actor, text: str, now: dt.datetime | None = None) -> HandoffComment:
    """An internal comment (never printed for the caregiver)."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the comment."})
    if len(text) > COMMENT_MAX:
        raise ValidationError({"text": f"At most {COMMENT_MAX:,} characters."})
    handoff = Handoff.objects.select_related("from_unit").get(pk=handoff.pk)
    _require_reviewer(actor, handoff)
    if handoff.status == Status.DRAFT:
        raise HandoffConflict("This handoff is a draft: review it once it is sent.")
    return HandoffComment.objects.create(handoff=handoff, author=actor, text=text, at=now or timezone.now())


@audited(AuditEvent.Action.FLAG)
@transaction.atomic
def handoff_flag(
    *, handoff: Handoff, actor, flagged: bool, reason: str = "", now: dt.datetime | None = None
) -> Handoff:
    """Flag a handoff for attention, with a reason, or remove the flag."""
    now = now or timezone.now()
    if flagged:
        reason = _reason(reason, message="Say why the handoff needs attention.")
    handoff = _locked(handoff)
    _require_reviewer(actor, handoff)
    if handoff.status == Status.DRAFT:
        raise HandoffConflict("This handoff is a draft: review it once it is sent.")
    if handoff.flagged == flagged:
        state = f"flagged by {handoff.flagged_by}" if flagged else "not flagged"
        raise HandoffConflict(f"This handoff is already {state}.")
    handoff.flagged = flagged
    handoff.flag_reason = reason if flagged else ""
    handoff.flagged_by, handoff.flagged_at = (actor, now) if flagged else (None, None)
    handoff.save(update_fields=["flagged", "flag_reason", "flagged_by", "flagged_at"])
    _log(handoff, actor, HandoffActivity.Action.FLAG if flagged else HandoffActivity.Action.UNFLAG, reason, now)
    return handoff


@audited(AuditEvent.Action.SIGN_OFF)
@transaction.atomic
def handoff_sign_off(*, handoff: Handoff, actor, now: dt.datetime | None = None) -> Handoff:
    """The coordinator has reviewed a completed handoff."""
    now = now or timezone.now()
    handoff = _locked(handoff)
    _require_reviewer(actor, handoff)
    if handoff.signed_off_at:
        who = "you" if handoff.signed_off_by_id == actor.pk else str(handoff.signed_off_by)
        raise HandoffConflict(f"Already signed off by {who} at {_when(handoff, handoff.signed_off_at)}.")
    if handoff.status != Status.COMPLETED:
        raise HandoffConflict("Only a completed handoff can be signed off.")
    handoff.signed_off_at, handoff.signed_off_by = now, actor
    handoff.save(update_fields=["signed_off_at", "signed_off_by"])
    _log(handoff, actor, HandoffActivity.Action.SIGN_OFF, now=now)
    return handoff


# --- reads used by the services and the pages ----------------------------------------------------

# What a new draft starts from (the sender edits it): CLINICAL.md's warning signs and whom to call.
DEFAULT_CONTINGENCY = (
    "Fever above 38.5 °C, chills, headache, breathing problems, new confusion, slurred speech, trouble "
    "speaking, loss of balance, fainting or a seizure: call the ward's 24/7 number at once (emergency "
    "services if the patient cannot be woken or has a seizure); keep the infusion running unless told "
    "otherwise. Pump alarm, occlusion, leak or disconnected line: never flush the line; clamp it and call "
    "the home-health agency."
)


def next_bag_change(event: CareEvent) -> CareEvent | None:
    """The first bag change planned after an event (at home, after a discharge)."""
    return (
        CareEvent.objects.filter(
            cycle__course_id=event.cycle.course_id, kind=CareEvent.Kind.BAG_CHANGE, planned_at__gt=event.planned_at
        )
        .exclude(status=CareEvent.Status.CANCELLED)
        .order_by("planned_at")
        .first()
    )


def default_actions(event: CareEvent) -> list[ActionSpec]:
    """What most hospital-to-home handoffs ask of the receiving side, due from the record."""
    actions = [
        ActionSpec(
            "Call the caregiver: supplies delivered, pump running, 24/7 number works",
            "case_manager",
            event.planned_at + dt.timedelta(hours=4),
        ),
        ActionSpec(
            "First home visit: pump, line site, vital signs, neuro check (writing sample), teach-back",
            "nurse",
            event.planned_at + dt.timedelta(hours=24),
        ),
    ]
    bag = next_bag_change(event)
    if bag:
        actions.append(ActionSpec("First bag change at home", "nurse", bag.planned_at))
    return actions


def receiving_units_for(patient: Patient):
    """The units a patient's handoff may go to: the organisation's other units that receive one."""
    return Unit.objects.filter(
        organisation_id=patient.organisation_id, kind__in=set(RECEIVING_UNIT_KINDS.values())
    ).exclude(pk=patient.unit_id)


def receiving_people_for(units):
    """The people a handoff may be addressed to: active members of those units who may accept."""
    return User.objects.filter(
        Q(unit__in=units), is_active=True, role__in=MATRIX[Ability.ACCEPT_HANDOFF]
    ).select_related("unit")
