"""The calendar feeds (reached by the secret in their URL, no sign-in), the renewal of their
links, and their section of the Security page."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.audit import audit_record
from accounts.models import AuditEvent

from .calendars import MY_WORK_AHEAD, MY_WORK_BEFORE, UNIT_AHEAD, my_work_calendar, unit_week_calendar
from .models import FeedKey
from .policy import MY_WORK, UNIT_WEEK, can_read, feeds_for
from .services import feed_key_for_secret, feed_key_renew, feed_secret

CALENDARS = {MY_WORK: my_work_calendar, UNIT_WEEK: unit_week_calendar}
NOT_VALID = (
    "This calendar link is not valid: it was renewed, or never existed. "
    "Copy the current link from your Security page.\n"
)


def _feed(request, secret: str, feed: str) -> HttpResponse:
    key = feed_key_for_secret(secret)
    if key is None:
        return HttpResponse(NOT_VALID, status=404, content_type="text/plain; charset=utf-8")
    decision = can_read(key, feed)
    if not decision:
        return HttpResponse(decision.reason + "\n", status=403, content_type="text/plain; charset=utf-8")
    body, patient_ids = CALENDARS[feed](key.user, absolute=request.build_absolute_uri)
    audit_record(
        action=AuditEvent.Action.VIEW,
        object_type=f"coordination.feed_{feed.replace('-', '_')}",
        detail={"patients": patient_ids},
        actor=key.user,
        request=request,
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    if request.method == "HEAD":  # a calendar app checking the feed: the GET's headers, no body
        response["Content-Length"] = str(len(body))
        response.content = b""
    response["Content-Disposition"] = f'inline; filename="{feed}.ics"'
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@require_safe
def my_work_feed(request, secret: str):
    return _feed(request, secret, MY_WORK)


@login_not_required
@require_safe
def unit_feed(request, secret: str):
    return _feed(request, secret, UNIT_WEEK)


class RenewForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that the calendars subscribed to the old links stop updating.", required=True
    )


@require_POST
def feed_renew(request):
    """Make the user's calendar links, or renew them (the old ones stop working at once)."""
    renewing = FeedKey.objects.filter(user=request.user).exists()
    if not feeds_for(request.user):
        messages.error(request, "Your role has no calendar to subscribe to.")
    elif renewing and not RenewForm(request.POST).is_valid():
        messages.error(request, "Tick the box to confirm the renewal: the old links stop working.")
    else:
        feed_key_renew(actor=request.user, second_step_passed=request.user.is_verified())
        messages.success(
            request,
            "New calendar links made: the old ones no longer work." if renewing else "Your calendar links are ready.",
        )
    return redirect(f"{reverse('security')}#calendar-feeds")


def security_section(request) -> str:
    """The "Calendar feeds" section of the Security page (registered in CoordinationConfig.ready)."""
    user = request.user
    feeds = feeds_for(user)
    if not feeds:
        return ""
    key = FeedKey.objects.filter(user=user).first()
    links = []
    if key is not None:
        secret = feed_secret(key)
        names = {
            MY_WORK: (
                "My due work",
                "feed_my_work",
                f"Your open tasks, your role's open tasks on your care teams and your handoff tasks, due "
                f"from {MY_WORK_BEFORE.days} days ago (overdue) to {MY_WORK_AHEAD.days} days ahead: "
                "the kind of event, how many tasks and the patient's initials, never their wording.",
            ),
            UNIT_WEEK: (
                f"{user.unit}: next {UNIT_AHEAD.days} days",
                "feed_unit",
                f"The care events planned on your unit in the next {UNIT_AHEAD.days} days.",
            ),
        }
        links = [
            {
                "label": names[feed][0],
                "url": request.build_absolute_uri(reverse(names[feed][1], args=[secret])),
                "what": names[feed][2],
            }
            for feed in feeds
        ]
    context = {"key": key, "links": links, "form": RenewForm()}
    return render_to_string("coordination/feeds/security_section.html", context, request)
