from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.audit import logs_read, shows
from checklists.gate import Readiness
from checklists.policy import can_override_gate
from checklists.selectors import get_event_for_user
from checklists.services import event_gate_override
from patients.models import CareEvent, Interruption
from patients.policy import can_move_restart, can_record_bag
from patients.services import (
    bag_expiry_warning,
    bag_for_event,
    bags_moved_from,
    bags_waiting,
    latest_weighing,
    weighing_warning,
)
from patients.services.bags import BAG_EVENTS

from ..forms import OverrideForm
from ..selectors import annotate_event, checklist_sections
from ..task_view import decorate, team_roles


def _event_page(request, pk, override_form=None):
    event = annotate_event(get_event_for_user(request.user, pk, with_checklists=True))
    shows(request, patient_id=event.patient_id)
    roles = team_roles(request.user)
    checklists = []
    for checklist in event.checklists.all():
        decorate(checklist.tasks.all(), request.user, roles, events=[event])
        checklists.append((checklist, checklist_sections(checklist)))
    # An event without checklists has no gate: nothing blocks it.
    can_override = can_override_gate(request.user, event, roles=roles, readiness=event.readiness or Readiness())
    if override_form is not None and can_override:
        override_form.describe(event.readiness, shown_again=True)  # confirmed next: what the page lists now
    context = {
        "event": event,
        "patient": event.patient,
        **bag_context(request.user, event),
        "move_restart": restart_to_move(request.user, event),
        "checklists": checklists,
        "override_form": override_form or (OverrideForm(readiness=event.readiness) if can_override else None),
        "override_covers": event.readiness.unresolved if event.readiness else [],
        "left_open": [task for checklist, _ in checklists for task in checklist.tasks.all() if task.is_left_open],
    }
    template = (
        "coordination/worklist/partials/event_gate.html"
        if request.htmx and request.GET.get("part") == "gate"
        else "coordination/worklist/event_detail.html"
    )
    return render(request, template, context)


def restart_to_move(user, event) -> Interruption | None:
    """The break whose planned restart this event is, when this user may move it (from here as from
    the patient page's course panel)."""
    if (
        event.kind not in (CareEvent.Kind.RESTART, CareEvent.Kind.CYCLE_START)
        or event.status != CareEvent.Status.PLANNED
    ):
        return None
    interruption = (
        Interruption.objects.filter(restart_event=event)
        .select_related("course__regimen_version", "restart_event")
        .first()
    )
    if interruption is None or not can_move_restart(user, event.patient, interruption=interruption):
        return None
    return interruption


def bag_context(user, event) -> dict:
    """The bag hung at this event (and whether this user may record it), where a bag is hung."""
    if event.kind not in BAG_EVENTS:
        return {}
    bag = bag_for_event(event.pk)
    can_decide = can_record_bag(user, event.patient)
    return {
        "bag_event": True,
        "bag": bag,
        # A cancelled event's bag waits for a decision (patients.services.bags_waiting).
        "bags_waiting": (
            bags_waiting(event.patient, now=timezone.now(), event=event)
            if event.status == CareEvent.Status.CANCELLED
            else []
        ),
        "can_decide_bags": can_decide,
        # Where the bags of a cancelled event went, when a pharmacist used them for another event.
        "bags_moved_away": bags_moved_from(event.pk) if event.status == CareEvent.Status.CANCELLED else [],
        "bag_expiry_warning": bag_expiry_warning(bag, event),
        "can_record_bag": can_decide,
        "weighing_warning": weighing_warning(latest_weighing(event.patient), event),
    }


@logs_read("patients.careevent")
def event_detail(request, pk):
    """The event's page, or its gate alone (htmx, `?part=gate`) when a task changes."""
    return _event_page(request, pk)


@require_POST
def event_override(request, pk):
    event = annotate_event(get_event_for_user(request.user, pk, with_checklists=True))
    readiness = event.readiness or Readiness()
    if not (decision := can_override_gate(request.user, event, readiness=readiness)):
        messages.error(request, decision.reason)
        return redirect("event_detail", pk=event.pk)
    form = OverrideForm(request.POST, readiness=readiness)
    if form.is_valid():
        data = form.cleaned_data
        try:
            event_gate_override(
                event=event,
                actor=request.user,
                reason=data["reason"],
                justification=data["justification"],
                covers=data["covers"],
            )
        except PermissionDenied as refusal:
            messages.error(request, str(refusal))
            return redirect("event_detail", pk=event.pk)
        except ValidationError as invalid:
            if not hasattr(invalid, "error_dict"):
                # No field: the event settled, or its gate turned ready, between the page's check and
                # the service's (a double click). Said above the page, as a refusal is.
                messages.error(request, " ".join(invalid.messages))
                return redirect("event_detail", pk=event.pk)
            if "confirm" in invalid.message_dict:  # the list changed: ticked again once it is read again
                form.data = form.data.copy()
                form.data.pop(form.add_prefix("confirm"), None)
            for field, errors in invalid.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.warning(request, "The gate is overridden: the event may start; the reason is recorded on it.")
            return redirect("event_detail", pk=event.pk)
    return _event_page(request, pk, override_form=form)
