"""Who may change a patient's course plan, in one place.

Each function answers for one action: allowed, or refused with the sentence shown to the user.
The services enforce them; the pages call the same functions to decide what to offer.
"""

import datetime as dt
from functools import cached_property

from django.db.models import Q
from django.utils import timezone

from accounts import moments
from accounts.models import Role
from accounts.permissions import CLINICIANS, Ability, can
from accounts.policy import ALLOWED, Decision, refuse

from .models import CareTeamMember, Interruption, Patient
from .models.record import PATIENT_ROLES

VIEW_PATIENTS = Ability("view_patients", "see the patients of their care teams", PATIENT_ROLES)
REGISTER_PATIENT = Ability("register_patient", "register a patient", frozenset({Role.COORDINATOR}))
EDIT_PATIENT = Ability("edit_patient", "edit a patient's record", CLINICIANS | {Role.COORDINATOR})
MANAGE_CARE_TEAM = Ability(
    "manage_care_team", "choose a patient's care team and transfer the patient", frozenset({Role.COORDINATOR})
)


class Standing:
    """Where one user stands with one patient; each answer is read when first asked, then kept: a
    page asks several of these policies the same questions (as coordination.handoffs.policy.Sides)."""

    def __init__(self, user, patient: Patient):
        self.user, self.patient = user, patient

    @cached_property
    def on_care_team(self) -> bool:
        """On the care team in the role the user holds now (CareTeamMember.objects.in_current_role)."""
        return CareTeamMember.objects.filter(patient=self.patient, user=self.user).in_current_role().exists()

    @cached_property
    def on_record(self) -> bool:
        """Sees the patient on the record itself (care team, the unit's coordinator), not only
        through an access grant."""
        return Patient.objects.visible_to(self.user, grants=False).filter(pk=self.patient.pk).exists()

    @cached_property
    def sees(self) -> bool:
        """Sees the patient (`visible_to`): on the record, or through a live access grant."""
        if self.__dict__.get("on_record"):  # known already, and a grant only adds to the record
            return True
        return Patient.objects.visible_to(self.user).filter(pk=self.patient.pk).exists()


def _on_care_team(user, patient: Patient, roles: set[str], standing: Standing | None) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and user.role in roles
        and (standing or Standing(user, patient)).on_care_team
    )


def _decide(user, patient: Patient, roles: set[str], action: str, standing: Standing | None = None) -> Decision:
    if _on_care_team(user, patient, roles, standing):
        return ALLOWED
    who = " or ".join(sorted(Role(role).label.lower() for role in roles))
    return refuse(f"Only the patient's {who} may {action}.")


def can_edit_patient(user, patient: Patient) -> bool:
    """The record's demographics: its care team, and the coordinator of the patient's unit (a unit
    that sees the patient only through an access grant may read, not change)."""
    if not can(user, EDIT_PATIENT):
        return False
    if user.role == Role.COORDINATOR and user.unit_id == patient.unit_id:
        return True
    return Standing(user, patient).on_care_team


def can_plan_course(user, patient: Patient, *, standing: Standing | None = None) -> Decision:
    """The oncologist sets the indication, which sets the regimen."""
    return _decide(user, patient, {Role.ONCOLOGIST}, "plan a course", standing)


def can_begin_a_course(patient: Patient, *, courses=None) -> Decision:
    """One course under way at a time (`TreatmentCourse.UNDER_WAY`): another is planned once the
    last has completed or was stopped for good; given the patient's `courses` when read already."""
    courses = patient.courses.all() if courses is None else courses
    if any(course.is_under_way for course in courses):
        return refuse(
            "This patient already has a course under way: the next is planned once it has completed "
            "its last cycle or was stopped for good."
        )
    return ALLOWED


def can_change_cycles(user, patient: Patient, *, standing: Standing | None = None) -> Decision:
    return _decide(user, patient, {Role.ONCOLOGIST}, "change the number of cycles", standing)


