"""The unit board's reads: what a coordinator needs at the morning huddle, worked out by the
database, so that a request costs what the board shows and not what the unit holds.

- `blocked_summary`: the events still planned whose time has passed or comes in the next hours that
  are not ready with their work open (or with a failed hard stop, work open or not), chosen by the
  gate's rules as SQL (checklists.gate_sql) and counted by when they start and by role;
  `blocked_events`: those of one window, on demand, with what blocks each, by role, counted there.
- `overdue_summary`: the overdue tasks counted by role and person (and the oldest); each person's
  list comes on demand (`overdue_tasks`, the board's overdue list).
- `left_open_summary`: the tasks left open when their event was done or missed (until they are closed),
  counted by role and person, with how many are hard stops or required; each person's list comes
  on demand (`left_open_tasks`, the board's left-open list).
- `recent_overrides`: the gates that oncologists overrode lately.
A constant number of queries, whatever the number of rows (tests/coordination/worklist/test_board.py).
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

from django.db.models import Case, Count, Min, Q, QuerySet, Value, When

from accounts.models import Role, User
from checklists.gate_sql import ROLE_ORDER, blockers_by_role, not_ready_with_work_open, roles_waited_for
from checklists.models import LEFT_OPEN, STILL_DUE, Checklist, Task
from patients.models import CareEvent, Patient

BLOCKED_HOURS = 72  # how far ahead the board looks for events that are not ready
# The board counts them by when they start (the windows of hours ahead): the soonest
# need acting on first, and each window's list opens on demand. The first window has no start:
# an event still planned whose time has passed (the beat settles it as done or missed only
# EVENT_SETTLE_HOURS later) and that is not ready is the most urgent of all, and often nothing
# else on the board names it (a missing double check or a failed hard stop is no open task).
BLOCKED_WINDOWS = ((None, 0), (0, 6), (6, 24), (24, BLOCKED_HOURS))  # (from, to) hours ahead; None: any time before
BLOCKER_TEXTS = 3  # the texts of blockers named per role; the rest are counted
OVERRIDES_SHOWN_DAYS = 7
OVERDUE_LIST_LIMIT = 500  # an on-demand list names at most this many tasks (and says so)
POOL = "pool"  # the overdue list's `assignee` for the unclaimed tasks of a role

_ROLE_LABELS = dict(Role.choices)


@dataclass
class BlockedWindow:
    """The events starting within a window of the next hours that are not ready with their work
    open: how many, and in how many each role's work is missing."""

    place: int | None  # in BLOCKED_WINDOWS (None: all of them)
    start_hours: int | None  # None: since any time (their time has passed)
    end_hours: int
    count: int = 0
    roles: list[tuple[str, int]] = field(default_factory=list)  # (role label, events), in role order
    list_url: str = ""  # set by the view: the list of these events

    @property
    def label(self) -> str:
        """The window in words, after "Not ready, " or as a line of the board."""
        if self.start_hours is None:
            ahead = f" or starting within {self.end_hours} hours" if self.end_hours else ", still planned"
            return f"past their time{ahead}"
        if self.start_hours == 0:
            return f"starting within {self.end_hours} hours"
        return f"starting in {self.start_hours} to {self.end_hours} hours"


def _upcoming(patients: QuerySet[Patient], now: dt.datetime, start_hours: int | None, end_hours: int):
    """The planned events starting from `start_hours` on (None: whenever before) and before `end_hours`."""
    since = {} if start_hours is None else {"planned_at__gte": now + dt.timedelta(hours=start_hours)}
    return CareEvent.objects.filter(
        patient__in=patients,
        status=CareEvent.Status.PLANNED,
        planned_at__lt=now + dt.timedelta(hours=end_hours),
        **since,
    )


