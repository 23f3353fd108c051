"""The unit board (a coordinator's unit at the morning huddle) and its lists (events not ready,
overdue tasks, tasks left open), loaded on demand. What the board shows is counted and chosen by
the database (coordination.worklist.board): docs/performance.md, "The unit board"."""

from collections.abc import Iterable

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.audit import logs_read, shows
from accounts.models import Role, User
from accounts.permissions import require
from checklists.policy import can_reassign
from patients.models import Patient

from ...exports import csv_download, local, wants_csv
from ...handoffs.models import Handoff
from ...handoffs.selectors import handoffs_waiting
from ...watch.models import ToxicityAlert
from ...watch.selectors import unit_open_alerts, unit_watch_warnings
from ..board import (
    BLOCKED_HOURS,
    BLOCKED_WINDOWS,
    LEFT_OPEN_LIMIT,
    OVERDUE_LIST_LIMIT,
    OVERRIDES_SHOWN_DAYS,
    POOL,
    BlockedWindow,
    TaskGroup,
    blocked_events,
    blocked_summary,
    left_open_summary,
    left_open_tasks,
    overdue_summary,
    overdue_tasks,
    recent_overrides,
)
from ..page_cache import cached_parts
from ..policy import VIEW_BOARD
from ..task_view import UrlForPk, local_time_text


def _unit_patients(user):
    """The patients of the coordinator's unit, as the coordinator sees them on the record (not
    through a handoff's access grant, which shows the handoff: checklists.selectors)."""
    require(user, VIEW_BOARD)
    if user.unit_id is None:
        raise PermissionDenied("The board shows a unit: ask an administrator to set yours.")
    return Patient.objects.visible_to(user, grants=False).filter(unit_id=user.unit_id)


@logs_read("coordination.board")
def coordinator_board(request):
    user = request.user
    patients = _unit_patients(user)
    # Kept while nothing it shows changes (page_cache): its key names the unit's patients, and those
    # of the handoffs and alerts it lists, so that changes on other wards leave it kept.
    parts = cached_parts(
        request, "board", lambda _ids: _board_parts(request, patients), patient_ids=_board_patient_ids(user, patients)
    )
    shows(request, patients=parts["shown"])
    return render(request, "coordination/worklist/board.html", {"parts": parts})


def _board_patient_ids(user, patients) -> list[int]:
    """Every patient the board can name: the unit's, and those of the handoffs it sent and of the
    alerts its roster routed (a patient may have moved to another unit since). One query."""
    # Each part without its model's ordering: SQLite (`make run`) refuses an ORDER BY inside a UNION.
    handoffs = Handoff.objects.filter(
        from_unit_id=user.unit_id, status__in=[Handoff.Status.SENT, Handoff.Status.ACKNOWLEDGED]
    ).values_list("patient_id", flat=True)
    alerts = ToxicityAlert.objects.filter(unit_id=user.unit_id, acknowledged_at__isnull=True).values_list(
        "patient_id", flat=True
    )
    parts = (patients.values_list("pk", flat=True), handoffs, alerts)
    first, *others = (part.order_by() for part in parts)
    return list(first.union(*others))


def _board_parts(request, patients) -> dict:
    """The board rendered, and the patients it names (for the read that every answer logs)."""
    user = request.user
    now = timezone.now()
    zone = user.unit.zone
    blocked = blocked_summary(patients, now=now)
    blocked_url = reverse("board_not_ready")
    for window in blocked:
        window.list_url = f"{blocked_url}?window={window.place}"
    overdue = overdue_summary(patients, now=now)
    _link_lists(overdue, "board_overdue")
    for group in overdue:
        group.oldest_text = local_time_text(group.oldest_due, zone)
    left_open = left_open_summary(patients)
    _link_lists(left_open, "board_left_open")
    waiting, alerts = handoffs_waiting(user.unit_id, now=now), unit_open_alerts(user.unit_id)
    overrides = recent_overrides(patients, now=now)
    # The summaries of events not ready, of overdue tasks and of tasks left open name no patient:
    # each of their lists, opened on demand, logs its own read.
    shown = {row.patient_id for rows in (waiting, alerts) for row in rows}
    shown |= {checklist.event.patient_id for checklist in overrides}
    context = {
        "unit": user.unit,
        "blocked_windows": blocked,
        "blocked_count": sum(window.count for window in blocked),
        "blocked_hours": BLOCKED_HOURS,
        "overdue": overdue,
        "overdue_count": sum(group.count for group in overdue),
        "waiting_handoffs": waiting,
        "open_alerts": alerts,
        "watch_warnings": unit_watch_warnings(user.unit, now=now),
        "overrides": overrides,
        "left_open": left_open,
        "left_open_count": sum(group.count for group in left_open),
        "override_days": OVERRIDES_SHOWN_DAYS,
        "now": now,
    }
    content = render_to_string("coordination/worklist/partials/board_content.html", context, request)
    return {"content": content, "shown": sorted(shown)}


