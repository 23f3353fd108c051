"""My work: the home page of every clinician.

Measured under load in docs/performance.md ("Dashboard load"): what each request needs is the
user's visible patients (also the filter's choices), their care-team roles (also what they may
do with each row), the tasks with their events, and the unread count of the bell.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, Window
from django.http import HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.audit import logs_read, shows
from checklists.models import Task
from checklists.selectors import my_work
from patients.models.record import visible_ids_query

from ...handoffs.selectors import handoff_actions_for
from ..forms import MyWorkFilter
from ..page_cache import cached_parts
from ..task_view import DUE_SOON, UrlForPk, decorate, local_time_text, patients_and_team_roles

# The most urgent work first: what a request renders is most of what it costs (docs/performance.md,
# "Dashboard load"); the counts cover everything, and "Show all" lists up to a shift's worth.
FIRST_ROWS = 20
MAX_ROWS = 300


@dataclass
class TaskGroup:
    """The tasks of one event, with what its header shows worked out as text."""

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

    def describe(self, *, patient_url: UrlForPk, event_url: UrlForPk) -> None:
        event = self.event
        self.heading_id = f"group-{event.pk}"
        self.patient_url, self.event_url = patient_url(self.patient.pk), event_url(event.pk)
        self.event_label = event.label
        self.planned_text = local_time_text(event.planned_at, self.patient.unit.zone, separator=" ")
        count = len(self.tasks)
        parts = [f"{count} task{pluralize(count)}"]
        parts += [f"{n} {what}" for n, what in ((self.overdue, "overdue"), (self.due_soon, "due soon")) if n]
        parts += [f"{self.to_verify} to verify"] if self.to_verify else []
        self.summary = " · ".join(parts)


def group_by_event(tasks: list[Task]) -> list[TaskGroup]:
    """Groups in the order of their most urgent task (the tasks come sorted by due time)."""
    groups: dict[int, TaskGroup] = {}
    for task in tasks:
        group = groups.setdefault(task.event_id, TaskGroup(patient=task.patient, event=task.event))
        group.tasks.append(task)
    patient_url, event_url = UrlForPk("patient_detail"), UrlForPk("event_detail")
    for group in groups.values():
        group.describe(patient_url=patient_url, event_url=event_url)
    return list(groups.values())


@logs_read("coordination.my_work")
def my_work_view(request):
    # The filters and the list are kept while nothing they show changes (page_cache); the read is
    # logged every time, with the patients that the kept parts name.
    # The ids of the patients it may show come first (a light query): the kept parts move on with
    # their changes, not with every change in the hospital. Rendering reads the patients in full.
    patient_ids = visible_ids_query(request.user)
    parts = cached_parts(request, "my-work", lambda ids: render_parts(request, ids), patient_ids=patient_ids)
    if request.htmx:  # the list alone: a filter changed, or a task did
        shows(request, patients=parts["list_patients"])
        return HttpResponse(parts["list"])
    shows(request, patients=parts["page_patients"])
    return render(request, "coordination/worklist/my_work.html", {"parts": parts})


def render_parts(request, visible_ids: list[int]) -> dict[str, Any]:
    """My work's filters and list, rendered, and whom they name: the list its tasks' patients; the
    whole page every patient the user sees too (the filter's choices). `visible_ids`: the patients
    the access policy let this request see, read a moment ago for the page's key."""
    user = request.user
    patients, roles = patients_and_team_roles(user, visible_ids=visible_ids)
    tasks = my_work(user, visible_patient_ids=[patient.pk for patient in patients], teams=roles)
    filterset = MyWorkFilter(request.GET or None, queryset=tasks, user=user, patients=patients)
    now = timezone.now()
    show_all = request.GET.get("rows") == "all"
    # The counts of all the matching tasks ride along on the first rows (window aggregates: one query).
    counted = filterset.qs.annotate(
        total=Window(Count("pk")),
        overdue=Window(Count("pk", filter=Q(status=Task.Status.OPEN, due_at__lt=now))),
        due_soon=Window(Count("pk", filter=Q(status=Task.Status.OPEN, due_at__gte=now, due_at__lte=now + DUE_SOON))),
    )
    tasks = list(counted.order_by("due_at", "order")[: MAX_ROWS if show_all else FIRST_ROWS])
    counts = {name: getattr(tasks[0], name) if tasks else 0 for name in ("total", "overdue", "due_soon")}
    decorate(tasks, user, roles, now, patients=patients)
    show_all_url = ""
    if not show_all and len(tasks) < counts["total"]:
        query = request.GET.copy()
        query["rows"] = "all"
        show_all_url = f"{request.path}?{query.urlencode()}"
    context = {
        "filter": filterset,
        "filtered": any(request.GET.get(name) for name in filterset.filters),
        "groups": group_by_event(tasks),
        "shown": len(tasks),
        **counts,
        "show_all_url": show_all_url,
        "now": now,
    }
    # The receiving side's handoff tasks (a home nurse's first visit, a case manager's call):
    # their work too, whatever the filters say.
    actions = handoff_actions_for(user, visible_patient_ids=[patient.pk for patient in patients])
    handoff_context = {"actions": actions, "now": now}
    return {
        "handoff_actions": render_to_string(
            "coordination/worklist/partials/my_work_handoff_actions.html", handoff_context, request
        ),
        "filter": render_to_string("coordination/worklist/partials/my_work_filter.html", context, request),
        "list": render_to_string("coordination/worklist/partials/my_work_list.html", context, request),
        "list_patients": sorted({task.patient_id for task in tasks}),
        "page_patients": sorted({patient.pk for patient in patients} | {a.handoff.patient_id for a in actions}),
    }
