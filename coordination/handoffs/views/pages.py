"""Handoff pages: the list, preparing and editing (sending side), the handoff itself, its printout.

The handoff page's moving part (status, what the user may do, the actions, the review) is
handoffs/partials/card.html, which the actions of actions.py re-render in place. What a page
offers is what the policy (policy.py) allows: the same functions that the services enforce.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.audit import logs_read, shows
from checklists.gate import event_readiness
from patients.models import CareEvent
from patients.selectors import get_patient_for_user, sees_only_through_grant

from ...exports import wants_csv
from .. import policy, services
from ..forms import (
    AcceptForm,
    CancelForm,
    CommentForm,
    CompleteForm,
    FlagForm,
    HandoffForm,
    ReturnForm,
    action_formset,
    actions_initial,
    initial_for,
    suggested_actions,
)
from ..models import Handoff, HandoffActivity
from ..selectors import (
    events_awaiting_handoff,
    get_handoff_for_user,
    handoff_actions_for,
    handoff_bag_calendar,
    handoff_checklists,
    handoff_facts_changed,
    handoff_facts_printed,
    handoff_facts_shown,
    handoff_page,
    handoffs_incoming,
    handoffs_outgoing,
    whom_to_call,
)
from .export import handoffs_csv

# The review is the sending unit's business: the receiving unit does not see its flags.
REVIEW_ACTIVITIES = {HandoffActivity.Action.FLAG, HandoffActivity.Action.UNFLAG, HandoffActivity.Action.SIGN_OFF}


# --- the list ------------------------------------------------------------------------------------


@logs_read("coordination.handoff_list")
def handoff_list(request):
    """Incoming handoffs and their tasks for a receiving unit; outgoing ones for the sending side."""
    user = request.user
    incoming, outgoing, actions = handoffs_incoming(user), handoffs_outgoing(user), handoff_actions_for(user)
    zone = user.unit.time_zone if user.unit_id else settings.TIME_ZONE
    if wants_csv(request):
        rows = [("incoming", h) for h in incoming] + [("outgoing", h) for h in outgoing]
        return handoffs_csv(request, "handoff-list", rows, zone=ZoneInfo(zone), now=timezone.now())
    shows(
        request, handoffs=sorted({h.pk for h in incoming} | {h.pk for h in outgoing} | {a.handoff_id for a in actions})
    )
    context = {
        "incoming": incoming,
        "outgoing": outgoing,
        "actions": actions,
        "now": timezone.now(),
        "zone": zone,
        "can_review": policy.can_review(user),
    }
    return render(request, "coordination/handoffs/list.html", context)


# --- preparing and editing (the sending side) -------------------------------------------------


@logs_read("patients.patient")
def handoff_new(request, pk):
    patient = get_patient_for_user(request.user, pk)
    policy.can_prepare(request.user, patient).enforce()
    shows(request, patient_id=patient.pk)
    events = events_awaiting_handoff(patient)
    with timezone.override(patient.unit.zone):
        if request.method == "POST":
            form = HandoffForm(request.POST, patient=patient, events=events)
            formset = action_formset(request.POST)
            if form.is_valid() and formset.is_valid():
                try:
                    handoff = services.handoff_create(
                        event=form.cleaned_data["event"], content=form.content(formset.specs()), actor=request.user
                    )
                except ValidationError as invalid:
                    _errors_to_form(form, formset, invalid)
                else:
                    messages.success(
                        request, "The handoff is saved as a draft. Send it when the checklist is complete."
                    )
                    return redirect("handoff_detail", pk=handoff.pk)
        else:
            first = next((e for e in events if e.kind == CareEvent.Kind.DISCHARGE_HOME), None) or events.first()
            initial = {"contingency_plan": services.DEFAULT_CONTINGENCY, "event": first.pk if first else None}
            form = HandoffForm(initial=initial, patient=patient, events=events)
            formset = action_formset(initial=suggested_actions(first) if first else [])
        context = {"patient": patient, "form": form, "formset": formset, "has_events": events.exists()}
        return render(request, "coordination/handoffs/form.html", context)


@logs_read("coordination.handoff", page="edit")
def handoff_edit(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    shows(request, patient_id=handoff.patient_id)
    allowed = policy.can_edit(request.user, handoff)
    if isinstance(allowed, policy.Conflict):  # the sending side, but it has moved on
        messages.error(request, allowed.reason)
        return redirect("handoff_detail", pk=handoff.pk)
    allowed.enforce()
    patient = handoff.patient
    with timezone.override(patient.unit.zone):
        if request.method == "POST":
            form = HandoffForm(request.POST, patient=patient)
            formset = action_formset(request.POST)
            if form.is_valid() and formset.is_valid():
                try:
                    services.handoff_update(handoff=handoff, content=form.content(formset.specs()), actor=request.user)
                except policy.HandoffConflict as conflict:
                    messages.error(request, str(conflict))
                    return redirect("handoff_detail", pk=handoff.pk)
                except ValidationError as invalid:
                    _errors_to_form(form, formset, invalid)
                else:
                    messages.success(request, "The draft is saved.")
                    return redirect("handoff_detail", pk=handoff.pk)
        else:
            form = HandoffForm(initial=initial_for(handoff), patient=patient)
            formset = action_formset(initial=actions_initial(handoff))
        context = {"patient": patient, "handoff": handoff, "form": form, "formset": formset, "has_events": True}
        return render(request, "coordination/handoffs/form.html", context)


def _errors_to_form(form, formset, invalid: ValidationError) -> None:
    """The service's refusals, each at its field: an action's ("actions.<index>.<field>", the index
    among the actions given) at its row, the action list's at the top of the list."""
    if not hasattr(invalid, "error_dict"):
        form.add_error(None, invalid)
        return
    rows = [row for row in formset.forms if row.spec()]  # the actions as given to the service
    for name, errors in invalid.error_dict.items():
        _, index, field = name.split(".") if name.count(".") == 2 else ("", "", "")
        if index.isdecimal() and int(index) < len(rows) and field in rows[int(index)].fields:
            rows[int(index)].add_error(field, errors)
        elif name == "actions" or name.startswith("actions."):
            formset._non_form_errors = formset.error_class(
                [*formset.non_form_errors(), *[m for e in errors for m in e.messages]]
            )
        elif name in form.fields:
            form.add_error(name, errors)
        else:
            form.add_error(None, errors)


