from collections import defaultdict

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from accounts.audit import logs_read, shows
from accounts.permissions import require
from patients.models import Patient

from ...handoffs.selectors import handoffs_waiting
from ...watch.selectors import unit_open_alerts, unit_watch_warnings
from ..policy import VIEW_BOARD
from ..selectors import OVERRIDES_SHOWN_DAYS, board_events, overdue_tasks, recent_overrides
from ..task_view import UrlForPk, decorate, team_roles


@logs_read("coordination.board")
def coordinator_board(request):
    user = request.user
    require(user, VIEW_BOARD)
    if user.unit_id is None:
        raise PermissionDenied("The board shows a unit: ask an administrator to set yours.")
    now = timezone.now()
    patients = Patient.objects.visible_to(user).filter(unit_id=user.unit_id)
    overdue = decorate(overdue_tasks(patients, now=now), user, team_roles(user), now)
    patient_url, reassign_url = UrlForPk("patient_detail"), UrlForPk("task_reassign")
    by_role = defaultdict(lambda: defaultdict(list))
    for task in overdue:
        task.patient_url, task.reassign_url = patient_url(task.patient_id), reassign_url(task.pk)
        by_role[task.get_role_display()][str(task.assignee) if task.assignee else "Unclaimed (pool)"].append(task)
    blocked, waiting = board_events(patients, now=now), handoffs_waiting(user.unit_id, now=now)
    alerts = unit_open_alerts(user.unit_id)
    overrides = recent_overrides(patients, now=now)
    shown = {row.patient_id for rows in (blocked, overdue, waiting, alerts) for row in rows}
    shown |= {checklist.event.patient_id for checklist in overrides}
    shows(request, patients=sorted(shown))
    context = {
        "unit": user.unit,
        "blocked_events": blocked,
        "overdue_by_role": {role: dict(people) for role, people in by_role.items()},
        "overdue_count": len(overdue),
        "waiting_handoffs": waiting,
        "open_alerts": alerts,
        "watch_warnings": unit_watch_warnings(user.unit, now=now),
        "overrides": overrides,
        "override_days": OVERRIDES_SHOWN_DAYS,
        "now": now,
    }
    return render(request, "coordination/worklist/board.html", context)
