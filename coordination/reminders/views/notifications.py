"""The bell: the notifications page, marking them read, and the bell's partial."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.audit import logs_read, shows

from ..selectors import notifications_of
from ..services import notifications_mark_read, notifications_retire_unseeable


@logs_read("coordination.notifications")
def notification_list(request):
    notifications_retire_unseeable(recipient=request.user)  # the bell then counts what the list shows
    notifications = list(notifications_of(request.user))
    # Their titles name patients (name, MRN, a grade of CRS): the page is a read of those patients.
    shows(request, patients=sorted({n.patient_id for n in notifications} - {None}))
    return render(request, "coordination/reminders/notifications.html", {"notifications": notifications})


@require_POST
def notifications_read(request):
    notifications_mark_read(recipient=request.user)
    return redirect("notifications")


def notification_bell(request):
    """The bell's partial: polled by htmx so new reminders show without a reload. A count names
    nobody: no read to log, and the poll stays one cheap query."""
    return render(request, "coordination/reminders/partials/bell.html")
