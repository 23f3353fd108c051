"""What a user may do with each task on a page, worked out once per request (no query per row)."""

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from checklists.models import Task
from patients.models import CareTeamMember

from .forms import TaskCompleteForm, not_applicable_form, undo_form

DUE_SOON = dt.timedelta(hours=2)


def team_roles(user) -> set[tuple[int, str]]:
    """(patient id, role) pairs of the user's care-team memberships: one query."""
    return set(CareTeamMember.objects.filter(user=user).values_list("patient_id", "role"))


def urgency(task: Task, now: dt.datetime) -> str:
    if task.status != Task.Status.OPEN:
        return ""
    if task.due_at < now:
        return "overdue"
    if task.due_at <= now + DUE_SOON:
        return "due-soon"
    return ""


def decorate(tasks: Iterable[Task], user, roles: set[tuple[int, str]], now: dt.datetime | None = None) -> list[Task]:
    now = now or timezone.now()
    decorated = []
    for task in tasks:
        works_it = (task.patient_id, task.role) in roles
        on_team = any(patient_id == task.patient_id for patient_id, _ in roles)
        is_open = task.status == Task.Status.OPEN
        task.urgency = urgency(task, now)
        task.can_claim = is_open and works_it and task.assignee_id is None
        task.can_complete = is_open and works_it
        task.can_skip = is_open and works_it and not task.hard_stop
        task.can_undo = works_it and task.status in (Task.Status.DONE, Task.Status.NOT_APPLICABLE)
        task.can_verify = (
            task.awaits_verification
            and task.completed_by_id != user.pk
            and ((task.patient_id, task.verifier_role) in roles if task.verifier_role else on_team)
        )
        if task.can_complete:
            task.complete_form = TaskCompleteForm(task=task)
        if task.can_skip:
            task.skip_form = not_applicable_form(task)
        if task.can_undo:
            task.undo_form = undo_form(task)
        decorated.append(task)
    return decorated