def _link_lists(groups: Iterable[TaskGroup], name: str) -> None:
    """Each line of a summary by role and person links to its list (the view `name`)."""
    list_url = reverse(name)
    for group in groups:
        group.list_url = f"{list_url}?role={group.role}&assignee={group.assignee_key}"


def _whose(tasks, role: str, assignee: str, viewer) -> dict:
    """Whose tasks a list by role and person shows, for its title (and whether its rows say whose
    each is: a list of several people's tasks does). A person holding none of them is named only
    when of the viewer's organisation: any id in the address must not name another hospital's staff."""
    if assignee == POOL:
        who = "Unclaimed (pool)"
    elif assignee:
        colleagues = User.objects.filter(unit__organisation_id=viewer.unit.organisation_id)
        person = tasks[0].assignee if tasks else colleagues.filter(pk=assignee).first()
        who = str(person) if person else "Nobody"
    else:
        who = "Everyone"
    return {"who": who, "role_label": Role(role).label if role else "", "show_whose": not assignee}


class OverdueListFilter(forms.Form):
    """Whose overdue tasks: a role and a person (a user's id, or "pool" for the unclaimed)."""

    role = forms.ChoiceField(choices=Role.choices, required=False)
    assignee = forms.RegexField(regex=rf"^(\d{{1,10}}|{POOL})$", required=False)


@logs_read("coordination.board_overdue")
def board_overdue(request):
    """The overdue tasks of one role and person on the coordinator's unit (all of them without
    a filter), each with its reassignment: opened in place from the board's summary (htmx), or as
    a page of its own without JavaScript."""
    user = request.user
    patients = _unit_patients(user)
    chosen = OverdueListFilter(request.GET)
    if not chosen.is_valid():
        raise Http404("No such list of overdue tasks.")
    role, assignee = chosen.cleaned_data["role"], chosen.cleaned_data["assignee"]
    now = timezone.now()
    tasks = overdue_tasks(patients, now=now, role=role, assignee=assignee)
    zone = user.unit.zone
    if wants_csv(request):
        return csv_download(
            request,
            what="board-overdue",
            header=[f"Due ({zone.key})", "Task", "Role", "Assigned to", "Patient", "MRN", "Event"],
            rows=[
                [local(t.due_at, zone), t.text, t.get_role_display(), t.assignee or "unclaimed"]
                + [f"{t.patient.family_name}, {t.patient.given_name}", t.patient.mrn, t.event.label]
                for t in tasks
            ],
            patient_ids=[task.patient_id for task in tasks],
            filters=OverdueListFilter.base_fields,
        )
    patient_url, reassign_url = UrlForPk("patient_detail"), UrlForPk("task_reassign")
    for task in tasks:
        task.due_text = local_time_text(task.due_at, zone)
        task.patient_url = patient_url(task.patient_id)
        task.reassign_url = reassign_url(task.pk) if can_reassign(user, task) else ""
    shows(request, patients=sorted({task.patient_id for task in tasks}))
    context = {"unit": user.unit, "tasks": tasks, **_whose(tasks, role, assignee, user), "limit": OVERDUE_LIST_LIMIT}
    page = "partials/board_overdue_list.html" if request.htmx else "board_overdue.html"
    return render(request, f"coordination/worklist/{page}", context)


class LeftOpenListFilter(OverdueListFilter):
    """Whose tasks left open: a role and a person, as the overdue lists."""


def _weight(task) -> str:
    """What a task left open weighs, as its row's badge says (the list shows the first two first)."""
    return "Hard stop" if task.hard_stop else "Required" if task.required else "Optional"


