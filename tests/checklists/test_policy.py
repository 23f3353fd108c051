"""The task policy (checklists/policy.py, and the reminders' for snoozing) against the services
and the pages: every action × role × task state.

For each case the policy is asked first; then the service is called inside a savepoint that is
rolled back. The service accepts when it returns and leaves the action's trace (its activity
row, or the snooze). A refusal must be the policy's refusal, in the same words. The page (a task
row, the event page) must offer an action exactly when the policy allows it.

The world (one patient's care team with two of each clinical role, the unit's coordinator, a
nurse of another patient's team, an administrator, and a task of each kind) is built once per
module; each case moves one task into its state inside the test's own transaction.
"""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import get_template
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists import policy
from checklists.models import Task, TaskActivity
from checklists.policy import TaskConflict, TeamRoles
from checklists.selectors import TASK_RELATIONS
from checklists.services import (
    checklists_instantiate,
    task_claim,
    task_complete,
    task_mark_not_applicable,
    task_reassign,
    task_release,
    task_undo,
    task_verify,
)
from coordination.models import TaskSnooze
from coordination.reminders.policy import can_snooze
from coordination.reminders.services import task_snooze
from coordination.worklist.task_view import decorate

from ..accounts.helpers import verified_login
from ..factories import CareTeamMemberFactory, PatientFactory, UnitFactory, UserFactory
from ..layers import layer
from .helpers import make_event, override_gate, publish_template

ACTORS = ["pharmacist", "nurse", "oncologist", "case_manager", "coordinator", "other_team_nurse", "admin"]
STATES = [
    "open_unclaimed",
    "claimed_by_me",
    "claimed_by_another",
    "done_by_me",
    "done_by_another_awaiting_verification",
    "not_applicable",
    "cancelled",
]
# A task of each kind: whose it is, who double-checks it (any role that verifies, when blank),
# and a hard stop (which is never skipped).
KINDS = {
    "nurse_double_checked": {"role": Role.NURSE, "needs_verification": True, "verifier_role": Role.NURSE},
    "pharmacist_checked_by_anyone": {"role": Role.PHARMACIST, "needs_verification": True, "verifier_role": ""},
    "oncologist_hard_stop": {
        "role": Role.ONCOLOGIST,
        "hard_stop": True,
        "response_kind": "number",
        "unit": "mcg/day",
        "min_value": 9,
        "max_value": 28,
    },
    "case_manager_plain": {"role": Role.CASE_MANAGER},
}
VALUES = {"oncologist_hard_stop": "28"}  # what completes each kind (a tick, for the others)
CASES = [(actor, state, kind) for actor in ACTORS for state in STATES for kind in KINDS]


# --- the world, once per module ------------------------------------------------------------------


def _member(patient, role, username):
    user = UserFactory(username=username, role=role, unit=patient.unit)
    CareTeamMemberFactory(patient=patient, user=user, role=role)
    return user


def _build_world():
    from patients.services import regimen_library_seed  # what tests/conftest.py seeds before each test

    regimen_library_seed()
    ward = UnitFactory(name="Haematology Ward")
    patient, neighbour = PatientFactory(unit=ward), PatientFactory(unit=ward)
    users = {
        "pharmacist": _member(patient, Role.PHARMACIST, "pharmacist"),
        "nurse": _member(patient, Role.NURSE, "nurse"),
        "oncologist": _member(patient, Role.ONCOLOGIST, "oncologist"),
        "case_manager": _member(patient, Role.CASE_MANAGER, "casemanager"),
        "coordinator": UserFactory(username="coordinator", role=Role.COORDINATOR, unit=ward),
        # A nurse of the same unit, on the care team of the patient in the next bed.
        "other_team_nurse": _member(neighbour, Role.NURSE, "nurse_next_bed"),
        "admin": UserFactory(username="admin", role="", unit=None, is_staff=True, is_superuser=True),
    }
    # "Another": a second member of the task's role, who claims it, completes it, or is given it.
    colleagues = {role: _member(patient, role, f"{role}2") for role in (r["role"] for r in KINDS.values())}
    publish_template(items=[{"text": kind, **fields} for kind, fields in KINDS.items()])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    tasks = {kind: Task.objects.get(event=event, text=kind).pk for kind in KINDS}
    return {"users": users, "colleagues": colleagues, "tasks": tasks, "event": event}


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    with layer(django_db_blocker):
        with (
            django_db_blocker.unblock(),
            override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        ):
            built = _build_world()
        yield built


