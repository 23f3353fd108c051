"""Reads of the clinical record. Every query of patient data starts from `visible_to`."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import BigIntegerField, Case, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.http import Http404
from django.utils import timezone

from accounts.audit import audit_record, get_or_404_audited
from accounts.models import AuditEvent

from .grading import Seizure
from .models import (
    Assessment,
    CareEvent,
    HomeCheckIn,
    Interruption,
    Patient,
    PremedicationRule,
    PumpEvent,
    Transfer,
    TreatmentCourse,
)
from .policy import Standing, can_edit_patient
from .warning_signs import SEIZURE


def names(*users: str) -> list[str]:
    """The columns of related users that a page prints of them (`User.__str__`), for `only()`."""
    return [f"{user}__{field}" for user in users for field in ("first_name", "last_name", "username")]


def work_organisations(*, user) -> set[int]:
    """The organisations of the patients on whose care team `user` is, or that a grant opens to them
    (accounts.hooks: a user with work in one organisation is not moved to another's unit)."""
    where = Q(care_team__user=user) | Q(access_grants__user=user)
    return set(Patient.objects.filter(where).values_list("organisation_id", flat=True).distinct())


def patients_for_user(user) -> QuerySet[Patient]:
    return Patient.objects.visible_to(user).select_related("unit")


def get_patient_for_user(user, pk, *, write: bool = False) -> Patient:
    """The patient, or 404 when the user may not see it (its existence must not leak).

    write=True asks for the right to change the record: care-team members and the unit's
    coordinator; a unit that only holds an access grant may read.
    """
    patient = get_or_404_audited(patients_for_user(user), pk, object_type="patients.patient")
    if write and not can_edit_patient(user, patient):
        audit_record(
            action=AuditEvent.Action.UPDATE,
            object_type="patients.patient",
            object_id=pk,
            patient_id=pk,
            outcome=AuditEvent.Outcome.DENIED,
        )
        raise Http404
    return patient


def sees_only_through_grant(user, patient: Patient, *, standing: Standing | None = None) -> bool:
    """True when the user sees this patient only through a live access grant (a handoff's
    receiving side): their pages show what the handoff needs, not the whole record."""
    return not (standing or Standing(user, patient)).on_record


# --- the course plan ---------------------------------------------------------------------------


def restart_of(event) -> "Interruption | None":
    """The break that this event restarts the infusion after (a supervised restart, or the start
    of the new cycle after a break too long to continue its own), or None. Reads the course's
    breaks through `.all()`, so a prefetch makes it free for many events."""
    return next((stop for stop in event.cycle.course.interruptions.all() if stop.restart_event_id == event.pk), None)


def stop_in_effect(patient: Patient) -> "Interruption | None":
    """The stop that keeps the patient's pump off now: waiting for its restart, or with its restart
    planned and still ahead; with its course's regimen version (who may restart it reads it)."""
    return (
        Interruption.objects.filter(patient=patient, permanent=False)
        .filter(Q(restarted_at__isnull=True) | Q(restarted_at__gt=timezone.now()))
        .select_related("course__regimen_version")
        .first()
    )


def stop_of(event) -> "Interruption | None":
    """The stop that this event is about: the stop itself (its own event, at the stop's time), or
    the break that it restarts the infusion after (`restart_of`); None for any other event. Reads
    the course's breaks through `.all()`, as `restart_of` does."""
    if event.kind != CareEvent.Kind.INTERRUPTION:
        return restart_of(event)
    stops = event.cycle.course.interruptions.all()
    return next(
        (stop for stop in stops if stop.cycle_id == event.cycle_id and stop.stopped_at == event.planned_at), None
    )


def premedication_for_event(event) -> "PremedicationRule | None":
    """The premedication the course's regimen asks for before this event, or None.

    By the patient's age on the event's day (adult or child), the kind of start (a cycle's first
    dose, the step-up or a re-escalation, a supervised restart) and the cycle number (of the rule
    it follows: `Cycle.rule_number`). A new cycle
    that restarts the infusion after a long break is a restart too, of the cycle the break came in
    (children: a restart in cycle 1 is premedicated, though the new cycle is cycle 2). Reads the
    version's rules through `.all()`, so a prefetch makes it free for many events.
    """
    moment = {
        CareEvent.Kind.CYCLE_START: PremedicationRule.Moment.CYCLE_START,
        CareEvent.Kind.DOSE_STEP_UP: PremedicationRule.Moment.STEP_UP,
        CareEvent.Kind.RESTART: PremedicationRule.Moment.RESTART,
    }.get(event.kind)
    if moment is None:
        return None
    # By the cycle's rule: a cycle that repeats cycle 1's step-up is premedicated as cycle 1.
    asks = [(moment, event.cycle.rule_number)]
    if event.kind == CareEvent.Kind.CYCLE_START and (stop := restart_of(event)) is not None:
        asks.append((PremedicationRule.Moment.RESTART, stop.cycle.rule_number))
    version = event.cycle.course.regimen_version
    age = event.patient.age_on(event.local_planned_at.date())
    population = (
        PremedicationRule.Population.ADULT if age >= version.adult_from_age else PremedicationRule.Population.CHILD
    )
    for asked_moment, cycle_number in asks:
        for rule in version.premedications.all():
            if rule.population == population and rule.moment == asked_moment and rule.applies_to_cycle(cycle_number):
                return rule
    return None


def course_plan_for_patient(patient: Patient):
    """The patient's courses with what the plan section shows: regimen, cycles, breaks, bags."""
    return (
        TreatmentCourse.objects.filter(patient=patient)
        .select_related("regimen_version__regimen")
        .prefetch_related(
            "regimen_version__cycle_rules",
            Prefetch("interruptions", queryset=Interruption.objects.select_related("stopped_by", "restarted_by")),
        )
        .order_by("-start_date")
    )


def bag_changes_from(moment, *, course_id: int | None = None, cycle_id: int | None = None) -> QuerySet[CareEvent]:
    """The bag changes of a course (or of one cycle) still planned at or after `moment`, earliest
    first: the one query for "the next bag change" and for a bag calendar."""
    changes = CareEvent.objects.filter(kind=CareEvent.Kind.BAG_CHANGE, planned_at__gte=moment)
    if course_id is not None:
        changes = changes.filter(cycle__course_id=course_id)
    if cycle_id is not None:
        changes = changes.filter(cycle_id=cycle_id)
    return changes.exclude(status=CareEvent.Status.CANCELLED).order_by("planned_at")


def current_course(patient: Patient) -> TreatmentCourse | None:
    """The patient's course planned or running now (the newest), if any."""
    return patient.courses.filter(status__in=TreatmentCourse.UNDER_WAY).order_by("-pk").first()


# --- the toxicity watch ----------------------------------------------------------------------------


def assessments_for(patient: Patient) -> list[Assessment]:
    """The patient's CRS and ICANS assessments, newest first, with who recorded and confirmed them."""
    return list(Assessment.objects.filter(patient=patient).select_related("recorded_by", "confirmed_by", "event"))


def neurotoxicity_resolved_before(*, course: TreatmentCourse, moment: dt.datetime) -> dt.datetime | None:
    """When an earlier grade 3 or 4 neurological toxicity of the course began, if it had resolved
    by `moment`: one at `moment` then recurs, and the label stops for good a grade 3 that recurs
    (CLINICAL.md, "Interruptions and toxicity"). None: no earlier episode, or it still lasts.

    An episode is a neurological break of grade 3 or more that restarted by then (a restart
    follows its resolution), or an ICANS grade of 3 or more (the oncologist's once confirmed)
    followed by one of 1 or less. A grade that stays above 1 is the same episode, not a recurrence.
    """
    began = list(
        course.interruptions.filter(
            toxicity_kind=Interruption.ToxicityKind.NEUROLOGICAL,
            toxicity_grade__gte=3,
            stopped_at__lt=moment,
            restarted_at__lte=moment,
        ).values_list("stopped_at", flat=True)
    )
    grades = (
        Assessment.objects.filter(course=course, assessed_at__lt=moment)
        .annotate(counted=Coalesce("confirmed_icans_grade", "icans_grade"))
        .order_by("assessed_at", "pk")
        .values_list("assessed_at", "counted")
    )
    episode = None
    for assessed_at, grade in grades:
        if grade >= 3 and episode is None:
            episode = assessed_at
        elif grade <= 1 and episode is not None:
            began.append(episode)
            episode = None
    return min(began, default=None)


# A seizure the caregiver reported at a home check and one charted at an assessment within this
# time of it are the same seizure: brought in, the patient is assessed and the seizure charted.
SAME_SEIZURE_WITHIN = dt.timedelta(hours=12)
AT_AN_ASSESSMENT, AT_A_HOME_CHECK = "at an assessment", "at a home check"


@dataclass(frozen=True)
class SeizureSeen:
    """One seizure of a course: when and where it was first recorded ("at an assessment", "at a
    home check"); `assessment_id` and `check_in_id` are the records it was seen at (a home check's
    report and the assessment that charted it again are one seizure)."""

    at: dt.datetime
    where: str
    assessment_id: int | None = None
    check_in_id: int | None = None


def seizures_in_course(*, patient_id: int, course_id: int | None) -> list[SeizureSeen]:
    """The seizures of the course (of the patient outside any course, `course_id` None), earliest
    first: each seen at an assessment, and each reported at a home check (CLINICAL.md: "More than
    one seizure ... stop for good"; a seizure is a seizure wherever it was recorded). A seizure
    reported at a home check and one charted at an assessment within `SAME_SEIZURE_WITHIN` of it
    are one (the nearest such assessment not already paired, one for one); two assessments, or two
    home checks, are always two. The one count for the watch (`other_seizure_in_course`) and for
    the refusal of a restart (services.interruptions)."""
    assessed = list(
        Assessment.objects.filter(patient_id=patient_id, course_id=course_id)
        .exclude(seizure=Seizure.NONE)
        .order_by("assessed_at", "pk")
        .values_list("pk", "assessed_at")
    )
    # The signs read and looked through here, not `signs__contains`: SQLite (`make run`) has no
    # SQL for a JSON list's containment and Django refuses it there. A course has a check a day.
    reported = [
        (pk, checked_at)
        for pk, checked_at, signs in HomeCheckIn.objects.filter(patient_id=patient_id, course_id=course_id)
        .order_by("checked_at", "pk")
        .values_list("pk", "checked_at", "signs")
        if SEIZURE in signs
    ]
    paired: dict[int, tuple[int, dt.datetime]] = {}  # an assessment's pk: the home check it charted
    for check_in_id, checked_at in reported:
        near = [
            (abs(assessed_at - checked_at), assessed_at, pk)
            for pk, assessed_at in assessed
            if pk not in paired and abs(assessed_at - checked_at) <= SAME_SEIZURE_WITHIN
        ]
        if near:
            paired[min(near)[2]] = (check_in_id, checked_at)
    charted = {check_in_id for check_in_id, _ in paired.values()}
    seen = []
    for pk, assessed_at in assessed:
        check_in_id, checked_at = paired.get(pk, (None, assessed_at))
        where = AT_A_HOME_CHECK if checked_at < assessed_at else AT_AN_ASSESSMENT
        seen.append(SeizureSeen(min(assessed_at, checked_at), where, assessment_id=pk, check_in_id=check_in_id))
    seen += [SeizureSeen(at, AT_A_HOME_CHECK, check_in_id=pk) for pk, at in reported if pk not in charted]
    return sorted(seen, key=lambda seizure: seizure.at)


def other_seizure_in_course(
    *, patient_id: int, course_id: int | None, assessment_id: int | None = None, check_in_id: int | None = None
) -> bool:
    """Whether the course has a seizure recorded other than the one of this assessment or home
    check (`seizures_in_course`: the same seizure reported at home and charted at an assessment
    is one)."""
    return any(
        not (
            (assessment_id is not None and seizure.assessment_id == assessment_id)
            or (check_in_id is not None and seizure.check_in_id == check_in_id)
        )
        for seizure in seizures_in_course(patient_id=patient_id, course_id=course_id)
    )


def check_ins_for(patient: Patient) -> list[HomeCheckIn]:
    return list(HomeCheckIn.objects.filter(patient=patient).select_related("recorded_by"))


def pump_events_for(patient: Patient) -> list[PumpEvent]:
    return list(PumpEvent.objects.filter(patient=patient).select_related("recorded_by", "interruption"))


def unit_at(moment: str | dt.datetime, *, patient: str = "patient") -> Coalesce:
    """The unit that the patient of each row (the relation `patient`, "event__patient"…) was on at
    `moment` (a field or annotation of the rows, or a time): the unit that the last transfer at or
    before then moved them to, else the one that the first transfer after then moved them from,
    else (never moved) their unit now. The one place that reads where a patient was; the
    transfers' `at` is the moment they count on the new unit. Two index reads a row."""
    at = OuterRef(moment) if isinstance(moment, str) else moment
    transfers = Transfer.objects.filter(patient=OuterRef(patient))
    moved_to = transfers.filter(at__lte=at).order_by("-at", "-pk").values("to_unit")[:1]
    moved_from = transfers.filter(at__gt=at).order_by("at", "pk").values("from_unit")[:1]
    return Coalesce(Subquery(moved_to), Subquery(moved_from), F(f"{patient}__unit"), output_field=BigIntegerField())


def on_unit_at(unit_id: int, moment: str | dt.datetime, *, patient: str = "patient") -> Q:
    """Rows whose patient (the relation `patient`) was on the unit at `moment` (see unit_at). Only
    the patients on the unit now or moved to or from it ever can have been: that narrows the rows
    by index before the transfers are read for each."""
    return ever_on_unit(unit_id, patient=patient) & Q(Exact(unit_at(moment, patient=patient), unit_id))


def stays_on_unit(queryset: QuerySet, unit_id: int, *, patient: str = "patient") -> QuerySet:
    """The rows of `queryset` once for each stay of their patient on the unit, with the stay's
    `stay_from` and `stay_until` (None: before or after every transfer): unit_at read as intervals,
    for a count at many moments (the overdue trend's day ends), where a condition per moment
    would be two subqueries each. A transfer to the unit begins a stay that the patient's next
    transfer (in the order unit_at reads them) ends; a first transfer from the unit ends the stay
    that had no beginning; a patient never moved stays for good. The stays of one patient do not
    overlap, so a row counts at most once at any moment."""
    transfers = Transfer.objects.filter(patient=OuterRef(patient))
    after = Q(at__gt=OuterRef("moved_at")) | Q(at=OuterRef("moved_at"), pk__gt=OuterRef("moved_pk"))
    before = Q(at__lt=OuterRef("moved_at")) | Q(at=OuterRef("moved_at"), pk__lt=OuterRef("moved_pk"))
    moved = f"{patient}__transfers"
    return (
        queryset.filter(ever_on_unit(unit_id, patient=patient))
        .annotate(
            moved_pk=F(f"{moved}__pk"),
            moved_at=F(f"{moved}__at"),
            moved_to=F(f"{moved}__to_unit"),
            moved_from=F(f"{moved}__from_unit"),
        )
        .filter(
            Q(moved_pk__isnull=True) | Q(moved_to=unit_id) | Q(moved_from=unit_id) & ~Exists(transfers.filter(before))
        )
        .annotate(
            stay_from=Case(When(moved_to=unit_id, then=F("moved_at")), default=None),
            stay_until=Case(
                When(moved_to=unit_id, then=Subquery(transfers.filter(after).order_by("at", "pk").values("at")[:1])),
                When(moved_from=unit_id, then=F("moved_at")),
                default=None,
            ),
        )
    )


def ever_on_unit(unit_id: int, *, patient: str = "patient") -> Q:
    """Rows whose patient is on the unit now or was moved to or from it: those that unit_at can
    place there at some moment."""
    moved = Transfer.objects.filter(Q(from_unit_id=unit_id) | Q(to_unit_id=unit_id)).values("patient_id")
    return Q(**{f"{patient}__unit": unit_id}) | Q(**{f"{patient}__in": moved})