@logs_read("coordination.board_left_open")
def board_left_open(request):
    """The tasks left open when their event was done or missed, of one role and person on the coordinator's
    unit (all of them without a filter), hard stops and required items first, each with its Close
    link back to the board: opened in place from the board's summary (htmx), or as a page of its
    own without JavaScript."""
    user = request.user
    patients = _unit_patients(user)
    chosen = LeftOpenListFilter(request.GET)
    if not chosen.is_valid():
        raise Http404("No such list of tasks left open.")
    role, assignee = chosen.cleaned_data["role"], chosen.cleaned_data["assignee"]
    tasks = left_open_tasks(patients, role=role, assignee=assignee)
    zone = user.unit.zone
    if wants_csv(request):
        return csv_download(
            request,
            what="board-left-open",
            header=[f"Due ({zone.key})", "Task", "Item", "Role", "Assigned to", "Patient", "MRN", "Event"],
            rows=[
                [local(t.due_at, zone), t.text, _weight(t), t.get_role_display(), t.assignee or "unclaimed"]
                + [f"{t.patient.family_name}, {t.patient.given_name}", t.patient.mrn, t.event.label]
                for t in tasks
            ],
            patient_ids=[task.patient_id for task in tasks],
            filters=LeftOpenListFilter.base_fields,
        )
    patient_url, event_url, close_url = UrlForPk("patient_detail"), UrlForPk("event_detail"), UrlForPk("task_close")
    back = reverse("board")  # closed from a list opened in place or on its own page: back to the board
    for task in tasks:  # what the rows show, as text: a template writes it fastest
        task.due_text = local_time_text(task.due_at, zone)
        task.patient_url, task.event_url = patient_url(task.patient_id), event_url(task.event_id)
        task.close_url = f"{close_url(task.pk)}?next={back}"
    shows(request, patients=sorted({task.patient_id for task in tasks}))
    context = {"unit": user.unit, "tasks": tasks, **_whose(tasks, role, assignee, user), "limit": LEFT_OPEN_LIMIT}
    page = "partials/board_left_open_list.html" if request.htmx else "board_left_open.html"
    return render(request, f"coordination/worklist/{page}", context)


class NotReadyListFilter(forms.Form):
    """Which of the board's windows of hours ahead (BLOCKED_WINDOWS, by its place)."""

    window = forms.TypedChoiceField(
        choices=[(str(place), str(place)) for place in range(len(BLOCKED_WINDOWS))],
        coerce=int,
        required=False,
        empty_value=None,
    )


@logs_read("coordination.board_not_ready")
def board_not_ready(request):
    """The events of the coordinator's unit starting within one window of the board's hours ahead
    (all of them without one: past their time, still planned, and the next BLOCKED_HOURS) that are
    not ready with their work open, with what
    blocks each by role: opened in place from the board's summary (htmx), or as a page of its own
    without JavaScript."""
    user = request.user
    patients = _unit_patients(user)
    chosen = NotReadyListFilter(request.GET)
    if not chosen.is_valid():
        raise Http404("No such list of events.")
    place = chosen.cleaned_data["window"]
    start, end = BLOCKED_WINDOWS[place] if place is not None else (None, BLOCKED_HOURS)
    now = timezone.now()
    events = blocked_events(patients, now=now, start_hours=start, end_hours=end)
    zone = user.unit.zone
    if wants_csv(request):
        return csv_download(
            request,
            what="board-not-ready",
            header=[f"When ({zone.key})", "Patient", "MRN", "Event", "What blocks it"],
            rows=[
                [local(e.planned_at, zone), f"{e.patient.family_name}, {e.patient.given_name}", e.patient.mrn]
                + [e.label, "; ".join(f"{b['role']}: {b['count']} ({', '.join(b['texts'])})" for b in e.blocking)]
                for e in events
            ],
            patient_ids=[event.patient_id for event in events],
            filters=NotReadyListFilter.base_fields,
        )
    patient_url, event_url = UrlForPk("patient_detail"), UrlForPk("event_detail")
    for event in events:  # what the rows show, as text: a template writes it fastest
        event.when_text = local_time_text(event.planned_at, zone, separator=" ")
        event.url, event.patient_url = event_url(event.pk), patient_url(event.patient_id)
    shows(request, patients=sorted({event.patient_id for event in events}))
    context = {"unit": user.unit, "events": events, "window": BlockedWindow(place, start, end)}
    page = "partials/board_not_ready_list.html" if request.htmx else "board_not_ready.html"
    return render(request, f"coordination/worklist/{page}", context)
