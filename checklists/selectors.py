"""Reads of checklists and tasks, always from the patients a user may see."""

from django.db.models import Prefetch, Q, QuerySet

from accounts.audit import get_or_404_audited
from patients.models import CareEvent, CareTeamMember, Patient

from .models import Checklist, Task, TaskActivity

TASK_RELATIONS = ("patient__unit", "event__cycle", "assignee", "completed_by", "verified_by")


def tasks_visible_to(user) -> QuerySet[Task]:
    return Task.objects.filter(patient__in=Patient.objects.visible_to(user))


def get_task_for_user(user, pk) -> Task:
    """The task, or 404 when its patient is not visible to the user."""
    return get_or_404_audited(tasks_visible_to(user).select_related(*TASK_RELATIONS), pk, object_type="checklists.task")


def events_visible_to(user) -> QuerySet[CareEvent]:
    return CareEvent.objects.filter(patient__in=Patient.objects.visible_to(user)).select_related(
        "patient__unit", "cycle__course"
    )


def get_event_for_user(user, pk, *, with_checklists: bool = False) -> CareEvent:
    """The event, or 404 when its patient is not visible; optionally with checklists and tasks."""
    events = events_visible_to(user)
    if with_checklists:
        events = events.prefetch_related(checklists_with_tasks())
    return get_or_404_audited(events, pk, object_type="patients.careevent")


def my_work(user) -> QuerySet[Task]:
    """Tasks assigned to me, the unclaimed pool of my role on my care teams, and the
    completions waiting for my independent check."""
    my_teams = CareTeamMember.objects.filter(user=user).values("patient_id")
    my_role_teams = CareTeamMember.objects.filter(user=user, role=user.role).values("patient_id")
    assigned = Q(assignee=user, status=Task.Status.OPEN)
    pool = Q(assignee__isnull=True, status=Task.Status.OPEN, role=user.role, patient_id__in=my_role_teams)
    to_verify = (
        Q(status=Task.Status.DONE, needs_verification=True, verified_by__isnull=True, patient_id__in=my_teams)
        & ~Q(completed_by=user)
        & (Q(verifier_role=user.role) | Q(verifier_role=""))
    )
    return tasks_visible_to(user).filter(assigned | pool | to_verify).select_related(*TASK_RELATIONS)


def checklists_with_tasks() -> Prefetch:
    tasks = Task.objects.select_related("assignee", "completed_by", "verified_by").order_by("order")
    return Prefetch(
        "checklists",
        queryset=Checklist.objects.select_related("template", "version", "overridden_by").prefetch_related(
            Prefetch("tasks", queryset=tasks)
        ),
    )


def patient_history(patient, limit: int = 50) -> QuerySet[TaskActivity]:
    return (
        TaskActivity.objects.filter(patient=patient)
        .select_related("actor", "task", "checklist__event")
        .order_by("-at", "-pk")[:limit]
    )
