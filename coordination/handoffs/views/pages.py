"""Handoff pages: the list, preparing and editing (sending side), the handoff itself, its printout.

The handoff page's moving part (status, what the user may do, the actions, the review) is
partials/handoff_card.html, which the actions of handoff_actions.py re-render in place.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent
from checklists.gate import event_readiness
from patients.models import CareEvent
from patients.selectors import get_patient_for_user, sees_only_through_grant

from .. import handoffs as service
from ..forms_handoff import (
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
    get_handoff_for_user,
    handoff_actions_for,
    handoff_bag_calendar,
    handoff_page,
    handoffs_incoming,
    handoffs_outgoing,
)

# The review is the sending unit's business: the receiving unit does not see its flags.
REVIEW_ACTIVITIES = {HandoffActivity.Action.FLAG, HandoffActivity.Action.UNFLAG, HandoffActivity.Action.SIGN_OFF}
HANDOFF_EVENT_KINDS = [
    CareEvent.Kind.DISCHARGE_HOME,
    CareEvent.Kind.INTERRUPTION,
    CareEvent.Kind.RESTART,
    CareEvent.Kind.CYCLE_START,
]


def audit_view(handoff: Handoff, page: str = "detail") -> None:
    audit_record(
        action=AuditEvent.Action.VIEW,
        object_type="coordination.handoff",
        object_id=handoff.pk,
        patient_id=handoff.patient_id,
        detail={"page": page},
    )


# --- the list ------------------------------------------------------------------------------------


def handoff_list(request):
    """Incoming handoffs and their tasks for a receiving unit; outgoing ones for the sending side."""
    user = request.user
    incoming, outgoing, actions = handoffs_incoming(user), handoffs_outgoing(user), handoff_actions_for(user)
    shown = sorted({h.pk for h in incoming} | {h.pk for h in outgoing} | {a.handoff_id for a in actions})
    audit_record(action=AuditEvent.Action.VIEW, object_type="coordination.handoff_list", detail={"handoffs": shown})
    zone = user.unit.time_zone if user.unit_id else settings.TIME_ZONE
    context = {"incoming": incoming, "outgoing": outgoing, "actions": actions, "now": timezone.now(), "zone": zone}
    return render(request, "coordination/handoff_list.html", context)


# --- preparing and editing (the sending side) -------------------------------------------------


def _events_for(patient):
    return (
        CareEvent.objects.filter(patient=patient, kind__in=HANDOFF_EVENT_KINDS)
        .exclude(status__in=[CareEvent.Status.CANCELLED, CareEvent.Status.DONE])
        .exclude(handoffs__status__in=[s for s in Handoff.Status.values if s != Handoff.Status.CANCELLED])
        .select_related("cycle")
        .order_by("planned_at")
    )


def handoff_new(request, pk):
    patient = get_patient_for_user(request.user, pk)
    if not service.is_sender(request.user, patient.pk):
        raise PermissionDenied(
            "Only a case manager, nurse or oncologist on this patient's care team prepares a handoff."
        )
    events = _events_for(patient)
    with timezone.override(patient.unit.zone):
        if request.method == "POST":
            form = HandoffForm(request.POST, patient=patient, events=events)
            formset = action_formset(request.POST)
            if form.is_valid() and formset.is_valid():
                try:
                    handoff = service.handoff_create(
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
            initial = {"contingency_plan": service.DEFAULT_CONTINGENCY, "event": first.pk if first else None}
            form = HandoffForm(initial=initial, patient=patient, events=events)
            formset = action_formset(initial=suggested_actions(first) if first else [])
        audit_record(
            action=AuditEvent.Action.VIEW, object_type="patients.patient", object_id=patient.pk, patient_id=patient.pk
        )
        context = {"patient": patient, "form": form, "formset": formset, "has_events": events.exists()}
        return render(request, "coordination/handoff_form.html", context)


def handoff_edit(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    if not service.is_sender(request.user, handoff.patient_id):
        raise PermissionDenied("Only a case manager, nurse or oncologist on this patient's care team edits a handoff.")
    if handoff.status not in service.EDITABLE:
        messages.error(request, f"This handoff is {handoff.get_status_display().lower()}: it can no longer be edited.")
        return redirect("handoff_detail", pk=handoff.pk)
    patient = handoff.patient
    with timezone.override(patient.unit.zone):
        if request.method == "POST":
            form = HandoffForm(request.POST, patient=patient)
            formset = action_formset(request.POST)
            if form.is_valid() and formset.is_valid():
                try:
                    service.handoff_update(handoff=handoff, content=form.content(formset.specs()), actor=request.user)
                except service.HandoffConflict as conflict:
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
        audit_view(handoff, "edit")
        context = {"patient": patient, "handoff": handoff, "form": form, "formset": formset, "has_events": True}
        return render(request, "coordination/handoff_form.html", context)


def _errors_to_form(form, formset, invalid: ValidationError) -> None:
    """The service's refusals, each at its field (the action list's at the top of the list)."""
    if not hasattr(invalid, "error_dict"):
        form.add_error(None, invalid)
        return
    for name, errors in invalid.error_dict.items():
        if name == "actions":
            formset._non_form_errors = formset.error_class(
                [*formset.non_form_errors(), *[m for e in errors for m in e.messages]]
            )
        elif name in form.fields:
            form.add_error(name, errors)
        else:
            form.add_error(None, errors)


# --- the handoff itself --------------------------------------------------------------------------


def card_context(request, handoff: Handoff, *, forms=None, error: str = "", notice: str = "") -> dict:
    """What the handoff page and its card show to this user: one place for both."""
    user = request.user
    handoff = handoff_page(handoff)
    status, S = handoff.status, Handoff.Status
    sender = service.is_sender(user, handoff.patient_id)
    receiver = service.is_receiver(user, handoff)
    reviewer = service.is_reviewer(user, handoff)
    checklists = service.handoff_checklists(handoff)
    blockers = service.send_blockers(handoff, checklists) if sender and status in service.EDITABLE else []
    forms = forms or {}

    def form(name, cls, allowed):
        return (forms.get(name) or cls()) if allowed else None

    now = timezone.now()
    on_record = not sees_only_through_grant(user, handoff.patient)
    history = [a for a in handoff.activities.all() if on_record or a.action not in REVIEW_ACTIVITIES]
    return {
        "handoff": handoff,
        "on_record": on_record,
        "history": history,
        "patient": handoff.patient,
        "now": now,
        "facts": handoff.facts
        if handoff.sent_at and status not in service.EDITABLE
        else service.handoff_facts(handoff),
        "facts_live": not (handoff.sent_at and status not in service.EDITABLE),
        "checklists": checklists,
        "readiness": event_readiness(checklists) if checklists else None,
        "bag_calendar": handoff_bag_calendar(handoff),
        "overdue": handoff.acknowledgement_overdue(now),
        "is_sender": sender,
        "is_receiver": receiver,
        "is_reviewer": reviewer,
        "can_edit": sender and status in service.EDITABLE,
        "can_send": sender and status in service.EDITABLE,
        "send_blockers": blockers,
        "can_acknowledge": receiver and status == S.SENT,
        "can_work_actions": receiver and status in (S.ACCEPTED, S.COMPLETED),
        "accept_form": form("accept", AcceptForm, receiver and status == S.ACKNOWLEDGED),
        "return_form": form("return", ReturnForm, receiver and status in (S.SENT, S.ACKNOWLEDGED)),
        "complete_form": form(
            "complete",
            lambda: CompleteForm(initial={"first_visit_at": now.replace(second=0, microsecond=0)}),
            receiver and status == S.ACCEPTED,
        ),
        "cancel_form": form("cancel", CancelForm, sender and status in service.CANCELLABLE),
        "comment_form": form("comment", CommentForm, reviewer and status != S.DRAFT),
        "flag_form": form("flag", FlagForm, reviewer and status != S.DRAFT and not handoff.flagged),
        "can_unflag": reviewer and handoff.flagged,
        "can_sign_off": reviewer and status == S.COMPLETED and not handoff.signed_off_at,
        "error": error,
        "notice": notice,
    }


def handoff_detail(request, pk):
    handoff = get_handoff_for_user(request.user, pk)
    audit_view(handoff)
    return render_detail(request, handoff)


def render_detail(request, handoff: Handoff, **kwargs):
    with timezone.override(handoff.patient.unit.zone):
        return render(request, "coordination/handoff_detail.html", card_context(request, handoff, **kwargs))


def handoff_print(request, pk):
    """The summary for the caregiver's folder: no internal comments, flags or review."""
    handoff = handoff_page(get_handoff_for_user(request.user, pk))
    audit_view(handoff, "print")
    context = {
        "handoff": handoff,
        "patient": handoff.patient,
        "facts": handoff.facts if handoff.sent_at else service.handoff_facts(handoff),
        "bag_calendar": handoff_bag_calendar(handoff),
        "now": timezone.now(),
    }
    with timezone.override(handoff.patient.unit.zone):
        return render(request, "coordination/handoff_print.html", context)
