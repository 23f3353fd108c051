"""Reads of handoffs, with their relations loaded (a constant number of queries), and the facts
from the record that a handoff carries."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts import moments
from accounts.audit import get_or_404_audited
from accounts.db import NOW, compiled
from accounts.models import Unit, User
from checklists.models import Checklist, Task, TemplateItem
from checklists.selectors import checklists_with_tasks
from patients.models import CareEvent, Patient, PumpEvent
from patients.policy import Standing
from patients.selectors import bag_changes_from, names
from patients.weights import weight_shown

from .models import RECEIVING_UNIT_KINDS, Handoff, HandoffAction, HandoffActivity, HandoffComment
from .policy import ACCEPT_HANDOFF, EDIT

# A handoff's relations, loaded in a constant number of queries. Three are joined to the handoff's
# own statement; the others come by a query each (prefetch): joined as well, the 17 tables of one
# statement took PostgreSQL 55-90 ms to plan for 1 ms of execution, on every review queue, handoff
# page and API list (docs/performance.md, "A handoff's relations: joined, planned for 60 ms").
HANDOFF_JOINED = ("patient__unit", "from_unit", "to_unit")
HANDOFF_FETCHED = (
    "event__cycle",
    "cycle",
    "course",
    "access_grant",
    "from_person",
    "to_person",
    "acknowledged_by",
    "accepted_by",
    "completed_by",
    "returned_by",
    "cancelled_by",
    "flagged_by",
    "signed_off_by",
)


def with_relations(handoffs: QuerySet) -> QuerySet:
    """The handoffs with every relation that a page, a list or the API prints."""
    return handoffs.select_related(*HANDOFF_JOINED).prefetch_related(*HANDOFF_FETCHED)


# What the receiving unit's users see of a handoff: from sending onwards (returned and
# cancelled ones close the grant, and with it the patient).
Status = Handoff.Status
RECEIVER_STATUSES = [Status.SENT, Status.ACKNOWLEDGED, Status.ACCEPTED, Status.COMPLETED]


def handoffs_visible_to(user) -> QuerySet:
    """The sending side (whoever sees the patient on the record: care team, the unit's
    coordinator) sees every handoff of the patient; the receiving unit sees the handoffs
    addressed to it from sending onwards, while its access grant lasts."""
    rule = Q(patient__in=Patient.objects.visible_to(user, grants=False))
    if user.is_authenticated and user.unit_id:
        rule |= Q(to_unit_id=user.unit_id, status__in=RECEIVER_STATUSES, patient__in=Patient.objects.visible_to(user))
    return Handoff.objects.filter(rule)


def get_handoff_for_user(user, pk):
    """The handoff, or 404 when the user may not see it (its existence must not leak)."""
    return get_or_404_audited(with_relations(handoffs_visible_to(user)), pk, object_type="coordination.handoff")


def handoff_page(handoff):
    """The handoff with its actions, comments and history loaded: a constant number of queries."""
    return (
        with_relations(Handoff.objects)
        .prefetch_related(
            Prefetch("actions", queryset=HandoffAction.objects.select_related("done_by").order_by("due_at", "order")),
            Prefetch("comments", queryset=HandoffComment.objects.select_related("author")),
            Prefetch("activities", queryset=HandoffActivity.objects.select_related("actor")),
        )
        .get(pk=handoff.pk)
    )


def handoff_bag_calendar(handoff, *, limit: int = 40) -> list[CareEvent]:
    """The bag changes planned from the handoff's event to the end of its cycle."""
    return list(bag_changes_from(handoff.event.planned_at, cycle_id=handoff.cycle_id)[:limit])


# What a row of the patient pages prints (partials/row.html) of a handoff, with the names of its
# units and people.
PATIENT_ROW_FIELDS = ("patient_id", "kind", "status", "acknowledge_by", "sent_at", "created_at")


def patient_handoffs(user, patient, *, standing: Standing | None = None) -> list:
    """The handoffs of one patient that the user may see, newest first, as the patient pages list
    them. Given where the user stands (`standing`): one who sees the patient on the record sees all
    of them (`handoffs_visible_to`'s sending side), without the rule's subqueries."""
    handoffs = Handoff.objects if standing and standing.on_record else handoffs_visible_to(user)
    rows = list(
        handoffs.filter(patient=patient)
        .select_related("from_unit", "to_unit", "from_person", "to_person")
        .only(*PATIENT_ROW_FIELDS, "from_unit__name", "to_unit__name", *names("from_person", "to_person"))
        .order_by("-created_at", "-pk")
    )
    for handoff in rows:  # each row names the patient
        handoff.patient = patient
    return rows


