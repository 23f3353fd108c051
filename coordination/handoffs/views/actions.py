"""Moving a handoff along: send, cancel (sending side); acknowledge, accept, return, complete and
the actions (receiving side); comment, flag and sign off (the sending unit's coordinator).

With htmx each answers with the handoff's card (handoffs/partials/card.html), re-rendered in place
with the outcome; without JavaScript it goes back to the handoff page with a message. A refusal
(not allowed, somebody else was first) is said in words; a form's error shows at its field.
"""

from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.audit import get_or_404_audited

from .. import services
from ..forms import AcceptForm, CancelForm, CommentForm, CompleteForm, FlagForm, ReturnForm
from ..models import HandoffAction
from ..policy import HandoffConflict
from ..selectors import get_handoff_for_user, handoffs_visible_to
from .pages import card_context, render_detail

REFUSALS = (HandoffConflict, PermissionDenied)


def _card(request, handoff, **kwargs):
    with timezone.override(handoff.patient.unit.zone):
        response = render(request, "coordination/handoffs/partials/card.html", card_context(request, handoff, **kwargs))
    if kwargs.get("notice"):
        response["HX-Trigger"] = "handoffChanged"
    return response


def _respond(request, handoff, *, notice: str = "", error: str = "", forms=None, gone: bool = False):
    """The card again (htmx), or the page with a message; `gone`: the user no longer sees it."""
    if gone:
        messages.success(request, notice)
        if request.htmx:
            response = render(request, "coordination/handoffs/partials/gone.html", {"notice": notice})
            response["HX-Redirect"] = reverse("handoff_list")
            return response
        return redirect("handoff_list")
    if request.htmx:
        return _card(request, handoff, notice=notice, error=error, forms=forms)
    if forms and any(form.errors for form in forms.values()):
        return render_detail(request, handoff, forms=forms, error=error)
    if error:
        messages.error(request, error)
    elif notice:
        messages.success(request, notice)
    return redirect("handoff_detail", pk=handoff.pk)


def _run(request, handoff, action, notice: str, *, forms=None, field: str | None = None, gone=None):
    """Call the service; a ValidationError goes to `field` of the one form in `forms` when it
    names it, otherwise it is said at the top of the card."""
    try:
        action()
    except REFUSALS as refusal:
        return _respond(request, handoff, error=str(refusal) or "You may not do this.", forms=forms)
    except ValidationError as invalid:
        if forms and field:
            form = next(iter(forms.values()))
            messages_ = invalid.message_dict.get(field) if hasattr(invalid, "error_dict") else None
            if messages_:
                form.add_error(field, messages_)
                return _respond(request, handoff, forms=forms)
        return _respond(request, handoff, error=" ".join(invalid.messages), forms=forms)
    return _respond(request, handoff, notice=notice, gone=bool(gone and gone()))


def _with_form(request, pk, form_class, slot: str, make_action, notice: str, *, field: str, gone=None):
    handoff = get_handoff_for_user(request.user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _respond(request, handoff, forms={slot: form})
    return _run(
        request,
        handoff,
        make_action(handoff, form.cleaned_data),
        notice,
        forms={slot: form},
        field=field,
        gone=gone and partial(gone, request.user, handoff),
    )


def _no_longer_visible(user, handoff) -> bool:
    return not handoffs_visible_to(user).filter(pk=handoff.pk).exists()


# --- the sending side ----------------------------------------------------------------------------


@require_POST
def handoff_send(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    action = partial(services.handoff_send, handoff=handoff, actor=request.user)
    return _run(request, handoff, action, f"Sent to {handoff.to_unit}. They see the patient from now on.")


@require_POST
def handoff_cancel(request, pk):
    return _with_form(
        request,
        pk,
        CancelForm,
        "cancel",
        lambda h, data: partial(services.handoff_cancel, handoff=h, actor=request.user, reason=data["reason"]),
        "The handoff is cancelled; the receiving unit no longer sees the patient.",
        field="reason",
    )


# --- the receiving side --------------------------------------------------------------------------


@require_POST
def handoff_acknowledge(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    action = partial(services.handoff_acknowledge, handoff=handoff, actor=request.user)
    return _run(request, handoff, action, "Receipt acknowledged. Read it through, then accept it or return it.")


@require_POST
def handoff_accept(request, pk):
    return _with_form(
        request,
        pk,
        AcceptForm,
        "accept",
        lambda h, data: partial(services.handoff_accept, handoff=h, actor=request.user, synthesis=data["synthesis"]),
        "Accepted: the actions are now your unit's tasks.",
        field="synthesis",
    )


@require_POST
def handoff_return(request, pk):
    return _with_form(
        request,
        pk,
        ReturnForm,
        "return",
        lambda h, data: partial(services.handoff_return, handoff=h, actor=request.user, reason=data["reason"]),
        "Returned to the sender with your reason; your unit no longer sees the patient.",
        field="reason",
        gone=_no_longer_visible,
    )


@require_POST
def handoff_complete(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    with timezone.override(handoff.patient.unit.zone):
        form = CompleteForm(request.POST)
        valid = form.is_valid()
    if not valid:
        return _respond(request, handoff, forms={"complete": form})
    hours = services.access_hours_after_completion()
    action = partial(
        services.handoff_complete,
        handoff=handoff,
        actor=request.user,
        first_visit_at=form.cleaned_data["first_visit_at"],
    )
    notice = f"Completed: first home visit recorded. Your unit sees the patient for {hours} more hours."
    return _run(request, handoff, action, notice, forms={"complete": form}, field="first_visit_at")


@require_POST
def handoff_action_done(request, pk):
    visible = HandoffAction.objects.filter(handoff__in=handoffs_visible_to(request.user))
    action = get_or_404_audited(visible.select_related("handoff"), pk, object_type="coordination.handoffaction")
    handoff = get_handoff_for_user(request.user, action.handoff_id)
    done = partial(services.handoff_action_complete, action=action, actor=request.user)
    return _run(request, handoff, done, f"Done: {action.text}")


# --- the coordinator's review --------------------------------------------------------------------


@require_POST
def handoff_comment(request, pk):
    return _with_form(
        request,
        pk,
        CommentForm,
        "comment",
        lambda h, data: partial(services.handoff_comment, handoff=h, actor=request.user, text=data["text"]),
        "Comment added.",
        field="text",
    )


@require_POST
def handoff_flag(request, pk):
    if request.POST.get("unflag"):
        handoff = get_handoff_for_user(request.user, pk)
        action = partial(services.handoff_flag, handoff=handoff, actor=request.user, flagged=False)
        return _run(request, handoff, action, "Flag removed.")
    return _with_form(
        request,
        pk,
        FlagForm,
        "flag",
        lambda h, data: partial(
            services.handoff_flag, handoff=h, actor=request.user, flagged=True, reason=data["reason"]
        ),
        "Flagged for attention.",
        field="reason",
    )


@require_POST
def handoff_sign_off(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    action = partial(services.handoff_sign_off, handoff=handoff, actor=request.user)
    return _run(request, handoff, action, "Signed off.")