# --- the handoff itself --------------------------------------------------------------------------

# A send refused for what the handoff still needs: the refusal's sentences are the card's list
# under "Send to …" (services.send_blockers), so it is said once. In place (htmx) the list itself
# becomes the red alert; without JavaScript this message stands above the card and its list.
NOT_SENT = "Not sent yet: first see to what is listed below."


def card_context(request, handoff: Handoff, *, forms=None, error: str = "", notice: str = "") -> dict:
    """What the handoff page and its card show to this user: one place for both."""
    user = request.user
    handoff = handoff_page(handoff)
    sides = policy.Sides(user, handoff)
    offers = policy.handoff_offers(user, handoff, sides=sides)
    for action in handoff.actions.all():
        action.can_mark_done = decision = policy.can_mark_action_done(user, action, sides=sides)
        # Its owner is told when Done will be offered (not before the discharge, nor days early).
        waits = isinstance(decision, policy.Conflict) and action.status == action.Status.OPEN
        action.done_waits = decision.reason if waits else ""
    checklists = handoff_checklists(handoff)
    forms = forms or {}

    def form(name, cls, allowed):
        return (forms.get(name) or cls()) if allowed else None

    now = timezone.now()
    on_record = not sees_only_through_grant(user, handoff.patient)
    history = [a for a in handoff.activities.all() if on_record or a.action not in REVIEW_ACTIVITIES]
    facts, facts_live = handoff_facts_shown(handoff)
    changed = [] if facts_live else handoff_facts_changed(handoff)
    return {
        "handoff": handoff,
        "on_record": on_record,
        "history": history,
        "patient": handoff.patient,
        "now": now,
        "facts": facts,
        "facts_live": facts_live,
        "facts_changed": changed,
        "checklists": checklists,
        "readiness": event_readiness(checklists).with_clock(now) if checklists else None,
        "bag_calendar": handoff_bag_calendar(handoff),
        "overdue": handoff.acknowledgement_overdue(now),
        "can_edit": offers["edit"],
        "can_send": offers["send"],
        "send_blockers": services.send_blockers(handoff, checklists) if offers["send"] else [],
        "can_acknowledge": offers["acknowledge"],
        "accept_form": form("accept", AcceptForm, offers["accept"]),
        "return_form": form("return", ReturnForm, offers["return"]),
        # Not prefilled: the first visit's time is what the nurse says it was, never "now" by default.
        "complete_form": form("complete", CompleteForm, offers["complete"]),
        # What completing still waits for (the first home visit's action), said where it will be.
        "complete_waits": offers["complete"].reason
        if isinstance(offers["complete"], policy.Conflict) and handoff.status == Handoff.Status.ACCEPTED
        else "",
        "cancel_form": form("cancel", CancelForm, offers["cancel"]),
        "comment_form": form("comment", CommentForm, offers["comment"]),
        "flag_form": form("flag", FlagForm, offers["flag"]),
        "can_unflag": offers["unflag"],
        "can_sign_off": offers["sign_off"],
        "error": error,
        "send_refused": error == NOT_SENT,
        "notice": notice,
    }


@logs_read("coordination.handoff", page="detail")
def handoff_detail(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    shows(request, patient_id=handoff.patient_id)
    return render_detail(request, handoff)


def render_detail(request, handoff: Handoff, **kwargs):
    with timezone.override(handoff.patient.unit.zone):
        return render(request, "coordination/handoffs/detail.html", card_context(request, handoff, **kwargs))


@logs_read("coordination.handoff", page="print")
def handoff_print(request, pk):
    """The summary for the caregiver's folder: no internal comments, flags or review."""
    handoff = handoff_page(get_handoff_for_user(request.user, pk))
    shows(request, patient_id=handoff.patient_id)
    context = {
        "handoff": handoff,
        "patient": handoff.patient,
        # Whom to call is printed as the record says now (a number set or changed since sending),
        # not among the facts fixed at sending.
        "facts": [fact for fact in handoff_facts_printed(handoff) if fact[0] != "Contacts"],
        "whom_to_call": whom_to_call(handoff.patient),
        "bag_calendar": handoff_bag_calendar(handoff),
        "now": timezone.now(),
    }
    with timezone.override(handoff.patient.unit.zone):
        return render(request, "coordination/handoffs/print.html", context)
