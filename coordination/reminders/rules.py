"""The rules: what is due now, and who hears about it.

Each rule returns `Candidate`s, reminders that should exist and do not yet. The queries read
only what may be due: open tasks through the partial index on their due time
(`open_task_due_idx`), planned events through their start time, sent handoffs, and compare with
the reminders already written (an anti-join on the reminders' task, event or handoff index), so
that a sweep over a million tasks reads the few thousand that fall in its windows.

- due soon: open tasks, `due_soon_minutes` before their due time (2 hours), to whoever does
  them: the assignee, else the care team's members of the task's role, else the coordinator;
  with none of them, as an escalation, the patient's oncologists, else the whole care team
  (`People.reminded_of`, the reason in the ledger's note);
- overdue: at the due time (+ `overdue_minutes`), to the same people;
- escalation: `escalate_minutes` after the due time (1 hour; `escalate_hard_stop_minutes`,
  15 minutes, for hard-stop items), to the unit's coordinators; a unit without one, to the
  patient's oncologists, else the whole care team (`People.escalated_to`, the reason in the
  ledger's note);
- event not ready: a planned event starting within `gate_hours` (24) whose gate is not ready,
  to the people of the roles that block it;
- handoff not acknowledged: at its acknowledge-by deadline, to the receiving unit (the person
  it is addressed to, else the unit's nurses, case managers and coordinators); then,
  `handoff_escalate_minutes` later (1 hour), to the coordinators of both units and the sender
  (while the sender still sees the patient);
- daily digest: at the hour each person chose, in their unit's time zone.

A task snoozed now is left out (its reminders come after the snooze); tasks of a cancelled
event are cancelled with it, so they are never open. Times are the unit's rules
(`ReminderRule`, defaults where a unit has none).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from checklists.gate import event_readiness
from checklists.models import STILL_DUE, Task
from checklists.selectors import checklists_with_tasks
from patients.models import CareEvent, CareTeamMember, Patient

from ..handoffs.models import Handoff
from ..handoffs.policy import ACCEPT_HANDOFF
from .models import Reminder, ReminderPreference, ReminderRule, TaskSnooze

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
DIGEST_TARGET = "digest"
# A digest missed at its hour (the sweep did not run) still goes out this long afterwards.
DIGEST_CATCH_UP = dt.timedelta(hours=3)


@dataclass(frozen=True)
class Candidate:
    """A reminder that should exist: its identity is (target, kind, due_at, recipient_id)."""

    kind: str
    target: str
    recipient_id: int
    due_at: dt.datetime
    fire_at: dt.datetime
    task_id: int | None = None
    event_id: int | None = None
    handoff_id: int | None = None
    note: str = ""  # why it goes to this recipient, when not the rule's first choice (the ledger shows it)

    @property
    def key(self) -> tuple:
        # In UTC, as the ledger gives its times back: Python never finds a time the clocks skip or
        # repeat in one zone equal to the same instant in another (PEP 495), so a key in a unit's
        # zone would miss the reminder already written for it.
        return (self.target, self.kind, self.due_at.astimezone(dt.UTC), self.recipient_id)


def catch_up() -> dt.timedelta:
    return dt.timedelta(hours=settings.REMINDER_CATCH_UP_HOURS)


class UnitRules:
    """Every unit's rules, read once per sweep; the defaults for units that have none."""

    def __init__(self):
        self.default = ReminderRule.defaults()
        self.by_unit = {rule.unit_id: rule for rule in ReminderRule.objects.all()}

    def __getitem__(self, unit_id: int | None) -> ReminderRule:
        return self.by_unit.get(unit_id, self.default)

    def _values(self, field: str) -> list[int]:
        return [getattr(rule, field) for rule in (self.default, *self.by_unit.values())]

    def longest(self, field: str) -> int:
        return max(self._values(field))

    def shortest(self, field: str) -> int:
        return min(self._values(field))


