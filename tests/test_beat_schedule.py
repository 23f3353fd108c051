"""`celery -A config beat` (../shared/DESIGN.md, "Contracts"): every entry of the schedule names a
task the worker knows (a misspelt name is sent, and dropped, every time, with nothing failing), at
the cadence the README gives it."""

from django.conf import settings

from config.celery import app

# README: reminders and escalations ("every minute"), the alerts ("alerts-escalate, every minute"),
# events settled every EVENT_SETTLE_MINUTES (15), the audit seal every AUDIT_SEAL_SECONDS (5), and the
# notifications of patients no longer seen every NOTIFICATION_RETIRE_MINUTES (15).
CADENCE = {
    "reminders-sweep": ("coordination.reminders_sweep", 60),
    "alerts-escalate": ("coordination.alerts_escalate", 60),
    "events-settle": ("checklists.events_settle", 15 * 60),
    "audit-seal": ("accounts.audit_seal", 5),
    "notifications-retire": ("coordination.notifications_retire", 15 * 60),
}


def test_every_beat_entry_names_a_task_that_the_worker_knows():
    app.loader.import_default_modules()
    unknown = {
        name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if entry["task"] not in app.tasks
    }
    assert unknown == {}


def test_the_beat_schedule_runs_each_sweep_at_its_documented_cadence():
    schedule = {name: (entry["task"], entry["schedule"]) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
    assert schedule == CADENCE


def test_a_beat_message_that_waited_past_its_next_run_expires():
    # A queue that held a sweep for longer than its interval drops it: the next one does its work.
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert 0 < entry["options"]["expires"] <= entry["schedule"], name
