import datetime as dt

from django.core.exceptions import BadRequest
from django.db.models import Q
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.audit import get_or_404_audited, logs_read, shows
from checklists.selectors import patient_history
from patients.models import Cycle, Patient
from patients.models.record import visible_ids_query
from patients.policy import Standing, can_manage_care_team, can_record_bag, can_record_restart, plan_actions
from patients.selectors import get_patient_for_user, sees_only_through_grant, stop_in_effect
from patients.services import bags_waiting

from ...handoffs.policy import can_prepare
from ...handoffs.selectors import patient_handoffs
from ...watch.selectors import patient_watch
from ..page_cache import cached_parts
from ..selectors import current_cycle, cycle_event_rows, cycles_around_now, patient_page

HISTORY_SHOWN = 10
HISTORY_LONGER = 50


@logs_read("patients.patient")
def patient_detail(request, pk):
    # Kept while nothing of this patient's (nor users, units, rules) changes: page_cache. What the
    # reader may do is in the key through the care team (the patient's) and the user (no patient's).
    # Whether the reader sees the patient is asked in the page's one statement (its scope): a kept
    # page needs nothing more of the record, whose title it keeps with the rest.
    def rendered(ids: list[int]) -> dict:
        if not ids:
            return {}
        patient = get_patient_for_user(request.user, ids[0])
        return {"content": _record(request, patient), "title": patient.full_name}

    parts = cached_parts(request, "patient", rendered, patient_ids=_visible(request.user, pk))
    if not parts:
        get_patient_for_user(request.user, pk)  # not seen: 404, its refusal logged
    shows(request, patient_id=pk)
    return render(request, "coordination/worklist/patient_detail.html", {"parts": parts})


def _visible(user, pk: int):
    """The patient's id if the user sees the patient, as a query for the page's statement; an id
    no patient can have (beyond the column's range) selects none without asking."""
    if not 0 < pk < 2**63:
        return []
    return visible_ids_query(user, pk=pk)


def _record(request, patient: Patient) -> str:
    """The patient's record as this reader sees it, rendered."""
    standing = Standing(request.user, patient)  # asked by several policies below, read once
    if sees_only_through_grant(request.user, patient, standing=standing):
        # A handoff's receiving unit sees what the handoff needs, not the whole record; a pump
        # stopped at home among it, with the restart that a short pump stop leaves to its nurse.
        stop = stop_in_effect(patient)
        context = {
            "stop": stop,
            "can_restart": bool(
                stop
                and stop.is_open
                and can_record_restart(request.user, patient, interruption=stop, standing=standing)
            ),
            "patient": patient,
            "care_team": patient.care_team.who_count().select_related("user"),
            "handoffs": patient_handoffs(request.user, patient, standing=standing),
            "watch": patient_watch(request.user, patient, standing=standing),
            "now": timezone.now(),
        }
        return render_to_string("coordination/handoffs/partials/patient_through_grant.html", context, request)
    patient = patient_page(patient)
    now = timezone.now()
    # The cycle under way opens around now, its events with their gates; its earlier and later
    # events, and the other cycles, open on demand (cycle_events): a course of nine cycles is
    # hundreds of events, most of them done or weeks ahead.
    opened = []
    for course in patient.courses.all():
        if current := current_cycle(list(course.cycles.all()), now):
            current.is_current = True
            opened.append(current)
    cycles_around_now(opened, now=now)
    # The latest of the history; more when asked (what the page used to show).
    shown = HISTORY_LONGER if request.GET.get("history") == "more" else HISTORY_SHOWN
    history = list(patient_history(patient, limit=shown + 1))
    context = {
        "patient": patient,
        "history": history[:shown],
        "more_history": shown == HISTORY_SHOWN and len(history) > shown,
        "history_longer": HISTORY_LONGER,
        "now": now,
        "handoffs": patient_handoffs(request.user, patient, standing=standing),
        "can_prepare_handoff": can_prepare(request.user, patient),
        "plan": plan_actions(request.user, patient, standing=standing, courses=patient.courses.all()),
        "can_manage_care_team": bool(can_manage_care_team(request.user, patient)),
        "watch": patient_watch(request.user, patient, standing=standing),
        "bags_waiting": bags_waiting(patient, now=now),
        "can_decide_bags": bool(can_record_bag(request.user, patient, standing=standing)),
    }
    return render_to_string("coordination/worklist/partials/patient_record.html", context, request)


def _moment(request, name: str) -> dt.datetime | None:
    if (value := request.GET.get(name)) is None:
        return None
    if (moment := parse_datetime(value)) is None or timezone.is_naive(moment):
        raise BadRequest(f"{name} is not a moment with its offset")
    return moment


@logs_read("patients.cycle")
def cycle_events(request, pk):
    """The events of one cycle, as the patient page lists them: loaded in place when a reader opens a
    cycle other than the current one (htmx), or as a page of its own without JavaScript; with
    `before` or `after` (a moment), those of the cycle under way that the patient page left out."""
    before, after = _moment(request, "before"), _moment(request, "after")
    # The plan is the record's, not a grant's: a receiving unit sees the handoff, not the plan and its work.
    cycles = Cycle.objects.filter(course__patient__in=Patient.objects.visible_to(request.user, grants=False))
    cycle = get_or_404_audited(cycles.select_related("course__patient__unit"), pk, object_type="patients.cycle")
    patient = cycle.course.patient
    shows(request, patient_id=patient.pk)
    planned = Q()
    if before:
        planned &= Q(planned_at__lt=before)
    if after:
        planned &= Q(planned_at__gt=after)
    now = timezone.now()
    cycle_event_rows([cycle], now=now, planned=planned)
    context = {"cycle": cycle, "patient": patient, "now": now, "before": before, "after": after}
    page = "partials/cycle_events.html" if request.htmx else "cycle_events.html"
    with timezone.override(patient.unit.zone):  # on the patient's unit's clock, as the patient page
        return render(request, f"coordination/worklist/{page}", context)