class People:
    """Who does what, resolved for a whole sweep in a few queries."""

    def __init__(self):
        self._coordinators: dict[int, list[int]] | None = None
        self._team: dict[tuple[int, str], list[int]] = {}
        self._members: dict[int, list[int]] = defaultdict(list)  # the whole care team, by patient
        self._active: set[int] = set()
        self._sees: dict[tuple[int, int], bool] = {}

    def load_teams(self, patient_ids: Iterable[int]) -> None:
        patient_ids = set(patient_ids) - {patient for patient, _ in self._team}
        if not patient_ids:
            return
        # Reminded of a role's work: those who may do it (checklists.policy), members in their current role.
        members = (
            CareTeamMember.objects.filter(patient_id__in=patient_ids, user__is_active=True)
            .in_current_role()
            .order_by("user_id")
        )
        for patient_id, role, user_id in members.values_list("patient_id", "role", "user_id"):
            self._team.setdefault((patient_id, role), []).append(user_id)
            self._members[patient_id].append(user_id)
        for patient_id in patient_ids:  # remember the patients that have no member of a role
            self._team.setdefault((patient_id, ""), [])

    def load_active(self, user_ids: Iterable[int]) -> None:
        wanted = set(user_ids) - self._active
        if wanted:
            self._active |= set(User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True))

    def sees(self, user_id: int | None, patient_id: int) -> bool:
        """Does this active user see the patient now (`Patient.objects.visible_to`, the access
        policy)? One query per person and patient asked about, kept for the sweep."""
        if user_id is None:
            return False
        if (user_id, patient_id) not in self._sees:
            user = User.objects.filter(pk=user_id, is_active=True).select_related("unit").first()
            self._sees[user_id, patient_id] = (
                user is not None and Patient.objects.visible_to(user).filter(pk=patient_id).exists()
            )
        return self._sees[user_id, patient_id]

    def coordinators(self, unit_id: int | None) -> list[int]:
        if self._coordinators is None:
            self._coordinators = defaultdict(list)
            rows = User.objects.filter(role=Role.COORDINATOR, is_active=True, unit__isnull=False).order_by("pk")
            for user_id, unit in rows.values_list("pk", "unit_id"):
                self._coordinators[unit].append(user_id)
        return list(self._coordinators.get(unit_id, []))

    def team(self, patient_id: int, role: str) -> list[int]:
        return list(self._team.get((patient_id, role), []))

    def escalated_to(self, *, patient_id: int, unit_id: int | None) -> tuple[list[int], str]:
        """Who hears that a task is overdue past the escalation time (`load_teams` first), and why
        them when not the rule's own: the coordinators of the patient's unit; a unit without one
        (the roster page warns of it), the `fallback`. ([], "") only for a patient nobody cares for."""
        if coordinators := self.coordinators(unit_id):
            return coordinators, ""
        return self.fallback(patient_id, why="the patient's unit has no coordinator")

    def fallback(self, patient_id: int, *, why: str) -> tuple[list[int], str]:
        """Who hears of a patient's task when nobody a rule names would (`load_teams` first), and
        the ledger's note saying `why`: the patient's oncologists, who see the patient and decide
        holds and the clearance to start; with none either, the whole care team (as an urgent
        alert's fallback, coordination.watch). ([], "") only for a patient nobody cares for."""
        if oncologists := self.team(patient_id, Role.ONCOLOGIST):
            return oncologists, f"{why}: to the patient's oncologists"
        if team := sorted(set(self._members.get(patient_id, []))):
            return team, f"{why} nor the patient an oncologist: to the care team"
        return [], ""

    def doers(self, *, assignee_id: int | None, patient_id: int, role: str, unit_id: int) -> list[int]:
        """Who does a task: its assignee while still on the care team in its role (`load_teams`
        first); else the care team's members of its role; else, when the team has nobody in that
        role, the unit's coordinators. An assignee taken off the team, or whose role changed, is
        not reminded of the patient's work (nor shown the patient's name): the team is."""
        team = self.team(patient_id, role)
        if assignee_id and assignee_id in self._active and assignee_id in team:
            return [assignee_id]
        return team or self.coordinators(unit_id)

    def reminded_of(
        self, *, assignee_id: int | None, patient_id: int, role: str, unit_id: int
    ) -> tuple[list[int], str]:
        """Who hears that a task is due soon or overdue, and why them when not the rule's own: its
        `doers`; with none (nobody on the care team in its role, and a unit without a coordinator),
        the escalation's `fallback`, rather than nobody being told of a task of an infusion."""
        if doers := self.doers(assignee_id=assignee_id, patient_id=patient_id, role=role, unit_id=unit_id):
            return doers, ""
        return self.fallback(patient_id, why=NO_DOER)


# --- tasks ------------------------------------------------------------------------------------

NO_DOER = "nobody on the care team does this task's role and the unit has no coordinator"

# The reminders of the people who do a task (its assignee, else the team), not the coordinator's.
DOERS_KINDS = (Kind.DUE_SOON, Kind.OVERDUE)

