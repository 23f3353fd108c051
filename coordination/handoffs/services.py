"""The handoff's operations: the sending side's drafts, the steps of the status flow, the actions
that the receiving side works, and the coordinator's review (see the package's docstring).

Each operation enforces its policy function (policy.py) on the locked row. The steps of the flow
are policy.STEPS, each run by one function, `_take`: the policy's answer, then the step's own
work, then its status, who took it, when and why, saved and written to the handoff's history.
"""

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts import moments
from accounts.audit import audited
from accounts.models import AuditEvent, Unit, User
from accounts.policy import Decision
from checklists.gate import event_readiness
from checklists.models import Checklist
from checklists.services import checklists_instantiate
from patients.grading import FEVER_CELSIUS
from patients.models import CareEvent, Patient
from patients.services import access_grant_close, access_grant_end_move, access_grant_open

from ..models import Notification
from ..reminders.content import patient_label
from . import policy
from .models import (
    ACTION_MAX,
    COMMENT_MAX,
    DISCHARGE_KINDS,
    IPASS_FIELDS,
    REASON_MAX,
    RECEIVING_UNIT_KINDS,
    TEXT_MAX,
    Handoff,
    HandoffAction,
    HandoffActionDefault,
    HandoffActivity,
    HandoffAuditAction,
    HandoffComment,
    HandoffUnitRule,
)
from .policy import ACCEPT, ACKNOWLEDGE, CANCEL, COMPLETE, EDIT, RETURN, SEND, Step
from .selectors import HANDOFF_EVENT_KINDS, handoff_checklists, handoff_facts, next_bag_change

MAX_ACTIONS = 20
Status = Handoff.Status


def access_hours_after_completion() -> int:
    """How long the receiving unit keeps seeing the patient after the handoff is completed and its
    actions are done (settings.HANDOFF_ACCESS_HOURS_AFTER_COMPLETION, from the environment; 72 by
    default)."""
    return settings.HANDOFF_ACCESS_HOURS_AFTER_COMPLETION


def _pump_off_at_home(handoff: Handoff) -> dt.datetime | None:
    """When the infusion that a discharge handoff sends the patient home with ends: the end of its
    cycle (the pump comes off), as the plan has it now (a break moves it later, a stop for good
    brings it to the stop), or as done. None for a readmission, or a cycle with no end planned."""
    if handoff.kind not in DISCHARGE_KINDS:
        return None
    end = (
        CareEvent.objects.filter(cycle_id=handoff.cycle_id, kind=CareEvent.Kind.CYCLE_END)
        .exclude(status=CareEvent.Status.CANCELLED)
        .order_by("-planned_at")
        .first()
    )
    return (end.actual_at or end.planned_at) if end else None


def _access_ends_at(handoff: Handoff, *, since: dt.datetime, work_ended_by: dt.datetime | None = None) -> dt.datetime:
    """The end of the receiving unit's window after completion: `access_hours_after_completion()`
    after the later of the work and the infusion at home. The work, from `since` (the completion,
    or an action done now): its open actions (a first bag change at home days after the first
    visit must stay in sight and doable) until the last is done, and at the latest until its due
    time, so that an action nobody marks done does not keep the patient open to the unit for
    good; `work_ended_by` caps it (an end set before is only brought forward by the work). The
    infusion: the home nurse sees fever, confusion or a pump alarm at home, and records them,
    until the pump comes off."""
    hours = dt.timedelta(hours=access_hours_after_completion())
    # Only actions someone there can do hold it open (a unit with no case manager cannot call).
    roles = User.objects.filter(unit_id=handoff.to_unit_id, is_active=True).values("role")
    work = handoff.actions.aggregate(
        due=Max("due_at", filter=Q(status=HandoffAction.Status.OPEN, role__in=roles)), done=Max("done_at")
    )
    work_ends_at = max(since, work["due"] or since, work["done"] or since) + hours
    if work_ended_by is not None:
        work_ends_at = min(work_ends_at, work_ended_by)
    pump_off = _pump_off_at_home(handoff)
    return max(work_ends_at, pump_off + hours) if pump_off else work_ends_at


def _end_access_once_work_is_done(handoff: Handoff, *, actor, now: dt.datetime) -> None:
    """Set the window's end at completion, and again as each action is done."""
    if not handoff.access_grant_id:
        return
    # An end is only brought forward (access_grant_close): the last action done early ends it sooner.
    ends_at = _access_ends_at(handoff, since=now)
    access_grant_close(grant=handoff.access_grant, actor=actor, ends_at=ends_at, now=now)


# Handoffs whose receiving unit's window ends with the infusion at home.
ENDS_WITH_THE_PUMP_OFF = (Status.COMPLETED,)


def handoffs_follow_the_pump_off(*, cycle_ids, now: dt.datetime | None = None) -> list[Handoff]:
    """The cycle end of these cycles moved (a break extended the cycle, the plan was rebuilt, a
    stop for good brought it to the stop) or was cancelled: the completed handoffs that sent the
    patient home in them have their window's end moved with it, later or sooner; never to no end,
    and never opening again a window revoked or over."""
    now = now or timezone.now()
    handoffs = list(
        Handoff.objects.select_for_update(no_key=True, of=("self",))
        .filter(cycle_id__in=cycle_ids, status__in=ENDS_WITH_THE_PUMP_OFF, access_grant__isnull=False)
        .select_related("access_grant")
    )
    for handoff in handoffs:
        grant = handoff.access_grant
        # The work's part as it stands (from the completion and the last action done), not from now.
        ends_at = _access_ends_at(handoff, since=handoff.completed_at, work_ended_by=grant.ends_at)
        access_grant_end_move(grant=grant, ends_at=ends_at, now=now)
    return handoffs


