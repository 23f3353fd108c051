"""Reminder pages: the ledger (admins), one's own preferences, an event's reminders and snoozes."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts import moments
from accounts.audit import logs_read, shows
from accounts.paging import page_of
from accounts.permissions import ability_required, require
from checklists.policy import TeamRoles
from checklists.selectors import get_event_for_user, get_task_for_user
from patients.policy import VIEW_PATIENTS

from ...exports import csv_stream, local, wants_csv
from ...htmx import act
from ..forms import LedgerFilter, PreferenceForm, SnoozeForm
from ..models import Reminder
from ..policy import READ_REMINDER_LEDGER, can_end_snooze, can_snooze
from ..selectors import ledger_rows, ledger_summary, open_tasks_with_reminders
from ..services import preference_for, reminder_preference_update, task_snooze, task_snooze_end

PAGE_SIZE = 100


# --- the ledger -----------------------------------------------------------------------------------


def _ledger_filtered(request) -> tuple[LedgerFilter, QuerySet[Reminder]]:
    filterset = LedgerFilter(request.GET or None, queryset=Reminder.objects.all())
    return filterset, filterset.qs if filterset.is_valid() or not request.GET else Reminder.objects.none()


@ability_required(READ_REMINDER_LEDGER)
def reminder_ledger(request):
    """Every reminder, newest first: filter by kind, state, recipient and date. A page is read
    from a row id (accounts.paging), never counted nor skipped to with OFFSET: a hospital's ledger
    holds millions of rows. The counts by state and the lag are asked separately
    (`reminder_ledger_summary`), as counting them reads every matching row."""
    filterset, reminders = _ledger_filtered(request)
    rows = ledger_rows(reminders)
    if wants_csv(request):
        return ledger_csv(request, rows)
    page, _ = page_of(request, rows, size=PAGE_SIZE)
    context = {"filter": filterset, "page": page, "query": page.links["query"]}
    return render(request, "coordination/reminders/ledger.html", context)


@ability_required(READ_REMINDER_LEDGER)
def reminder_ledger_summary(request):
    """The ledger's counts by state and the lag from when each reminder should have gone (its
    rule's time) to when it went, under the ledger's filters: the panel that the ledger opens
    (htmx), or a page of its own."""
    filterset, reminders = _ledger_filtered(request)
    counts, lags = ledger_summary(reminders)
    query = request.GET.urlencode()
    context = {"filter": filterset, "counts": counts, "lags": lags, "query": query}
    template = "ledger_summary.html" if not request.htmx else "partials/ledger_summary.html"
    return render(request, f"coordination/reminders/{template}", context)


LEDGER_CSV_HEADER = ["Written (UTC)", "Kind", "About", "Patient id", "Recipient", "Due (UTC)", "State"]
LEDGER_CSV_HEADER += ["Sent (UTC)", "Lag (s)", "Channels", "Handed over", "Failed attempts", "Note"]


def ledger_csv(request, reminders):
    """The whole ledger under its filters (not one page) as CSV, times in UTC as on the page,
    newest first as the pages are: streamed, a chunk at a time, as a hospital's ledger holds
    millions of reminders (coordination.exports.csv_stream)."""
    return csv_stream(
        request,
        what="reminder-ledger",
        header=LEDGER_CSV_HEADER,
        rows=reminders,
        row=_ledger_csv_row,
        filters=LedgerFilter.base_filters,
    )


def _ledger_csv_row(r: Reminder) -> list:
    utc = dt.UTC
    return (
        [local(r.created_at, utc), r.get_kind_display(), r.target, r.patient_id or "", r.recipient.username]
        + [local(r.due_at, utc), r.get_state_display(), local(r.sent_at, utc)]
        + [f"{r.lag.total_seconds():.1f}" if r.sent_at and r.lag is not None else "", ", ".join(r.channels)]
        + [r.dispatch_count, r.attempts, f"{r.note} {r.skip_reason} {r.last_error}".strip()]
    )


# --- one's own preferences --------------------------------------------------------------------------


def reminder_settings(request):
    preference = preference_for(request.user)
    form = PreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        reminder_preference_update(
            user=request.user,
            email=form.cleaned_data["email"],
            digest_hour=form.cleaned_data["digest_hour"],
            actor=request.user,
        )
        messages.success(request, "Your reminder settings are saved.")
        return redirect("reminder_settings")
    zone = request.user.unit.time_zone if request.user.unit_id else timezone.get_default_timezone_name()
    context = {"form": form, "zone": zone, "has_email": bool(request.user.email)}
    return render(request, "coordination/reminders/settings.html", context)


# --- an event's reminders and snoozes -----------------------------------------------------------------


def _panel_context(request, event, *, forms=None, error: str = "", notice: str = ""):
    """The event's open tasks with their live snooze, the reminders sent about them, and a snooze
    form where the user may snooze: a constant number of queries however many tasks."""
    now = timezone.now()
    user = request.user
    tasks = open_tasks_with_reminders(event, now=now)
    roles = TeamRoles.of(user)
    zone = event.patient.unit.zone
    forms = forms or {}
    for task in tasks:
        task.patient, task.event = event.patient, event  # the policy reads both: loaded once
        task.can_snooze = bool(can_snooze(user, task, roles=roles))
        task.can_end_snooze = task.snooze is not None and bool(can_end_snooze(user, task, roles=roles))
        if task.can_snooze:
            task.snooze_form = forms.get(task.pk) or SnoozeForm(zone=zone, now=now, auto_id=f"snooze-{task.pk}-%s")
    return {
        "event": event,
        "patient": event.patient,
        "tasks": tasks,
        "error": error,
        "notice": notice,
        "now": now,
    }


@logs_read("patients.careevent", page="reminders")
def event_reminders(request, pk):
    """The event's reminders and snoozes: a page, or the panel that the event page loads (htmx)."""
    event = get_event_for_user(request.user, pk)
    require(request.user, VIEW_PATIENTS)
    shows(request, patient_id=event.patient_id)
    template = "coordination/reminders/partials/panel.html" if request.htmx else "coordination/reminders/event.html"
    return render(request, template, _panel_context(request, event))


@require_POST
def task_snooze_view(request, pk):
    """Snooze a task's reminders (for a while, or until a time, with a reason), or end the snooze."""
    task = get_task_for_user(request.user, pk)
    event, zone = task.event, task.patient.unit.zone
    form = None if request.POST.get("end") else SnoozeForm(request.POST, zone=zone, auto_id=f"snooze-{task.pk}-%s")

    def run():
        if form is None:
            if not task_snooze_end(task=task, actor=request.user):
                raise ValidationError(f"“{task.text}” was not snoozed.")
            if task.is_left_open:
                over = task.event.get_status_display().lower()
                return f"“{task.text}”: snooze ended. It was left open when its event was {over}: no reminders follow."
            return f"“{task.text}”: reminders are back on."
        if not form.is_valid():  # said above the panel too, the form open with its errors
            raise ValidationError("Check the snooze: " + " ".join(e for errors in form.errors.values() for e in errors))
        data = form.cleaned_data
        snooze = task_snooze(task=task, actor=request.user, until=data["until_at"], reason=data["reason"])
        return f"“{task.text}”: reminders snoozed until {moments.moment_short(snooze.until, zone)}."

    def panel(outcome):
        forms = {task.pk: form} if form is not None and not outcome.notice else None
        context = _panel_context(request, event, forms=forms, error=outcome.error, notice=outcome.notice)
        return render(request, "coordination/reminders/partials/panel.html", context)

    return act(request, run, partial=panel, back=reverse("event_reminders", args=[event.pk]))