TASK_FIELDS = ("pk", "due_at", "hard_stop", "assignee_id", "patient_id", "role", "event_id", "patient__unit_id")


def open_tasks_without(
    kind: str, *, due_after: dt.datetime, due_until: dt.datetime, now: dt.datetime, unless_snoozed: bool = True
) -> QuerySet:
    """Open tasks due in (due_after, due_until] without a reminder of `kind` for that due time
    (and, unless told otherwise, not snoozed now): the partial index on open tasks by due time,
    and anti-joins on the reminders (by task) and the live snoozes. For the reminders of the people
    doing the task, a task given to someone since it was reminded counts as not reminded of them:
    its new assignee is reminded (the one reminded before is passed by at delivery)."""
    # Probed through the reminders' task index: a task has a handful of reminders.
    reminded = Reminder.objects.filter(task=OuterRef("pk"), kind=kind, due_at=OuterRef("due_at"))
    if kind in DOERS_KINDS:
        reminded = reminded.filter(Q(task__assignee__isnull=True) | Q(recipient_id=OuterRef("assignee_id")))
    elif kind == Kind.ESCALATION:
        # Escalated to the coordinators of the patient's unit now: a patient transferred since is
        # escalated to the new unit's (the old one's no longer see the patient). One that went to
        # the fallback (a unit without a coordinator: the patient's oncologists, of whatever unit;
        # its note says so) counts too, or the task came back at every sweep.
        reminded = reminded.filter(Q(recipient__unit_id=OuterRef("patient__unit_id")) | ~Q(note=""))
    # Not those left open when their event was done or missed: they can no longer be done in time.
    tasks = Task.objects.filter(STILL_DUE, due_at__gt=due_after, due_at__lte=due_until).filter(~Exists(reminded))
    if unless_snoozed:
        snoozed = TaskSnooze.objects.filter(task=OuterRef("pk"), ended_at__isnull=True, until__gt=now)
        tasks = tasks.filter(~Exists(snoozed))
    return tasks.order_by().values(*TASK_FIELDS)  # no ORDER BY: the sweep needs no order


def _task_candidates(kind: str, rows: list[dict], fire_at_of, route) -> Iterator[Candidate]:
    """Each row's reminders of `kind`: `route(row)` says to whom, and why them when it is not the
    rule's first choice (the ledger's note)."""
    for row in rows:
        fire_at = fire_at_of(row)
        if fire_at is None:
            continue
        recipients, note = route(row)
        for recipient in recipients:
            yield Candidate(
                kind=kind,
                target=f"task:{row['pk']}",
                recipient_id=recipient,
                due_at=row["due_at"],
                fire_at=fire_at,
                task_id=row["pk"],
                event_id=row["event_id"],
                note=note,
            )


def _said_once_if_nobody(row: dict, recipients: list[int], *, at: dt.datetime | None, now: dt.datetime, what: str):
    """Log a task that nobody hears of, once: by the sweep at which its reminder fell due (the task
    stays a candidate, as no reminder can say "nobody", for the catch-up window, a sweep a minute)."""
    if recipients or at is None or at <= now - sweep_interval():
        return
    logger.warning(
        "Task %s %s: patient %s has no care team and unit %s no coordinator.",
        row["pk"],
        what,
        row["patient_id"],
        row["patient__unit_id"],
    )


def _reminded_of(people: People, rows: list[dict], *, fire_at, now: dt.datetime, what: str):
    people.load_teams(row["patient_id"] for row in rows)
    people.load_active(row["assignee_id"] for row in rows if row["assignee_id"])

    def recipients(row) -> tuple[list[int], str]:
        reminded, note = people.reminded_of(
            assignee_id=row["assignee_id"],
            patient_id=row["patient_id"],
            role=row["role"],
            unit_id=row["patient__unit_id"],
        )
        _said_once_if_nobody(row, reminded, at=fire_at(row), now=now, what=what)
        return reminded, note

    return recipients


def due_soon(now: dt.datetime, rules: UnitRules, people: People) -> Iterator[Candidate]:
    lead = dt.timedelta(minutes=rules.longest("due_soon_minutes"))
    rows = list(open_tasks_without(Kind.DUE_SOON, due_after=now, due_until=now + lead, now=now))

    def fire_at(row):
        at = row["due_at"] - dt.timedelta(minutes=rules[row["patient__unit_id"]].due_soon_minutes)
        return at if at <= now else None

    route = _reminded_of(people, rows, fire_at=fire_at, now=now, what="is due soon and has no one to remind")
    return _task_candidates(Kind.DUE_SOON, rows, fire_at, route)