# Review order: overdue acknowledgements first, then by status along the flow, then the oldest.
REVIEW_STATUS_ORDER = ["sent", "acknowledged", "accepted", "returned", "completed", "draft", "cancelled"]


def handoff_review_queue(unit_id: int, *, now: dt.datetime, statuses=None, flagged_only: bool = False) -> list:
    """The handoffs sent by a unit, for its coordinator: overdue acknowledgements first, then by
    status and age (oldest first). A constant number of queries, whatever the number of rows
    (with_relations)."""
    handoffs = with_relations(Handoff.objects.filter(from_unit_id=unit_id))
    if statuses:
        handoffs = handoffs.filter(status__in=statuses)
    else:
        handoffs = handoffs.exclude(status=Handoff.Status.DRAFT)
    if flagged_only:
        handoffs = handoffs.filter(flagged=True)
    rows = list(handoffs.order_by("sent_at", "created_at")[:500])
    rank = {status: n for n, status in enumerate(REVIEW_STATUS_ORDER)}
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(
        rows,
        key=lambda h: (not h.acknowledgement_overdue(now), rank[h.status], h.sent_at or h.created_at or far),
    )


def handoffs_waiting(unit_id: int, *, now: dt.datetime, limit: int = 20) -> list:
    """A unit's handoffs that wait for the receiving side (sent or acknowledged), overdue first."""
    waiting = list(
        Handoff.objects.filter(from_unit_id=unit_id, status__in=[Handoff.Status.SENT, Handoff.Status.ACKNOWLEDGED])
        .select_related("patient", "to_unit", "from_person")
        .order_by("acknowledge_by", "sent_at")[:limit]
    )
    return sorted(waiting, key=lambda h: (not h.acknowledgement_overdue(now), h.sent_at))


def handoffs_incoming(user) -> list:
    """Handoffs addressed to the user's unit that it sees now, waiting ones first."""
    if not user.unit_id:
        return []
    rank = {status: n for n, status in enumerate(REVIEW_STATUS_ORDER)}
    rows = list(
        handoffs_visible_to(user)
        .filter(to_unit_id=user.unit_id)
        .exclude(status__in=[Handoff.Status.DRAFT, Handoff.Status.CANCELLED, Handoff.Status.RETURNED])
        # Both units: the page names the sender's, the CSV download both (handoffs/views/export.py).
        .select_related("patient", "from_unit", "to_unit", "from_person", "to_person")
        .order_by("sent_at")[:200]
    )
    return sorted(rows, key=lambda h: (rank[h.status], h.sent_at))


def handoffs_outgoing(user) -> list:
    """Handoffs of the patients the user sees on the record (care team, unit), open ones first."""
    closed = [Handoff.Status.COMPLETED, Handoff.Status.CANCELLED]
    rows = list(
        handoffs_visible_to(user)
        .filter(patient__in=Patient.objects.visible_to(user, grants=False))
        .select_related("patient", "from_unit", "to_unit", "from_person")
        .order_by("-created_at")[:200]
    )
    return sorted(rows, key=lambda h: h.status in closed)


def handoff_actions_for(user, *, visible_patient_ids: Iterable[int] | None = None) -> list:
    """Open receiving-side tasks of the user's role on the handoffs their unit has taken over.
    `visible_patient_ids`: the patients the user sees, when the page has read them already."""
    if not user.unit_id or not user.role:
        return []
    if visible_patient_ids is None:
        which = open_receiving_actions(user.role, user.unit_id, Patient.objects.visible_to(user), timezone.now())
    elif not (patient_ids := tuple(visible_patient_ids)):
        return []  # (an empty IN has no SQL to compile)
    elif query := compiled(open_receiving_actions, user.role, user.unit_id, patient_ids, NOW):
        # Built and compiled with the ORM, this question cost more than PostgreSQL's answer, on
        # every rendered My work (docs/performance.md, issue 19's eighth look).
        which = query.at(timezone.now()).as_subquery()
    else:
        which = open_receiving_actions(user.role, user.unit_id, patient_ids, timezone.now())
    return list(
        HandoffAction.objects.filter(pk__in=which).select_related("handoff__patient__unit").order_by("due_at", "order")
    )


def open_receiving_actions(role: str, unit_id: int, patient_ids, now: dt.datetime) -> QuerySet[HandoffAction]:
    """The ids of the first 200 open actions of `role` on the handoffs that the unit `unit_id` has
    taken over for the patients `patient_ids`, within each handoff's own window at `now`: a later
    handoff's grant opens the patient again, not an earlier handoff's work. A pure function of its
    arguments (accounts.db.compiled)."""
    window_open = Q(handoff__access_grant__revoked_at__isnull=True, handoff__access_grant__starts_at__lte=now) & (
        Q(handoff__access_grant__ends_at__isnull=True) | Q(handoff__access_grant__ends_at__gt=now)
    )
    return (
        HandoffAction.objects.filter(
            window_open,
            status=HandoffAction.Status.OPEN,
            role=role,
            handoff__to_unit_id=unit_id,
            handoff__status__in=RECEIVER_STATUSES,
            handoff__patient__in=patient_ids,
        )
        .order_by("due_at", "order")
        .values("pk")[:200]
    )


