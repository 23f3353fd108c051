"""Claim, complete, skip, verify, undo and reassign a task: the task's row again (htmx), or back to
the page with a message without JavaScript (coordination.htmx.act)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit import logs_read, shows
from accounts.models import Role
from accounts.signin import on_this_site
from checklists import policy, services
from checklists.selectors import get_task_for_user
from patients.views.forms_flow import form_page

from ...htmx import Alarm, act, calling
from ..forms import CloseLeftOpenForm, ReassignForm, TaskCompleteForm, not_applicable_form, undo_form
from ..task_view import decorate, local_time_text, team_roles


def _back(request) -> str:
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    return on_this_site(request, target) or "/"


def _act(request, task, run, *, form=None, slot: str = ""):
    """Run an action on the task. `form`: the submitted form of the row's `slot` (complete_form,
    skip_form, undo_form), shown again with its errors at its field."""

    def row(outcome):
        try:
            fresh = get_task_for_user(request.user, task.pk)  # with what the row shows
        except Http404:
            # Gone since the page was drawn (services.TASK_GONE), or no longer the user's to see:
            # the row says so in its place instead of the page keeping a row that acts on nothing.
            context = {"row_id": f"task-{task.pk}", "text": task.text, "error": outcome.error or services.TASK_GONE}
            return render(request, "coordination/worklist/partials/task_row_gone.html", context)
        decorate([fresh], request.user, team_roles(request.user))
        error = outcome.error
        if form is not None and not outcome.notice:
            if hasattr(fresh, slot):  # the action may still be open
                setattr(fresh, slot, form)
            elif form.errors and not error:
                # The row does not offer the action (a double check is never skipped): its form is
                # not shown, so its field's message is said in the row.
                error = " ".join(message for messages in form.errors.values() for message in messages)
        context = {"task": fresh, "error": error, "notice": outcome.notice, "alarm": outcome.alarm}
        return render(request, "coordination/worklist/partials/task_row.html", context)

    return act(
        request,
        run,
        form=form,
        partial=row,
        back=_back(request),
        trigger="taskChanged",  # counts and gate badges refresh themselves
        conflicts=(services.TaskConflict,),
        about=task.text,
    )


@require_POST
def task_claim(request, pk):
    task = get_task_for_user(request.user, pk)
    return _act(request, task, calling(services.task_claim, "Claimed.", task=task, actor=request.user))


@require_POST
def task_release(request, pk):
    task = get_task_for_user(request.user, pk)
    return _act(request, task, calling(services.task_release, "Released to the pool.", task=task, actor=request.user))


@require_POST
def task_complete(request, pk):
    task = get_task_for_user(request.user, pk)
    form = TaskCompleteForm(request.POST, task=task)

    def run():
        data = form.cleaned_data
        done = services.task_complete(task=task, actor=request.user, value=data["value"], confirmed=data["confirmed"])
        if done.hard_stop_failed:
            return Alarm(
                f"Hard stop failed: {services.hard_stop_failure_text(done, done.value)}. The "
                f"{done.event.get_kind_display().lower()} is blocked, and the oncologist has been told. "
                "If it was a slip: Undo, then enter it again."
            )
        return "Done."

    return _act(request, task, run, form=form, slot="complete_form")


def _seen(request) -> str:
    """The task's state as the page drew it (`Task.state_version`, a hidden field of the row's
    form): a form without it (a page drawn before it was) is refused as one drawn long ago."""
    return request.POST.get("version", "")


def _with_reason(request, pk, make_form, slot: str, service, notice: str, **extra):
    """An action that needs a reason: the reason's message shows at its field when it is missing."""
    task = get_task_for_user(request.user, pk)
    form = make_form(task, request.POST)

    def run():
        service(task=task, actor=request.user, reason=form.cleaned_data["reason"], **extra)
        return notice

    return _act(request, task, run, form=form, slot=slot)


@require_POST
def task_not_applicable(request, pk):
    return _with_reason(
        request, pk, not_applicable_form, "skip_form", services.task_mark_not_applicable, "Marked not applicable."
    )


@require_POST
def task_undo(request, pk):
    return _with_reason(request, pk, undo_form, "undo_form", services.task_undo, "Reopened.", seen=_seen(request))


@require_POST
def task_verify(request, pk):
    task = get_task_for_user(request.user, pk)
    verify = calling(services.task_verify, "Verified.", task=task, actor=request.user, seen=_seen(request))
    return _act(request, task, verify)


@require_http_methods(["GET", "POST"])
@logs_read("checklists.task", page="reassign")
def task_reassign(request, pk):
    """GET: the form (opened in place from the board, which would otherwise render one per overdue
    task, or as a page without JavaScript); POST: give the task to another member of its care
    team, with a reason (the form's errors said above the row, which has no place for them)."""
    task = get_task_for_user(request.user, pk)
    if request.method == "GET":
        decision = policy.can_reassign(request.user, task)
        if not decision:
            raise PermissionDenied(decision.reason)  # not the unit's coordinator, or the task is closed
        shows(request, patient_id=task.patient_id)
        context = {"task": task, "form": ReassignForm(task=task)}
        if request.htmx:
            return render(request, "coordination/worklist/partials/reassign_form.html", context)
        return render(request, "coordination/worklist/task_reassign.html", context)
    form = ReassignForm(request.POST, task=task)

    def run():
        if not form.is_valid():
            raise ValidationError(
                "; ".join(f"{form.fields[name].label}: {' '.join(errs)}" for name, errs in form.errors.items())
            )
        data = form.cleaned_data
        services.task_reassign(
            task=task, assignee=data["assignee"], reason=data["reason"], actor=request.user, seen=_seen(request)
        )
        return f"Given to {data['assignee']}."

    return _act(request, task, run)


@require_http_methods(["GET", "POST"])
@logs_read("checklists.task", page="close")
def task_close(request, pk):
    """A task left open when its event was done or missed, closed by the unit's coordinator or its
    owner: done late (with the time it was really done) or not done (with why). Back to the page it
    was opened from (the event page or the board) with a message."""
    task = get_task_for_user(request.user, pk)
    back = on_this_site(request, request.GET.get("next", ""))  # the form posts to its own address, which keeps it
    decision = policy.can_close_left_open(request.user, task)
    if not decision and request.method == "POST":  # as every task action: back, with why
        messages.error(request, f"{task.text}: {decision.reason}")
        return redirect(back or reverse("event_detail", args=[task.event_id]))
    if not decision:
        raise PermissionDenied(decision.reason)
    zone = task.patient.unit.zone
    form = CloseLeftOpenForm(request.POST or None, zone_name=task.patient.unit.clock_label)

    def close(data):
        try:
            services.task_close_left_open(
                task=task, actor=request.user, outcome=data["outcome"], reason=data["reason"], done_at=data["done_at"]
            )
        except services.TaskConflict as conflict:
            raise ValidationError(str(conflict)) from None
        said = "done late" if data["outcome"] == services.LeftOpenOutcome.DONE_LATE else "not done"
        messages.success(request, f"{task.text}: closed, {said}.")
        return redirect(back if back else reverse("event_detail", args=[task.event_id]))

    over = task.event.get_status_display().lower()  # done or missed
    intro = (
        f"“{task.text}” ({Role(task.role).label.lower()}, due {local_time_text(task.due_at, zone)}) was left open "
        f"when the {task.event.label.lower()} was {over}. Say what happened: done late, at the time it was done, "
        "or not done, and why. Its history keeps what you write."
    )
    return form_page(request, form, close, patient=task.patient, title="Close a task left open", intro=intro)
