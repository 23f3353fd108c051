"""Reads of checklists and tasks, always from the patients a user may see."""

from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from accounts.audit import get_or_404_audited
from accounts.db import compiled
from patients.models import CareEvent, Patient

from .gate_sql import unresolved_blockers
from .models import LEFT_OPEN, Checklist, Task, TaskActivity
from .policy import TeamRoles, awaiting_check_by, claimable_by

TASK_RELATIONS = ("patient__unit", "event__cycle", "assignee", "completed_by", "verified_by")


# A unit that sees a patient only through a handoff's access grant sees the handoff, not the
# care team's events and checklists: hence grants=False below.


def work_organisations(*, user) -> set[int]:
    """The organisations of the patients of the tasks `user` holds (accounts.hooks)."""
    return set(Task.objects.filter(assignee=user).values_list("patient__organisation_id", flat=True).distinct())


def tasks_visible_to(user) -> QuerySet[Task]:
    return Task.objects.filter(patient__in=Patient.objects.visible_to(user, grants=False))


def get_task_for_user(user, pk) -> Task:
    """The task, or 404 when its patient is not visible to the user."""
    return get_or_404_audited(tasks_visible_to(user).select_related(*TASK_RELATIONS), pk, object_type="checklists.task")


def events_visible_to(user) -> QuerySet[CareEvent]:
    return CareEvent.objects.filter(patient__in=Patient.objects.visible_to(user, grants=False)).select_related(
        "patient__unit", "cycle__course"
    )


def get_event_for_user(user, pk, *, with_checklists: bool = False) -> CareEvent:
    """The event, or 404 when its patient is not visible; optionally with checklists and tasks."""
    events = events_visible_to(user)
    if with_checklists:
        events = events.prefetch_related(checklists_with_tasks())
    return get_or_404_audited(events, pk, object_type="patients.careevent")


def my_work(
    user, *, visible_patient_ids: Iterable[int] | None = None, teams: Iterable[tuple[int, str]] | None = None
) -> QuerySet[Task]:
    """Tasks assigned to me, the unclaimed pool of my role on my care teams, and the
    completions waiting for my independent check (who may claim and who may check is the task
    policy's: `claimable_by`, `awaiting_check_by`).

    A caller that has loaded them already passes the ids of the patients visible to the user
    (`Patient.objects.visible_to`) and the user's (patient id, role) care-team memberships:
    each part of the query then names its patients, so that PostgreSQL reads each part from an
    index (assignee and status; open tasks by patient and due time; completions awaiting a
    check) instead of scanning the tasks. The tasks come with their people and their event
    (and cycle), joined, but not their patient, which the caller has: planning a join of all
    seven TASK_RELATIONS took longer than running it (docs/performance.md, "Dashboard load"),
    and these four cost less joined than read by a second query (issue 19's eighth look).
    """
    if visible_patient_ids is None:
        visible = Patient.objects.visible_to(user).values("pk")
    else:
        visible = list(visible_patient_ids)
    roles = TeamRoles.of(user) if teams is None else TeamRoles(teams)
    assigned = Q(assignee=user, status=Task.Status.OPEN)
    return (
        Task.objects.filter(patient_id__in=visible)
        .filter(assigned | claimable_by(user, roles) | awaiting_check_by(user, roles) | failed_hard_stops_of(user))
        # Left open when its event was done or missed: no longer due work (the event page and the board list it).
        .exclude(LEFT_OPEN)
        # Who claimed it, who completed it (a task in My work is never verified yet); its event.
        .select_related("assignee", "completed_by", "event__cycle")
    )


def failed_hard_stops_of(user) -> Q:
    """The user's answers that failed a hard stop and still block their event (live, and no
    override in force covers that very answer): they stay in My work, marked, until undone and
    answered again.

    Whether it still blocks is the gate's own rule (gate_sql.unresolved_blockers), not whether the
    checklist was ever overridden: an override covers only the blockers it named, so a hard stop
    failing after an override of other items blocks and must stay here, and so must one whose
    override was lifted when the event moved (`overrides_lift` empties `overridden_blockers` but
    keeps `overridden_at`, as the override was given)."""
    mine = Q(status=Task.Status.DONE, hard_stop_failed=True, completed_by=user)
    # The gate's rule costs more to build and compile with the ORM than the rest of My work's
    # query together (4 ms of Python a request; docs/performance.md, issue 19's eighth look), and
    # its SQL depends only on the user: compiled once per user where the database allows it.
    if query := compiled(still_blocking_hard_stops_of, user.pk):
        return mine & Q(pk__in=query.as_subquery())
    return mine & Q(pk__in=still_blocking_hard_stops_of(user.pk))


def still_blocking_hard_stops_of(user_id: int) -> QuerySet[Task]:
    """The ids of the hard stops that the user failed and that still block a live event (planned
    or under way, whose gate may still be overridden: CareEvent.is_live). A pure function of
    `user_id` (accounts.db.compiled)."""
    live = [CareEvent.Status.PLANNED, CareEvent.Status.IN_PROGRESS]
    return (
        unresolved_blockers("hard_stop").filter(completed_by_id=user_id, event__status__in=live).order_by().values("pk")
    )


def checklists_with_tasks() -> Prefetch:
    tasks = Task.objects.select_related("assignee", "completed_by", "verified_by").order_by("order")
    return Prefetch(
        "checklists",
        queryset=Checklist.objects.select_related("template", "version", "overridden_by").prefetch_related(
            Prefetch("tasks", queryset=tasks)
        ),
    )


# What the gate (checklists.gate) and the progress per role read of a checklist and its tasks,
# for pages that show many events' gates and nothing else of their tasks: the unit board, the
# patient page's timeline.
GATE_TASK_FIELDS = (
    "checklist_id", "role", "text", "status", "required", "value", "due_at",
    "hard_stop_failed", "needs_verification", "verifier_role", "verified_by_id",
)  # fmt: skip


def checklists_with_gate_tasks() -> Prefetch:
    tasks = Task.objects.only(*GATE_TASK_FIELDS).order_by("order")
    checklists = Checklist.objects.select_related("template").only(
        "event_id", "override_reason", "overridden_blockers", "template__name"
    )
    return Prefetch("checklists", queryset=checklists.prefetch_related(Prefetch("tasks", queryset=tasks)))


def patient_history(patient, limit: int = 50) -> QuerySet[TaskActivity]:
    return (
        TaskActivity.objects.filter(patient=patient)
        .select_related("actor", "task", "checklist__event")
        .order_by("-at", "-pk")[:limit]
    )