def overdue(now: dt.datetime, rules: UnitRules, people: People) -> Iterator[Candidate]:
    earliest = now - catch_up() - dt.timedelta(minutes=rules.longest("overdue_minutes"))
    latest = now - dt.timedelta(minutes=rules.shortest("overdue_minutes"))
    rows = list(open_tasks_without(Kind.OVERDUE, due_after=earliest, due_until=latest, now=now))

    def fire_at(row):
        at = row["due_at"] + dt.timedelta(minutes=rules[row["patient__unit_id"]].overdue_minutes)
        return at if now - catch_up() < at <= now else None

    route = _reminded_of(people, rows, fire_at=fire_at, now=now, what="is overdue and has no one to remind")
    return _task_candidates(Kind.OVERDUE, rows, fire_at, route)


def escalation(now: dt.datetime, rules: UnitRules, people: People) -> Iterator[Candidate]:
    earliest = now - catch_up() - dt.timedelta(minutes=rules.longest("escalate_minutes"))
    latest = now - dt.timedelta(minutes=rules.shortest("escalate_hard_stop_minutes"))
    # A snooze holds the doers' reminders, not the escalation: somebody hears when it is late anyway.
    rows = list(
        open_tasks_without(Kind.ESCALATION, due_after=earliest, due_until=latest, now=now, unless_snoozed=False)
    )

    def fire_at(row):
        at = row["due_at"] + rules[row["patient__unit_id"]].escalation_delay(hard_stop=row["hard_stop"])
        return at if now - catch_up() < at <= now else None

    people.load_teams(row["patient_id"] for row in rows)

    def escalated_to(row) -> tuple[list[int], str]:
        recipients, note = people.escalated_to(patient_id=row["patient_id"], unit_id=row["patient__unit_id"])
        what = "is overdue past its escalation and has no one to escalate to"
        _said_once_if_nobody(row, recipients, at=fire_at(row), now=now, what=what)
        return recipients, note

    return _task_candidates(Kind.ESCALATION, rows, fire_at, escalated_to)


# --- events whose gate is not ready -----------------------------------------------------------


def gate_not_ready(now: dt.datetime, rules: UnitRules, people: People) -> Iterator[Candidate]:
    """Planned events starting within the unit's `gate_hours` whose gate is not ready.

    Only events with something that could block (an open required task, a completion awaiting
    its check, a failed hard stop) and no reminder yet for this start time are loaded with
    their checklists; the gate itself is `checklists.gate`.
    """
    horizon = dt.timedelta(hours=rules.longest("gate_hours"))
    reminded = Reminder.objects.filter(event=OuterRef("pk"), kind=Kind.GATE_NOT_READY, due_at=OuterRef("planned_at"))
    may_block = Task.objects.filter(event=OuterRef("pk")).filter(
        Q(status=Task.Status.OPEN, required=True)
        | Q(status=Task.Status.DONE, hard_stop_failed=True)
        | Q(status=Task.Status.DONE, needs_verification=True, verified_by__isnull=True)
    )
    events = list(
        CareEvent.objects.filter(status=CareEvent.Status.PLANNED, planned_at__gt=now, planned_at__lte=now + horizon)
        .filter(~Exists(reminded), Exists(may_block))
        .select_related("patient")
        .prefetch_related(checklists_with_tasks())
    )
    if not events:
        return
    people.load_teams(event.patient_id for event in events)
    for event in events:
        unit_id = event.patient.unit_id
        window_opened = event.planned_at - dt.timedelta(hours=rules[unit_id].gate_hours)
        if window_opened > now:
            continue
        readiness = event_readiness(event.checklists.all())
        if readiness.ready:
            continue
        recipients = gate_recipients(event, readiness, people)
        if not recipients and window_opened > now - sweep_interval():  # said once: at the window's opening
            logger.warning(
                "Event %s is not ready and has no one to warn: patient %s has no care team and unit %s no coordinator.",
                event.pk,
                event.patient_id,
                unit_id,
            )
        # When the sweep finds the gate broken well after the event entered the window (an
        # undone task), the lag counts from the finding, not from the window's opening.
        fire_at = window_opened if now - window_opened <= 2 * sweep_interval() else now
        for recipient, note in recipients.items():
            yield Candidate(
                kind=Kind.GATE_NOT_READY,
                target=f"event:{event.pk}",
                recipient_id=recipient,
                due_at=event.planned_at,
                fire_at=fire_at,
                event_id=event.pk,
                note=note,
            )