def _readmitted_ends_home_access(readmission: Handoff, *, actor, now: dt.datetime) -> None:
    """A readmission taken over by the hospital: the patient is no longer at home, so the windows
    that completed discharge handoffs keep open to the pump-off end at once."""
    home = Handoff.objects.filter(
        patient_id=readmission.patient_id,
        kind__in=DISCHARGE_KINDS,
        status=Status.COMPLETED,
        access_grant__isnull=False,
        access_grant__revoked_at__isnull=True,
    ).filter(Q(access_grant__ends_at__isnull=True) | Q(access_grant__ends_at__gt=now))
    for handoff in home.select_related("access_grant"):
        access_grant_close(grant=handoff.access_grant, actor=actor, now=now)
        detail = f"Window closed: the patient was readmitted to {readmission.to_unit} (handoff {readmission.pk})"
        _log(handoff, actor, HandoffActivity.Action.UPDATE, detail, now)


# --- content -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    text: str
    role: str
    due_at: dt.datetime
    purpose: str = HandoffAction.Purpose.OTHER  # the first home visit, the first bag change at home


class HandoffContent:
    """What the sender writes: the kind, the receiving side, the I-PASS content (one keyword per
    name of models.IPASS_FIELDS; one left out is empty) and the actions."""

    def __init__(
        self,
        *,
        kind: str,
        to_unit: Unit,
        to_person: User | None = None,
        actions: Sequence[ActionSpec] = (),
        **ipass: str,
    ):
        unknown = ipass.keys() - set(IPASS_FIELDS)
        if unknown:
            raise TypeError(f"Not I-PASS fields: {', '.join(sorted(unknown))}")
        self.kind, self.to_unit, self.to_person, self.actions = kind, to_unit, to_person, tuple(actions)
        self.ipass = {name: ipass.get(name, "") for name in IPASS_FIELDS}


REQUIRED_MESSAGES = {
    "patient_summary": "Write the patient summary.",
    "contingency_plan": f"Write the contingency plan: what to watch for (fever of {FEVER_CELSIUS} °C or more, new "
    "confusion…) and whom to call.",
}
SEND_MESSAGES = {
    "pump": "Say which pump goes home and how it is programmed.",
    "line": "Say which line the infusion runs through, and its site.",
}


def unwritten(ipass: Mapping[str, str], *, to_send: bool = False) -> dict[str, str]:
    """The I-PASS texts left empty that must be written, each with what to write: those that the
    model requires; to send, the pump and the line too."""
    needed = dict(SEND_MESSAGES) if to_send else {}
    for name in IPASS_FIELDS:
        field = Handoff._meta.get_field(name)
        if not field.blank and not field.choices:
            needed[name] = REQUIRED_MESSAGES[name]
    return {name: message for name, message in needed.items() if not ipass[name].strip()}


# An action of the receiving side falls within the course: days to weeks after the handoff.
# A due time years away or ago is a typo (a year of 2001 for 2026), not a plan.
ACTION_DUE_PAST, ACTION_DUE_AHEAD = dt.timedelta(days=7), dt.timedelta(days=120)
ACTION_DUE_RANGE = "Each action is due between a week ago and 120 days from now."
# One answer for anyone who cannot receive the handoff (another unit's or organisation's member,
# someone who left): naming them, or telling them apart, would let a sender learn who works where.
NOT_A_RECEIVING_MEMBER = "Choose an active member of the receiving unit."
NOT_A_HANDOFF_EVENT = "A handoff belongs to a discharge, a stop or restart of the infusion, or a cycle start."


def plausible_due(due_at: dt.datetime, now: dt.datetime) -> bool:
    """The one statement of the rule: checked here when a handoff is written or sent (the pages and
    the API), and by the form's action row, which says it together with the row's other errors."""
    return now - ACTION_DUE_PAST <= due_at <= now + ACTION_DUE_AHEAD


