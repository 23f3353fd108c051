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