def gate_recipients(event: CareEvent, readiness, people: People) -> dict[int, str]:
    """Who hears that an event is not ready, each with the ledger's note when not the rule's own:
    the people who do the tasks that block it (each blocker's doers, as a due-soon reminder's:
    `People.reminded_of`, the fallback included), once each. The event comes with its patient and
    its checklists' tasks, the care team with `people.load_teams`."""
    tasks = {task.pk: task for checklist in event.checklists.all() for task in checklist.tasks.all()}
    people.load_active(task.assignee_id for task in tasks.values() if task.assignee_id)
    recipients: dict[int, str] = {}
    for blocker in readiness.unresolved:
        task = tasks.get(blocker.task_id)
        assignee = task.assignee_id if task and blocker.kind == "open" else None
        reminded, note = people.reminded_of(
            assignee_id=assignee, patient_id=event.patient_id, role=blocker.role, unit_id=event.patient.unit_id
        )
        for recipient in reminded:
            if not note or recipient not in recipients:  # one's own part in the hold-up says it best
                recipients[recipient] = note
    return recipients


def sweep_interval() -> dt.timedelta:
    return dt.timedelta(seconds=settings.REMINDER_SWEEP_SECONDS)


# --- handoffs not acknowledged ------------------------------------------------------------------


def _sent_handoffs_without(kind: str, *, due_after: dt.datetime, due_until: dt.datetime) -> QuerySet:
    reminded = Reminder.objects.filter(handoff=OuterRef("pk"), kind=kind, due_at=OuterRef("acknowledge_by"))
    return (
        Handoff.objects.filter(status=Handoff.Status.SENT, acknowledge_by__gt=due_after, acknowledge_by__lte=due_until)
        .filter(~Exists(reminded))
        .order_by()
    )


def _receivers(handoff_rows: list[Handoff]) -> dict[int, list[int]]:
    """The receiving side of each handoff: its addressee while still active in the receiving
    unit (and of a role that may acknowledge it), else the receiving unit's people who may (nurses,
    case managers, coordinators): an addressee deactivated, moved or given another role since
    leaves nobody unreminded."""
    named = {handoff.to_person_id for handoff in handoff_rows if handoff.to_person_id}
    # policy.receives_for, for many at once: active, and still of a role that may accept it.
    still_there = set(
        User.objects.filter(pk__in=named, is_active=True, role__in=ACCEPT_HANDOFF.roles).values_list("pk", "unit_id")
    )
    handoff_rows = list(handoff_rows)
    addressee = {
        handoff.pk: handoff.to_person_id
        for handoff in handoff_rows
        if (handoff.to_person_id, handoff.to_unit_id) in still_there
    }
    units = {handoff.to_unit_id for handoff in handoff_rows if handoff.pk not in addressee}
    by_unit: dict[int, list[int]] = defaultdict(list)
    accepting = ACCEPT_HANDOFF.roles
    for user_id, unit_id in (
        User.objects.filter(unit_id__in=units, is_active=True, role__in=accepting)
        .order_by("pk")
        .values_list("pk", "unit_id")
    ):
        by_unit[unit_id].append(user_id)
    return {
        handoff.pk: [addressee[handoff.pk]] if handoff.pk in addressee else by_unit.get(handoff.to_unit_id, [])
        for handoff in handoff_rows
    }


def handoff_receivers(handoff_rows: list[Handoff], people: People) -> dict[int, list[int]]:
    """Who hears that each handoff is not acknowledged: its receiving side (`_receivers`), else
    the receiving unit's coordinators. The rule's and delivery's answer."""
    receivers = _receivers(handoff_rows)
    return {handoff.pk: receivers[handoff.pk] or people.coordinators(handoff.to_unit_id) for handoff in handoff_rows}


def handoff_escalated_to(handoff: Handoff, people: People) -> list[int]:
    """Who hears that a handoff is still not acknowledged past the escalation time: the
    coordinators of the receiving and of the sending unit, and the sender while they still see
    the patient (one taken off the care team, or deactivated, is not told of a patient they may no
    longer open). The rule's and delivery's answer."""
    sender = [handoff.from_person_id] if people.sees(handoff.from_person_id, handoff.patient_id) else []
    recipients = people.coordinators(handoff.to_unit_id) + people.coordinators(handoff.from_unit_id) + sender
    return list(dict.fromkeys(recipients))


