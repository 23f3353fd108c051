"""Moving a handoff along: send, cancel (sending side); acknowledge, accept, return, complete and
the actions (receiving side); comment, flag and sign off (the sending unit's coordinator).

With htmx each answers with the handoff's card (handoffs/partials/card.html), re-rendered in place
with the outcome; without JavaScript it goes back to the handoff page with a message, or shows the
page again when a form has errors (coordination.htmx.act). A refusal (not allowed, somebody else
was first) is said in words; a form's error shows at its field.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.audit import get_or_404_audited

from ...htmx import Leave, act, calling
from .. import services
from ..forms import AcceptForm, CancelForm, CommentForm, CompleteForm, FlagForm, ReturnForm
from ..models import HandoffAction
from ..policy import HandoffConflict
from ..selectors import get_handoff_for_user, handoffs_visible_to
from .pages import NOT_SENT, card_context, render_detail


def _act(request, handoff, run, *, form=None, slot: str = ""):
    """Run a step of the handoff. `form`: the submitted form of the card's `slot` (accept, return,
    comment…), shown again with its errors at its field."""

    def kept(outcome):  # after a success the card offers fresh forms
        return {slot: form} if form is not None and not outcome.notice else None

    def card(outcome):
        with timezone.override(handoff.patient.unit.zone):
            context = card_context(request, handoff, forms=kept(outcome), error=outcome.error, notice=outcome.notice)
            return render(request, "coordination/handoffs/partials/card.html", context)

    return act(
        request,
        run,
        form=form,
        partial=card,
        page=lambda outcome: render_detail(request, handoff, forms=kept(outcome), error=outcome.error),
        back=reverse("handoff_detail", args=[handoff.pk]),
        trigger="handoffChanged",
        conflicts=(HandoffConflict,),
    )


def _with_form(request, pk, form_class, slot: str, step, notice: str):
    """A step that takes a form: `step(handoff, cleaned_data)` calls the service."""
    handoff = get_handoff_for_user(request.user, pk)
    form = form_class(request.POST)

    def run():
        step(handoff, form.cleaned_data)
        return notice

    return _act(request, handoff, run, form=form, slot=slot)


# --- the sending side ----------------------------------------------------------------------------


@require_POST
def handoff_send(request, pk):
    handoff = get_handoff_for_user(request.user, pk)

    def run():
        try:
            services.handoff_send(handoff=handoff, actor=request.user)
        except ValidationError as refused:  # what it still needs: the card's list, said once (pages.NOT_SENT)
            raise ValidationError(NOT_SENT) from refused
        return f"Sent to {handoff.to_unit}. They see the patient from now on."

    return _act(request, handoff, run)


@require_POST
def handoff_cancel(request, pk):
    return _with_form(
        request,
        pk,
        CancelForm,
        "cancel",
        lambda h, data: services.handoff_cancel(handoff=h, actor=request.user, reason=data["reason"]),
        "The handoff is cancelled; the receiving unit no longer sees the patient.",
    )


# --- the receiving side --------------------------------------------------------------------------


@require_POST
def handoff_acknowledge(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    notice = "Receipt acknowledged. Read it through, then accept it or return it."
    return _act(request, handoff, calling(services.handoff_acknowledge, notice, handoff=handoff, actor=request.user))


@require_POST
def handoff_accept(request, pk):
    return _with_form(
        request,
        pk,
        AcceptForm,
        "accept",
        lambda h, data: services.handoff_accept(handoff=h, actor=request.user, synthesis=data["synthesis"]),
        "Accepted: the actions are now your unit's tasks.",
    )


@require_POST
def handoff_return(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    form = ReturnForm(request.POST)

    def run():
        services.handoff_return(handoff=handoff, actor=request.user, reason=form.cleaned_data["reason"])
        notice = "Returned to the sender with your reason; your unit no longer sees the patient."
        if handoffs_visible_to(request.user).filter(pk=handoff.pk).exists():
            return notice
        return Leave(notice, reverse("handoff_list"))

    return _act(request, handoff, run, form=form, slot="return")


@require_POST
def handoff_complete(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    with timezone.override(handoff.patient.unit.zone):
        form = CompleteForm(request.POST)
        form.is_valid()  # the first visit's time is read on the unit's clock

    def run():
        done = services.handoff_complete(
            handoff=handoff, actor=request.user, first_visit_at=form.cleaned_data["first_visit_at"]
        )
        hours = services.access_hours_after_completion()
        ends_at = done.access_grant.ends_at if done.access_grant else None
        if ends_at and ends_at > timezone.now() + dt.timedelta(hours=hours, minutes=1):  # infusion or tasks go on
            return (
                "Completed: first home visit recorded. Your unit sees the patient while the infusion runs at "
                f"home and its handoff tasks are open, and {hours} hours after: until "
                f"{done.local_time(ends_at)} as planned now."
            )
        return f"Completed: first home visit recorded. Your unit sees the patient for {hours} more hours."

    return _act(request, handoff, run, form=form, slot="complete")


@require_POST
def handoff_action_done(request, pk):
    visible = HandoffAction.objects.filter(handoff__in=handoffs_visible_to(request.user))
    action = get_or_404_audited(visible.select_related("handoff"), pk, object_type="coordination.handoffaction")
    handoff = get_handoff_for_user(request.user, action.handoff_id)
    notice = f"Done: {action.text}"
    return _act(request, handoff, calling(services.handoff_action_complete, notice, action=action, actor=request.user))


# --- the coordinator's review --------------------------------------------------------------------


@require_POST
def handoff_comment(request, pk):
    return _with_form(
        request,
        pk,
        CommentForm,
        "comment",
        lambda h, data: services.handoff_comment(
            handoff=h, actor=request.user, text=data["text"], submission=data["submission"]
        ),
        "Comment added.",
    )


@require_POST
def handoff_flag(request, pk):
    if request.POST.get("unflag"):
        handoff = get_handoff_for_user(request.user, pk)
        unflag = calling(services.handoff_flag, "Flag removed.", handoff=handoff, actor=request.user, flagged=False)
        return _act(request, handoff, unflag)
    return _with_form(
        request,
        pk,
        FlagForm,
        "flag",
        lambda h, data: services.handoff_flag(handoff=h, actor=request.user, flagged=True, reason=data["reason"]),
        "Flagged for attention.",
    )


@require_POST
def handoff_sign_off(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    return _act(
        request, handoff, calling(services.handoff_sign_off, "Signed off.", handoff=handoff, actor=request.user)
    )