def _validate_content(content: HandoffContent, *, patient: Patient, event: CareEvent, now: dt.datetime) -> None:
    """Everything the sender may get wrong, each message at its field; nothing saved on error."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if content.kind not in Handoff.Kind.values:
        add("kind", "Choose the kind of handoff.")
    for name, message in unwritten(content.ipass).items():
        add(name, message)
    for name, value in content.ipass.items():
        field = Handoff._meta.get_field(name)
        if field.choices:
            if value not in dict(field.choices):
                *first, last = [label.lower() for _, label in field.choices]
                add(name, f"Choose {', '.join(first)} or {last}.")
        elif len(value) > field.max_length:
            add(name, f"At most {field.max_length:,} characters.")
    to_unit = content.to_unit
    if to_unit.pk == patient.unit_id:
        add("to_unit", "A handoff goes to another unit: this is the sending unit itself.")
    elif to_unit.organisation_id != patient.organisation_id:
        add("to_unit", "Choose a unit of this organisation.")
    elif content.kind in RECEIVING_UNIT_KINDS and to_unit.kind != RECEIVING_UNIT_KINDS[content.kind]:
        wanted = Unit.Kind(RECEIVING_UNIT_KINDS[content.kind]).label.lower()
        add("to_unit", f"A “{Handoff.Kind(content.kind).label}” handoff goes to a {wanted}.")
    if content.to_person is not None and not policy.receives_for(content.to_person, to_unit.pk):
        add("to_person", NOT_A_RECEIVING_MEMBER)
    if event.patient_id != patient.pk:
        add("event", "This event belongs to another patient.")
    elif event.status == CareEvent.Status.CANCELLED:
        add("event", "This event is cancelled.")
    elif content.kind in DISCHARGE_KINDS and event.kind != CareEvent.Kind.DISCHARGE_HOME:
        add("event", "A discharge handoff belongs to a planned discharge.")
    if len(content.actions) > MAX_ACTIONS:
        add("actions", f"At most {MAX_ACTIONS} actions.")
    # Each action's error at its own field, "actions.<index>.<field>" (the API's naming of a list's
    # fields; the form puts it at that row): of several actions, the one with the typo is named.
    for index, action in enumerate(content.actions):
        if not action.text.strip() or len(action.text) > ACTION_MAX:
            add(f"actions.{index}.text", f"Each action needs a text of at most {ACTION_MAX} characters.")
        if action.role not in dict(HandoffAction.ROLE_CHOICES):
            add(f"actions.{index}.role", "Each action is owned by a nurse or a case manager.")
        if action.due_at is None or timezone.is_naive(action.due_at):
            add(f"actions.{index}.due_at", "Each action needs a due time.")
        elif not plausible_due(action.due_at, now):
            add(f"actions.{index}.due_at", ACTION_DUE_RANGE)
    for name, message in _out_of_order(content.actions, event).items():
        add(name, message)
    if errors:
        raise ValidationError(errors)


Purpose = HandoffAction.Purpose


def _out_of_order(actions: Sequence[ActionSpec], event: CareEvent) -> dict[str, str]:
    """The clinical order at home, each refusal at the due time of the action out of it: the first
    home visit after the discharge (the patient has left the ward), the first bag change at home not
    before the first visit (the nurse checks the pump and the line first)."""
    errors: dict[str, str] = {}
    by_purpose: dict[str, tuple[int, ActionSpec]] = {}
    for index, action in enumerate(actions):
        if action.purpose not in Purpose.values:
            errors[f"actions.{index}.text"] = "Unknown purpose."
        elif action.purpose and action.purpose in by_purpose:
            errors[f"actions.{index}.text"] = f"Only one action is the {Purpose(action.purpose).label.lower()}."
        elif action.purpose:
            by_purpose[action.purpose] = (index, action)
    timed = {
        purpose: pair
        for purpose, pair in by_purpose.items()
        if pair[1].due_at and not timezone.is_naive(pair[1].due_at)
    }
    zone = event.patient.unit.zone
    visit = timed.get(Purpose.FIRST_VISIT)
    left = event.actual_at or event.planned_at
    if visit and visit[1].due_at < left:
        errors[f"actions.{visit[0]}.due_at"] = (
            f"The first home visit is at home, after the discharge ({moments.moment_zoned(left, zone)}): "
            "due it then or later."
        )
    bag = timed.get(Purpose.FIRST_BAG_CHANGE)
    if visit and bag and bag[1].due_at < visit[1].due_at:
        errors[f"actions.{bag[0]}.due_at"] = (
            f"The first bag change at home comes after the first home visit (pump and line check), due "
            f"{moments.moment_zoned(visit[1].due_at, zone)}: due it then or later, or bring the visit forward."
        )
    return errors


def _apply_content(handoff: Handoff, content: HandoffContent) -> None:
    handoff.kind = content.kind
    for name, value in content.ipass.items():
        setattr(handoff, name, value.strip())
    handoff.to_unit = content.to_unit
    handoff.to_person = content.to_person


def _replace_actions(handoff: Handoff, actions: Sequence[ActionSpec]) -> None:
    handoff.actions.all().delete()
    HandoffAction.objects.bulk_create(
        HandoffAction(
            handoff=handoff, order=order, text=a.text.strip(), role=a.role, due_at=a.due_at, purpose=a.purpose
        )
        for order, a in enumerate(actions, start=1)
    )


# What a new draft starts from (the sender edits it): CLINICAL.md's warning signs and whom to call.
# A fever is the one the CRS grading and the home check's red flag read (patients.grading, ASTCT:
# 38.0 °C or more): a higher number here told the home not to call for a grade 1 CRS.
DEFAULT_CONTINGENCY = (
    f"Fever of {FEVER_CELSIUS} °C or more, chills, headache, breathing problems, new confusion, slurred speech, "
    "trouble speaking, loss of balance, fainting or a seizure: call the ward's 24/7 number at once (emergency "
    "services if the patient cannot be woken or has a seizure); keep the infusion running unless told "
    "otherwise. Pump alarm, occlusion, leak or disconnected line: never flush the line; clamp it and call "
    "the home-health agency."
)


# The list that a fresh database starts with (migration 0015 wrote the same rows): text, owning
# role, purpose, hours after the discharge, and what it rests on. Administrators edit the rows.
STARTER_DEFAULT_ACTIONS = [
    (
        "Call the caregiver: supplies delivered, pump running, 24/7 number works",
        "case_manager",
        Purpose.OTHER,
        4,
        "Institution's practice: the case manager's call on the day of discharge (CLINICAL.md, roles).",
    ),
    (
        "First home visit: pump, line site, vital signs, neuro check (writing sample), teach-back",
        "nurse",
        Purpose.FIRST_VISIT,
        24,
        "Institution's practice: the pump and the line are checked at home before the first bag change "
        "there (CLINICAL.md: infusion, pump, line and bags).",
    ),
    (
        "First bag change at home",
        "nurse",
        Purpose.FIRST_BAG_CHANGE,
        0,
        "The bag's duration on the pharmacy label (24 h to 7 days): due at the record's next bag change.",
    ),
]


def handoff_action_defaults_seed() -> int:
    """The starter default actions, on a database that has none (idempotent: edited rows stay)."""
    if HandoffActionDefault.objects.exists():
        return 0
    HandoffActionDefault.objects.bulk_create(
        HandoffActionDefault(
            order=order, text=text, role=role, purpose=purpose, hours_after_discharge=hours, source=source
        )
        for order, (text, role, purpose, hours, source) in enumerate(STARTER_DEFAULT_ACTIONS, start=1)
    )
    return len(STARTER_DEFAULT_ACTIONS)


def default_actions(event: CareEvent) -> list[ActionSpec]:
    """What most hospital-to-home handoffs ask of the receiving side (HandoffActionDefault, data),
    due from the record in the clinical order at home: the discharge, the first home visit, then
    the first bag change at home (at the record's next bag change; left out when none is planned).
    The visit is never due after that bag change: a bag change sooner than the usual visit is when
    the nurse comes, checks the pump and the line, then changes the bag."""
    bag = next_bag_change(event)
    actions = []
    for default in HandoffActionDefault.objects.filter(active=True):
        due_at = event.planned_at + dt.timedelta(hours=default.hours_after_discharge)
        if default.purpose == Purpose.FIRST_BAG_CHANGE:
            if bag is None:
                continue
            due_at = bag.planned_at
        elif default.purpose == Purpose.FIRST_VISIT and bag is not None:
            due_at = min(due_at, bag.planned_at)
        actions.append(ActionSpec(default.text, default.role, due_at, default.purpose))
    return actions


# --- one step of the flow ------------------------------------------------------------------------


def _locked(handoff: Handoff) -> Handoff:
    # The handoff row alone ("self"): after waiting for the lock PostgreSQL re-reads it, so the
    # loser of a race sees the winner's status; related rows load on access, fresh.
    return Handoff.objects.select_for_update(no_key=True, of=("self",)).get(pk=handoff.pk)


def _log(handoff: Handoff, actor, action: str, detail: str = "", now=None) -> None:
    HandoffActivity.objects.create(
        handoff=handoff, actor=actor, action=action, detail=detail[:COMMENT_MAX], at=now or timezone.now()
    )


def _take(
    step: Step,
    decide: Callable[..., Decision],
    *,
    handoff: Handoff,
    actor,
    now: dt.datetime,
    work: Callable[[Handoff], str] | None = None,
) -> Handoff:
    """Take `step` on the locked row: `decide` (its policy function) enforced; then `work`, what
    the step does besides, which returns the detail for the history (the reason, for a step that
    keeps one); then the status, who took the step, when and why, saved and written down."""
    handoff = _locked(handoff)
    decide(actor, handoff).enforce()
    detail = work(handoff) if work else ""
    if handoff.status == Status.SENT and step.target != Status.SENT:
        _asks_to_acknowledge_answered(handoff, now)
    handoff.status = step.target
    if step.by:
        setattr(handoff, step.by, actor)
    if step.at:
        setattr(handoff, step.at, now)
    if step.why:
        setattr(handoff, step.why, detail)
    handoff.updated_at = now
    handoff.save()
    _log(handoff, actor, step.activity, detail, now)
    return handoff


def _taken_already(
    step: Step,
    decide: Callable[..., Decision],
    *,
    handoff: Handoff,
    actor,
    recorded: Mapping[str, object] | None = None,
) -> Handoff | None:
    """The handoff, locked, when `step` is where it stands and this very person took it there, with
    what this request asks (`recorded`: field → value, the reason, the synthesis, the visit's time):
    a second click, or an API client retrying a request whose answer it lost. The service then
    answers as the first request did, changing, notifying and logging nothing. Otherwise None, and
    the step is taken (or refused: another person's step, or another answer, stays a conflict)."""
    handoff = _locked(handoff)
    if not step.by or handoff.status != step.target or getattr(handoff, f"{step.by}_id") != actor.pk:
        return None
    if not isinstance(decide(actor, handoff), policy.Conflict):  # refused for who they are now: said so
        return None
    same = all(getattr(handoff, name) == value for name, value in (recorded or {}).items())
    return handoff if same else None


# The bell's notifications that ask for a handoff's acknowledgement: its sending (_notify below), the
# reminder at its deadline and that reminder's escalation (coordination/reminders/content.py).
ASKS_TO_ACKNOWLEDGE = ("Handoff to acknowledge", "Handoff not acknowledged")


def _asks_to_acknowledge_answered(handoff: Handoff, now: dt.datetime) -> None:
    """The handoff no longer waits for its acknowledgement (acknowledged, returned, cancelled,
    withdrawn): the notifications asking for it are marked read for everyone they reached, so that
    nobody's bell still counts a call to chase an answer that came (as a taken alert's are)."""
    asks = Q()
    for title in ASKS_TO_ACKNOWLEDGE:
        asks |= Q(title__startswith=title)
    Notification.objects.filter(asks, link=f"/handoffs/{handoff.pk}/", read_at__isnull=True).update(read_at=now)


def _notify(users, *, title: str, body: str, handoff: Handoff, now=None) -> None:
    """Tell `users` in the bell, naming the patient by name and MRN (behind sign-in: the bell may).

    One who no longer sees the patient (the receiving side once a cancel or a withdrawal closed its
    window) would have that notification hidden and retired, and never read that the handoff is
    off: theirs names the patient as an email does (initials, the MRN's last 4 characters) and
    links nowhere, since the handoff's page no longer opens for them."""
    users = list(users)
    seeing = {user.pk for user in users if Patient.objects.visible_to(user).filter(pk=handoff.patient_id).exists()}
    Notification.objects.bulk_create(
        Notification(
            recipient=user,
            title=title[:200],
            body=f"{handoff.patient if user.pk in seeing else patient_label(handoff.patient)} · {body}",
            link=f"/handoffs/{handoff.pk}/" if user.pk in seeing else "",
            patient_id=handoff.patient_id if user.pk in seeing else None,
            created_at=now or timezone.now(),
        )
        for user in users
    )


def _receivers_to_tell(handoff: Handoff):
    """The addressee while they may still receive it; else whoever in the receiving unit may."""
    person = handoff.to_person
    if person is not None and policy.receives_for(person, handoff.to_unit_id):
        return [person]
    roles = policy.ACCEPT_HANDOFF.roles
    return list(User.objects.filter(unit_id=handoff.to_unit_id, is_active=True, role__in=roles))


def _reason(reason: str, *, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": message})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"At most {REASON_MAX} characters."})
    return reason


# --- the sending side ----------------------------------------------------------------------------


@audited(AuditEvent.Action.CREATE)
@transaction.atomic
def handoff_create(*, event: CareEvent, content: HandoffContent, actor, now: dt.datetime | None = None) -> Handoff:
    """A draft handoff for an event (a planned discharge), prepared by the sending side."""
    now = now or timezone.now()
    event = (
        CareEvent.objects.select_for_update(no_key=True, of=("self",))
        .select_related("patient__unit", "cycle__course")
        .get(pk=event.pk)
    )
    patient = event.patient
    policy.can_prepare(actor, patient).enforce()
    _validate_content(content, patient=patient, event=event, now=now)
    # The events the page offers (selectors.events_awaiting_handoff), asked here too, so that the
    # API, which names any event of the patient, cannot hang a handoff on a bag change or on a
    # discharge that is over.
    if event.kind not in HANDOFF_EVENT_KINDS:
        raise ValidationError({"event": NOT_A_HANDOFF_EVENT})
    if event.status == CareEvent.Status.DONE:
        raise ValidationError({"event": "This event is done: a handoff belongs to one still to come."})
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

    def work(handoff: Handoff) -> str:
        _validate_content(content, patient=handoff.patient, event=handoff.event, now=now)
        was_returned = handoff.status == Status.RETURNED
        _apply_content(handoff, content)
        _replace_actions(handoff, content.actions)
        return "after its return" if was_returned else ""

    return _take(EDIT, policy.can_edit, handoff=handoff, actor=actor, now=now, work=work)


def send_blockers(
    handoff: Handoff, checklists: Sequence[Checklist] | None = None, *, now: dt.datetime | None = None
) -> list[str]:
    """Why the handoff cannot be sent yet, in words; empty when it can."""
    now = now or timezone.now()
    problems = list(unwritten(handoff.ipass(), to_send=True).values())
    # Checked when written, and again now: a draft that lay unsent for days has actions due long ago.
    for action in handoff.actions.all():
        if not plausible_due(action.due_at, now):
            due = handoff.local_time(action.due_at)
            problems.append(f"“{action.text}” is due {due}: edit its due time. {ACTION_DUE_RANGE}")
    person = handoff.to_person
    if person is not None and not policy.receives_for(person, handoff.to_unit_id):
        # Named when the draft was written; since moved to another unit, deactivated, or given a
        # role that may not take a handoff over (who would be the only one told of it).
        if person.is_active and person.unit_id == handoff.to_unit_id:
            problems.append(
                f"{person} may no longer take handoffs over in {handoff.to_unit}: name someone else there, or no one."
            )
        else:
            problems.append(f"{person} no longer works in {handoff.to_unit}: name someone else there, or no one.")
    if not handoff.actions.exists():
        problems.append("Add at least one action for the receiving side.")
    if handoff.event.status == CareEvent.Status.CANCELLED:
        problems.append("Its event is cancelled: cancel this handoff, or write one for the new discharge.")
    return problems + checklist_blockers(handoff, checklists)


def checklist_blockers(handoff: Handoff, checklists: Sequence[Checklist] | None = None) -> list[str]:
    """What the discharge's checklist still lacks, in words: asked at sending, and again at
    acceptance (an item undone since). Only this is asked again: the rest of send_blockers is
    the sender's draft, which a receiver cannot change (an addressee who left after sending is
    replaced by the whole receiving unit, which is told and reminded in their place)."""
    problems = []
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


@audited(HandoffAuditAction.SEND)
@transaction.atomic
def handoff_send(*, handoff: Handoff, actor, now: dt.datetime | None = None) -> Handoff:
    """Send a draft: the receiving unit sees the patient from now and must acknowledge within
    its unit's hours. Refused while the checklist has a required item open."""
    now = now or timezone.now()
    done = _taken_already(SEND, policy.can_send, handoff=handoff, actor=actor)
    if done is not None:
        return done

    def work(handoff: Handoff) -> str:
        problems = send_blockers(handoff, now=now)
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
        handoff.acknowledge_by = now + HandoffUnitRule.for_unit(handoff.to_unit).acknowledge_within
        handoff.acknowledged_at = handoff.acknowledged_by = None
        handoff.returned_at = handoff.returned_by = None
        handoff.return_reason = ""
        return ""

    handoff = _take(SEND, policy.can_send, handoff=handoff, actor=actor, now=now, work=work)
    _notify(
        _receivers_to_tell(handoff),
        title=f"Handoff to acknowledge by {handoff.local_time(handoff.acknowledge_by)}",
        body=f"{handoff.get_kind_display()} from {handoff.from_unit}, sent by {actor}.",
        handoff=handoff,
        now=now,
    )
    return handoff


@audited(HandoffAuditAction.CANCEL)
@transaction.atomic
def handoff_cancel(*, handoff: Handoff, actor, reason: str, now: dt.datetime | None = None) -> Handoff:
    """Withdraw a handoff that has not been accepted; the receiving unit's window closes."""
    now = now or timezone.now()
    reason = _reason(reason, message="Say why the handoff is cancelled.")
    done = _taken_already(CANCEL, policy.can_cancel, handoff=handoff, actor=actor, recorded={"cancel_reason": reason})
    if done is not None:
        return done
    was_sent = False

    def work(handoff: Handoff) -> str:
        nonlocal was_sent
        was_sent = handoff.is_waiting
        if handoff.access_grant_id:
            access_grant_close(grant=handoff.access_grant, actor=actor, now=now)
        return reason

    handoff = _take(CANCEL, policy.can_cancel, handoff=handoff, actor=actor, now=now, work=work)
    if was_sent:
        _notify(
            _receivers_to_tell(handoff),
            title="Handoff cancelled by the sender",
            body=f"{handoff.from_unit}: {reason}",
            handoff=handoff,
            now=now,
        )
    return handoff


# Statuses a handoff is withdrawn from when its event is cancelled: all but the ended ones.
WITHDRAWN_FROM = (Status.DRAFT, Status.SENT, Status.ACKNOWLEDGED, Status.RETURNED, Status.ACCEPTED)


def handoffs_withdraw(*, events: Sequence[CareEvent], now: dt.datetime | None = None) -> list[Handoff]:
    """The handoffs of cancelled events (a discharge called off, or every future event of a
    course stopped for good) are withdrawn by the tracker, accepted ones included: the receiving
    unit's window on the patient closes, and both sides are told why. A handoff whose event no
    longer happens must not be taken over, nor its actions worked."""
    now = now or timezone.now()
    withdrawn = list(
        Handoff.objects.select_for_update(no_key=True, of=("self",))
        .filter(event__in=[event.pk for event in events], status__in=WITHDRAWN_FROM)
        .select_related("event", "from_unit", "from_person", "to_unit", "to_person")
    )
    for handoff in withdrawn:
        was_sent = handoff.status != Status.DRAFT and handoff.status != Status.RETURNED
        if handoff.status == Status.SENT:
            _asks_to_acknowledge_answered(handoff, now)
        reason = f"Withdrawn by the tracker: its {handoff.event.get_kind_display().lower()} was cancelled"
        reason = f"{reason} ({handoff.event.note})" if handoff.event.note else reason
        if handoff.access_grant_id:
            access_grant_close(grant=handoff.access_grant, now=now)
        handoff.status, handoff.cancelled_at, handoff.cancelled_by = Status.CANCELLED, now, None
        handoff.cancel_reason, handoff.updated_at = reason[:REASON_MAX], now
        handoff.save()
        _log(handoff, None, CANCEL.activity, handoff.cancel_reason, now)
        told = ([*_receivers_to_tell(handoff)] if was_sent else []) + [handoff.from_person]
        _notify(
            [user for user in dict.fromkeys(told) if user is not None],
            title="Handoff withdrawn: its event was cancelled",
            body=f"{handoff.from_unit} to {handoff.to_unit}: {handoff.cancel_reason}.",
            handoff=handoff,
            now=now,
        )
    return withdrawn


# The handoffs that are still the sending unit's business: not cancelled, not yet signed off.
FOLLOWS_THE_PATIENT = (
    Status.DRAFT,
    Status.SENT,
    Status.ACKNOWLEDGED,
    Status.RETURNED,
    Status.ACCEPTED,
    Status.COMPLETED,
)


def handoffs_follow_transfer(*, transfer) -> list[int]:
    """The patients layer's transfer hook, in the transfer's transaction: the patient's handoffs
    still under way move with them to the new unit, which now answers for the patient. Its
    coordinator reviews them, sees the waiting ones on the board and is reminded of a late
    acknowledgement; the old unit's coordinator, who no longer sees the patient, is not shown them.
    Handoffs that are over (cancelled, or signed off) stay with the unit that sent them, as does one
    addressed to the new unit itself (a handoff never goes to its own unit)."""
    moving = list(
        Handoff.objects.select_for_update(no_key=True, of=("self",))
        .filter(patient_id=transfer.patient_id, from_unit_id=transfer.from_unit_id, status__in=FOLLOWS_THE_PATIENT)
        .exclude(signed_off_at__isnull=False)
        .exclude(to_unit_id=transfer.to_unit_id)
    )
    detail = f"Moved with the patient from {transfer.from_unit} to {transfer.to_unit}: {transfer.reason}"
    for handoff in moving:
        handoff.from_unit_id = transfer.to_unit_id
        handoff.save(update_fields=["from_unit"])
        _log(handoff, transfer.by, HandoffActivity.Action.UPDATE, detail, transfer.at)
    return [handoff.pk for handoff in moving]


# Statuses whose actions are still to be worked or taken over when their event moves.
MOVES_WITH_ITS_EVENT = (Status.DRAFT, Status.SENT, Status.ACKNOWLEDGED, Status.RETURNED, Status.ACCEPTED)


def handoffs_event_moved(*, events: Sequence[CareEvent], now: dt.datetime | None = None) -> list[Handoff]:
    """The handoffs of moved events (a discharge put off by a break, or brought forward): their
    actions were planned from the old time (the first home visit a day after the discharge), so
    the receiving side, once it has the handoff, and the sender hear of the new time and are asked
    to check the actions' due times; the handoff's history says so, and its page shows the event's
    time as it is now beside the one sent (WATCHED_FACTS). The due times are not moved for them:
    only the people who planned an action know whether it hangs on the discharge."""
    now = now or timezone.now()
    handoffs = list(
        Handoff.objects.filter(
            event__in=[event.pk for event in events], status__in=MOVES_WITH_ITS_EVENT
        ).select_related("event", "from_unit", "from_person", "to_unit", "to_person", "patient__unit")
    )
    for handoff in handoffs:
        event = handoff.event
        what = f"{event.get_kind_display().lower()} moved to {handoff.local_time(event.planned_at)}"
        _log(handoff, None, HandoffActivity.Action.UPDATE, f"Its {what}", now)
        received = handoff.status in (Status.SENT, Status.ACKNOWLEDGED, Status.ACCEPTED)
        told = ([*_receivers_to_tell(handoff)] if received else []) + [handoff.from_person]
        _notify(
            [user for user in dict.fromkeys(told) if user is not None and user.is_active],
            title=f"Handoff's {what}",
            body=f"{handoff.from_unit} to {handoff.to_unit}: check the due times of its actions.",
            handoff=handoff,
            now=now,
        )
    return handoffs


def on_events_changed(*, created=(), moved=(), cancelled=(), facts=()) -> None:
    """The patients layer's hook: the handoffs of cancelled events are withdrawn; those of moved
    events are said to have moved; a cycle end planned, moved or cancelled moves the end of the
    windows that last to it."""
    if cancelled:
        handoffs_withdraw(events=cancelled)
    if moved:
        handoffs_event_moved(events=moved)
    pump_offs = {event.cycle_id for event in (*created, *moved, *cancelled) if event.kind == CareEvent.Kind.CYCLE_END}
    if pump_offs:
        handoffs_follow_the_pump_off(cycle_ids=pump_offs)


# --- the receiving side --------------------------------------------------------------------------


@audited(HandoffAuditAction.ACKNOWLEDGE)
@transaction.atomic
def handoff_acknowledge(*, handoff: Handoff, actor, now: dt.datetime | None = None) -> Handoff:
    """The receiver confirms receipt."""
    done = _taken_already(ACKNOWLEDGE, policy.can_acknowledge, handoff=handoff, actor=actor)
    if done is not None:
        return done
    return _take(ACKNOWLEDGE, policy.can_acknowledge, handoff=handoff, actor=actor, now=now or timezone.now())


@audited(HandoffAuditAction.ACCEPT)
@transaction.atomic
def handoff_accept(*, handoff: Handoff, actor, synthesis: str, now: dt.datetime | None = None) -> Handoff:
    """The receiver takes over: their synthesis is recorded and the actions become their tasks."""
    now = now or timezone.now()
    synthesis = (synthesis or "").strip()
    done = _taken_already(ACCEPT, policy.can_accept, handoff=handoff, actor=actor, recorded={"synthesis": synthesis})
    if done is not None:
        return done
    taken = 0

    def work(handoff: Handoff) -> str:
        nonlocal taken
        if not synthesis:
            raise ValidationError(
                {
                    "synthesis": "Write your synthesis: the situation in your own words, your questions and what "
                    "you will do."
                }
            )
        if len(synthesis) > TEXT_MAX:
            raise ValidationError({"synthesis": f"At most {TEXT_MAX:,} characters."})
        # What was true when it was sent must still be: an item of the checklist undone since (a
        # pump rate found wrong) is not taken over as done.
        if problems := checklist_blockers(handoff):
            raise ValidationError(
                ["The sending side's record changed since it was sent: " + " ".join(problems)]
                + ["Return the handoff with what you need, or ask the sending unit."]
            )
        handoff.synthesis = synthesis
        taken = handoff.actions.filter(status=HandoffAction.Status.PROPOSED).update(
            status=HandoffAction.Status.OPEN, taken_over_at=now
        )
        return f"{taken} action(s) taken over"

    handoff = _take(ACCEPT, policy.can_accept, handoff=handoff, actor=actor, now=now, work=work)
    if handoff.kind == Handoff.Kind.HOME_HOSPITAL:
        _readmitted_ends_home_access(handoff, actor=actor, now=now)
    _notify(
        [handoff.from_person],
        title=f"Handoff accepted by {actor}",
        body=f"{handoff.to_unit} took over {taken} action{pluralize(taken)}.",
        handoff=handoff,
        now=now,
    )
    return handoff


@audited(HandoffAuditAction.RETURN)
@transaction.atomic
def handoff_return(*, handoff: Handoff, actor, reason: str, now: dt.datetime | None = None) -> Handoff:
    """The receiver sends it back with a reason; their window on the patient closes."""
    now = now or timezone.now()
    reason = _reason(reason, message="Say why you return the handoff: what is missing or wrong.")
    done = _taken_already(RETURN, policy.can_return, handoff=handoff, actor=actor, recorded={"return_reason": reason})
    if done is not None:
        return done

    def work(handoff: Handoff) -> str:
        if handoff.access_grant_id:
            access_grant_close(grant=handoff.access_grant, actor=actor, now=now)
        handoff.acknowledged_at = handoff.acknowledged_by = None
        return reason

    handoff = _take(RETURN, policy.can_return, handoff=handoff, actor=actor, now=now, work=work)
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
    """The first home visit is done: the handoff is complete. The receiving unit keeps seeing the
    patient while its actions are open and the infusion runs at home, and
    `access_hours_after_completion()` hours after (_access_ends_at)."""
    now = now or timezone.now()
    # Retried with the visit's time it gave, or with none (then "now" was the first request's).
    recorded = {"first_visit_at": first_visit_at} if first_visit_at else {}
    done = _taken_already(COMPLETE, policy.can_complete, handoff=handoff, actor=actor, recorded=recorded)
    if done is not None:
        return done
    first_visit_at = first_visit_at or now

    def work(handoff: Handoff) -> str:
        if first_visit_at > now + dt.timedelta(minutes=5):
            raise ValidationError({"first_visit_at": "The first visit cannot be in the future."})
        if handoff.sent_at and first_visit_at < handoff.sent_at:
            raise ValidationError({"first_visit_at": "The first visit cannot be before the handoff was sent."})
        if first_visit_at < handoff.event_at:  # at home: after the patient left the ward
            event, left = handoff.event.get_kind_display().lower(), handoff.local_time(handoff.event_at)
            raise ValidationError({"first_visit_at": f"The first home visit comes after the {event} ({left})."})
        _end_access_once_work_is_done(handoff, actor=actor, now=now)
        handoff.first_visit_at = first_visit_at
        return f"first visit {handoff.local_time(first_visit_at)}"

    return _take(COMPLETE, policy.can_complete, handoff=handoff, actor=actor, now=now, work=work)


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
    # The handoff first, then the action (the order of every step): a withdrawal or a completion
    # under way is waited for, and its outcome read, rather than an action marked done on a
    # handoff cancelled at the same moment.
    handoff = _locked(action.handoff)
    action = HandoffAction.objects.select_for_update(no_key=True, of=("self",)).get(pk=action.pk, handoff=handoff)
    action.handoff = handoff
    policy.can_mark_action_done(actor, action, now=now).enforce()
    action.status, action.done_by, action.done_at, action.note = HandoffAction.Status.DONE, actor, now, note
    action.save(update_fields=["status", "done_by", "done_at", "note"])
    detail = f"{action.text}{': ' + note if note else ''}"
    _log(handoff, actor, HandoffActivity.Action.ACTION_DONE, detail, now)
    if handoff.status == Status.COMPLETED:  # its last action done: the window's end is set
        _end_access_once_work_is_done(handoff, actor=actor, now=now)
    return action


# --- the coordinator's review --------------------------------------------------------------------


@audited(HandoffAuditAction.COMMENT)
@transaction.atomic
def handoff_comment(
    *, handoff: Handoff, actor, text: str, submission: uuid.UUID | None = None, now: dt.datetime | None = None
) -> HandoffComment:
    """An internal comment (never printed for the caregiver). The same `submission` again (a
    double click, a resent request) gives back the comment it made instead of a second one."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the comment."})
    if len(text) > COMMENT_MAX:
        raise ValidationError({"text": f"At most {COMMENT_MAX:,} characters."})
    handoff = Handoff.objects.select_related("from_unit").get(pk=handoff.pk)
    policy.can_comment(actor, handoff).enforce()
    values = {"text": text, "at": now or timezone.now()}
    if submission is None:
        return HandoffComment.objects.create(handoff=handoff, author=actor, **values)
    # get_or_create: of two requests at once, the second meets the unique constraint and reads the first's.
    comment, _ = HandoffComment.objects.get_or_create(
        handoff=handoff, author=actor, submission=submission, defaults=values
    )
    return comment


@audited(HandoffAuditAction.FLAG)
@transaction.atomic
def handoff_flag(
    *, handoff: Handoff, actor, flagged: bool, reason: str = "", now: dt.datetime | None = None
) -> Handoff:
    """Flag a handoff for attention, with a reason, or remove the flag."""
    now = now or timezone.now()
    if flagged:
        reason = _reason(reason, message="Say why the handoff needs attention.")
    handoff = _locked(handoff)
    policy.can_flag(actor, handoff, flagged=flagged).enforce()
    handoff.flagged = flagged
    handoff.flag_reason = reason if flagged else ""
    handoff.flagged_by, handoff.flagged_at = (actor, now) if flagged else (None, None)
    handoff.save(update_fields=["flagged", "flag_reason", "flagged_by", "flagged_at"])
    _log(handoff, actor, HandoffActivity.Action.FLAG if flagged else HandoffActivity.Action.UNFLAG, reason, now)
    return handoff


@audited(HandoffAuditAction.SIGN_OFF)
@transaction.atomic
def handoff_sign_off(*, handoff: Handoff, actor, now: dt.datetime | None = None) -> Handoff:
    """The coordinator has reviewed a completed handoff."""
    now = now or timezone.now()
    handoff = _locked(handoff)
    policy.can_sign_off(actor, handoff).enforce()
    handoff.signed_off_at, handoff.signed_off_by = now, actor
    handoff.save(update_fields=["signed_off_at", "signed_off_by"])
    _log(handoff, actor, HandoffActivity.Action.SIGN_OFF, now=now)
    return handoff
