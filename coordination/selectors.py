"""Reads for the coordination pages, with their relations loaded: a constant number of queries."""

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from accounts.audit import get_or_404_audited
from accounts.models import Role
from checklists.gate import checklist_readiness, event_readiness
from checklists.models import Checklist, Task
from checklists.selectors import TASK_RELATIONS, checklists_with_gate_tasks
from patients.models import CareEvent, CareTeamMember, Cycle, Interruption, Patient, TreatmentCourse

from .handoffs import RECEIVER_STATUSES
from .models import Handoff, HandoffAction, HandoffActivity, HandoffComment


def patient_page(patient: Patient) -> Patient:
    events = (
        CareEvent.objects.select_related("patient__unit", "cycle")
        .prefetch_related(checklists_with_gate_tasks())
        .order_by("planned_at")
    )
    cycles = Cycle.objects.order_by("number").prefetch_related(Prefetch("events", queryset=events))
    courses = TreatmentCourse.objects.select_related("regimen_version__regimen").prefetch_related(
        Prefetch("cycles", queryset=cycles),
        Prefetch("interruptions", queryset=Interruption.objects.select_related("stopped_by", "restarted_by")),
    )
    return (
        Patient.objects.select_related("unit", "organisation")
        .prefetch_related(
            Prefetch("care_team", queryset=CareTeamMember.objects.select_related("user")),
            Prefetch("courses", queryset=courses),
        )
        .get(pk=patient.pk)
    )


@dataclass
class RoleProgress:
    role: str
    done: int
    total: int

    @property
    def label(self) -> str:
        return Role(self.role).label


def role_progress(tasks) -> list[RoleProgress]:
    """Done (or not applicable) over all live tasks, per role."""
    total, done = Counter(), Counter()
    for task in tasks:
        if task.status == Task.Status.CANCELLED:
            continue
        total[task.role] += 1
        done[task.role] += task.status in (Task.Status.DONE, Task.Status.NOT_APPLICABLE)
    return [RoleProgress(role, done[role], total[role]) for role in Role.values if total[role]]


def annotate_event(event: CareEvent) -> CareEvent:
    """Attach the gate and the per-role progress of each checklist (tasks prefetched)."""
    checklists = list(event.checklists.all())
    for checklist in checklists:
        tasks = list(checklist.tasks.all())
        checklist.readiness = checklist_readiness(checklist, tasks)
        checklist.progress = role_progress(tasks)
    event.readiness = event_readiness(checklists) if checklists else None
    return event


def checklist_sections(checklist: Checklist) -> dict[str, dict[str, list[Task]]]:
    """Tasks by section, then by role, in item order."""
    sections: dict[str, dict[str, list[Task]]] = defaultdict(lambda: defaultdict(list))
    for task in checklist.tasks.all():
        sections[task.section][Role(task.role).label].append(task)
    return {section: dict(roles) for section, roles in sections.items()}


def board_events(patients: QuerySet[Patient], *, now: dt.datetime, hours: int = 72) -> list[CareEvent]:
    """Planned events in the next hours whose gate is not ready, with `readiness` set; their
    checklists carry only what the gate reads (a unit has hundreds of such events)."""
    events = (
        CareEvent.objects.filter(
            patient__in=patients,
            status=CareEvent.Status.PLANNED,
            planned_at__gte=now,
            planned_at__lte=now + dt.timedelta(hours=hours),
        )
        .select_related("patient__unit", "cycle")
        .prefetch_related(checklists_with_gate_tasks())
        .order_by("planned_at")
    )
    blocked = []
    for event in events:
        annotate_event(event)
        if event.readiness is not None and not event.readiness.ready:
            blocked.append(event)
    return blocked


def overdue_tasks(patients: QuerySet[Patient], *, now: dt.datetime) -> list[Task]:
    return list(
        Task.objects.filter(patient__in=patients, status=Task.Status.OPEN, due_at__lt=now)
        .select_related(*TASK_RELATIONS)
        .order_by("role", "assignee__username", "due_at")[:500]
    )


# --- handoffs ------------------------------------------------------------------------------------

HANDOFF_RELATIONS = (
    "patient__unit",
    "from_unit",
    "to_unit",
    "from_person",
    "to_person",
    "event__cycle",
    "cycle",
    "course",
    "acknowledged_by",
    "accepted_by",
    "completed_by",
    "returned_by",
    "cancelled_by",
    "flagged_by",
    "signed_off_by",
    "access_grant",
)


def handoffs_visible_to(user) -> QuerySet:
    """The sending side (whoever sees the patient on the record: care team, the unit's
    coordinator) sees every handoff of the patient; the receiving unit sees the handoffs
    addressed to it from sending onwards, while its access grant lasts."""
    rule = Q(patient__in=Patient.objects.visible_to(user, grants=False))
    if user.is_authenticated and user.unit_id:
        rule |= Q(to_unit_id=user.unit_id, status__in=RECEIVER_STATUSES, patient__in=Patient.objects.visible_to(user))
    return Handoff.objects.filter(rule)


