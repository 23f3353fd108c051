"""What a user may do with each task on a page: the task policy's answers (checklists.policy,
and the reminders' policy for snoozing), asked once per row from the care-team roles read once
per request (no query per row)."""

import datetime as dt
import functools
from collections.abc import Iterable

from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import dateformat, timezone, translation

from accounts.models import Role
from checklists import policy
from checklists.models import Task
from checklists.policy import TeamRoles
from patients.models import CareEvent, CareTeamMember, Patient
from patients.selectors import patients_for_user

from ..reminders.policy import can_snooze
from .forms import empty_complete_form, empty_not_applicable_form, empty_undo_form

DUE_SOON = dt.timedelta(hours=2)
ACTIONS = ("claim", "release", "complete", "not_applicable", "verify", "undo", "reassign", "close")


def team_roles(user) -> TeamRoles:
    """The user's care-team memberships, (patient id, role) pairs: one query."""
    return TeamRoles.of(user)


def patients_and_team_roles(user, *, visible_ids: list[int] | None = None) -> tuple[list[Patient], TeamRoles]:
    """The patients visible to the user (with their units) and the user's team roles, in one query.
    `visible_ids`: what the access policy answered earlier in the same request, if it was asked."""
    my_role = CareTeamMember.objects.filter(patient=OuterRef("pk"), user=user).in_current_role().values("role")[:1]
    visible = patients_for_user(user) if visible_ids is None else Patient.objects.filter(pk__in=visible_ids)
    patients = list(visible.select_related("unit").annotate(my_role=Subquery(my_role)))
    return patients, TeamRoles((patient.pk, patient.my_role) for patient in patients if patient.my_role)


def urgency(task: Task, now: dt.datetime) -> str:
    if task.status != Task.Status.OPEN:
        return ""
    if task.is_left_open:  # its event is done or missed: not red, but listed until it is closed
        return "left-open"
    if task.due_at < now:
        return "overdue"
    if task.due_at <= now + DUE_SOON:
        return "due-soon"
    return ""


@functools.lru_cache(maxsize=512)
def _day_label(day: dt.date, language: str) -> str:
    return dateformat.format(day, "D j M")


def local_time_text(moment: dt.datetime, zone, separator: str = ", ") -> str:
    """The time as "Tue 24 Nov, 06:00" in a unit's zone: what the `date` filter writes, at a fraction
    of its cost (the day's name is formatted once per calendar day, not once per row)."""
    local = timezone.localtime(moment, zone)
    return f"{_day_label(local.date(), translation.get_language())}{separator}{local:%H:%M}"


class UrlForPk:
    """A URL that takes one id, reversed once and then filled in for many ids: a reverse() costs
    tens of microseconds, and a page of 50 rows needs up to 150 of them."""

    _PK = 2_147_483_647  # stands for the id in the reversed URL

    def __init__(self, name: str):
        self._url = reverse(name, args=[self._PK])

    def __call__(self, pk: int) -> str:
        return self._url.replace(str(self._PK), str(pk))


class ActionUrls:
    """The URLs of a task's actions, by action name."""

    def __init__(self):
        self._urls = {action: UrlForPk(f"task_{action}") for action in ACTIONS}

    def __call__(self, pk: int) -> dict[str, str]:
        return {action: url(pk) for action, url in self._urls.items()}


def decorate(
    tasks: Iterable[Task],
    user,
    roles: TeamRoles | Iterable[tuple[int, str]],
    now: dt.datetime | None = None,
    *,
    patients: Iterable[Patient] = (),
    events: Iterable[CareEvent] = (),
) -> list[Task]:
    """Attach to each task its urgency, what the user may do with it (`can_claim`, `can_release`,
    `can_complete`, `can_skip`, `can_verify`, `can_undo`, `can_reassign`, `can_snooze`: the
    policy's answers), its action URLs and the empty forms of those actions (light stand-ins;
    see forms.RowForm), and what its row shows (role names, due time in its unit's zone) as
    text, which a template writes fastest.
    `roles`: the user's care-team roles (`team_roles`); `patients`: the tasks' patients with
    their units, and `events` their events, when the page has them already.
    """
    now = now or timezone.now()
    tasks = list(tasks)
    _attach_patients(tasks, patients)
    _attach_events(tasks, events)
    roles = roles if isinstance(roles, TeamRoles) else TeamRoles(roles)
    urls = ActionUrls()
    reminders_url = UrlForPk("event_reminders")
    reader_zone = timezone.get_current_timezone_name()  # the reader's unit's (accounts UnitClockMiddleware)
    decorated = []
    for task in tasks:
        task.urgency = urgency(task, now)
        task.can_claim = bool(policy.can_claim(user, task, roles=roles))
        task.can_release = bool(policy.can_release(user, task, roles=roles))
        task.can_complete = bool(policy.can_complete(user, task, roles=roles))
        task.can_skip = bool(policy.can_mark_not_applicable(user, task, roles=roles))
        task.can_undo = bool(policy.can_undo(user, task, roles=roles))
        task.can_verify = bool(policy.can_verify(user, task, roles=roles))
        task.can_reassign = bool(policy.can_reassign(user, task, roles=roles))
        task.can_snooze = bool(can_snooze(user, task, roles=roles))
        task.can_close = bool(policy.can_close_left_open(user, task, roles=roles))
        task.row_id = f"task-{task.pk}"  # the row's element id (a number in a template goes through localize)
        task.role_label = Role(task.role).label
        task.verifier_label = Role(task.verifier_role).label.lower() if task.verifier_role else ""
        task.action_urls = urls(task.pk)
        task.due_text = local_time_text(task.due_at, task.patient.unit.zone)
        if task.patient.unit.time_zone != reader_zone:  # another clock than the header's: say which
            task.due_text += f" {timezone.localtime(task.due_at, task.patient.unit.zone):%Z}"
        if task.can_complete:
            task.complete_form = empty_complete_form(task)
        if task.can_snooze:
            # Snoozing lives with the event's reminders; the link lands on this task there.
            task.snooze_url = f"{reminders_url(task.event_id)}#reminders-task-{task.pk}"
        if task.can_skip:
            task.skip_form = empty_not_applicable_form(task)
        if task.can_undo:
            task.undo_form = empty_undo_form(task)
        decorated.append(task)
    return decorated


def _attach_events(tasks: list[Task], known: Iterable[CareEvent]) -> None:
    """Give each task its event (the policy reads its status) from those the page has, or else from
    one query."""
    events = {event.pk: event for event in known}
    missing = {t.event_id for t in tasks if t.event_id not in events and not Task.event.is_cached(t)}
    if missing:
        events.update(CareEvent.objects.in_bulk(missing))
    for task in tasks:
        if task.event_id in events:
            task.event = events[task.event_id]


def _attach_patients(tasks: list[Task], known: Iterable[Patient]) -> None:
    """Give each task its patient (and unit) from those the page has, or else from one query."""
    patients = {patient.pk: patient for patient in known}
    missing = {t.patient_id for t in tasks if t.patient_id not in patients and not Task.patient.is_cached(t)}
    if missing:
        patients.update(Patient.objects.select_related("unit").in_bulk(missing))
    for task in tasks:
        if task.patient_id in patients:
            task.patient = patients[task.patient_id]
