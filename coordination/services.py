"""Domain operations of the coordination layer."""

from django.db import transaction
from django.utils import timezone

from .models import Notification


@transaction.atomic
def notifications_mark_read(*, recipient, ids=None, now=None) -> int:
    unread = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())


def on_course_stopped(*, course, reason: str, actor) -> None:
    """The patients layer's hook: tell the care team that a course stopped for good."""
    patient = course.patient
    who = actor.get_full_name() or actor.username if actor else "The system"
    Notification.objects.bulk_create(
        Notification(
            recipient_id=member.user_id,
            title=f"Course stopped for good: {patient.family_name}, {patient.given_name} ({patient.mrn})",
            body=f"{who}: {reason}. Future events and their open tasks are cancelled.",
            link=f"/patients/{patient.pk}/",
        )
        for member in patient.care_team.all()
        if member.user_id != getattr(actor, "pk", None)
    )
