"""Every model of the coordination app, from its packages (each keeps its own models.py);
Django finds them all through this module."""

from .feeds.models import FeedKey
from .fhir.models import ServedVersion
from .handoffs.models import Handoff, HandoffAction, HandoffActivity, HandoffComment, HandoffUnitRule
from .reminders.models import Notification, Reminder, ReminderPreference, ReminderRule, TaskSnooze
from .watch.models import OnCallShift, ToxicityAlert, ToxicityAlertGrant, WatchUnitRule

__all__ = [
    "FeedKey",
    "Handoff",
    "HandoffAction",
    "HandoffActivity",
    "HandoffComment",
    "HandoffUnitRule",
    "Notification",
    "Reminder",
    "ReminderPreference",
    "ReminderRule",
    "ServedVersion",
    "TaskSnooze",
    "OnCallShift",
    "ToxicityAlert",
    "ToxicityAlertGrant",
    "WatchUnitRule",
]
