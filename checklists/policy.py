"""Who may do what to a task, and to an event's readiness gate, in one place.

Each `can_*` function answers for one action: allowed, or refused with the sentence shown to the
user. The services (checklists.services) enforce them and raise what they always raised: a
refusal of the person is a PermissionDenied, a refusal of the task's state a TaskConflict (the
message says who got there first), a task that cannot take the action a ValidationError at the
form's field. The pages (coordination.worklist.task_view, the event page) call the same functions to
decide what to offer, so that a page never offers what the service refuses, nor hides what it
accepts.

A page of many rows reads the user's care-team roles once (`TeamRoles.of(user)`) and passes them
as `roles=`; without it each answer reads the one membership that it needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import lazy

from accounts import moments
from accounts.models import Role, User
from accounts.permissions import ADMIN, CLINICIANS, Ability, can
from accounts.policy import ALLOWED, Decision, refuse
from patients.models import CareEvent, CareTeamMember

from .gate import Readiness, event_readiness
from .models import Checklist, Task, TemplateVersion

# What each role may do with tasks and templates at all (on whose patients: the rules below).
WORK_TASKS = Ability("work_tasks", "claim, complete and skip the tasks of their role", CLINICIANS)
VERIFY_TASKS = Ability(
    "verify_tasks", "verify a colleague's completion", frozenset({Role.PHARMACIST, Role.NURSE, Role.ONCOLOGIST})
)
REASSIGN_TASKS = Ability("reassign_tasks", "reassign tasks", frozenset({Role.COORDINATOR}))
OVERRIDE_GATE = Ability("override_gate", "override a readiness gate", frozenset({Role.ONCOLOGIST}))
EDIT_TEMPLATES = Ability("edit_templates", "edit checklist templates", frozenset({ADMIN}))


class TaskConflict(Exception):
    """Somebody else changed the task first; the message says who and when."""


@dataclass(frozen=True)
class Refusal(Decision):
    """A refusal that is not about the person: the service raises `error` (TaskConflict, or a
    ValidationError at the form's `field`) instead of PermissionDenied."""

    error: type[Exception] = PermissionDenied
    field: str = ""

    def enforce(self) -> None:
        if self.allowed:
            return
        reason = str(self.reason)  # worded now, while the task is as the service read it
        if self.error is ValidationError:
            raise ValidationError({self.field: reason} if self.field else reason)
        raise self.error(reason)


def conflict(reason: str) -> Refusal:
    """The task's state refuses the action (someone else acted first, or it is closed)."""
    return Refusal(False, reason, TaskConflict)


def invalid(reason: str, field: str = "") -> Refusal:
    """The task cannot take the action; the reason shows at the form's `field`."""
    return Refusal(False, reason, ValidationError, field)


# A second click on Claim (or a second tab) by the person who holds the task already: the page
# does not offer it, and the service answers it by changing nothing (checklists.services.task_claim).
CLAIMED_BY_YOU = conflict("You have claimed this task already.")


class TeamRoles:
    """A user's care-team memberships as (patient id, role) pairs, read once for a page of many
    tasks: the policy answers from them without a query per row."""

    __slots__ = ("_pairs", "_patient_ids")

    def __init__(self, pairs: Iterable[tuple[int, str]]):
        self._pairs = frozenset(pairs)
        self._patient_ids = frozenset(patient_id for patient_id, _ in self._pairs)

    @classmethod
    def of(cls, user) -> TeamRoles:
        """One query. Only the memberships held in the user's current role count
        (`CareTeamMember.objects.in_current_role`)."""
        if not user.is_authenticated:
            return cls(())
        return cls(CareTeamMember.objects.filter(user=user).in_current_role().values_list("patient_id", "role"))

    def has(self, patient_id: int, role: str = "") -> bool:
        """A member of the patient's care team (in `role`, when given)."""
        return (patient_id, role) in self._pairs if role else patient_id in self._patient_ids

    def __contains__(self, pair) -> bool:
        return pair in self._pairs

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return iter(self._pairs)


# --- who ---------------------------------------------------------------------------------------


def on_care_team(user, patient_id: int, role: str = "", *, roles: TeamRoles | None = None) -> bool:
    """An active user on the patient's care team (in `role`, when given), in the role that the user
    holds now: a membership of an earlier role counts for nothing until they are added again."""
    if not (user.is_authenticated and user.is_active):
        return False
    if roles is not None:
        return roles.has(patient_id, role)
    members = CareTeamMember.objects.filter(patient_id=patient_id, user=user).in_current_role()
    if role:
        members = members.filter(role=role)
    return members.exists()


def is_unit_coordinator(user, task: Task) -> bool:
    """The coordinator of the unit of the task's patient."""
    return can(user, REASSIGN_TASKS) and user.unit_id is not None and user.unit_id == task.patient.unit_id


def is_assignee(user, task: Task) -> bool:
    return user.is_authenticated and task.assignee_id is not None and task.assignee_id == user.pk


def _works(user, task: Task, roles: TeamRoles | None) -> bool:
    """A clinician on the patient's care team in the task's role, which is still the user's role:
    who claims, completes, skips and undoes it."""
    return can(user, WORK_TASKS) and on_care_team(user, task.patient_id, task.role, roles=roles)


# --- the refusals ---------------------------------------------------------------------------------
#
# A page asks eight questions of every row and shows none of the reasons, so the reasons cost as
# little as they can: the fixed ones are made once, and those that name a person or a time are
# worded only when read (`_worded_later`: the person is not even loaded until then).

_worded_later = lazy(lambda word: word(), str)

NOT_A_WORKER = {
    role: refuse(f"Only a {Role(role).label.lower()} on this patient's care team may do this task.") for role in Role
}
NOT_A_VERIFIER = {
    "": refuse("Only a member of this patient's care team may verify this task."),
    **{
        role: refuse(f"Only a {Role(role).label.lower()} of this patient's care team may verify this task.")
        for role in Role
    },
}
CLOSED = {status: conflict(f"This task is {label.lower()}.") for status, label in Task.Status.choices}
NOT_THE_HOLDER = refuse("Only the assignee or the unit's coordinator may release a task.")
NOT_CLAIMED = conflict("Nobody has claimed this task.")
NOT_THE_COORDINATOR = refuse("Only the unit's coordinator may reassign tasks.")
HARD_STOP = invalid("A hard-stop check cannot be skipped; an oncologist may override the gate.", "reason")
# A double check skipped by the one who would have been checked is no check at all: where it truly
# does not apply, the template's conditions leave it out, or the oncologist overrides the gate
# (recorded, and shown as overridden, never as plain ready).
DOUBLE_CHECK = invalid(
    "A task that needs an independent double check cannot be skipped; an oncologist may override the gate.", "reason"
)
# An attestation is someone's word that something holds ("Clear to start the infusion"); skipped,
# the gate would read ready with nobody having given it. Optional ones block nothing.
ATTESTATION = invalid("A required attestation is signed, not skipped; an oncologist may override the gate.", "reason")
EVENT_CANCELLED = conflict("This event is cancelled: its tasks stay as they were.")
NOT_DONE = conflict("Only a completed or not-applicable task can be undone.")
NOT_AWAITING_CHECK = conflict("This task is not waiting for verification.")
OWN_WORK = refuse("An independent check must be done by someone other than the person who completed it.")


def _on_readers_clock(at) -> str:
    """A moment of a message on its reader's clock ("Fri 4 Dec, 10:32"): the zone active when the
    words are read, which is the reader's unit's (accounts.middleware.UnitClockMiddleware sets it
    for a page, the patient's unit's on a patient's pages; accounts.api_auth for a token), as the
    page around the message reads its times. With the day: done yesterday at 10:32 is not today."""
    return moments.moment_short(at, timezone.get_current_timezone())


def _open(task: Task, user) -> Decision:
    if task.status == Task.Status.OPEN:
        return ALLOWED
    if task.status == Task.Status.DONE:

        def word() -> str:
            who = "you" if user.is_authenticated and task.completed_by_id == user.pk else task.completed_by
            return f"Already completed by {who} at {_on_readers_clock(task.completed_at)}."

        return conflict(_worded_later(word))
    return CLOSED[task.status]


def state_words(task: Task, user) -> str:
    """The task's state as its row shows it, in a sentence's words: "done by Nurse Ben at Fri 4 Dec,
    10:32 (75 kg), verified by Nurse Ann", "not applicable (Weighed yesterday)", "open, claimed by …"."""
    if task.status == Task.Status.DONE:
        who = "you" if user.is_authenticated and task.completed_by_id == user.pk else task.completed_by
        words = f"done by {who} at {_on_readers_clock(task.completed_at)} ({task.value_shown})"
        if task.verified_by_id:
            words += f", verified by {task.verified_by}"
        return words
    if task.status == Task.Status.NOT_APPLICABLE:
        return f"not applicable ({task.not_applicable_reason})"
    if task.status == Task.Status.OPEN:
        return f"open, claimed by {task.assignee}" if task.assignee_id else "open and unclaimed"
    return task.get_status_display().lower()


def seen_unchanged(user, task: Task, seen: str | None, *, action: str) -> Decision:
    """The task is as its user saw it (`seen`: the `Task.state_version` their page or API read drew):
    an undo, a verification or a reassignment acts on that answer, never on one given since. `None`:
    a caller that did not draw it (the tracker itself, a test). `action`: what was not done,
    "undone", "verified", "reassigned"."""
    if seen is None or seen == task.state_version:
        return ALLOWED
    return conflict(
        _worded_later(
            lambda: (
                f"This task changed since you saw it: it is now {state_words(task, user)}. Nothing was "
                f"{action}: check it as it is now, and act again if you still need to."
            )
        )
    )


# --- the actions -------------------------------------------------------------------------------------


def can_claim(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """A worker of the task takes an open task that nobody holds."""
    if not _works(user, task, roles):
        return NOT_A_WORKER[task.role]
    if not (state := _open(task, user)):
        return state
    if is_assignee(user, task):
        return CLAIMED_BY_YOU
    if task.assignee_id:
        return conflict(_worded_later(lambda: f"Already claimed by {task.assignee}."))
    return ALLOWED


def can_release(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """The person who holds an open task, or the unit's coordinator, gives it back to the pool."""
    if not (is_assignee(user, task) or is_unit_coordinator(user, task)):
        return NOT_THE_HOLDER
    if not (state := _open(task, user)):
        return state
    if task.assignee_id is None:
        return NOT_CLAIMED
    return ALLOWED


def can_reassign(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """The unit's coordinator gives an open task to someone else (claimed or not)."""
    if not is_unit_coordinator(user, task):
        return NOT_THE_COORDINATOR
    return _open(task, user)


def assignable_users(task: Task) -> QuerySet[User]:
    """Who may be given a task: the active members of the patient's care team in the task's role,
    still their role (the reassignment form's choices; `can_be_assigned` asks the same of one person)."""
    members = (
        CareTeamMember.objects.filter(patient_id=task.patient_id, role=task.role).in_current_role().values("user_id")
    )
    return User.objects.filter(pk__in=members, is_active=True)


def can_be_assigned(user, task: Task) -> Decision:
    """Whether `user` is one of `assignable_users(task)`."""
    if user.pk is not None and assignable_users(task).filter(pk=user.pk).exists():
        return ALLOWED
    return invalid(f"{user} is not a {Role(task.role).label.lower()} on this care team.", "assignee")


def can_complete(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """A worker of the task completes it while it is open, whoever holds it. (Its dependencies
    are checked with the value: the message shows at the field.)"""
    if not _works(user, task, roles):
        return NOT_A_WORKER[task.role]
    return _open(task, user)


def can_mark_not_applicable(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """A worker of the task skips it while it is open, unless it is a hard stop, needs an
    independent double check, or is a required attestation."""
    if not _works(user, task, roles):
        return NOT_A_WORKER[task.role]
    if not (state := _open(task, user)):
        return state
    if task.hard_stop:
        return HARD_STOP
    if task.needs_verification:
        return DOUBLE_CHECK
    if task.required and task.response_kind == Task.ResponseKind.ATTESTATION:
        return ATTESTATION
    return ALLOWED


def can_undo(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """A worker of the task reopens it when it is done or not applicable, unless its event was
    cancelled (reopened, it would wait in My work for an event that will not happen)."""
    if not _works(user, task, roles):
        return NOT_A_WORKER[task.role]
    if task.status not in (Task.Status.DONE, Task.Status.NOT_APPLICABLE):
        return NOT_DONE
    if task.event.status == CareEvent.Status.CANCELLED:
        return EVENT_CANCELLED
    return ALLOWED


def can_verify(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """The independent check of a completion: by someone other than the completer, of the
    verifier's role (any role that verifies, when the task names none) on the care team."""
    if task.status != Task.Status.DONE or not task.needs_verification:
        return NOT_AWAITING_CHECK
    if task.verified_by_id:
        return conflict(_worded_later(lambda: f"Already verified by {task.verified_by}."))
    if user.is_authenticated and task.completed_by_id == user.pk:
        return OWN_WORK
    if not is_verifier(user, task, roles=roles):
        return NOT_A_VERIFIER[task.verifier_role]
    return ALLOWED


def is_verifier(user, task: Task, *, roles: TeamRoles | None = None) -> bool:
    """One who may verify the task's completion now: of a role that verifies (the task's verifier
    role, when it names one) on the patient's care team."""
    return can(user, VERIFY_TASKS) and on_care_team(user, task.patient_id, task.verifier_role, roles=roles)


NOT_LEFT_OPEN = conflict("Only an open task of an event that is done or missed is closed this way.")
NOT_THE_OWNER = refuse("Only the unit's coordinator, or the task's owner, may close a task left open.")


def can_close_left_open(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """A task left open when its event was done or missed is closed, done late or not done with
    why, by the unit's coordinator or its owner: the one who holds it, or, in the pool, a worker of its role."""
    owner = is_assignee(user, task) or (task.assignee_id is None and _works(user, task, roles))
    if not (owner or is_unit_coordinator(user, task)):
        return NOT_THE_OWNER
    if not (state := _open(task, user)):
        return state
    if not task.is_left_open:
        return NOT_LEFT_OPEN
    return ALLOWED


# An override clears an event to start: one that was cancelled, or whose time passed and that the
# beat settled as done or missed (checklists.services.events_settle), will not start any more.
SETTLED_EVENTS = {
    status: invalid(f"This event is {CareEvent.Status(status).label.lower()}: its gate can no longer be overridden.")
    for status in (CareEvent.Status.CANCELLED, CareEvent.Status.DONE, CareEvent.Status.MISSED)
}


def can_override_gate(
    user, event: CareEvent, *, roles: TeamRoles | None = None, readiness: Readiness | None = None
) -> Decision:
    """An oncologist on the care team clears an event whose gate is blocked to start, while it is
    planned (or in progress). `readiness`: the event's gate, when the caller has it (otherwise it
    is read here)."""
    if not (can(user, OVERRIDE_GATE) and on_care_team(user, event.patient_id, Role.ONCOLOGIST, roles=roles)):
        return refuse("Only an oncologist on this patient's care team may override the gate.")
    if event.status in SETTLED_EVENTS:
        return SETTLED_EVENTS[event.status]
    if readiness is None:
        readiness = event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks"))
    if readiness.ready:
        return invalid("The gate is not blocked; there is nothing to override.")
    return ALLOWED


# --- the same rules as queries: what waits for a user (My work, the daily digest) ----------------
#
# A list cannot ask `can_claim` and `can_verify` of every task in the database, so these two say
# the same as filters, from the user's care-team roles read once. Each part names its patients, so
# that PostgreSQL reads it from an index (checklists.selectors.my_work).

NO_TASKS = Q(pk__in=[])


def _patients_by_role(roles: TeamRoles) -> dict[str, set[int]]:
    patients: dict[str, set[int]] = defaultdict(set)
    for patient_id, role in roles:
        patients[role].add(patient_id)
    return patients


def claimable_by(user, roles: TeamRoles) -> Q:
    """The open tasks nobody holds that the user may claim (`can_claim`): of a role that the user
    holds on the patient's care team, for a user who works tasks."""
    if not can(user, WORK_TASKS):
        return NO_TASKS
    of_my_roles = NO_TASKS
    for role, patient_ids in _patients_by_role(roles).items():
        of_my_roles |= Q(role=role, patient_id__in=patient_ids)
    return Q(assignee__isnull=True, status=Task.Status.OPEN) & of_my_roles


def awaiting_check_by(user, roles: TeamRoles) -> Q:
    """The completions waiting for the user's independent check (`can_verify`): not the user's
    own, of the verifier's role on the patient's care team (any member, when the task names no
    role), for a user who verifies."""
    if not can(user, VERIFY_TASKS):
        return NO_TASKS
    by_role = _patients_by_role(roles)
    my_teams = set().union(*by_role.values())
    of_my_roles = Q(verifier_role="")
    for role, patient_ids in by_role.items():
        # Most people hold one role on all their teams: then the role alone says it.
        of_my_roles |= (
            Q(verifier_role=role) if patient_ids == my_teams else Q(verifier_role=role, patient_id__in=patient_ids)
        )
    awaiting = Q(status=Task.Status.DONE, needs_verification=True, verified_by__isnull=True, patient_id__in=my_teams)
    return awaiting & ~Q(completed_by=user) & of_my_roles


# --- template governance: who submits, approves, returns and publishes a draft -----------------
#
# Clinical content that nurses act on at 3 a.m. is published by two people: one writes the draft
# and submits it, another admin (of the clinical role the template names, when it names one)
# approves it, which publishes it. Nobody who wrote any of the draft approves it. An admin alone
# may publish in an emergency, with a reason; another admin then reviews it afterwards.

NOT_AN_EDITOR = refuse("Only an admin may edit, submit, approve or discard checklist templates.")


def _is_author(user, version) -> bool:
    return version.authors.filter(pk=user.pk).exists()


def _approver_role_refusal(user, template) -> Decision:
    if template.approver_role and user.role != template.approver_role:
        return refuse(f"This template is approved by {template.get_approver_role_display().lower()}; you are not one.")
    return ALLOWED


def can_submit(user, version) -> Decision:
    """An admin submits a draft for review."""
    if not can(user, EDIT_TEMPLATES):
        return NOT_AN_EDITOR
    if version.status != version.Status.DRAFT:
        return invalid("Only a draft can be submitted for review.")
    return ALLOWED


# What a reviewer approves a draft under: who may approve it and which events its checklists go
# to. A change of them while a draft is in review would have it approved under settings that the
# submission did not ask for (an approver role loosened, conditions widened after the impact was
# read): it waits until the draft is approved or returned. The rest (name, description, active)
# changes at any time; turning a template off is never held up by a review.
SETTINGS_UNDER_REVIEW = ("approver_role", "trigger_kind", "conditions")
KEPT_WHILE_IN_REVIEW = {
    name: invalid(
        "Return the draft in review first: its reviewer approves it under the settings it was submitted with.", name
    )
    for name in SETTINGS_UNDER_REVIEW
}


def can_change_setting(template, setting: str, *, in_review: bool | None = None) -> Decision:
    """A template's setting changes, unless it is one that a draft in review is approved under.
    `in_review`: whether one of the template's versions is in review, when the caller knows."""
    if setting not in SETTINGS_UNDER_REVIEW:
        return ALLOWED
    if in_review is None:
        in_review = template.versions.filter(status=TemplateVersion.Status.IN_REVIEW).exists()
    return KEPT_WHILE_IN_REVIEW[setting] if in_review else ALLOWED


def can_change_approver(user, template, approver_role: str) -> Decision:
    """Who approves a template's drafts is changed by one of those approvers (anyone may name an
    approver where none is named): otherwise the author of a draft could loosen "approved by
    an admin who is a pharmacist" to any admin, submit, and have a colleague approve it."""
    if approver_role == template.approver_role or not template.approver_role:
        return ALLOWED
    if user.role == template.approver_role:
        return ALLOWED
    return invalid(
        f"Only {template.get_approver_role_display().lower()} changes who approves this template.", "approver_role"
    )


def can_approve(user, version) -> Decision:
    """Another admin (of the template's approver role, when it names one) approves a submitted
    draft: nobody who wrote any of it."""
    if not can(user, EDIT_TEMPLATES):
        return NOT_AN_EDITOR
    if version.status != version.Status.IN_REVIEW:
        return invalid("Only a draft submitted for review can be approved.")
    if _is_author(user, version):
        return refuse("You wrote part of this draft: another admin approves it.")
    return _approver_role_refusal(user, version.template)


def can_return(user, version) -> Decision:
    """Any admin sends a submitted draft back to be edited: a reviewer with comments, or an
    author who wants to change it (a withdrawal)."""
    if not can(user, EDIT_TEMPLATES):
        return NOT_AN_EDITOR
    if version.status != version.Status.IN_REVIEW:
        return invalid("Only a draft submitted for review can be returned.")
    return ALLOWED


def can_publish_in_emergency(user, version) -> Decision:
    """An admin publishes a draft alone, with a reason; it is flagged for review afterwards."""
    if not can(user, EDIT_TEMPLATES):
        return NOT_AN_EDITOR
    if not version.is_unpublished:
        return invalid("Only a draft can be published.")
    return ALLOWED


DISCARD_IN_REVIEW = invalid(
    "This draft is submitted for review: return it to draft on its review page first (an author may "
    "withdraw it there), then discard it."
)
DISCARD_RELEASED = invalid("Only a draft can be discarded: a published or retired version is kept for its checklists.")
DISCARD_DISCARDED = invalid("This draft is discarded already.")


def can_discard(user, version) -> Decision:
    """An admin, who may edit the draft, abandons it (with a reason): only a draft that nobody is
    reviewing, so that a reviewer never loses what they are reading."""
    if not can(user, EDIT_TEMPLATES):
        return NOT_AN_EDITOR
    if version.status == version.Status.IN_REVIEW:
        return DISCARD_IN_REVIEW
    if version.status == version.Status.DISCARDED:
        return DISCARD_DISCARDED
    if version.status != version.Status.DRAFT:
        return DISCARD_RELEASED
    return ALLOWED


def can_install(user, version) -> Decision:
    """A new template's first version that the installation brings (the starter library) is
    published without review, by the system (`user` None) or the admin who loads it: content the
    institution starts from, as a migration's data. Any later version is reviewed."""
    if user is not None and not can(user, EDIT_TEMPLATES):
        return NOT_AN_EDITOR
    if not version.is_unpublished or version.template.versions.exclude(pk=version.pk).exists():
        return invalid("Only a new template's first version is installed without review; submit this one for review.")
    return ALLOWED


def can_review_after(user, version, *, pending: bool) -> Decision:
    """Another admin (as for an approval) reviews an emergency publication. `pending`: it was
    published in an emergency and has not been reviewed yet."""
    if not can(user, EDIT_TEMPLATES):
        return NOT_AN_EDITOR
    if not pending:
        return invalid("This version is not waiting for a review after an emergency publication.")
    if _is_author(user, version) or version.published_by_id == user.pk:
        return refuse("You wrote or published this version: another admin reviews it.")
    return _approver_role_refusal(user, version.template)