# The events a handoff may belong to (a discharge above all).
HANDOFF_EVENT_KINDS = [
    CareEvent.Kind.DISCHARGE_HOME,
    CareEvent.Kind.INTERRUPTION,
    CareEvent.Kind.RESTART,
    CareEvent.Kind.CYCLE_START,
]


def events_awaiting_handoff(patient: Patient) -> QuerySet[CareEvent]:
    """The patient's events still to come that a handoff may belong to and that have none live."""
    return (
        CareEvent.objects.filter(patient=patient, kind__in=HANDOFF_EVENT_KINDS)
        .exclude(status__in=[CareEvent.Status.CANCELLED, CareEvent.Status.DONE])
        .exclude(handoffs__status__in=[s for s in Status.values if s != Status.CANCELLED])
        .select_related("cycle")
        .order_by("planned_at")
    )


def receiving_units_for(patient: Patient):
    """The units a patient's handoff may go to: the organisation's other units that receive one."""
    return Unit.objects.filter(
        organisation_id=patient.organisation_id, kind__in=set(RECEIVING_UNIT_KINDS.values())
    ).exclude(pk=patient.unit_id)


def receiving_member(unit: Unit, pk: int) -> User | None:
    """The active member of `unit` with this id who may accept a handoff (as the form offers), or
    None: an id of anyone else (another unit's, another organisation's, someone who left, a
    pharmacist) is not told apart from an id that nobody has."""
    return User.objects.filter(pk=pk, unit=unit, is_active=True, role__in=ACCEPT_HANDOFF.roles).first()


def receiving_people_for(units):
    """The people a handoff may be addressed to: active members of those units who may accept."""
    return User.objects.filter(Q(unit__in=units), is_active=True, role__in=ACCEPT_HANDOFF.roles).select_related("unit")


def next_bag_change(event: CareEvent) -> CareEvent | None:
    """The first bag change planned from an event on (at home, after a discharge)."""
    return bag_changes_from(event.planned_at, course_id=event.cycle.course_id).first()


def handoff_checklists(handoff: Handoff) -> list[Checklist]:
    """The checklists of the handoff's event (the hospital-to-home transition), with their tasks."""
    event = CareEvent.objects.prefetch_related(checklists_with_tasks()).get(pk=handoff.event_id)
    return list(event.checklists.all())


# --- the facts from the record -------------------------------------------------------------------


def _pump_programming(done: QuerySet[Task], zone) -> str:
    """The newest pump rate entered (the task that records it, found by its key), by whom, and
    who double-checked the programming: the rate task's own check, or that of a task after it."""
    rate = (
        done.filter(records=TemplateItem.Records.PUMP_RATE)
        .select_related("completed_by", "verified_by")
        .order_by("-completed_at")
        .first()
    )
    if rate is None:
        return "not recorded"
    checker = rate.verified_by
    if checker is None:
        check = (
            rate.dependents.filter(verified_by__isnull=False)
            .select_related("verified_by")
            .order_by("-verified_at")
            .first()
        )
        checker = check.verified_by if check else None
    text = f"programmed {moments.moment(rate.completed_at, zone)} by {rate.completed_by}"
    return f"{text}, double-checked by {checker}" if checker else text


