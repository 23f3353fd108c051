from django.utils.functional import SimpleLazyObject

from .reminders.selectors import unread_count


def notifications(request):
    """The unread count for the bell in the navigation: one indexed count, made only by a
    template that shows the bell (full pages), not by the htmx fragments that most clicks return."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}
    # A kept page (worklist.page_cache) has read it already, in the statement of its key.
    if hasattr(request, "unread_notifications"):
        return {"unread_notifications": request.unread_notifications}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user))}
