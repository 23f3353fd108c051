from .models import Notification


def notifications(request):
    """The unread count for the bell in the navigation: one indexed count per page."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    return {"unread_notifications": Notification.objects.filter(recipient=user, read_at__isnull=True).count()}