def get_handoff_for_user(user, pk):
    """The handoff, or 404 when the user may not see it (its existence must not leak)."""
    return get_or_404_audited(
        handoffs_visible_to(user).select_related(*HANDOFF_RELATIONS), pk, object_type="coordination.handoff"
    )


def handoff_page(handoff):
    """The handoff with its actions, comments and history loaded: a constant number of queries."""
    return (
        Handoff.objects.select_related(*HANDOFF_RELATIONS)
        .prefetch_related(
            Prefetch("actions", queryset=HandoffAction.objects.select_related("done_by").order_by("due_at", "order")),
            Prefetch("comments", queryset=HandoffComment.objects.select_related("author")),
            Prefetch("activities", queryset=HandoffActivity.objects.select_related("actor")),
        )
        .get(pk=handoff.pk)
    )


def handoff_bag_calendar(handoff, *, limit: int = 40) -> list[CareEvent]:
    """The bag changes planned from the handoff's event to the end of its cycle."""
    return list(
        CareEvent.objects.filter(
            cycle_id=handoff.cycle_id, kind=CareEvent.Kind.BAG_CHANGE, planned_at__gte=handoff.event.planned_at
        )
        .exclude(status=CareEvent.Status.CANCELLED)
        .order_by("planned_at")[:limit]
    )


def patient_handoffs(user, patient) -> list:
    """The handoffs of one patient that the user may see, newest first."""
    return list(
        handoffs_visible_to(user)
        .filter(patient=patient)
        .select_related("from_unit", "to_unit", "from_person", "event__cycle")
        .order_by("-created_at", "-pk")
    )


# Review order: overdue acknowledgements first, then by status along the flow, then the oldest.
REVIEW_STATUS_ORDER = ["sent", "acknowledged", "accepted", "returned", "completed", "draft", "cancelled"]


def handoff_review_queue(unit_id: int, *, now: dt.datetime, statuses=None, flagged_only: bool = False) -> list:
    """The handoffs sent by a unit, for its coordinator: overdue acknowledgements first, then by
    status and age (oldest first). One query, whatever the number of rows."""
    handoffs = Handoff.objects.filter(from_unit_id=unit_id).select_related(*HANDOFF_RELATIONS)
    if statuses:
        handoffs = handoffs.filter(status__in=statuses)
    else:
        handoffs = handoffs.exclude(status=Handoff.Status.DRAFT)
    if flagged_only:
        handoffs = handoffs.filter(flagged=True)
    rows = list(handoffs.order_by("sent_at", "created_at")[:500])
    rank = {status: n for n, status in enumerate(REVIEW_STATUS_ORDER)}
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(
        rows,
        key=lambda h: (not h.acknowledgement_overdue(now), rank[h.status], h.sent_at or h.created_at or far),
    )


def handoffs_waiting(unit_id: int, *, now: dt.datetime, limit: int = 20) -> list:
    """A unit's handoffs that wait for the receiving side (sent or acknowledged), overdue first."""
    waiting = list(
        Handoff.objects.filter(from_unit_id=unit_id, status__in=[Handoff.Status.SENT, Handoff.Status.ACKNOWLEDGED])
        .select_related("patient", "to_unit", "from_person")
        .order_by("acknowledge_by", "sent_at")[:limit]
    )
    return sorted(waiting, key=lambda h: (not h.acknowledgement_overdue(now), h.sent_at))


def handoffs_incoming(user) -> list:
    """Handoffs addressed to the user's unit that it sees now, waiting ones first."""
    if not user.unit_id:
        return []
    rank = {status: n for n, status in enumerate(REVIEW_STATUS_ORDER)}
    rows = list(
        handoffs_visible_to(user)
        .filter(to_unit_id=user.unit_id)
        .exclude(status__in=[Handoff.Status.DRAFT, Handoff.Status.CANCELLED, Handoff.Status.RETURNED])
        .select_related("patient", "from_unit", "from_person", "to_person")
        .order_by("sent_at")[:200]
    )
    return sorted(rows, key=lambda h: (rank[h.status], h.sent_at))


def handoffs_outgoing(user) -> list:
    """Handoffs of the patients the user sees on the record (care team, unit), open ones first."""
    closed = [Handoff.Status.COMPLETED, Handoff.Status.CANCELLED]
    rows = list(
        handoffs_visible_to(user)
        .filter(patient__in=Patient.objects.visible_to(user, grants=False))
        .select_related("patient", "to_unit", "from_person")
        .order_by("-created_at")[:200]
    )
    return sorted(rows, key=lambda h: h.status in closed)


def handoff_actions_for(user) -> list:
    """Open receiving-side tasks of the user's role on the handoffs their unit has taken over."""
    if not user.unit_id or not user.role:
        return []
    return list(
        HandoffAction.objects.filter(
            status=HandoffAction.Status.OPEN,
            role=user.role,
            handoff__to_unit_id=user.unit_id,
            handoff__status__in=RECEIVER_STATUSES,
            handoff__patient__in=Patient.objects.visible_to(user),
        )
        .select_related("handoff__patient__unit")
        .order_by("due_at", "order")[:200]
    )