def blocked_summary(patients: QuerySet[Patient], *, now: dt.datetime) -> list[BlockedWindow]:
    """The planned events past their time or of the next BLOCKED_HOURS that are not ready with their work open, counted
    by BLOCKED_WINDOWS (a window without any is left out) and by the roles whose work they miss.
    One query: each such event with each role it waits for."""
    window = Case(
        *(
            When(event__planned_at__lt=now + dt.timedelta(hours=end), then=Value(place))
            for place, (_, end) in enumerate(BLOCKED_WINDOWS)
        ),
        default=Value(len(BLOCKED_WINDOWS) - 1),
    )
    rows = roles_waited_for(_upcoming(patients, now, None, BLOCKED_HOURS), now=now, window=window)
    windows = [BlockedWindow(place, start, end) for place, (start, end) in enumerate(BLOCKED_WINDOWS)]
    roles = [Counter() for _ in BLOCKED_WINDOWS]
    events = set()
    for event_id, role, place in rows:  # an event once per role it waits for
        if event_id not in events:
            events.add(event_id)
            windows[place].count += 1
        roles[place][role] += 1
    for summary, counted in zip(windows, roles, strict=True):
        summary.roles = [(label, counted[role]) for role, label in Role.choices if counted[role]]
    return [summary for summary in windows if summary.count]


def blocked_events(
    patients: QuerySet[Patient], *, now: dt.datetime, start_hours: int | None = None, end_hours: int = BLOCKED_HOURS
) -> list[CareEvent]:
    """The planned events starting in `start_hours` (None: whenever before) to `end_hours` whose gate is not ready with
    their work open, soonest first, with their patient and `blocking`: [{"role": label, "count":
    n, "texts": [the first three], "more": whether there are more}] in role order. Two queries."""
    rows = list(
        not_ready_with_work_open(_upcoming(patients, now, start_hours, end_hours), now=now)
        .select_related("patient")
        .only("planned_at", "kind", "sequence", "patient__family_name", "patient__given_name", "patient__mrn")
        .order_by("planned_at", "pk")
    )
    blocking = blockers_by_role([event.pk for event in rows], texts=BLOCKER_TEXTS)
    for event in rows:
        event.blocking = [
            {**row, "role": _ROLE_LABELS[row["role"]], "more": row["count"] > len(row["texts"])}
            for row in blocking.get(event.pk, ())
        ]
    return rows


@dataclass
class TaskGroup:
    """Tasks of one role held by one person (or by nobody: the pool), counted: a line of one of the
    board's summaries by role and person, whose list opens on demand."""

    role: str
    assignee: User | None
    count: int
    list_url: str = field(default="", kw_only=True)  # set by the view: the list of these tasks

    @property
    def role_label(self) -> str:
        return _ROLE_LABELS[self.role]

    @property
    def who(self) -> str:
        return str(self.assignee) if self.assignee else "Unclaimed (pool)"

    @property
    def assignee_key(self) -> str:
        """The list's `assignee` parameter for this group."""
        return str(self.assignee.pk) if self.assignee else POOL


@dataclass
class OverdueGroup(TaskGroup):
    """The overdue tasks of one role and person, and the oldest due time."""

    oldest_due: dt.datetime
    oldest_text: str = ""  # set by the view: the oldest due time as the board writes it


G = TypeVar("G", bound=TaskGroup)


@dataclass
class LeftOpenGroup(TaskGroup):
    """The tasks of one role and person left open when their event was done or missed, and how many of them
    are hard stops, or required items (not hard stops): those weigh most, and their list shows them first."""

    hard_stops: int
    required_items: int


def _by_role_and_person(tasks: QuerySet[Task], group: type[G], **counted) -> list[G]:
    """`tasks` counted by role (in role order) and person (by name, the pool last), each group with
    the aggregates `counted` (named as `group`'s fields). Two queries (one when nobody holds any)."""
    rows = list(tasks.values("role", "assignee_id").annotate(count=Count("pk"), **counted).order_by())
    people = User.objects.in_bulk({row["assignee_id"] for row in rows} - {None})
    groups = [group(assignee=people.get(row.pop("assignee_id")), **row) for row in rows]
    return sorted(groups, key=lambda g: (ROLE_ORDER[g.role], g.assignee is None, g.who.casefold(), g.assignee_key))


