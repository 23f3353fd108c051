"""The accounts app's Celery task: sealing the audit log (accounts.audit_seal)."""

from celery import shared_task

from .audit_seal import audit_seal as seal


@shared_task(name="accounts.audit_seal", soft_time_limit=50, time_limit=58, ignore_result=True)
def audit_seal() -> None:
    seal()
