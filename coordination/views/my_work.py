"""My work: the home page of every clinician."""

from dataclasses import dataclass, field

from django.shortcuts import render
from django.utils import timezone

from checklists.models import Task
from checklists.selectors import my_work
from patients.selectors import patients_for_user

from ..filters import MyWorkFilter
from ..task_view import decorate, team_roles

MAX_ROWS = 300  # a shift's worth; filters narrow it further


@dataclass
class TaskGroup:
    patient: object
    event: object
    tasks: list[Task] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(task.urgency == "overdue" for task in self.tasks)

    @property
    def due_soon(self) -> int:
        return sum(task.urgency == "due-soon" for task in self.tasks)

    @property
    def to_verify(self) -> int:
        return sum(task.status == Task.Status.DONE for task in self.tasks)


def group_by_event(tasks: list[Task]) -> list[TaskGroup]:
    """Groups in the order of their most urgent task (the tasks come sorted by due time)."""
    groups: dict[int, TaskGroup] = {}
    for task in tasks:
        group = groups.setdefault(task.event_id, TaskGroup(patient=task.patient, event=task.event))
        group.tasks.append(task)
    return list(groups.values())


def my_work_view(request):
    patients = patients_for_user(request.user)
    filterset = MyWorkFilter(request.GET or None, queryset=my_work(request.user), user=request.user, patients=patients)
    tasks = list(filterset.qs.order_by("due_at", "order")[:MAX_ROWS])
    now = timezone.now()
    decorate(tasks, request.user, team_roles(request.user), now)
    groups = group_by_event(tasks)
    context = {
        "filter": filterset,
        "groups": groups,
        "total": len(tasks),
        "truncated": len(tasks) == MAX_ROWS,
        "overdue": sum(g.overdue for g in groups),
        "due_soon": sum(g.due_soon for g in groups),
        "now": now,
    }
    template = "coordination/partials/my_work_list.html" if request.htmx else "coordination/my_work.html"
    return render(request, template, context)
