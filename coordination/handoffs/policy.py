"""Who may do what to a handoff, and when, in one place.

Each `can_*` function answers for one action: allowed, or refused with the sentence shown to the
user. A refusal of the person (not of that side) raises PermissionDenied when enforced; a refusal
of the moment (the handoff is not at that step: somebody moved it first, or it is not there yet)
is a `Conflict`, which raises HandoffConflict saying who did what, and when. The services enforce
these functions; the handoff page calls the same ones to decide what to offer.

The status flow is a table, STEPS: each step, the statuses it starts from, the status it leads
to, the fields that record who took it, when and why, and what is said to whoever finds the
handoff where the step left it. The services run it (one function, services._take); the policy
reads it to say when a step may be taken.

A page that asks many questions about one handoff reads where the user stands once,
`Sides(user, handoff)`, and passes it as `sides=`; without it each answer reads what it needs.
"""

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from django.utils import timezone

from accounts.models import Role
from accounts.permissions import Ability, can
from accounts.policy import ALLOWED, Decision, refuse
from patients.models import CareTeamMember, Patient

from ..worklist.policy import VIEW_BOARD
from .models import Handoff, HandoffAction, HandoffActivity

SEND_HANDOFF = Ability(
    "send_handoff", "send a hospital-to-home handoff", frozenset({Role.CASE_MANAGER, Role.NURSE, Role.ONCOLOGIST})
)
ACCEPT_HANDOFF = Ability(
    "accept_handoff", "acknowledge and accept a handoff", frozenset({Role.NURSE, Role.CASE_MANAGER, Role.COORDINATOR})
)

Status = Handoff.Status


class HandoffConflict(Exception):
    """Somebody else moved the handoff first (or it is not at that step); the message says who."""


@dataclass(frozen=True)
class Conflict(Decision):
    """A refusal of the moment, not of the person: enforcing it raises HandoffConflict."""

    def enforce(self) -> None:
        if not self.allowed:
            raise HandoffConflict(self.reason)


def conflict(reason: str) -> Conflict:
    return Conflict(False, reason)


# --- the flow ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of the status flow. `by`, `at` and `why` name the fields that record who took it,
    when and why; `found` is said to whoever finds the handoff in `target` (with {who}, {when}
    and {why} read from those fields)."""

    activity: str
    sources: frozenset[str]
    target: str
    by: str = ""
    at: str = ""
    why: str = ""
    found: str = ""


Activity = HandoffActivity.Action
EDIT = Step(
    Activity.UPDATE,
    frozenset({Status.DRAFT, Status.RETURNED}),
    Status.DRAFT,
    found="This handoff is a draft: it has not been sent.",
)
# A returned handoff is sent again only once edited (which makes it a draft): the receiver's
# reason is answered in the draft, not ignored by a second click on Send.
SEND = Step(
    Activity.SEND,
    frozenset({Status.DRAFT}),
    Status.SENT,
    by="from_person",
    at="sent_at",
    found="Already sent by {who} at {when}; it waits for acknowledgement.",
)
ACKNOWLEDGE = Step(
    Activity.ACKNOWLEDGE,
    frozenset({Status.SENT}),
    Status.ACKNOWLEDGED,
    by="acknowledged_by",
    at="acknowledged_at",
    found="Already acknowledged by {who} at {when}.",
)
ACCEPT = Step(
    Activity.ACCEPT,
    frozenset({Status.ACKNOWLEDGED}),
    Status.ACCEPTED,
    by="accepted_by",
    at="accepted_at",
    found="Already accepted by {who} at {when}.",
)
RETURN = Step(
    Activity.RETURN,
    frozenset({Status.SENT, Status.ACKNOWLEDGED}),
    Status.RETURNED,
    by="returned_by",
    at="returned_at",
    why="return_reason",
    found="Returned by {who} at {when}: {why}",
)
COMPLETE = Step(
    Activity.COMPLETE,
    frozenset({Status.ACCEPTED}),
    Status.COMPLETED,
    by="completed_by",
    at="completed_at",
    found="Already completed by {who} at {when}.",
)
CANCEL = Step(
    Activity.CANCEL,
    frozenset({Status.DRAFT, Status.SENT, Status.ACKNOWLEDGED, Status.RETURNED}),
    Status.CANCELLED,
    by="cancelled_by",
    at="cancelled_at",
    why="cancel_reason",
    found="Cancelled by {who} at {when}: {why}",
)
STEPS = (EDIT, SEND, ACKNOWLEDGE, ACCEPT, RETURN, COMPLETE, CANCEL)
# The step that leaves a handoff in each status (a new handoff is a draft, as an edited one is).
LEADS_TO = {step.target: step for step in STEPS}
# The receiving side works its actions once it has taken them over.
WORKING = frozenset({Status.ACCEPTED, Status.COMPLETED})


def found(handoff: Handoff, user) -> Conflict:
    """What the handoff's status says to someone who expected another one: who took it there, when."""
    step = LEADS_TO[handoff.status]
    who = when = why = ""
    if step.by:
        person = getattr(handoff, step.by)
        # Nobody took a step the tracker took itself (a handoff withdrawn with its cancelled event).
        who = "you" if getattr(handoff, f"{step.by}_id") == user.pk else str(person or "the tracker")
    if step.at:
        when = handoff.local_time(getattr(handoff, step.at))
    if step.why:
        why = getattr(handoff, step.why)
    return conflict(step.found.format(who=who, when=when, why=why))


