"""The bell: the notifications page, marking them read, and the bell's partial."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..selectors import notifications_of
from ..services import notifications_mark_read, notifications_retire_unseeable


def notification_list(request):
    notifications_retire_unseeable(recipient=request.user)  # the bell then counts what the list shows
    return render(
        request, "coordination/reminders/notifications.html", {"notifications": notifications_of(request.user)}
    )


@require_POST
def notifications_read(request):
    notifications_mark_read(recipient=request.user)
    return redirect("notifications")


def notification_bell(request):
    """The bell's partial: polled by htmx so new reminders show without a reload."""
    return render(request, "coordination/reminders/partials/bell.html")