def can_set_next_start(user, patient: Patient, *, standing: Standing | None = None) -> Decision:
    """The chemotherapy plan between consolidation cycles: the oncologist or the unit's coordinator
    (a regimen's own rest is never set so: patients.services.cycle_set_next_start refuses it)."""
    if user.is_authenticated and user.role == Role.COORDINATOR and user.unit_id == patient.unit_id:
        return ALLOWED
    return _decide(user, patient, {Role.ONCOLOGIST}, "set when the next cycle starts", standing)


def can_record_stop(user, patient: Patient, *, standing: Standing | None = None) -> Decision:
    """Whoever is at the pump: a nurse (a home nurse while the handoff's grant lasts) or the oncologist."""
    if not (user.is_authenticated and user.is_active and user.role in {Role.NURSE, Role.ONCOLOGIST}):
        return refuse("Only a nurse or the oncologist may record that the infusion stopped.")
    if not (standing or Standing(user, patient)).sees:
        return refuse("Only a nurse or the oncologist caring for this patient may record a stop.")
    return ALLOWED


def can_record_restart(
    user, patient: Patient, *, interruption=None, restarted_at=None, standing: Standing | None = None
) -> Decision:
    """The oncologist decides the restart, its dose and its supervision. After a pump or line
    stop shorter than the regimen's supervised-restart threshold (4 hours), the nurse who put it
    right restarts: that is no decision about the treatment (given `interruption`, and
    `restarted_at` once known)."""
    oncologist = _decide(user, patient, {Role.ONCOLOGIST}, "record a restart", standing)
    if oncologist or interruption is None or interruption.cause != Interruption.Cause.PUMP_OR_LINE:
        return oncologist
    hours = interruption.course.regimen_version.supervised_restart_after_hours
    if restarted_at is not None and restarted_at - interruption.stopped_at >= dt.timedelta(hours=hours):
        return refuse(f"After a break of {hours} hours or more the restart is supervised: the oncologist records it.")
    if not can_record_stop(user, patient, standing=standing):
        return refuse("Only a nurse caring for the patient, or the oncologist, may restart after a pump or line stop.")
    return ALLOWED


def restart_fixed_because(interruption: Interruption, *, now: dt.datetime | None = None, zone=None) -> str | None:
    """Why this break's restart can no longer be moved, or None: only a restart planned ahead, whose
    event (a supervised restart's, or the new cycle's start) has not started, moves."""
    now = now or timezone.now()
    if interruption.permanent:
        return "The course was stopped for good at this break: there is no restart to move."
    if interruption.restarted_at is None:
        return "No restart is recorded for this break yet: record the restart instead."
    event = interruption.restart_event
    if event is not None and event.status == event.Status.IN_PROGRESS:
        return "The restart is under way: its time is the time it happened, and it cannot be moved."
    if interruption.restarted_at <= now or (event is not None and event.status == event.Status.DONE):
        restart = moments.moment_short(interruption.restarted_at, zone or interruption.patient.unit.zone)
        return f"The infusion restarted on {restart}: a restart that has happened cannot be moved."
    return None


def can_move_restart(
    user, patient: Patient, *, interruption: Interruption, standing: Standing | None = None
) -> Decision:
    """Whoever may record the restart at its planned time (`can_record_restart`) may move it while
    it has not started (`restart_fixed_because`); the service asks again at the new time."""
    if why := restart_fixed_because(interruption, zone=patient.unit.zone):
        return refuse(why)
    return can_record_restart(
        user, patient, interruption=interruption, restarted_at=interruption.restarted_at, standing=standing
    )


def can_stop_for_good(user, patient: Patient, *, standing: Standing | None = None) -> Decision:
    return _decide(user, patient, {Role.ONCOLOGIST}, "stop the course for good", standing)


def can_record_bag(user, patient: Patient, *, standing: Standing | None = None) -> Decision:
    """Recording a bag, and deciding what becomes of one whose event was cancelled."""
    return _decide(user, patient, {Role.PHARMACIST}, "record a bag", standing)


def can_compound_bag(user) -> Decision:
    """A bag is compounded in the pharmacy: the record names a pharmacist (CLINICAL.md, "Every bag
    prepared is a record": who compounded, who checked)."""
    if user.is_active and user.role == Role.PHARMACIST:
        return ALLOWED
    return refuse("Compounding is a pharmacist's.")