# --- who is on which side ------------------------------------------------------------------------

SENDING_SIDE = "Only a case manager, nurse or oncologist on this patient's care team may do this."


def on_sending_side(user, patient_id: int) -> bool:
    """A case manager, nurse or oncologist on the patient's care team."""
    return (
        user.is_active
        and can(user, SEND_HANDOFF)
        and CareTeamMember.objects.filter(patient_id=patient_id, user=user).in_current_role().exists()
    )


def receives_for(user, unit_id: int | None) -> bool:
    """May `user` receive a handoff sent to the unit: an active nurse, case manager or coordinator
    of it, who may acknowledge and accept it. The rule for the receiving side's steps and for the
    person a handoff is addressed to, who alone is told of it."""
    return user.is_active and can(user, ACCEPT_HANDOFF) and unit_id is not None and user.unit_id == unit_id


class Sides:
    """Where one user stands on one handoff; each answer is read when first asked, then kept."""

    def __init__(self, user, handoff: Handoff):
        self.user, self.handoff = user, handoff

    @cached_property
    def sender(self) -> bool:
        return on_sending_side(self.user, self.handoff.patient_id)

    @cached_property
    def in_receiving_unit(self) -> bool:
        """A nurse, case manager or coordinator of the receiving unit."""
        return receives_for(self.user, self.handoff.to_unit_id)

    @cached_property
    def sees_patient(self) -> bool:
        """The receiving unit's window: it sees the patient, through the handoff's access grant."""
        return Patient.objects.visible_to(self.user).filter(pk=self.handoff.patient_id).exists()

    @cached_property
    def reviewer(self) -> bool:
        """The sending unit's coordinator."""
        user = self.user
        return user.is_active and can(user, VIEW_BOARD) and user.unit_id == self.handoff.from_unit_id


def _not_receiver(handoff: Handoff) -> Decision:
    return refuse(f"Only a nurse, case manager or coordinator of {handoff.to_unit} may do this.")


def _sending(step: Step, user, handoff: Handoff, sides: Sides | None) -> Decision:
    if not (sides or Sides(user, handoff)).sender:
        return refuse(SENDING_SIDE)
    if handoff.status not in step.sources:
        return found(handoff, user)
    return ALLOWED


def _receiving(step: Step, user, handoff: Handoff, sides: Sides | None) -> Decision:
    """A member of the receiving unit who finds the handoff moved on (cancelled while they accepted
    it) is told so, before the closed window would refuse them without saying why."""
    sides = sides or Sides(user, handoff)
    if not sides.in_receiving_unit:
        return _not_receiver(handoff)
    if handoff.status not in step.sources:
        return found(handoff, user)
    if not sides.sees_patient:
        return _not_receiver(handoff)
    return ALLOWED


def _reviewing(user, handoff: Handoff, sides: Sides | None) -> Decision:
    if not (sides or Sides(user, handoff)).reviewer:
        return refuse(f"Only a coordinator of {handoff.from_unit} may review this handoff.")
    if handoff.status == Status.DRAFT:
        return conflict("This handoff is a draft: review it once it is sent.")
    return ALLOWED


# --- the sending side ----------------------------------------------------------------------------


def can_prepare(user, patient: Patient) -> Decision:
    return ALLOWED if on_sending_side(user, patient.pk) else refuse(SENDING_SIDE)