@pytest.fixture
def world(_module_world, db):
    return _module_world


# --- putting a task in a state -----------------------------------------------------------------------

OPEN_FIELDS = {
    "status": Task.Status.OPEN,
    "assignee": None,
    "value": "",
    "completed_by": None,
    "completed_at": None,
    "verified_by": None,
    "verified_at": None,
    "not_applicable_reason": "",
    "hard_stop_failed": False,
}


def state_fields(state: str, me, another) -> dict:
    now = timezone.now()
    done = {"status": Task.Status.DONE, "value": "yes", "completed_at": now}
    return {
        **OPEN_FIELDS,
        **{
            "open_unclaimed": {},
            "claimed_by_me": {"assignee": me},
            "claimed_by_another": {"assignee": another},
            "done_by_me": {**done, "assignee": me, "completed_by": me},
            "done_by_another_awaiting_verification": {**done, "assignee": another, "completed_by": another},
            "not_applicable": {"status": Task.Status.NOT_APPLICABLE, "not_applicable_reason": "Done at the clinic"},
            "cancelled": {"status": Task.Status.CANCELLED},
        }[state],
    }


def arrange(world, actor: str, state: str, kind: str):
    """The case's user, the task in its state (fresh, with what pages load), and the colleague."""
    user = world["users"][actor]
    colleague = world["colleagues"][KINDS[kind]["role"]]
    pk = world["tasks"][kind]
    Task.objects.filter(pk=pk).update(**state_fields(state, user, colleague))
    return user, Task.objects.select_related(*TASK_RELATIONS).get(pk=pk), colleague


# --- the actions: the policy's question and the service's call ------------------------------------


def _snoozed(task, actor, colleague):
    task_snooze(task=task, actor=actor, until=timezone.now() + dt.timedelta(hours=1), reason="Patient at X-ray")


ACTIONS = {
    # name: (policy function, service call, what the service leaves when it acts)
    "claim": (policy.can_claim, lambda t, u, c: task_claim(task=t, actor=u), TaskActivity.Action.CLAIM),
    "release": (policy.can_release, lambda t, u, c: task_release(task=t, actor=u), TaskActivity.Action.RELEASE),
    "complete": (
        policy.can_complete,
        lambda t, u, c: task_complete(task=t, actor=u, value=VALUES.get(t.text, "on")),
        TaskActivity.Action.COMPLETE,
    ),
    "not_applicable": (
        policy.can_mark_not_applicable,
        lambda t, u, c: task_mark_not_applicable(task=t, actor=u, reason="Done at the clinic"),
        TaskActivity.Action.NOT_APPLICABLE,
    ),
    "verify": (policy.can_verify, lambda t, u, c: task_verify(task=t, actor=u), TaskActivity.Action.VERIFY),
    "undo": (
        policy.can_undo,
        lambda t, u, c: task_undo(task=t, actor=u, reason="Entered on the wrong patient"),
        TaskActivity.Action.UNDO,
    ),
    "reassign": (
        policy.can_reassign,
        lambda t, u, c: task_reassign(task=t, assignee=c, reason="Shift change", actor=u),
        TaskActivity.Action.REASSIGN,
    ),
    "snooze": (can_snooze, _snoozed, None),
}


def message(refusal: Exception) -> str:
    return " ".join(refusal.messages) if isinstance(refusal, ValidationError) else str(refusal)


def service_outcome(call, task, action_trace) -> tuple[bool, str | None]:
    """(whether the service acted, its refusal's message), in a savepoint rolled back."""
    with transaction.atomic():
        try:
            call()
        except (PermissionDenied, ValidationError, TaskConflict) as refusal:
            acted, said = False, message(refusal)
        else:
            if action_trace is None:
                acted = TaskSnooze.objects.filter(task_id=task.pk).exists()
            else:
                acted = TaskActivity.objects.filter(task_id=task.pk, action=action_trace).exists()
            said = None
        transaction.set_rollback(True)
    return acted, said


