"""Reminders and escalations (DESIGN.md: "The database is the source of truth for reminders").

- `rules`: what is due now and who hears about it (the unit's `ReminderRule`);
- `sweep`: run every minute by beat; writes `Reminder` rows and hands them to delivery after
  the commit, and hands over again what is left unsent;
- `delivery`: claims a batch under a row lock, checks that each reminder still matters, rings
  the bell, sends the other channels, records failures with retries and backoff;
- `channels`: the bell's companions (email; SMS or a pager would go here) and the email helper;
- `content`: what a reminder says, with the least patient information that works;
- `policy`: who may snooze a task's reminders;
- `services`: snoozing a task's reminders, each person's preferences.

The Celery tasks (`coordination.tasks`) only pass ids to `reminders_sweep` and `reminders_deliver`.
"""

from .delivery import DeliveryResult, reminders_deliver
from .policy import can_snooze
from .services import live_snooze, preference_for, reminder_preference_update, task_snooze, task_snooze_end
from .sweep import SweepResult, reminders_sweep

__all__ = [
    "DeliveryResult",
    "SweepResult",
    "can_snooze",
    "live_snooze",
    "preference_for",
    "reminder_preference_update",
    "reminders_deliver",
    "reminders_sweep",
    "task_snooze",
    "task_snooze_end",
]
