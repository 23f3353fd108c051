"""The coordination layer's models, one module per subject (the handoffs' in their package);
Django finds them all through this module."""

from ..handoffs.models import Handoff, HandoffAction, HandoffActivity, HandoffComment
from .notification import Notification
from .reminder import Reminder, ReminderPreference, ReminderRule, TaskSnooze

__all__ = [
    "Handoff",
    "HandoffAction",
    "HandoffActivity",
    "HandoffComment",
    "Notification",
    "Reminder",
    "ReminderPreference",
    "ReminderRule",
    "TaskSnooze",
]