def _of_role_and_person(tasks: QuerySet[Task], role: str, assignee: str) -> QuerySet[Task]:
    """The tasks of one role (`role`) and one person (`assignee`: a user id, or POOL for the
    unclaimed ones) when given: a line of a summary by role and person."""
    if role:
        tasks = tasks.filter(role=role)
    if assignee == POOL:
        tasks = tasks.filter(assignee__isnull=True)
    elif assignee:
        tasks = tasks.filter(assignee_id=int(assignee))
    return tasks


def _overdue(patients: QuerySet[Patient], now: dt.datetime) -> QuerySet[Task]:
    return Task.objects.filter(STILL_DUE, patient__in=patients, due_at__lt=now)


def overdue_summary(patients: QuerySet[Patient], *, now: dt.datetime) -> list[OverdueGroup]:
    """The overdue tasks by role (in role order) and person (by name, the pool last): how many,
    and the oldest due time. Two queries (one when nobody holds any)."""
    return _by_role_and_person(_overdue(patients, now), OverdueGroup, oldest_due=Min("due_at"))


def overdue_tasks(patients: QuerySet[Patient], *, now: dt.datetime, role: str = "", assignee: str = "") -> list[Task]:
    """The overdue tasks, oldest first, of one role (`role`) and one person (`assignee`: a user id,
    or POOL for the unclaimed ones) when given; at most OVERDUE_LIST_LIMIT. With their patient,
    event and assignee (for the row and the task policy). One query."""
    tasks = _of_role_and_person(_overdue(patients, now), role, assignee)
    return list(tasks.select_related("patient", "event", "assignee").order_by("due_at", "pk")[:OVERDUE_LIST_LIMIT])


LEFT_OPEN_LIMIT = 200  # a list of tasks left open names at most this many (and says so)


def _left_open(patients: QuerySet[Patient]) -> QuerySet[Task]:
    """The tasks left open when their event was done or missed (checklists.models.LEFT_OPEN): not overdue,
    but on the board until their owner or the coordinator closes them."""
    return Task.objects.filter(LEFT_OPEN, patient__in=patients)


def left_open_summary(patients: QuerySet[Patient]) -> list[LeftOpenGroup]:
    """The tasks left open by role (in role order) and person (by name, the pool last): how many,
    and how many of them are hard stops and required items. Two queries (one when nobody holds any)."""
    return _by_role_and_person(
        _left_open(patients),
        LeftOpenGroup,
        hard_stops=Count("pk", filter=Q(hard_stop=True)),
        required_items=Count("pk", filter=Q(required=True, hard_stop=False)),
    )


def left_open_tasks(patients: QuerySet[Patient], *, role: str = "", assignee: str = "") -> list[Task]:
    """The tasks left open of one role and person (as `overdue_tasks`), hard stops and required
    items first, then the oldest; at most LEFT_OPEN_LIMIT. With their patient, event and assignee.
    One query."""
    tasks = _of_role_and_person(_left_open(patients), role, assignee)
    return list(
        tasks.select_related("patient", "event", "assignee").order_by("-hard_stop", "-required", "due_at", "pk")[
            :LEFT_OPEN_LIMIT
        ]
    )


def recent_overrides(patients: QuerySet[Patient], *, now: dt.datetime) -> list[Checklist]:
    """The gates that oncologists overrode in the last week on these patients, newest first: the
    unit's coordinator reviews each (and a count that grows is a sign worth acting on)."""
    return list(
        Checklist.objects.filter(
            event__patient__in=patients, overridden_at__gte=now - dt.timedelta(days=OVERRIDES_SHOWN_DAYS)
        )
        .select_related("event__patient", "overridden_by", "template")
        .order_by("-overridden_at")[:200]
    )
