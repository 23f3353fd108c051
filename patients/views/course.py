"""The course plan's pages: plan a course, change its cycles, record stops and restarts, stop
for good, set a consolidation cycle's next start, and record a bag.

Thin: each page checks the policy (patients/policy.py) to decide whether to offer the form,
validates it, and calls one service; the service checks the same policy again and refuses
bad input with a message per field, which lands at that field.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone

from accounts import moments
from accounts.audit import logs_read
from accounts.models import Unit

from .. import policy, services
from ..forms import (
    BagDisposeForm,
    BagForm,
    BagReuseForm,
    CoursePlanForm,
    CyclesForm,
    NextStartForm,
    RestartForm,
    RestartMoveForm,
    StopForGoodForm,
    StopForm,
)
from ..models import CareEvent, Cycle, InfusionBag, Interruption, TreatmentCourse
from ..selectors import get_patient_for_user
from ..services.bags import (
    BAG_EVENTS,
    bag_for_event,
    next_change_after,
    replacing_event,
    reuse_targets,
    weighing_warning,
)
from .forms_flow import form_page, now_on_unit_clock


def _course(user, pk) -> TreatmentCourse:
    course = get_object_or_404(TreatmentCourse.objects.select_related("regimen_version__regimen"), pk=pk)
    course.patient = get_patient_for_user(user, course.patient_id)
    return course


def _back(patient):
    return redirect("patient_detail", pk=patient.pk)


@logs_read("patients.patient", page="plan_course")
def course_plan(request, pk):
    patient = get_patient_for_user(request.user, pk)
    policy.can_plan_course(request.user, patient).enforce()
    # Today on the patient's unit's clock, as the plan reads its days, not the planner's own unit's.
    today = timezone.localdate(timezone=patient.unit.zone)
    form = CoursePlanForm(request.POST or None, initial={"start_date": today, "outpatient_setting": "home"})

    def act(data):
        course = services.course_plan(patient=patient, actor=request.user, **data)
        messages.success(request, f"{course.regimen_version.regimen} planned: {course.planned_cycles} cycles.")
        return _back(patient)

    return form_page(request, form, act, patient=patient, title="Plan a course", template="patients/course_form.html")


@logs_read("patients.treatmentcourse", page="cycles")
def course_cycles(request, pk):
    course = _course(request.user, pk)
    policy.can_change_cycles(request.user, course.patient).enforce()
    form = CyclesForm(request.POST or None, initial={"planned_cycles": course.planned_cycles})

    def act(data):
        services.course_extend(course=course, planned_cycles=data["planned_cycles"], actor=request.user)
        messages.success(request, f"The plan now has {data['planned_cycles']} cycles.")
        return _back(course.patient)

    return form_page(request, form, act, patient=course.patient, course=course, title="Change the number of cycles")


@logs_read("patients.cycle", page="next_start")
def cycle_next_start(request, pk):
    cycle = get_object_or_404(Cycle.objects.select_related("course__regimen_version__regimen"), pk=pk)
    patient = get_patient_for_user(request.user, cycle.course.patient_id)
    policy.can_set_next_start(request.user, patient).enforce()
    form = NextStartForm(request.POST or None)

    def act(data):
        services.cycle_set_next_start(cycle=cycle, actor=request.user, **data)
        messages.success(request, f"Cycle {cycle.number + 1} starts on {moments.day(data['next_start_date'])}.")
        return _back(patient)

    title = f"When does cycle {cycle.number + 1} start?"
    return form_page(request, form, act, patient=patient, course=cycle.course, title=title)


@logs_read("patients.treatmentcourse", page="stop")
def course_stop(request, pk):
    course = _course(request.user, pk)
    policy.can_record_stop(request.user, course.patient).enforce()
    zone = course.patient.unit.zone
    form = StopForm(
        request.POST or None, zone_name=course.patient.unit.clock_label, initial={"stopped_at": now_on_unit_clock(zone)}
    )

    def act(data):
        services.interruption_stop(course=course, actor=request.user, **data)
        messages.warning(request, "The stop is recorded: no bag change is due until the restart.")
        return _back(course.patient)

    return form_page(
        request, form, act, patient=course.patient, course=course, title="Record that the infusion stopped"
    )


@logs_read("patients.interruption", page="restart")
def interruption_restart(request, pk):
    interruption = get_object_or_404(Interruption.objects.select_related("course__regimen_version"), pk=pk)
    patient = get_patient_for_user(request.user, interruption.patient_id)
    policy.can_record_restart(request.user, patient, interruption=interruption).enforce()
    zone = patient.unit.zone
    form = RestartForm(
        request.POST or None,
        zone_name=patient.unit.clock_label,
        interruption=interruption,
        initial={"restarted_at": now_on_unit_clock(zone)},
    )

    def act(data):
        done = services.interruption_restart(interruption=interruption, actor=request.user, **data)
        if done.new_cycle:
            messages.success(
                request, "The break was too long to continue the cycle: a new cycle starts at the restart."
            )
        elif done.restart_event_id:
            messages.success(request, "The restart is planned as a supervised event with its checklist.")
        else:
            messages.success(request, "The restart is recorded; the plan moved by the length of the break.")
        return _back(patient)

    title = f"Restart after the stop of {moments.moment_short(interruption.stopped_at, zone)}"
    return form_page(request, form, act, patient=patient, course=interruption.course, title=title)


@logs_read("patients.interruption", page="restart_move")
def interruption_restart_move(request, pk):
    """Move a planned restart that has not started (the pump team or the bed not ready): offered
    from the patient page's course panel and from the restart's event page."""
    interruption = get_object_or_404(
        Interruption.objects.select_related("course__regimen_version", "restart_event"), pk=pk
    )
    patient = get_patient_for_user(request.user, interruption.patient_id)
    zone = patient.unit.zone
    # Who may move it is who may record it at its time; a restart that has started says why.
    policy.can_record_restart(
        request.user, patient, interruption=interruption, restarted_at=interruption.restarted_at
    ).enforce()
    fixed = policy.restart_fixed_because(interruption, zone=zone)  # said on the page; a POST is refused at the time
    planned = timezone.localtime(interruption.restarted_at, zone) if interruption.restarted_at else None
    form = RestartMoveForm(
        request.POST or None,
        zone_name=patient.unit.clock_label,
        initial={"restarted_at": planned.replace(tzinfo=None) if planned else None},
    )

    def act(data):
        services.interruption_restart_move(interruption=interruption, actor=request.user, **data)
        moved_to = moments.moment_short(data["restarted_at"], zone)
        messages.success(request, f"The restart is moved to {moved_to}; the plan follows it.")
        return _back(patient)

    title = f"Move the restart after the stop of {moments.moment_short(interruption.stopped_at, zone)}" + (
        f", planned for {moments.moment_short(planned, zone)}" if planned else ""
    )
    return form_page(request, form, act, patient=patient, course=interruption.course, title=title, intro=fixed)


@logs_read("patients.treatmentcourse", page="stop_for_good")
def course_stop_for_good(request, pk):
    course = _course(request.user, pk)
    policy.can_stop_for_good(request.user, course.patient).enforce()
    zone = course.patient.unit.zone
    form = StopForGoodForm(
        request.POST or None, zone_name=course.patient.unit.clock_label, initial={"stopped_at": now_on_unit_clock(zone)}
    )

    def act(data):
        services.course_stop_for_good(
            course=course, stopped_at=data["stopped_at"], reason=data["reason"], actor=request.user
        )
        messages.warning(request, "The course is stopped for good; the care team is told.")
        return _back(course.patient)

    return form_page(request, form, act, patient=course.patient, course=course, title="Stop the course for good")


@logs_read("patients.careevent")
def event_bag(request, pk):
    event = get_object_or_404(CareEvent.objects.select_related("cycle__course", "patient__unit"), pk=pk)
    patient = get_patient_for_user(request.user, event.patient_id)
    if event.kind not in BAG_EVENTS:
        raise PermissionDenied("A bag is recorded for a cycle start, a step-up, a bag change or a restart.")
    policy.can_record_bag(request.user, patient).enforce()
    units = Unit.objects.filter(organisation_id=patient.organisation_id)
    form = BagForm(
        request.POST or None,
        zone_name=patient.unit.clock_label,
        organisation_units=units,
        initial={"compounded_by": request.user, "stabiliser_added": False},
    )

    def act(data):
        services.infusion_bag_record(event=event, actor=request.user, **data)
        messages.success(request, "The bag is recorded; the nurse's pump rate is checked against it.")
        return redirect("event_detail", pk=event.pk)

    following = next_change_after(event)
    context = {
        "event": event,
        "bag": bag_for_event(event.pk),
        "following": following,
        "warning": weighing_warning(services.latest_weighing(patient), event),
    }
    return form_page(
        request,
        form,
        act,
        patient=patient,
        title="Record the bag prepared",
        template="patients/bag_form.html",
        **context,
    )


def _waiting_bag(user, pk) -> InfusionBag:
    """A bag of a patient of the user's care teams, which this user may decide about."""
    bag = get_object_or_404(InfusionBag.objects.select_related("event__cycle", "option"), pk=pk)
    bag.patient = get_patient_for_user(user, bag.patient_id)
    policy.can_record_bag(user, bag.patient).enforce()
    return bag


