"""Tasks: the list (filters by patient, event, checklist, status, role, assignee) and the six
actions of a task row, each its service in checklists.services, refused as the row refuses."""

from checklists import services
from checklists.models import Task
from checklists.selectors import tasks_visible_to

from .. import serializers
from ..filters import filters_for
from .base import PatientData, act


class TaskViewSet(PatientData):
    """The tasks of the patients the caller sees on the record, soonest due first."""

    serializer_class = serializers.TaskOut
    audit_type = "checklists.task"
    ordering = ("due_at", "id")
    page_by_keys = True  # a nurse's patients hold thousands of tasks
    filterset_class = filters_for(
        Task,
        ids={"patient": "patient", "event": "event", "checklist": "checklist", "assignee": "assignee"},
        fields=("status", "role"),
    )

    def visible(self, user):
        return tasks_visible_to(user).select_related("assignee", "completed_by", "verified_by")

    claim = act("claim", services.task_claim, argument="task", summary="Claim the task: it becomes yours.")
    release = act("release", services.task_release, argument="task", summary="Give the task back to the pool.")
    complete = act(
        "complete",
        services.task_complete,
        serializers.TaskAnswer,
        argument="task",
        summary="Record the answer; one failing a hard stop is refused unless `confirmed`.",
    )
    not_applicable = act(
        "not_applicable",
        services.task_mark_not_applicable,
        serializers.Reason,
        argument="task",
        summary="Mark the task not applicable, with the reason.",
    )
    verify = act(
        "verify",
        services.task_verify,
        serializers.SeenTask,
        argument="task",
        summary="Verify the colleague's completion you read (its `version`).",
    )
    undo = act(
        "undo",
        services.task_undo,
        serializers.SeenReason,
        argument="task",
        summary="Reopen the done task you read (its `version`), with the reason.",
    )
