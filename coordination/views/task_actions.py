"""Claim, complete, skip, verify, undo and reassign a task: htmx partials, or a redirect without JS."""

from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from checklists import services
from checklists.selectors import get_task_for_user

from ..forms import ReasonForm, ReassignForm, TaskCompleteForm
from ..task_view import decorate, team_roles


def _back(request):
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


def _respond(request, task, *, form=None, reason_form=None, error: str = "", notice: str = ""):
    """Re-render the task's row (htmx) or go back to the page with a message."""
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif form is not None and form.errors:
            messages.error(request, f"{task.text}: {' '.join(form.errors.get('value', form.non_field_errors()))}")
        elif notice:
            messages.success(request, notice)
        return _back(request)
    task = get_task_for_user(request.user, task.pk)  # fresh, with what the row shows
    decorate([task], request.user, team_roles(request.user))
    context = {"task": task, "form": form, "reason_form": reason_form, "error": error, "notice": notice}
    response = render(request, "coordination/partials/task_row.html", context)
    if notice:
        response["HX-Trigger"] = "taskChanged"  # counts and gate badges refresh themselves
    return response


def _run(request, task, action, notice: str, **form_kwargs):
    try:
        action()
    except (services.TaskConflict, PermissionDenied) as refusal:
        return _respond(request, task, error=str(refusal) or "You may not do this.", **form_kwargs)
    except ValidationError as invalid:
        return _respond(request, task, error=" ".join(invalid.messages), **form_kwargs)
    return _respond(request, task, notice=notice)


@require_POST
def task_claim(request, pk):
    task = get_task_for_user(request.user, pk)
    return _run(request, task, lambda: services.task_claim(task=task, actor=request.user), "Claimed.")


@require_POST
def task_release(request, pk):
    task = get_task_for_user(request.user, pk)
    return _run(request, task, lambda: services.task_release(task=task, actor=request.user), "Released to the pool.")


@require_POST
def task_complete(request, pk):
    task = get_task_for_user(request.user, pk)
    form = TaskCompleteForm(request.POST, task=task)
    if not form.is_valid():
        return _respond(request, task, form=form)
    value = form.cleaned_data["value"]
    return _run(
        request,
        task,
        lambda: services.task_complete(task=task, actor=request.user, value=value),
        "Done.",
        form=form,
    )


@require_POST
def task_not_applicable(request, pk):
    task = get_task_for_user(request.user, pk)
    form = ReasonForm(request.POST, prefix_id=f"na-{task.pk}", label="Why does it not apply?")
    if not form.is_valid():
        return _respond(request, task, reason_form=form, error="Say why the task does not apply.")
    reason = form.cleaned_data["reason"]
    action = partial(services.task_mark_not_applicable, task=task, actor=request.user, reason=reason)
    return _run(request, task, action, "Marked not applicable.", reason_form=form)


@require_POST
def task_verify(request, pk):
    task = get_task_for_user(request.user, pk)
    return _run(request, task, lambda: services.task_verify(task=task, actor=request.user), "Verified.")


@require_POST
def task_undo(request, pk):
    task = get_task_for_user(request.user, pk)
    form = ReasonForm(request.POST, prefix_id=f"undo-{task.pk}", label="Why undo?")
    if not form.is_valid():
        return _respond(request, task, error="Say why the completion is undone.")
    reason = form.cleaned_data["reason"]
    return _run(request, task, lambda: services.task_undo(task=task, actor=request.user, reason=reason), "Reopened.")


@require_POST
def task_reassign(request, pk):
    task = get_task_for_user(request.user, pk)
    form = ReassignForm(request.POST, task=task)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items())
        return _respond(request, task, error=errors)
    data = form.cleaned_data
    action = partial(
        services.task_reassign, task=task, assignee=data["assignee"], reason=data["reason"], actor=request.user
    )
    return _run(request, task, action, f"Given to {data['assignee']}.")
