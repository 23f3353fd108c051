"""The reminder tests' shared data and look-ups: the event's time and checklist, the ledger's rows.

The fixtures built on them (the cast, the event, `run`) are in conftest.py.
"""

import datetime as dt

from accounts.models import Role
from checklists.models import Task
from coordination.models import Reminder

UTC = dt.UTC
# 09:00 in New York (the test ward's zone) on a winter day: EST, UTC-5.
EVENT_AT = dt.datetime(2026, 1, 14, 14, 0, tzinfo=UTC)
Kind = Reminder.Kind
ITEMS = [
    {"text": "Pump programmed and locked"},  # nurse, due at the event
    {"text": "Order verified", "role": "pharmacist", "due_offset_minutes": -60},
    {"text": "Clear to start", "role": "oncologist", "response_kind": "attestation", "due_offset_minutes": -30},
    {
        "text": "Temperature",
        "response_kind": "number",
        "unit": "°C",
        "min_value": 35,
        "max_value": 38,
        "hard_stop": True,
        "due_offset_minutes": -15,
    },
]


def task(event, text) -> Task:
    return Task.objects.get(event=event, text=text)


def reminders(**filters):
    return list(Reminder.objects.filter(**filters).order_by("pk"))


def recipients(kind, **filters) -> set[str]:
    return {r.recipient.username for r in Reminder.objects.filter(kind=kind, **filters).select_related("recipient")}


# Due-soon and overdue reminders of a task nobody would do (nobody on the care team in its role,
# nobody holding it, a unit without a coordinator) went to nobody; now, as an escalation does
# (rules.People.fallback), to the patient's oncologists, else the whole care team, with why.

TO_ONCOLOGISTS = (
    "nobody on the care team does this task's role and the unit has no coordinator: to the patient's oncologists"
)
TO_TEAM = (
    "nobody on the care team does this task's role and the unit has no coordinator nor the patient an "
    "oncologist: to the care team"
)


def _no_coordinator(cast) -> None:
    cast["coord"].is_active = False
    cast["coord"].save()


def _leave(how: str, user, patient, coordinator) -> None:
    """The ways someone stops doing a patient's work while still the assignee of a task."""
    from accounts.services import user_deactivate
    from patients.models import CareTeamMember
    from patients.services.team import care_team_remove

    if how == "taken off the care team":
        care_team_remove(member=CareTeamMember.objects.get(patient=patient, user=user), actor=coordinator)
    elif how == "deactivated":
        user_deactivate(user=user, actor=None)
    else:  # given another role: not the team's nurse any more (CareTeamMemberQuerySet.in_current_role)
        user.role = Role.CASE_MANAGER
        user.save(update_fields=["role"])
