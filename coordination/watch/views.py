"""The watch's pages: urgent alerts (the list of one's patients', one alert with its
acknowledgement and the action it asks for) and the unit's on-call roster."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.audit import logs_read, shows
from patients import policy as patient_policy
from patients.models import Patient
from patients.selectors import current_course

from ..exports import csv_download, local, wants_csv
from . import policy, selectors, services
from .forms import AcknowledgeForm, RosterPeriodForm, ShiftFormSet
from .models import ToxicityAlert

ROSTER_DAYS_SHOWN = 14


def _alert_for(user, pk) -> ToxicityAlert:
    """The alert, or 404 when its patient is not the user's (its existence must not leak)."""
    visible = Patient.objects.visible_to(user)
    return get_object_or_404(
        ToxicityAlert.objects.select_related(
            "patient__unit", "unit", "assessment__recorded_by", "raised_by", "acknowledged_by"
        ),
        pk=pk,
        patient__in=visible,
    )


@logs_read("coordination.alert_list")
def alert_list(request):
    alerts = selectors.alerts_for(request.user)
    if wants_csv(request):
        return alerts_csv(request, alerts)
    shows(request, patients=sorted({alert.patient_id for alert in alerts}))
    # The CRS grade that alerts is each unit's rule: the user's own and those routing the alerts shown.
    rules = selectors.crs_alert_rules([request.user.unit, *(alert.unit for alert in alerts)])
    return render(request, "coordination/watch/alert_list.html", {"alerts": alerts, "crs_rules": rules})


def alerts_csv(request, alerts):
    """The alerts list as CSV (coordination.exports), each time on its unit's clock."""
    header = ["Raised", "Time zone", "Patient", "MRN", "Why", "Asked", "State", "Acknowledged by", "Acknowledged"]
    rows = [
        [local(alert.raised_at, alert.unit.zone), alert.unit.time_zone]
        + [f"{alert.patient.family_name}, {alert.patient.given_name}", alert.patient.mrn, alert.reason]
        + [alert.get_ask_display(), "open" if alert.is_open else "acknowledged", alert.acknowledged_by or ""]
        + [local(alert.acknowledged_at, alert.unit.zone)]
        for alert in alerts
    ]
    return csv_download(
        request, what="alert-list", header=header, rows=rows, patient_ids=[alert.patient_id for alert in alerts]
    )


@logs_read("coordination.toxicityalert")
def alert_detail(request, pk):
    alert = _alert_for(request.user, pk)
    sent_to = selectors.alert_recipients(alert)
    can_acknowledge = policy.can_acknowledge(request.user, alert, sent_to=request.user in sent_to)
    course = current_course(alert.patient)
    actions = patient_policy.plan_actions(request.user, alert.patient) if course else {}
    shows(request, patient_id=alert.patient_id)
    with timezone.override(alert.unit.zone):
        return render(
            request,
            "coordination/watch/alert_detail.html",
            {
                "alert": alert,
                "patient": alert.patient,
                "sent_to": sent_to,
                "transfers": selectors.alert_transfers(alert),
                "acknowledge_form": AcknowledgeForm() if can_acknowledge else None,
                "acknowledge_refusal": "" if can_acknowledge else can_acknowledge.reason,
                "course": course,
                "plan": actions,
            },
        )


@require_POST
def alert_acknowledge(request, pk):
    alert = _alert_for(request.user, pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():  # not taken with its note dropped: nothing half-saved
        messages.error(request, f"Not acknowledged: {' '.join(form.errors['note'])}")
        return redirect("alert_detail", pk=alert.pk)
    try:
        services.alert_acknowledge(alert=alert, actor=request.user, note=form.cleaned_data["note"])
    except PermissionDenied as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Acknowledged: the alert goes no further.")
    return redirect("alert_detail", pk=alert.pk)


def roster(request):
    unit = request.user.unit
    if unit is None:
        raise PermissionDenied("The roster belongs to a unit: ask an administrator to set yours.")
    policy.can_edit_roster(request.user, unit).enforce()
    zone = unit.zone
    people = policy.on_call_candidates(unit)
    with timezone.override(zone):
        period = RosterPeriodForm(
            request.POST or None,
            zone_name=unit.clock_label,
            roles=selectors.ROLES_ON_CALL.get(unit.kind, ()),
            initial=_next_week(zone),
        )
        shifts = ShiftFormSet(request.POST or None, form_kwargs={"people": people}, prefix="shift")
        if request.method == "POST" and period.is_valid() and shifts.is_valid():
            # A row added and left empty ("Add a shift") passes the formset as an unchanged extra
            # form with no data: it is no shift. The service numbers the rows it is given.
            rows = [form for form in shifts if form.cleaned_data]
            try:
                saved = services.roster_replace(
                    unit=unit,
                    **period.cleaned_data,
                    shifts=[services.ShiftInput(**form.cleaned_data) for form in rows],
                    actor=request.user,
                )
            except ValidationError as refusal:
                _errors_at_rows(refusal, period, rows)
            else:
                messages.success(request, f"The roster is saved: {len(saved)} shift{pluralize(len(saved))}.")
                return redirect("roster")
        now = timezone.now()
        context = {
            "unit": unit,
            "period_form": period,
            "shifts": shifts,
            "roster": selectors.roster(unit, start=now, end=now + dt.timedelta(days=ROSTER_DAYS_SHOWN)),
            "warnings": selectors.unit_watch_warnings(unit, now=now),
            "days_shown": ROSTER_DAYS_SHOWN,
        }
        return render(request, "coordination/watch/roster.html", context)


def _next_week(zone) -> dict:
    start = timezone.localtime(timezone.now(), zone).replace(hour=8, minute=0, second=0, microsecond=0, tzinfo=None)
    return {"role": "oncologist", "rank": 1, "period_start": start, "period_end": start + dt.timedelta(days=7)}


def _errors_at_rows(refusal: ValidationError, period, rows) -> None:
    """The service names a row's field as "<row>-<field>", the period's by its name."""
    for key, errors in refusal.message_dict.items():
        row, _, field = key.partition("-")
        if field and row.isdigit() and int(row) < len(rows):
            rows[int(row)].add_error(field, errors)
        else:
            period.add_error(key if key in period.fields else None, errors)
