"""Who may snooze a task's reminders (and end the snooze), in one place.

The reminders' services enforce it; the event's reminders panel and the task rows call it to
decide whether to offer a snooze. Who does a task, and who coordinates its unit, are the task
policy's words (checklists.policy), read from there.
"""

from accounts.models import Role, User
from accounts.permissions import ADMIN, Ability, can
from accounts.policy import ALLOWED, Decision, refuse
from checklists.models import Task
from checklists.policy import WORK_TASKS, TeamRoles, invalid, is_assignee, is_unit_coordinator, on_care_team

READ_REMINDER_LEDGER = Ability("read_reminder_ledger", "read the reminder ledger", frozenset({ADMIN}))


# A task left open when its event was done or missed gets no more reminders (checklists.models.LEFT_OPEN): a
# snooze would hold nothing, and would read as if reminders were still coming.
LEFT_OPEN = invalid(
    "This task was left open when its event was done or missed: it gets no more reminders to snooze. "
    "Close it instead (done late, or not done).",
    "until",
)


def can_snooze(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """Whoever does the task (its assignee, a care-team member of its role) or the coordinator
    of the patient's unit, while the task is open and still reminded of (not left open when its
    event was done or missed). The task comes with its event (`is_left_open` reads it)."""
    decision = can_end_snooze(user, task, roles=roles)
    if decision and task.is_left_open:
        return LEFT_OPEN
    return decision


def can_end_snooze(user, task: Task, *, roles: TeamRoles | None = None) -> Decision:
    """Who may snooze, while the task is open, left open when its event was done or not: ending a
    snooze holds nothing back, and a left-open task's live snooze would still read as if reminders
    were coming after it."""
    does_it = can(user, WORK_TASKS) and (
        is_assignee(user, task) or on_care_team(user, task.patient_id, task.role, roles=roles)
    )
    if not (does_it or is_unit_coordinator(user, task)):
        return refuse("Only the people doing this task, or the unit's coordinator, may snooze its reminders.")
    if task.status != Task.Status.OPEN:
        return invalid(f"The task is {task.get_status_display().lower()}: it has no reminders left.", "until")
    return ALLOWED


def hard_stop_recipients(patient, actor) -> list[int]:
    """Who hears at once that a hard stop failed on this patient: the oncologists of the care team
    (who may override the gate or change the plan; oncologists still, and active: a deactivated
    one cannot sign in to act), the one who recorded it aside; with none on the team, the
    coordinators of the patient's unit."""
    oncologists = list(
        patient.care_team.in_current_role()
        .filter(role=Role.ONCOLOGIST, user__is_active=True)
        .exclude(user_id=getattr(actor, "pk", None))
        .values_list("user_id", flat=True)
    )
    if oncologists:
        return oncologists
    return list(
        User.objects.filter(role=Role.COORDINATOR, is_active=True, unit_id=patient.unit_id).values_list("pk", flat=True)
    )