@pytest.mark.parametrize("actor", ACTORS)
def test_the_policy_allows_exactly_what_the_service_accepts(world, actor):
    wrong = []
    for state in STATES:
        for kind in KINDS:
            user, task, colleague = arrange(world, actor, state, kind)
            roles = TeamRoles.of(user)
            for action, (ask, call, trace) in ACTIONS.items():
                decision = ask(user, task)
                if ask(user, task, roles=roles) != decision:
                    wrong.append(f"{action}: {state} / {kind}: the answer from the page's roles differs")
                acted, said = service_outcome(lambda: call(task, user, colleague), task, trace)  # noqa: B023
                if decision.allowed != acted or (said is not None and said != decision.reason):
                    wrong.append(f"{action}: {state} / {kind}: policy {decision}, service acted={acted} said={said!r}")
    assert wrong == []


# Who may do what to a nurse's task that another nurse double-checks (and, for verifying, to a
# pharmacist's task that any role that verifies may check), written out: the matrix above proves
# that the services and the policy agree; this proves that they say what the ward expects.
# "claimed_by_me" for a non-nurse stands for a task that they hold, however they came to.
HOLDERS = {f"{actor}:claimed_by_me" for actor in ACTORS}
NURSE_WORK = {"nurse:open_unclaimed", "nurse:claimed_by_me", "nurse:claimed_by_another"}
COORDINATOR_OPEN = {"coordinator:open_unclaimed", "coordinator:claimed_by_me", "coordinator:claimed_by_another"}
EXPECTED = {
    ("nurse_double_checked", "claim"): {"nurse:open_unclaimed"},
    ("nurse_double_checked", "release"): HOLDERS | {"coordinator:claimed_by_another"},
    ("nurse_double_checked", "complete"): NURSE_WORK,
    # Never skipped: skipped by the one it would check, it would be no check at all.
    ("nurse_double_checked", "not_applicable"): set(),
    ("nurse_double_checked", "verify"): {"nurse:done_by_another_awaiting_verification"},
    ("nurse_double_checked", "undo"): {
        "nurse:done_by_me",
        "nurse:done_by_another_awaiting_verification",
        "nurse:not_applicable",
    },
    ("nurse_double_checked", "reassign"): COORDINATOR_OPEN,
    # The holder, if their role works tasks; the nurses of the team; the unit's coordinator.
    ("nurse_double_checked", "snooze"): NURSE_WORK
    | COORDINATOR_OPEN
    | {f"{actor}:claimed_by_me" for actor in ("pharmacist", "oncologist", "case_manager", "other_team_nurse")},
    ("pharmacist_checked_by_anyone", "verify"): {
        f"{actor}:done_by_another_awaiting_verification" for actor in ("pharmacist", "nurse", "oncologist")
    },
    ("pharmacist_checked_by_anyone", "not_applicable"): set(),
    ("oncologist_hard_stop", "not_applicable"): set(),
    ("case_manager_plain", "not_applicable"): {
        "case_manager:open_unclaimed",
        "case_manager:claimed_by_me",
        "case_manager:claimed_by_another",
    },
}


def test_who_may_act_is_what_the_ward_expects(world):
    allowed = {case: set() for case in EXPECTED}
    for actor, state, kind in CASES:
        user, task, _ = arrange(world, actor, state, kind)
        for (expected_kind, action), cells in allowed.items():
            if expected_kind == kind and ACTIONS[action][0](user, task).allowed:
                cells.add(f"{actor}:{state}")
    assert allowed == EXPECTED


def test_claiming_a_task_one_holds_already_changes_nothing_and_is_not_offered(world):
    nurse, task, _ = arrange(world, "nurse", "claimed_by_me", "nurse_double_checked")
    assert policy.can_claim(nurse, task) == policy.CLAIMED_BY_YOU
    assert task_claim(task=task, actor=nurse).assignee == nurse  # a second click: no error
    assert not TaskActivity.objects.filter(task=task).exists()
    decorate([task], nurse, TeamRoles.of(nurse))
    assert (task.can_claim, task.can_release) == (False, True)  # the row offers to give it back


