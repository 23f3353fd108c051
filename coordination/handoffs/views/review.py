"""The coordinator's review queue: the unit's handoffs by status and age, overdue acknowledgements
first, with their turnaround (sent → acknowledged, sent → accepted)."""

from django.shortcuts import render
from django.utils import timezone

from accounts.audit import logs_read, shows

from ...exports import wants_csv
from .. import policy
from ..forms import ReviewFilterForm
from ..models import Handoff
from ..selectors import handoff_review_queue
from .export import handoffs_csv

WAITING = [Handoff.Status.SENT, Handoff.Status.ACKNOWLEDGED]


@logs_read("coordination.handoff_review")
def handoff_review(request):
    user = request.user
    policy.can_review(user).enforce()
    now = timezone.now()
    form = ReviewFilterForm(request.GET or None)
    status, flagged = "", False
    if form.is_valid():
        status, flagged = form.cleaned_data["status"], form.cleaned_data["flagged"]
    statuses = WAITING if status in ("waiting", "overdue") else ([status] if status else None)
    handoffs = handoff_review_queue(user.unit_id, now=now, statuses=statuses, flagged_only=flagged)
    if status == "overdue":
        handoffs = [h for h in handoffs if h.acknowledgement_overdue(now)]
    if wants_csv(request):
        return handoffs_csv(
            request,
            "handoff-review",
            [("outgoing", h) for h in handoffs],
            zone=user.unit.zone,
            now=now,
            filters=ReviewFilterForm.base_fields,
        )
    shows(request, handoffs=[h.pk for h in handoffs])
    context = {
        "unit": user.unit,
        "form": form,
        "handoffs": handoffs,
        "overdue_count": sum(h.acknowledgement_overdue(now) for h in handoffs),
        "now": now,
    }
    return render(request, "coordination/handoffs/review.html", context)
