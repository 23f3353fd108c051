"""The readiness gate: may a care event start?

Ready when every required task is done (and verified where it must be) and no hard stop
failed, or when an oncologist overrode the blockers there were with a reason. An override
covers only the blockers it saw, each with the answer it saw: a hard stop that fails afterwards,
or fails again with another value after an undo, blocks again. Otherwise the blockers say what is
missing and whose part it is.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from accounts.models import Role

from .models import Checklist, Task

# An event's work opens when its first task comes within a shift's horizon, the one My work shows
# by default ("overdue or due in 24 h"): before that, nothing about it is anybody's to do yet.
WORK_HORIZON = dt.timedelta(hours=24)


def blocker_key(task_id: int, kind: str, value: str = "") -> str:
    """What an override names when it covers a blocker: the task and why it blocks, and for a
    done task (a failed hard stop, a missing double check) the answer given. An oncologist who
    accepted a dose of 29 has not accepted 2,800 entered after an undo."""
    return f"{task_id}:{kind}" if kind == "open" else f"{task_id}:{kind}:{value}"


@dataclass(frozen=True)
class Blocker:
    task_id: int
    role: str
    text: str
    reason: str
    kind: str  # open, unverified or hard_stop: with the task (and its answer), what an override covers
    value: str = ""  # the answer of a done task that blocks
    due_at: dt.datetime | None = field(default=None, compare=False)  # the task's; late once it has passed

    @property
    def key(self) -> str:
        return blocker_key(self.task_id, self.kind, self.value)

    @property
    def role_label(self) -> str:
        return Role(self.role).label


@dataclass
class Readiness:
    blockers: list[Blocker] = field(default_factory=list)  # everything still missing
    unresolved: list[Blocker] = field(default_factory=list)  # of those, what no override covers
    overrides: list[Checklist] = field(default_factory=list)  # checklists an oncologist overrode
    opens_at: dt.datetime | None = None  # when its work opens: its first task comes within WORK_HORIZON
    # Not ready, but nothing is due yet (`with_clock`): said neutrally, never as blocked.
    not_yet_due: bool = False
    # Not ready and late (`with_clock`): a hard stop failed, or a task that blocks is past its due
    # time. Only this is red: open work not yet due is a plan being worked, not a danger.
    late: bool = False

    def with_clock(self, now: dt.datetime) -> "Readiness":
        """The same gate, read at `now`: an event whose work has not opened is not yet due; one
        whose blocking work is overdue, or whose hard stop failed, is late.

        A failed hard stop is never "not yet due", even before the work opens (a task may be done
        early, and its answer fail): it is a danger recorded now, said in red and counted on the
        board (gate_sql.not_ready_with_work_open keeps the same rule)."""
        self.not_yet_due = not self.ready and not self.hard_stops and self.opens_at is not None and self.opens_at > now
        self.late = any(
            blocker.kind == "hard_stop" or (blocker.due_at is not None and blocker.due_at <= now)
            for blocker in self.unresolved
        )
        return self

    @property
    def ready(self) -> bool:
        return not self.unresolved

    @property
    def by_role(self) -> dict[str, list[Blocker]]:
        """Everything still missing, by role: what an override covers too (each says whether)."""
        return _grouped(self.blockers)

    @property
    def waiting_by_role(self) -> dict[str, list[Blocker]]:
        """What the event waits for, by role: what no override covers, as the services enforce it and
        the unit board counts it (gate_sql.blockers_by_role)."""
        return _grouped(self.unresolved)

    @property
    def overridden(self) -> bool:
        """May start only because an oncologist overrode what blocks it: never shown as plain ready."""
        return self.ready and bool(self.blockers)

    @property
    def hard_stops(self) -> list[Blocker]:
        return [blocker for blocker in self.unresolved if blocker.kind == "hard_stop"]

    def __add__(self, other: "Readiness") -> "Readiness":
        opens = [moment for moment in (self.opens_at, other.opens_at) if moment is not None]
        return Readiness(
            self.blockers + other.blockers,
            self.unresolved + other.unresolved,
            self.overrides + other.overrides,
            opens_at=min(opens, default=None),
        )


def _grouped(blockers: Iterable[Blocker]) -> dict[str, list[Blocker]]:
    grouped = defaultdict(list)
    for blocker in blockers:
        grouped[blocker.role_label].append(blocker)
    return dict(grouped)


def task_blockers(task: Task) -> list[Blocker]:
    """Every reason a task keeps its checklist from being ready, each its own blocker: a done
    task may fail its hard stop and still await its independent check, and an override of the
    one (all the oncologist was shown of it once) must not silently stand for the other."""
    if task.status == Task.Status.DONE:
        blockers = []
        if task.hard_stop_failed:
            blockers.append(
                Blocker(
                    task.pk,
                    task.role,
                    task.text,
                    f"hard stop failed ({task.value})",
                    "hard_stop",
                    task.value,
                    task.due_at,
                )
            )
        if task.needs_verification and task.verified_by_id is None:
            role = task.verifier_role or task.role
            blockers.append(
                Blocker(
                    task.pk, role, task.text, "awaiting independent verification", "unverified", task.value, task.due_at
                )
            )
        return blockers
    if task.status == Task.Status.OPEN and task.required:
        return [Blocker(task.pk, task.role, task.text, "open", "open", due_at=task.due_at)]
    return []  # not applicable, cancelled, or optional


def checklist_readiness(checklist: Checklist, tasks: Iterable[Task] | None = None) -> Readiness:
    tasks = checklist.tasks.all() if tasks is None else tasks
    blockers = [blocker for task in tasks for blocker in task_blockers(task)]
    covered = set(checklist.overridden_blockers) if checklist.override_reason else set()
    unresolved = [blocker for blocker in blockers if blocker.key not in covered]
    overridden = len(unresolved) < len(blockers)
    first_due = min((task.due_at for task in tasks if task.status != Task.Status.CANCELLED), default=None)
    opens_at = first_due - WORK_HORIZON if first_due else None
    return Readiness(
        blockers=blockers, unresolved=unresolved, overrides=[checklist] if overridden else [], opens_at=opens_at
    )


def event_readiness(checklists: Iterable[Checklist]) -> Readiness:
    """The gate of an event: all of its checklists' gates (prefetch their tasks)."""
    return sum((checklist_readiness(checklist) for checklist in checklists), Readiness())