def _not_waiting(request, bag):
    """A bag decided meanwhile (another pharmacist, an old link), or whose event is live: its event's
    page, told so, rather than a decision page that says the event was cancelled."""
    if bag.decision in InfusionBag.OUT_OF_USE:
        said = f"This bag was {bag.get_decision_display().lower()} already."
    else:
        said = "This bag waits for no decision: its event is not cancelled, and the bag is hung there as planned."
    messages.info(request, said)
    return redirect("event_detail", pk=bag.event_id)


def _bag_decided(request, bag, said: str):
    messages.success(request, said)
    return redirect("patient_detail", pk=bag.patient.pk)


@logs_read("patients.infusionbag", page="reuse")
def bag_reuse(request, pk):
    """Use a bag whose event was cancelled for another event: the replacing one is offered first."""
    bag = _waiting_bag(request.user, pk)
    if not bag.needs_decision:
        return _not_waiting(request, bag)
    replacing = replacing_event(bag)
    form = BagReuseForm(
        request.POST or None,
        targets=reuse_targets(bag),
        zone=bag.patient.unit.zone,
        initial={"event": replacing},
    )

    def act(data):
        moved = services.infusion_bag_reuse(bag=bag, event=data["event"], actor=request.user)
        return _bag_decided(request, moved, f"The bag is moved to the {moved.event.label.lower()}.")

    return form_page(
        request,
        form,
        act,
        patient=bag.patient,
        title="Use the bag for another event",
        template="patients/bag_decision.html",
        bag=bag,
        replacing=replacing,
        no_target=not form.fields["event"].queryset.exists(),
    )


@logs_read("patients.infusionbag", page="dispose")
def bag_dispose(request, pk):
    """Return or discard a bag whose event was cancelled, saying why."""
    bag = _waiting_bag(request.user, pk)
    if not bag.needs_decision:
        return _not_waiting(request, bag)
    form = BagDisposeForm(request.POST or None)

    def act(data):
        done = services.infusion_bag_dispose(bag=bag, actor=request.user, **data)
        return _bag_decided(request, done, f"The bag is recorded as {done.get_decision_display().lower()}.")

    return form_page(
        request,
        form,
        act,
        patient=bag.patient,
        title="Return or discard the bag",
        template="patients/bag_decision.html",
        bag=bag,
    )