def can_check_bag(user) -> Decision:
    """The independent check of a compounded bag is a pharmacist's (the form names who did it)."""
    if user.is_active and user.role == Role.PHARMACIST:
        return ALLOWED
    return refuse("The check is a pharmacist's.")


def _open_stop(patient: Patient) -> Interruption | None:
    return (
        Interruption.objects.filter(patient=patient, restarted_at__isnull=True, permanent=False)
        .select_related("course__regimen_version")
        .first()
    )


def _stop_in_effect(patient: Patient) -> Interruption | None:
    return (
        Interruption.objects.filter(patient=patient, permanent=False)
        .filter(Q(restarted_at__isnull=True) | Q(restarted_at__gt=timezone.now()))
        .select_related("restart_event", "course__regimen_version")
        .first()
    )


def _offer_stop(user, patient: Patient, *, standing: Standing, held: Interruption | None) -> Decision:
    """A second stop while the pump is already off would be refused by the service (the infusion
    is stopped, or the time falls inside the break): the pages offer the restart instead."""
    decision = can_record_stop(user, patient, standing=standing)
    if not decision or held is None:
        return decision
    if held.restart_is_planned:
        restart = moments.moment_short(held.restarted_at, patient.unit.zone)
        return refuse(f"The infusion is stopped until its restart, planned for {restart}.")
    return refuse("The infusion is already stopped: its restart is recorded next, not a second stop.")


def plan_actions(user, patient: Patient, *, standing: Standing | None = None, courses=None) -> dict[str, Decision]:
    """Every plan action's answer for one user and patient, for the patient page to offer; given
    the patient's `courses` with their breaks when the page has read them."""
    standing = standing or Standing(user, patient)
    if courses is None:
        open_stop, held = _open_stop(patient), _stop_in_effect(patient)
    else:
        open_stop = next((stop for course in courses if (stop := course.open_interruption)), None)
        held = next((stop for course in courses if (stop := course.stop_in_effect)), None)
    return {
        "plan_course": can_plan_course(user, patient, standing=standing)
        and can_begin_a_course(patient, courses=courses),
        "change_cycles": can_change_cycles(user, patient, standing=standing),
        "set_next_start": can_set_next_start(user, patient, standing=standing),
        "record_stop": _offer_stop(user, patient, standing=standing, held=held),
        "record_restart": can_record_restart(user, patient, interruption=open_stop, standing=standing),
        "move_restart": (
            can_move_restart(user, patient, interruption=held, standing=standing)
            if held is not None and held.restarted_at is not None
            else refuse("No restart is planned ahead: there is none to move.")
        ),
        "stop_for_good": can_stop_for_good(user, patient, standing=standing),
    }


# --- the toxicity watch ---------------------------------------------------------------------------


def can_record_assessment(user, patient: Patient, *, standing: Standing | None = None) -> Decision:
    """CRS and ICANS are assessed at the bedside: a nurse (a home nurse while the handoff's grant
    lasts) or the oncologist caring for the patient."""
    if not (user.is_authenticated and user.is_active and user.role in {Role.NURSE, Role.ONCOLOGIST}):
        return refuse("Only a nurse or the oncologist may record a CRS and ICANS assessment.")
    if not (standing or Standing(user, patient)).sees:
        return refuse("Only a nurse or the oncologist caring for this patient may record an assessment.")
    return ALLOWED


def can_confirm_grades(user, patient: Patient) -> Decision:
    """The grade that counts is the oncologist's: they confirm the computed one or change it."""
    return _decide(user, patient, {Role.ONCOLOGIST}, "confirm a CRS or ICANS grade")


def can_record_pump_event(user, patient: Patient) -> Decision:
    """Whoever is at the pump, as for a stop: a nurse (a home nurse under the grant) or the oncologist."""
    return can_record_stop(user, patient)


def can_manage_care_team(user, patient: Patient) -> Decision:
    """The coordinator of the patient's unit chooses who is on the care team, and transfers the
    patient to another unit (whose coordinator then takes over)."""
    if can(user, MANAGE_CARE_TEAM) and user.is_active and user.unit_id == patient.unit_id:
        return ALLOWED
    return refuse("Only the coordinator of the patient's unit may change the care team or transfer the patient.")
