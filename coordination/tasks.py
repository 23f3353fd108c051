"""Celery tasks of the coordination layer: thin, ids in (JSON), one service call each.

The reminder tasks are enqueued after a commit: beat sends the sweep, and the sweep hands reminder ids to
delivery with `transaction.on_commit` (coordination.reminders.sweep.dispatch).
"""

from celery import shared_task

from .reminders.delivery import reminders_deliver as deliver
from .reminders.services import notifications_retire_unseeable as retire_unseeable
from .reminders.sweep import reminders_sweep as sweep
from .watch.services import alerts_escalate as escalate


@shared_task(name="coordination.reminders_sweep", soft_time_limit=50, time_limit=58, ignore_result=True)
def reminders_sweep() -> None:
    """Every minute (CELERY_BEAT_SCHEDULE): write what is due, hand over what is unsent."""
    sweep()


@shared_task(
    name="coordination.reminders_deliver",
    # Acknowledged when done, and given back to the broker if the worker process dies: a
    # reminder is never dropped with a worker; delivery's claims make a second run harmless.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=150,
    ignore_result=True,
)
def reminders_deliver(reminder_ids: list[int]) -> None:
    deliver(ids=[int(pk) for pk in reminder_ids])


@shared_task(name="coordination.alerts_escalate", soft_time_limit=50, time_limit=58, ignore_result=True)
def alerts_escalate() -> None:
    """Every minute (CELERY_BEAT_SCHEDULE): urgent alerts not acknowledged in time go down the roster."""
    escalate()


@shared_task(name="coordination.notifications_retire", soft_time_limit=240, time_limit=280, ignore_result=True)
def notifications_retire() -> None:
    """Every NOTIFICATION_RETIRE_MINUTES (CELERY_BEAT_SCHEDULE): unread notifications of patients
    their recipients no longer see leave the bell's count."""
    retire_unseeable()
