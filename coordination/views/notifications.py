from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..models import Notification
from ..services import notifications_mark_read


def notification_list(request):
    notifications = Notification.objects.filter(recipient=request.user)[:100]
    return render(request, "coordination/notifications.html", {"notifications": notifications})


@require_POST
def notifications_read(request):
    notifications_mark_read(recipient=request.user)
    return redirect("notifications")


def notification_bell(request):
    """The bell's partial: polled by htmx so new reminders show without a reload."""
    return render(request, "coordination/partials/bell.html")
