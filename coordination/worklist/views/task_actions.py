"""Claim, complete, skip, verify, undo and reassign a task: htmx partials, or a redirect without JS."""

from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit import audit_record
from accounts.models import AuditEvent
from checklists import policy, services
from checklists.selectors import get_task_for_user

from ..forms import ReassignForm, TaskCompleteForm, not_applicable_form, undo_form
from ..task_view import decorate, team_roles


def _back(request):
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


def _respond(request, task, *, bound_forms=None, error: str = "", notice: str = ""):
    """Re-render the task's row (htmx) or go back to the page with a message.

    `bound_forms` maps a row's form slot (complete_form, skip_form, undo_form) to the submitted
    form, so that its errors show at its field.
    """
    bound_forms = bound_forms or {}
    if not request.htmx:
        field_errors = [" ".join(e) for f in bound_forms.values() for e in f.errors.values()]
        if error or field_errors:
            messages.error(request, f"{task.text}: {error or ' '.join(field_errors)}")
        elif notice:
            messages.success(request, notice)
        return _back(request)
    task = get_task_for_user(request.user, task.pk)  # fresh, with what the row shows
    decorate([task], request.user, team_roles(request.user))
    for slot, form in bound_forms.items():
        if hasattr(task, slot):  # the action may still be open to the user
            setattr(task, slot, form)
    context = {"task": task, "error": error, "notice": notice}
    response = render(request, "coordination/worklist/partials/task_row.html", context)
    if notice:
        response["HX-Trigger"] = "taskChanged"  # counts and gate badges refresh themselves
    return response


def _run(request, task, action, notice: str, bound_forms=None):
    try:
        action()
    except (services.TaskConflict, PermissionDenied) as refusal:
        return _respond(request, task, error=str(refusal) or "You may not do this.", bound_forms=bound_forms)
    except ValidationError as invalid:
        return _respond(request, task, error=" ".join(invalid.messages), bound_forms=bound_forms)
    return _respond(request, task, notice=notice)


@require_POST
def task_claim(request, pk):
    task = get_task_for_user(request.user, pk)
    return _run(request, task, partial(services.task_claim, task=task, actor=request.user), "Claimed.")


@require_POST
def task_release(request, pk):
    task = get_task_for_user(request.user, pk)
    return _run(request, task, partial(services.task_release, task=task, actor=request.user), "Released to the pool.")


@require_POST
def task_complete(request, pk):
    task = get_task_for_user(request.user, pk)
    form = TaskCompleteForm(request.POST, task=task)
    if not form.is_valid():
        return _respond(request, task, bound_forms={"complete_form": form})
    value = form.cleaned_data["value"]
    return _run(
        request,
        task,
        partial(services.task_complete, task=task, actor=request.user, value=value),
        "Done.",
        bound_forms={"complete_form": form},
    )


def _with_reason(request, pk, make_form, slot: str, service, notice: str):
    """An action that needs a reason: the reason's message shows at its field when it is missing."""
    task = get_task_for_user(request.user, pk)
    form = make_form(task, request.POST)
    if not form.is_valid():
        return _respond(request, task, bound_forms={slot: form})
    action = partial(service, task=task, actor=request.user, reason=form.cleaned_data["reason"])
    return _run(request, task, action, notice, bound_forms={slot: form})


@require_POST
def task_not_applicable(request, pk):
    return _with_reason(
        request, pk, not_applicable_form, "skip_form", services.task_mark_not_applicable, "Marked not applicable."
    )


@require_POST
def task_undo(request, pk):
    return _with_reason(request, pk, undo_form, "undo_form", services.task_undo, "Reopened.")


@require_POST
def task_verify(request, pk):
    task = get_task_for_user(request.user, pk)
    return _run(request, task, partial(services.task_verify, task=task, actor=request.user), "Verified.")


@require_http_methods(["GET", "POST"])
def task_reassign(request, pk):
    """GET: the form (opened from the board, which would otherwise render one per overdue task);
    POST: give the task to another member of its care team, with a reason."""
    task = get_task_for_user(request.user, pk)
    if request.method == "GET":
        decision = policy.can_reassign(request.user, task)
        if not decision:
            raise PermissionDenied(decision.reason)  # not the unit's coordinator, or the task is closed
        context = {"task": task, "form": ReassignForm(task=task)}
        if request.htmx:  # opened in place on the board, which is not logged as a look either
            return render(request, "coordination/worklist/partials/reassign_form.html", context)
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type="checklists.task",
            object_id=pk,
            patient_id=task.patient_id,
            detail={"page": "reassign"},
        )
        return render(request, "coordination/worklist/task_reassign.html", context)
    form = ReassignForm(request.POST, task=task)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items())
        return _respond(request, task, error=errors)
    data = form.cleaned_data
    action = partial(
        services.task_reassign, task=task, assignee=data["assignee"], reason=data["reason"], actor=request.user
    )
    return _run(request, task, action, f"Given to {data['assignee']}.")
