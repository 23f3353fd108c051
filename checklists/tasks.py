"""The checklists app's Celery task: past events get their outcome (checklists.services.events_settle)."""

from celery import shared_task

from .services import events_settle as settle


@shared_task(name="checklists.events_settle", soft_time_limit=50, time_limit=58, ignore_result=True)
def events_settle() -> None:
    settle()