@pytest.mark.parametrize(
    ("action", "actor", "state", "kind", "reason"),
    [
        ("claim", "pharmacist", "open_unclaimed", "nurse_double_checked", "Only a nurse on this patient's care team"),
        ("claim", "nurse", "claimed_by_another", "nurse_double_checked", "Already claimed by "),
        ("complete", "nurse", "done_by_me", "nurse_double_checked", "Already completed by you at "),
        ("complete", "nurse", "cancelled", "nurse_double_checked", "This task is cancelled."),
        ("release", "nurse", "claimed_by_another", "nurse_double_checked", "Only the assignee or the unit's"),
        ("release", "coordinator", "open_unclaimed", "nurse_double_checked", "Nobody has claimed this task."),
        ("verify", "nurse", "done_by_me", "nurse_double_checked", "someone other than the person who completed it"),
        ("verify", "nurse", "open_unclaimed", "nurse_double_checked", "not waiting for verification"),
        ("verify", "case_manager", "done_by_another_awaiting_verification", "pharmacist_checked_by_anyone", "member"),
        ("not_applicable", "oncologist", "open_unclaimed", "oncologist_hard_stop", "hard-stop check cannot be skipped"),
        ("not_applicable", "nurse", "open_unclaimed", "nurse_double_checked", "independent double check cannot be"),
        ("undo", "nurse", "open_unclaimed", "nurse_double_checked", "Only a completed or not-applicable task"),
        ("reassign", "nurse", "claimed_by_me", "nurse_double_checked", "Only the unit's coordinator may reassign"),
        ("snooze", "pharmacist", "open_unclaimed", "nurse_double_checked", "Only the people doing this task"),
        ("snooze", "nurse", "not_applicable", "nurse_double_checked", "The task is not applicable: it has no"),
    ],
)
def test_a_refusal_says_why(world, action, actor, state, kind, reason):
    user, task, _ = arrange(world, actor, state, kind)
    answer = ACTIONS[action][0](user, task)
    assert not answer.allowed and reason in answer.reason, answer


# --- a role changed since the user joined the care team -------------------------------------------


def copy_of(user):
    """The user read again: the module's world keeps its own, which no test may change."""
    return type(user).objects.get(pk=user.pk)


def test_a_nurse_made_case_manager_works_no_nurse_task_until_added_again_in_the_new_role(world):
    """A membership keeps the role its user was added in: a nurse since made case manager is
    neither the team's nurse nor its case manager until a coordinator adds them again."""
    _, task, _ = arrange(world, "nurse", "open_unclaimed", "nurse_double_checked")
    nurse = copy_of(world["users"]["nurse"])
    nurse.role = Role.CASE_MANAGER
    nurse.save(update_fields=["role"])
    roles = TeamRoles.of(nurse)
    for ask in (policy.can_claim, policy.can_complete, policy.can_mark_not_applicable):
        assert not ask(nurse, task) and not ask(nurse, task, roles=roles), ask
    with pytest.raises(PermissionDenied, match="Only a nurse on this patient's care team"):
        task_complete(task=task, actor=nurse, value="on")
    assert nurse not in policy.assignable_users(task)
    assert not Task.objects.filter(policy.claimable_by(nurse, roles)).exists()  # nothing in My work's pool
    _, case_work, _ = arrange(world, "nurse", "open_unclaimed", "case_manager_plain")
    assert not policy.can_complete(nurse, case_work)
    _, awaiting, _ = arrange(world, "nurse", "done_by_another_awaiting_verification", "nurse_double_checked")
    assert not policy.can_verify(nurse, awaiting)

    nurse.care_teams.update(role=Role.CASE_MANAGER)  # taken off the team and added again
    assert policy.can_complete(nurse, case_work) and not policy.can_complete(nurse, task)