def handoff_facts(
    handoff: Handoff, *, now: dt.datetime | None = None, bags_from: dt.datetime | None = None
) -> list[list[str]]:
    """The facts a receiver needs, read from the record: cycle and day, inpatient days done,
    bag duration and the next change at home, pump programming, weight, last premedication.

    [[label, value], …]; stored on the handoff when it is sent, computed afresh before. The
    tasks are found by what they record (their item's key), never by their text. The next bag
    change is the first from the event on, and from `bags_from` (`now` unless given).
    """
    now = now or timezone.now()
    patient, cycle, course, event = handoff.patient, handoff.cycle, handoff.course, handoff.event
    zone = patient.unit.zone
    discharge_day = cycle.day_number(timezone.localtime(event.planned_at, zone).date())
    today = cycle.day_number(timezone.localtime(now, zone).date())
    inpatient_done = max(0, min(cycle.inpatient_days, today - 1))
    next_bag = bag_changes_from(max(bags_from or now, event.planned_at), course_id=course.pk).first()
    done = Task.objects.filter(patient=patient, status=Task.Status.DONE)
    # Its value is the time given, on the unit's clock (checklists/recorded.py).
    premedication = (
        done.filter(records=TemplateItem.Records.PREMEDICATION_TIME)
        .select_related("event")
        .order_by("-completed_at")
        .first()
    )
    if today < 1:
        where = f"starts {moments.day_short(cycle.start_date)}"
    elif today > cycle.infusion_days:
        where = f"infusion ended {moments.day_short(cycle.infusion_end_date)}"
    else:
        where = f"day {today} today"
    return [
        [
            "Cycle and day",
            f"Cycle {cycle.number} ({cycle.get_phase_display().lower()}), {where}; "
            f"{event.get_kind_display().lower()} on day {discharge_day}",
        ],
        # Its time too: a discharge put off after sending moves the receiving side's first visit.
        ["Event and time", f"{event.get_kind_display()}, {moments.moment(event.planned_at, zone)}"],
        ["Inpatient days", f"{inpatient_done} of {cycle.inpatient_days} done"],
        ["Bag duration", f"{course.bag_hours} hours outside hospital"],
        ["Next bag change", moments.moment(next_bag.planned_at, zone) if next_bag else "none planned in this course"],
        ["Pump programming", _pump_programming(done, zone)],
        ["Weight", f"{weight_shown(patient.weight_kg)}, measured {moments.day(patient.weight_measured_on)}"],
        [
            "Last premedication",
            f"{premedication.value_shown}, before the {premedication.event.get_kind_display().lower()}"
            if premedication
            else "not recorded",
        ],
        ["Pump and line events", _pump_events(patient, zone)],
        ["Contacts", whom_to_call(patient)],
    ]


def _pump_events(patient, zone, *, shown: int = 5) -> str:
    """The newest pump and line events of the patient, out-of-hours ones marked."""
    events = PumpEvent.objects.filter(patient=patient).order_by("-occurred_at")[:shown]
    return (
        "; ".join(
            f"{moments.moment(event.occurred_at, zone)} {event.get_kind_display().lower()}"
            f"{' (out of hours)' if event.out_of_hours else ''}: {event.action_taken}"
            for event in events
        )
        or "none recorded"
    )


def whom_to_call(patient) -> str:
    """Who to call, as the record says now: printed on the caregiver's summary."""
    unit = patient.unit
    caregiver = f"{patient.caregiver_name} {patient.caregiver_phone}".strip() or "not recorded"
    return (
        f"{unit} 24/7: {unit.phone_24h or 'not set'}; doctor on call: {unit.on_call_phone or 'not set'}; "
        f"caregiver: {caregiver}"
    )


def handoff_facts_shown(handoff: Handoff) -> tuple[list[list[str]], bool]:
    """The facts a page shows, and whether they are live: those stored when it was sent, or read
    afresh while it is with the sender (never sent, a draft again, or returned)."""
    live = not handoff.sent_at or handoff.status in EDIT.sources
    return (handoff_facts(handoff) if live else handoff.facts), live


# The facts whose change since sending the receiver must act on (the others, such as the day of
# the cycle, move on with the clock by themselves).
WATCHED_FACTS = ("Event and time", "Next bag change", "Bag duration", "Pump programming", "Weight", "Contacts")


def handoff_facts_changed(handoff: Handoff) -> list[tuple[str, str, str]]:
    """Of a sent handoff's stored facts, those the record now says otherwise: (label, as sent,
    now). A bag change moved, a pump reprogrammed or a new weight after sending is shown beside
    the facts as they were sent, so that the receiving side works from the record as it is."""
    waiting_or_worked = (Handoff.Status.SENT, Handoff.Status.ACKNOWLEDGED, Handoff.Status.ACCEPTED)
    if handoff.sent_at is None or handoff.status not in waiting_or_worked:
        return []
    # The next bag change read as at sending: the one that was sent, wherever it moved since (or
    # the next, once it is cancelled). From now, the clock passing it alone read as a change.
    now = dict(handoff_facts(handoff, bags_from=handoff.sent_at))
    return [
        (label, sent, now[label])
        for label, sent in handoff.facts
        if label in WATCHED_FACTS and label in now and now[label] != sent
    ]


def handoff_facts_printed(handoff: Handoff) -> list[list[str]]:
    """The facts for the caregiver's sheet: as the page shows them, each watched one that the
    record now says otherwise given as it is now, beside what was sent ("now …, sent as …"), as
    the page flags it; a caregiver works from the sheet alone, beside its bag calendar read now."""
    facts, live = handoff_facts_shown(handoff)
    if live:
        return facts
    changed = {label: now for label, _, now in handoff_facts_changed(handoff)}
    return [[label, f"now {changed[label]} (sent as {value})" if label in changed else value] for label, value in facts]