def handoff_unacknowledged(now: dt.datetime, rules: UnitRules, people: People) -> Iterator[Candidate]:
    handoffs = list(
        _sent_handoffs_without(Kind.HANDOFF_UNACKNOWLEDGED, due_after=now - catch_up(), due_until=now).only(
            "pk", "acknowledge_by", "to_unit_id", "to_person_id"
        )
    )
    receivers = handoff_receivers(handoffs, people)
    for handoff in handoffs:
        for recipient in receivers[handoff.pk]:
            yield Candidate(
                kind=Kind.HANDOFF_UNACKNOWLEDGED,
                target=f"handoff:{handoff.pk}",
                recipient_id=recipient,
                due_at=handoff.acknowledge_by,
                fire_at=handoff.acknowledge_by,
                handoff_id=handoff.pk,
            )


def handoff_escalation(now: dt.datetime, rules: UnitRules, people: People) -> Iterator[Candidate]:
    """Still not acknowledged after the receiving unit's `handoff_escalate_minutes`: the
    coordinators of the receiving and of the sending unit, and the sender (`handoff_escalated_to`)."""
    earliest = now - catch_up() - dt.timedelta(minutes=rules.longest("handoff_escalate_minutes"))
    latest = now - dt.timedelta(minutes=rules.shortest("handoff_escalate_minutes"))
    handoffs = _sent_handoffs_without(Kind.HANDOFF_ESCALATION, due_after=earliest, due_until=latest).only(
        "pk", "acknowledge_by", "patient_id", "to_unit_id", "from_unit_id", "from_person_id"
    )
    for handoff in handoffs:
        fire_at = handoff.acknowledge_by + dt.timedelta(minutes=rules[handoff.to_unit_id].handoff_escalate_minutes)
        if not now - catch_up() < fire_at <= now:
            continue
        for recipient in handoff_escalated_to(handoff, people):
            yield Candidate(
                kind=Kind.HANDOFF_ESCALATION,
                target=f"handoff:{handoff.pk}",
                recipient_id=recipient,
                due_at=handoff.acknowledge_by,
                fire_at=fire_at,
                handoff_id=handoff.pk,
            )


# --- daily digests ----------------------------------------------------------------------------------


def zone_of(user) -> zoneinfo.ZoneInfo:
    """A person's time zone: their unit's, else the server's."""
    return user.unit.zone if user.unit_id else zoneinfo.ZoneInfo(settings.TIME_ZONE)


def last_digest_time(hour: int, zone: zoneinfo.ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The latest `hour`:00 in `zone` at or before `now`, in UTC (a wall-clock hour: it stays at
    that hour across a change to or from daylight saving time).

    On the day the clocks skip that hour (New York, 02:00 on 8 March 2026) the digest comes at the
    next real time, the moment the clocks jump (03:00 EDT); on the day they repeat it (01:00 on
    1 November 2026) it comes once, at the first occurrence (01:00 EDT, not again at 01:00 EST).
    Both are what `fold=0` means (PEP 495). In UTC, because the ledger gives its times back in UTC
    and Python never finds a skipped or repeated local time equal to the same instant in another
    zone: the digest was written again the next minute and broke the unique constraint."""
    local_day = timezone.localtime(now, zone).date()
    for day in (local_day, local_day - dt.timedelta(days=1)):
        at = dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)
        if at <= now:
            return at
    raise AssertionError("unreachable: yesterday's hour is always past")


def digest(now: dt.datetime, rules: UnitRules, people: People) -> Iterator[Candidate]:
    preferences = ReminderPreference.objects.filter(digest_hour__isnull=False, user__is_active=True).select_related(
        "user__unit"
    )
    due: dict[int, dt.datetime] = {}
    for preference in preferences:
        at = last_digest_time(preference.digest_hour, zone_of(preference.user), now)
        if now - at <= DIGEST_CATCH_UP:
            due[preference.user_id] = at
    if not due:
        return
    sent = set(
        Reminder.objects.filter(
            kind=Kind.DIGEST, target=DIGEST_TARGET, recipient_id__in=due, due_at__in=set(due.values())
        ).values_list("recipient_id", "due_at")
    )
    for user_id, at in due.items():
        if (user_id, at) not in sent:
            yield Candidate(kind=Kind.DIGEST, target=DIGEST_TARGET, recipient_id=user_id, due_at=at, fire_at=at)


# The rules in the order the sweep runs them.
RULES = (due_soon, overdue, escalation, gate_not_ready, handoff_unacknowledged, handoff_escalation, digest)