def test_a_nurse_made_pharmacist_does_not_check_as_any_member_of_the_team(world):
    """A check that any role may do is still a care-team member's: not a membership of another role."""
    nurse, awaiting, _ = arrange(
        world, "nurse", "done_by_another_awaiting_verification", "pharmacist_checked_by_anyone"
    )
    assert policy.can_verify(nurse, awaiting)
    nurse = copy_of(nurse)
    nurse.role = Role.PHARMACIST
    nurse.save(update_fields=["role"])
    assert not policy.can_verify(nurse, awaiting)
    assert not policy.can_verify(nurse, awaiting, roles=TeamRoles.of(nurse))
    assert not Task.objects.filter(policy.awaiting_check_by(nurse, TeamRoles.of(nurse))).exists()


# --- the pages offer what the policy allows --------------------------------------------------------

ROW_OFFERS = {
    # action: the policy function, and what a row shows when it offers the action
    "claim": (policy.can_claim, lambda t: f'action="{reverse("task_claim", args=[t.pk])}"'),
    "release": (policy.can_release, lambda t: f'action="{reverse("task_release", args=[t.pk])}"'),
    "complete": (policy.can_complete, lambda t: f'action="{reverse("task_complete", args=[t.pk])}"'),
    "not_applicable": (
        policy.can_mark_not_applicable,
        lambda t: f'action="{reverse("task_not_applicable", args=[t.pk])}"',
    ),
    "verify": (policy.can_verify, lambda t: f'action="{reverse("task_verify", args=[t.pk])}"'),
    "undo": (policy.can_undo, lambda t: f'action="{reverse("task_undo", args=[t.pk])}"'),
    "reassign": (policy.can_reassign, lambda t: f'href="{reverse("task_reassign", args=[t.pk])}"'),
    "snooze": (can_snooze, lambda t: f'#reminders-task-{t.pk}"'),
}


def test_a_task_row_offers_exactly_what_the_policy_allows(world):
    template = get_template("coordination/worklist/partials/task_row.html")
    wrong, answers = [], {action: set() for action in ROW_OFFERS}
    for actor, state, kind in CASES:
        user, task, _ = arrange(world, actor, state, kind)
        decorate([task], user, TeamRoles.of(user))
        row = template.render({"task": task})
        for action, (ask, shown) in ROW_OFFERS.items():
            allowed = ask(user, task).allowed
            answers[action].add(allowed)
            if allowed != (shown(task) in row):
                wrong.append(f"{action}: {actor} / {state} / {kind}")
    assert wrong == []
    # A matrix where every answer is the same would prove little: each action is offered to
    # someone somewhere, and refused to someone.
    assert answers == {action: {True, False} for action in ROW_OFFERS}


# --- the readiness gate ------------------------------------------------------------------------------


GATES = ["blocked", "ready"]


def arrange_gate(world, gate: str):
    fields = OPEN_FIELDS if gate == "blocked" else {**OPEN_FIELDS, "status": Task.Status.NOT_APPLICABLE}
    Task.objects.filter(event=world["event"]).update(**fields)


@pytest.mark.parametrize("gate", GATES)
def test_the_override_is_allowed_and_offered_exactly_when_the_service_accepts_it(world, client, gate):
    event = world["event"]
    arrange_gate(world, gate)
    wrong = []
    for actor in ACTORS:
        user = world["users"][actor]
        decision = policy.can_override_gate(user, event)
        with transaction.atomic():
            try:
                override_gate(event, user, reason="Weight taken on paper")
            except (PermissionDenied, ValidationError) as refusal:
                acted, said = False, message(refusal)
            else:
                acted, said = True, None
            transaction.set_rollback(True)
        verified_login(client, user)
        page = client.get(reverse("event_detail", args=[event.pk]))
        offered = page.status_code == 200 and reverse("event_override", args=[event.pk]) in page.content.decode()
        if not (decision.allowed == acted == offered) or (said is not None and said != decision.reason):
            wrong.append(f"{actor}: policy {decision}, service acted={acted} said={said!r}, page offers={offered}")
    assert wrong == []
    assert any(policy.can_override_gate(u, event) for u in world["users"].values()) == (gate == "blocked")