def can_edit(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    """A draft, or a returned handoff (editing makes it a draft again)."""
    decision = _sending(EDIT, user, handoff, sides)
    if isinstance(decision, Conflict):
        return conflict(f"Only a draft can be edited: {decision.reason}")
    return decision


def can_send(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    """Who sends, and when; whether its checklist lets it go is the services' send_blockers."""
    decision = _sending(SEND, user, handoff, sides)
    if isinstance(decision, Conflict) and handoff.status == Status.RETURNED:
        return conflict(f"{decision.reason} Edit the handoff to answer its return, then send it again.")
    return decision


def can_cancel(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    return _sending(CANCEL, user, handoff, sides)


# --- the receiving side --------------------------------------------------------------------------


def can_acknowledge(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    return _receiving(ACKNOWLEDGE, user, handoff, sides)


def can_accept(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    sides = sides or Sides(user, handoff)
    if handoff.status == Status.SENT and sides.in_receiving_unit and sides.sees_patient:
        return conflict("Acknowledge receipt before accepting the handoff.")
    return _receiving(ACCEPT, user, handoff, sides)


def can_return(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    return _receiving(RETURN, user, handoff, sides)


def can_complete(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    """Completing records the first home visit (its time, its visitor): a nurse of the receiving
    unit, who made it, once its action is done (the receiving nurses' first action,
    Handoff.first_visit_action); not a case manager's or coordinator's click after acceptance."""
    decision = _receiving(COMPLETE, user, handoff, sides)
    if not decision:
        return decision
    if user.role != Role.NURSE:
        return refuse(f"Only a nurse of {handoff.to_unit} records the first home visit and completes the handoff.")
    visit = handoff.first_visit_action()
    if visit is not None and visit.status != HandoffAction.Status.DONE:
        return conflict(f"Mark “{visit.text}” done first: the handoff is complete once the first home visit is.")
    return ALLOWED


def can_mark_action_done(
    user, action: HandoffAction, *, sides: Sides | None = None, now: dt.datetime | None = None
) -> Decision:
    """A receiving-side task, once taken over: done once, by someone of its owning role, and when it
    can have been done: at home, so not before the discharge (the event's time: when it happened, or
    when it is planned), and not more than the receiving unit's margin before it is due (Admin →
    Handoff unit rules, `done_early_hours`): a home visit brought forward to the evening before is
    recorded, a bag change of next week is not."""
    handoff = action.handoff
    sides = sides or Sides(user, handoff)
    if not sides.in_receiving_unit:
        return _not_receiver(handoff)
    if handoff.status == Status.CANCELLED:  # withdrawn while they worked: say so, not "only a nurse of…"
        return found(handoff, user)
    if not sides.sees_patient:
        return _not_receiver(handoff)
    if handoff.access_grant is None or not handoff.access_grant.is_live():
        # Seen through a later handoff's grant, this one's window has closed: its work is history.
        return conflict("This handoff's window on the patient has closed: its actions can no longer be marked done.")
    if action.status == HandoffAction.Status.DONE:
        who = "you" if action.done_by_id == user.pk else str(action.done_by)
        return conflict(f"Already done by {who} at {handoff.local_time(action.done_at)}.")
    if action.status != HandoffAction.Status.OPEN or handoff.status not in WORKING:
        return conflict("This action is not taken over yet: the handoff must be accepted first.")
    if user.role != action.role:
        return refuse(f"This action is for a {action.get_role_display().lower()}.")
    now = now or timezone.now()
    left = handoff.event_at
    if now < left:
        event = handoff.event.get_kind_display().lower()
        return conflict(
            f"Not before the {event} ({handoff.local_time(left)}): the home care actions are done once the "
            "patient has left the ward."
        )
    rule = handoff.receiving_rule
    opens = action.due_at - rule.done_early
    if now < opens:
        return conflict(
            f"Due {handoff.local_time(action.due_at)}: it can be marked done from {handoff.local_time(opens)} "
            f"({rule.done_early_hours} hours before it is due), not days early."
        )
    return ALLOWED


# --- the coordinator's review --------------------------------------------------------------------


def can_review(user) -> Decision:
    """The review queue: a coordinator, of a unit."""
    if not can(user, VIEW_BOARD):
        return refuse("Only coordinators review their unit's handoffs.")
    if user.unit_id is None:
        return refuse("The review queue shows a unit's handoffs: ask an administrator to set yours.")
    return ALLOWED


def can_comment(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    """An internal comment of the sending unit's coordinator, once the handoff is sent."""
    return _reviewing(user, handoff, sides)


def can_flag(user, handoff: Handoff, *, flagged: bool = True, sides: Sides | None = None) -> Decision:
    """Flag a sent handoff for attention (`flagged`), or remove the flag."""
    decision = _reviewing(user, handoff, sides)
    if decision and handoff.flagged == flagged:
        state = f"flagged by {handoff.flagged_by}" if flagged else "not flagged"
        return conflict(f"This handoff is already {state}.")
    return decision


def can_sign_off(user, handoff: Handoff, *, sides: Sides | None = None) -> Decision:
    """The coordinator has reviewed a completed handoff, once."""
    if not (sides or Sides(user, handoff)).reviewer:
        return refuse(f"Only a coordinator of {handoff.from_unit} may review this handoff.")
    if handoff.signed_off_at:
        who = "you" if handoff.signed_off_by_id == user.pk else str(handoff.signed_off_by)
        return conflict(f"Already signed off by {who} at {handoff.local_time(handoff.signed_off_at)}.")
    if handoff.status != Status.COMPLETED:
        return conflict("Only a completed handoff can be signed off.")
    return ALLOWED


def handoff_offers(user, handoff: Handoff, *, sides: Sides | None = None) -> dict[str, Decision]:
    """Every action's answer for one user and handoff, for the handoff page to offer."""
    sides = sides or Sides(user, handoff)
    return {
        "edit": can_edit(user, handoff, sides=sides),
        "send": can_send(user, handoff, sides=sides),
        "cancel": can_cancel(user, handoff, sides=sides),
        "acknowledge": can_acknowledge(user, handoff, sides=sides),
        "accept": can_accept(user, handoff, sides=sides),
        "return": can_return(user, handoff, sides=sides),
        "complete": can_complete(user, handoff, sides=sides),
        "comment": can_comment(user, handoff, sides=sides),
        "flag": can_flag(user, handoff, sides=sides),
        "unflag": can_flag(user, handoff, flagged=False, sides=sides),
        "sign_off": can_sign_off(user, handoff, sides=sides),
    }
