"""The course plan's pages: each posts to one service, shows its refusals at their fields with
nothing changed, and never answers 500, whatever is typed. Who may open each page is walked by
tests/test_authorization_matrix.py."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import moments
from accounts.models import Role
from coordination.models import Notification
from coordination.watch.models import ToxicityAlert
from patients.grading import Seizure
from patients.models import BagOption, CareEvent, Indication, Interruption, TreatmentCourse, Weighing
from patients.services import assessment_record, course_schedule_build, interruption_stop

from ..checklists.helpers import publish_template
from ..coordination.watch.helpers import crs_grade_3_stop
from ..factories import CareTeamMemberFactory, CourseFactory, UnitFactory, UserFactory
from .helpers import live, rr_course, snapshot


def local(moment: dt.datetime, zone) -> str:
    return timezone.localtime(moment, zone).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def running(patient, nurse, oncologist, pharmacist):
    """Cycle 1 day 12 of a relapsed/refractory course, at home."""
    zone = patient.unit.zone
    today = timezone.localtime(timezone.now(), zone).date()
    return rr_course(patient, start=today - dt.timedelta(days=11), cycles=2, now=timezone.now())


def form_errors(response) -> dict:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def test_the_oncologist_plans_a_course_within_the_regimens_limit(client, patient, oncologist):
    client.force_login(oncologist)
    url = reverse("patients:course_plan", args=[patient.pk])
    data = {
        "indication": "mrd_positive",
        "start_date": (timezone.localdate() + dt.timedelta(days=3)).isoformat(),
        "planned_cycles": "5",
        "bag_hours": "48",
        "inpatient_bag_hours": "24",
        "outpatient_setting": "home",
    }
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "at most 4 cycles" in form_errors(refused)["planned_cycles"][0]
    assert not TreatmentCourse.objects.exists()

    assert client.post(url, {**data, "planned_cycles": "4"}).status_code == 302
    course = TreatmentCourse.objects.get(patient=patient)
    assert course.regimen_version.regimen.indication == "mrd_positive" and course.planned_cycles == 4
    assert not CareEvent.objects.filter(cycle__course=course, kind=CareEvent.Kind.DOSE_STEP_UP).exists()


def test_a_bag_duration_that_the_pharmacy_does_not_make_is_refused(client, patient, oncologist):
    client.force_login(oncologist)
    data = {"indication": "relapsed_refractory", "start_date": "2027-01-04", "planned_cycles": "2"}
    response = client.post(
        reverse("patients:course_plan", args=[patient.pk]), {**data, "bag_hours": "36", "inpatient_bag_hours": "30"}
    )
    assert {"bag_hours", "inpatient_bag_hours"} <= set(form_errors(response))
    assert not TreatmentCourse.objects.exists()


def test_the_plan_keeps_the_length_of_bags_in_hospital(client, patient, oncologist):
    client.force_login(oncologist)
    data = {"indication": "mrd_positive", "start_date": "2027-01-04", "planned_cycles": "1", "bag_hours": "168"}
    url = reverse("patients:course_plan", args=[patient.pk])
    assert client.post(url, {**data, "inpatient_bag_hours": "48", "outpatient_setting": "home"}).status_code == 302
    course = TreatmentCourse.objects.get(patient=patient)
    assert (course.inpatient_bag_hours, course.bag_hours) == (48, 168)
    page = client.get(reverse("patient_detail", args=[patient.pk]))
    assert "bags of 48 h in hospital and 168 h outside hospital" in page.content.decode()


@pytest.mark.parametrize("start_date", ["9999-12-01", "2100-01-04", "0001-01-01", "1999-12-31"])
def test_a_course_start_outside_the_sane_years_is_a_message_at_its_field_never_a_500(
    client, patient, oncologist, start_date
):
    """9999 overflowed the schedule's dates (a 500); year 1 planned a course two thousand years ago."""
    client.force_login(oncologist)
    data = {"indication": "relapsed_refractory", "planned_cycles": "2", "bag_hours": "48"}
    response = client.post(
        reverse("patients:course_plan", args=[patient.pk]),
        {**data, "start_date": start_date, "inpatient_bag_hours": "24", "outpatient_setting": "home"},
    )
    assert response.status_code == 200
    assert "Give a date between 2000 and 2099" in form_errors(response)["start_date"][0]
    assert not TreatmentCourse.objects.exists()


@pytest.mark.parametrize("next_start_date", ["9999-12-01", "2100-01-04"])
def test_a_next_start_outside_the_sane_years_is_a_message_at_its_field_never_a_500(
    client, patient, oncologist, next_start_date
):
    """A consolidation cycle's next start in 9999 overflowed the rest's column (a 500)."""
    today = timezone.localdate(timezone=patient.unit.zone)
    course = CourseFactory(patient=patient, indication=Indication.CONSOLIDATION, planned_cycles=3, start_date=today)
    course_schedule_build(course=course)
    before = snapshot(course)
    client.force_login(oncologist)
    response = client.post(
        reverse("patients:cycle_next_start", args=[course.cycles.get(number=1).pk]),
        {"next_start_date": next_start_date},
    )
    assert response.status_code == 200
    assert "Give a date between 2000 and 2099" in form_errors(response)["next_start_date"][0]
    assert snapshot(course) == before


def test_the_regimens_own_rest_cannot_be_shortened_by_setting_the_next_start(client, running, oncologist):
    """Only a rest that the chemotherapy plan sets (consolidation) is set by a next start: the
    page offers it for no other cycle, but its address took any, and a relapsed/refractory cycle
    1's 14 days of rest (the label's) became none."""
    first = running.cycles.get(number=1)
    before = snapshot(running)
    client.force_login(oncologist)
    response = client.post(
        reverse("patients:cycle_next_start", args=[first.pk]),
        {"next_start_date": first.infusion_end_date.isoformat()},
    )
    assert response.status_code == 200
    assert "14 days of rest" in form_errors(response)["next_start_date"][0]
    assert snapshot(running) == before


@pytest.mark.parametrize(
    "stopped_at",
    ["", "not a time", "9999-12-31T23:59", "0001-01-01T00:00", "2026-02-30T10:00", "1e-2000"],
)
def test_garbage_in_the_stop_form_is_a_message_never_a_500(client, running, nurse, stopped_at):
    client.force_login(nurse)
    before = snapshot(running)
    response = client.post(
        reverse("patients:course_stop", args=[running.pk]),
        {"stopped_at": stopped_at, "cause": "pump_or_line", "toxicity_grade": "9", "detail": "x" * 600},
    )
    assert response.status_code == 200
    assert form_errors(response)
    assert snapshot(running) == before


def test_the_nurse_records_a_stop_and_the_oncologist_a_restart(client, running, nurse, oncologist):
    zone = running.patient.unit.zone
    stopped_at = timezone.now() - dt.timedelta(hours=2)
    client.force_login(nurse)
    response = client.post(
        reverse("patients:course_stop", args=[running.pk]),
        {"stopped_at": local(stopped_at, zone), "cause": "pump_or_line", "detail": "Occlusion"},
    )
    assert response.status_code == 302
    interruption = Interruption.objects.get(course=running)

    client.force_login(oncologist)
    url = reverse("patients:interruption_restart", args=[interruption.pk])
    before = snapshot(running)
    early = client.post(url, {"restarted_at": local(stopped_at - dt.timedelta(hours=1), zone)})
    assert "after the stop" in form_errors(early)["restarted_at"][0]
    assert snapshot(running) == before
    assert client.post(url, {"restarted_at": local(stopped_at + dt.timedelta(hours=1), zone)}).status_code == 302
    interruption.refresh_from_db()
    assert interruption.restarted_at is not None and interruption.restart_event is None  # under 4 hours


def test_a_grade_3_stop_asks_its_kind_and_its_restart_when_it_resolved(client, running, nurse, oncologist):
    zone = running.patient.unit.zone
    stopped_at = timezone.now() - dt.timedelta(days=9)  # cycle 1 day 3: the starting dose, 9 mcg/day
    client.force_login(nurse)
    stop_url = reverse("patients:course_stop", args=[running.pk])
    data = {
        "stopped_at": local(stopped_at, zone),
        "cause": "adverse_reaction",
        "toxicity_grade": "3",
        "detail": "ICE 2",
    }
    unnamed = client.post(stop_url, data)
    assert "CRS, neurological toxicity and other reactions" in form_errors(unnamed)["toxicity_kind"][0]
    assert not Interruption.objects.exists()
    assert client.post(stop_url, {**data, "toxicity_kind": "neurological"}).status_code == 302
    interruption = Interruption.objects.get(course=running)
    assert interruption.toxicity_kind == Interruption.ToxicityKind.NEUROLOGICAL

    client.force_login(oncologist)
    url = reverse("patients:interruption_restart", args=[interruption.pk])
    page = client.get(url).content.decode()
    assert "Grade 1 or less since" in page and "more than 7 days (neurological) or 14 days (other)" in page
    before = snapshot(running)
    refused = client.post(
        url,
        {
            "restarted_at": local(timezone.now() - dt.timedelta(hours=1), zone),
            "resolved_at": local(stopped_at + dt.timedelta(days=2), zone),
        },
    )
    (message,) = form_errors(refused)["restarted_at"]
    assert message.startswith("Neurological toxicity grade 3 at the starting dose") and "stop for good" in message
    assert snapshot(running) == before


def grade_4_stop(client, running, nurse, kind: str, days_ago: int) -> Interruption:
    client.force_login(nurse)
    stopped_at = timezone.now() - dt.timedelta(days=days_ago)
    data = {"stopped_at": local(stopped_at, running.patient.unit.zone), "cause": "adverse_reaction"}
    response = client.post(
        reverse("patients:course_stop", args=[running.pk]), {**data, "toxicity_grade": "4", "toxicity_kind": kind}
    )
    assert response.status_code == 302
    return Interruption.objects.get(course=running)


@pytest.mark.parametrize("kind", ["crs", "neurological"])
def test_a_grade_4_crs_or_neurological_restart_is_refused_at_its_field(client, running, nurse, oncologist, kind):
    interruption = grade_4_stop(client, running, nurse, kind, days_ago=1)
    client.force_login(oncologist)
    before = snapshot(running)
    response = client.post(
        reverse("patients:interruption_restart", args=[interruption.pk]),
        {"restarted_at": local(timezone.now() - dt.timedelta(hours=1), running.patient.unit.zone)},
    )
    assert response.status_code == 200
    (message,) = form_errors(response)["restarted_at"]
    assert message.startswith("A grade 4") and "stop for good" in message
    assert snapshot(running) == before


def test_a_restart_after_a_second_seizure_is_refused_at_its_field(client, running, nurse, oncologist):
    """CLINICAL.md: "More than one seizure, or grade 4: stop for good". Found by a clinical review:
    a seizure, the stop, a second seizure the next day; the restart was accepted."""
    zone, now = running.patient.unit.zone, timezone.now().replace(second=0, microsecond=0)
    findings = {"temperature": Decimal("37.0"), "temperature_unit": "C", "seizure": Seizure.RESOLVED_RAPIDLY}
    findings |= {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1, "ice_attention": 1}
    first_at, second_at = now - dt.timedelta(days=2), now - dt.timedelta(days=1)
    assessment_record(patient=running.patient, actor=nurse, assessed_at=first_at, findings=findings)
    interruption = interruption_stop(
        course=running, stopped_at=first_at + dt.timedelta(minutes=10), cause=Interruption.Cause.ADVERSE_REACTION,
        toxicity_grade=3, toxicity_kind=Interruption.ToxicityKind.NEUROLOGICAL, actor=nurse,
    )  # fmt: skip
    assessment_record(patient=running.patient, actor=nurse, assessed_at=second_at, findings=findings)
    client.force_login(oncologist)
    before = snapshot(running)
    response = client.post(
        reverse("patients:interruption_restart", args=[interruption.pk]),
        {
            "restarted_at": local(now + dt.timedelta(days=3), zone),
            "resolved_at": local(now - dt.timedelta(hours=1), zone),
        },
    )
    assert response.status_code == 200
    (message,) = form_errors(response)["restarted_at"]
    days = ", ".join(f"{moments.day_short(moment, zone)} at an assessment" for moment in (first_at, second_at))
    assert message == (
        f"More than one seizure in the course ({days}): the label says stop for good. Record a stop for good instead."
    )
    assert escape(message) in response.content.decode()
    assert snapshot(running) == before


def test_a_grade_4_other_reaction_restarts_from_the_page_once_resolved(client, running, nurse, oncologist):
    zone = running.patient.unit.zone
    interruption = grade_4_stop(client, running, nurse, "other", days_ago=5)
    client.force_login(oncologist)
    url = reverse("patients:interruption_restart", args=[interruption.pk])
    assert "Grade 1 or less since" in client.get(url).content.decode()
    restarted_at = local(timezone.now() - dt.timedelta(hours=1), zone)
    unresolved = client.post(url, {"restarted_at": restarted_at})
    assert "grade 4 reaction resolved" in form_errors(unresolved)["resolved_at"][0]
    resolved_at = local(interruption.stopped_at + dt.timedelta(days=1), zone)
    assert client.post(url, {"restarted_at": restarted_at, "resolved_at": resolved_at}).status_code == 302
    interruption.refresh_from_db()
    assert interruption.restart_dose == running.regimen_version.restart_dose
    assert client.get(reverse("patient_detail", args=[running.patient_id])).status_code == 200
    event_page = client.get(reverse("event_detail", args=[interruption.restart_event_id]))
    assert event_page.status_code == 200


def test_a_stop_for_good_needs_a_confirmation_and_tells_the_care_team(client, running, oncologist, nurse):
    client.force_login(oncologist)
    url = reverse("patients:course_stop_for_good", args=[running.pk])
    data = {"stopped_at": local(timezone.now() - dt.timedelta(minutes=5), running.patient.unit.zone)}
    unconfirmed = client.post(url, {**data, "reason": "Grade 4 CRS"})
    assert "confirm" in form_errors(unconfirmed)
    assert TreatmentCourse.objects.get(pk=running.pk).status != TreatmentCourse.Status.STOPPED

    assert client.post(url, {**data, "reason": "Grade 4 CRS", "confirm": "on"}).status_code == 302
    assert TreatmentCourse.objects.get(pk=running.pk).status == TreatmentCourse.Status.STOPPED
    told = Notification.objects.filter(recipient=nurse, title__startswith="Course stopped for good")
    assert told.exists() and "Grade 4 CRS" in told.get().body
    assert not Notification.objects.filter(recipient=oncologist).exists()  # who stopped it knows

    # The patient page says it once, with when and who: "Stopped for good." before a reason
    # that starts "Stopped for good:" said it twice.
    page = client.get(reverse("patient_detail", args=[running.patient.pk])).content.decode()
    banner = re.search(r'<div class="alert alert-secondary" role="status">(.*?)</div>', page, re.S).group(1)
    assert banner.count("Stopped for good") == 1
    assert f"by {oncologist}. Stopped for good: Grade 4 CRS" in banner


@pytest.fixture
def second_cycle(patient, nurse, oncologist):
    """Cycle 2 day 6 of a relapsed/refractory course of 3 cycles (cycle 1: 28 days, then 14 of rest)."""
    today = timezone.localtime(timezone.now(), patient.unit.zone).date()
    course = rr_course(patient, start=today - dt.timedelta(days=47), cycles=3, now=timezone.now())
    assert course.cycles.get(number=2).start_date == today - dt.timedelta(days=5)
    return course


def _second_cycle_started(course) -> str:
    cycle = course.cycles.get(number=2)
    zone = course.patient.unit.zone
    starts_at = dt.datetime.combine(cycle.start_date, cycle.start_time, tzinfo=zone)
    return f"Cycle 2 started on {moments.moment(starts_at, zone)}, after that time: give the time the infusion stopped."


def test_fewer_cycles_than_the_one_under_way_are_refused_at_their_field(client, second_cycle, oncologist):
    client.force_login(oncologist)
    url = reverse("patients:course_cycles", args=[second_cycle.pk])
    before = snapshot(second_cycle)
    response = client.post(url, {"planned_cycles": "1"})
    assert response.status_code == 200
    assert form_errors(response) == {
        "planned_cycles": ["Cycle 2 has started: plan at least 2 cycles, or stop the course for good."]
    }
    assert snapshot(second_cycle) == before

    assert client.post(url, {"planned_cycles": "2"}).status_code == 302
    assert list(second_cycle.cycles.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_a_stop_for_good_dated_in_the_rest_before_the_cycle_under_way_is_refused_at_its_field(
    client, second_cycle, oncologist
):
    client.force_login(oncologist)
    zone = second_cycle.patient.unit.zone
    before = snapshot(second_cycle)
    response = client.post(
        reverse("patients:course_stop_for_good", args=[second_cycle.pk]),
        {"stopped_at": local(timezone.now() - dt.timedelta(days=8), zone), "reason": "Relapse", "confirm": "on"},
    )
    assert response.status_code == 200
    assert form_errors(response) == {"stopped_at": [_second_cycle_started(second_cycle)]}
    assert snapshot(second_cycle) == before


def test_a_stop_dated_in_the_cycle_before_the_one_under_way_is_refused_at_its_field(client, second_cycle, nurse):
    client.force_login(nurse)
    zone = second_cycle.patient.unit.zone
    before = snapshot(second_cycle)
    response = client.post(
        reverse("patients:course_stop", args=[second_cycle.pk]),
        {"stopped_at": local(timezone.now() - dt.timedelta(days=30), zone), "cause": "pump_or_line", "detail": "x"},
    )
    assert response.status_code == 200
    assert form_errors(response) == {"stopped_at": [_second_cycle_started(second_cycle)]}
    assert snapshot(second_cycle) == before


def test_the_pharmacist_records_a_bag_and_a_wrong_rate_lands_at_its_field(client, running, pharmacist):
    checker = UserFactory(username="pharmacist2", role="pharmacist", unit=running.patient.unit)
    Weighing.objects.create(patient=running.patient, weight_kg=Decimal("70"), measured_at=timezone.now())
    change = next(e for e in live(running, CareEvent.Kind.BAG_CHANGE) if e.planned_at > timezone.now())
    option = BagOption.objects.get(duration_hours=48)
    client.force_login(pharmacist)
    url = reverse("patients:event_bag", args=[change.pk])
    form = client.get(url).context["form"]
    # Compounding and its check are the pharmacy's: the nurse of the cast is offered for neither.
    offered = {name: set(form.fields[name].queryset) for name in ("compounded_by", "checked_by")}
    assert offered == {"compounded_by": {pharmacist, checker}, "checked_by": {pharmacist, checker}}
    data = {
        "option": option.pk,
        "dose": "28 mcg/day",
        "dose_basis": "weight",
        "volume_ml": "250",
        "rate_ml_per_hour": "4",
        "stabiliser_added": "on",
        "compounded_by": pharmacist.pk,
        "checked_by": checker.pk,
        "expires_at": local(change.planned_at + dt.timedelta(hours=60), running.patient.unit.zone),
    }
    wrong = client.post(url, data)
    assert "runs at 5 mL/h" in form_errors(wrong)["rate_ml_per_hour"][0]
    assert not change.bags.exists()
    assert client.post(url, {**data, "rate_ml_per_hour": "5"}).status_code == 302
    assert change.bags.get().rate_ml_per_hour == Decimal("5")


def test_a_bag_refused_for_want_of_todays_weighing_says_it_once(client, running, pharmacist):
    """The page warns before the form is sent; once the form refuses the bag for it, the refusal at
    the bag's field says it, and the warning above is not said a second time (found by a walk
    through the demo: the same sentence in amber and in red)."""
    change = next(e for e in live(running, CareEvent.Kind.BAG_CHANGE) if e.planned_at > timezone.now())
    client.force_login(pharmacist)
    url = reverse("patients:event_bag", args=[change.pk])
    warning = "not weighed here: weigh the patient today before the bag is prepared"
    assert client.get(url).content.decode().count(warning) == 1
    checker = UserFactory(username="pharmacist2", role="pharmacist", unit=running.patient.unit)
    data = {
        "option": BagOption.objects.get(duration_hours=48).pk,
        "dose": "28 mcg/day",
        "dose_basis": "weight",
        "volume_ml": "250",
        "rate_ml_per_hour": "5",
        "stabiliser_added": "on",
        "compounded_by": pharmacist.pk,
        "checked_by": checker.pk,
        "expires_at": local(change.planned_at + dt.timedelta(hours=60), running.patient.unit.zone),
    }
    refused = client.post(url, data)
    assert warning in form_errors(refused)["option"][0]
    assert refused.content.decode().count(warning) == 1


def test_the_plan_form_offers_today_on_the_patients_unit_clock(client, patient, time_machine):
    """An oncologist of a unit whose day is already tomorrow was offered their own today as day 1
    of cycle 1: the patient's tomorrow, a course planned a day late if left as offered."""
    far_east = UnitFactory(name="Line Islands clinic", time_zone="Pacific/Kiritimati")
    oncologist = UserFactory(role=Role.ONCOLOGIST, unit=far_east)
    CareTeamMemberFactory(patient=patient, user=oncologist)
    time_machine.move_to(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False)  # 07:00 in New York
    client.force_login(oncologist)
    page = client.get(reverse("patients:course_plan", args=[patient.pk]))
    assert page.context["form"]["start_date"].value() == dt.date(2026, 3, 2)


def test_a_stop_already_recorded_is_not_offered_again_from_its_alert(client, running, nurse, oncologist):
    """Found walking the app: the nurse stopped the infusion for a grade 3 CRS, then the oncologist
    opened the alert, which still offered "Record the interruption"; its form refused the stop
    ("already stopped"). The alert says the infusion is stopped and offers its restart instead."""
    stopped_at = timezone.now() - dt.timedelta(hours=1)
    crs_grade_3_stop(running, nurse, stopped_at)
    alert = ToxicityAlert.objects.create(
        patient=running.patient,
        unit=running.patient.unit,
        reason="CRS grade 3",
        ask=ToxicityAlert.Ask.INTERRUPTION,
        raised_by=nurse,
    )
    client.force_login(oncologist)
    page = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert reverse("patients:course_stop", args=[running.pk]) not in page
    assert "The infusion is already stopped" in page
    assert reverse("patients:interruption_restart", args=[running.interruptions.get().pk]) in page


def test_a_planned_restart_leaves_the_infusion_stopped_on_the_patient_page(client, running, nurse, oncologist):
    """Found walking the app: once the oncologist planned the restart for tomorrow, the patient page
    dropped its "Infusion stopped" banner and offered "Record a stop of the infusion", which the
    service then refused (the time falls inside the break). Until the restart comes the infusion
    is stopped: the page says so, with the planned restart, and offers no second stop."""
    zone = running.patient.unit.zone
    now = timezone.now()
    client.force_login(nurse)
    client.post(
        reverse("patients:course_stop", args=[running.pk]),
        {"stopped_at": local(now - dt.timedelta(hours=1), zone), "cause": "pump_or_line", "detail": "Occlusion"},
    )
    interruption = Interruption.objects.get(course=running)
    client.force_login(oncologist)
    restart_at = now + dt.timedelta(hours=20)
    url = reverse("patients:interruption_restart", args=[interruption.pk])
    assert client.post(url, {"restarted_at": local(restart_at, zone)}).status_code == 302
    for user in (nurse, oncologist):
        client.force_login(user)
        page = client.get(reverse("patient_detail", args=[running.patient.pk])).content.decode()
        assert "Infusion stopped" in page
        assert "restart planned " + timezone.localtime(restart_at, zone).strftime("%a %-d %b, %H:%M") in page
        assert reverse("patients:course_stop", args=[running.pk]) not in page


def test_the_restart_event_page_shows_its_note_with_the_restart_dose(client, running, nurse, oncologist, pharmacist):
    """Found walking the app: the restart's note (a break of N h, the restart dose 9 mcg/day after a
    grade 3, supervised, premedicated) was written by the service but shown on no page, so the
    pharmacist preparing the restart bag saw no dose on the event page."""
    stopped_at = timezone.now() - dt.timedelta(hours=30)
    interruption = crs_grade_3_stop(running, nurse, stopped_at)
    client.force_login(oncologist)
    zone = running.patient.unit.zone
    url = reverse("patients:interruption_restart", args=[interruption.pk])
    assert client.post(url, {"restarted_at": local(timezone.now() + dt.timedelta(hours=2), zone)}).status_code == 302
    interruption.refresh_from_db()
    client.force_login(pharmacist)
    page = client.get(reverse("event_detail", args=[interruption.restart_event_id])).content.decode()
    assert interruption.restart_event.note
    assert "restart dose 9 mcg/day" in page


def _planned_restart(client, running, nurse, oncologist, *, in_hours=3):
    """A pump stop two hours ago, its supervised restart planned `in_hours` from now."""
    zone = running.patient.unit.zone
    now = timezone.now().replace(second=0, microsecond=0)
    client.force_login(nurse)
    client.post(
        reverse("patients:course_stop", args=[running.pk]),
        {"stopped_at": local(now - dt.timedelta(hours=2), zone), "cause": "pump_or_line", "detail": "Occlusion"},
    )
    interruption = Interruption.objects.get(course=running)
    client.force_login(oncologist)
    url = reverse("patients:interruption_restart", args=[interruption.pk])
    assert client.post(url, {"restarted_at": local(now + dt.timedelta(hours=in_hours), zone)}).status_code == 302
    interruption.refresh_from_db()
    assert interruption.restart_event is not None
    return interruption, now


def test_the_oncologist_moves_a_planned_restart_from_the_patient_page_or_its_event(client, running, nurse, oncologist):
    """The pump team is not ready at the planned time: the restart moves, its event and checklist
    with it, and the history says who moved it from when to when."""
    publish_template(name="Restart", trigger_kind=CareEvent.Kind.RESTART, items=[{"text": "Premedicate"}])
    interruption, now = _planned_restart(client, running, nurse, oncologist)
    zone = running.patient.unit.zone
    move_url = reverse("patients:interruption_restart_move", args=[interruption.pk])
    patient_page = client.get(reverse("patient_detail", args=[running.patient.pk])).content.decode()
    assert move_url in patient_page
    assert move_url in client.get(reverse("event_detail", args=[interruption.restart_event_id])).content.decode()

    before = snapshot(running)
    early = client.post(move_url, {"restarted_at": local(now - dt.timedelta(hours=3), zone)})
    assert "after the stop" in form_errors(early)["restarted_at"][0]
    assert snapshot(running) == before

    new_time = now + dt.timedelta(hours=7)
    assert client.post(move_url, {"restarted_at": local(new_time, zone)}).status_code == 302
    interruption.refresh_from_db()
    event = interruption.restart_event
    assert interruption.restarted_at == event.planned_at == new_time
    assert live(running, CareEvent.Kind.RESTART) == [event]
    (task,) = event.tasks.all()
    assert task.due_at == new_time + dt.timedelta(minutes=task.due_offset_minutes)
    page = client.get(reverse("patient_detail", args=[running.patient.pk])).content.decode()
    was = timezone.localtime(now + dt.timedelta(hours=3), zone).strftime("%a %-d %b, %H:%M")
    assert f"moved from {was} to {timezone.localtime(new_time, zone):%a %-d %b, %H:%M}" in page


def test_a_restart_under_way_is_not_offered_nor_moved(client, running, nurse, oncologist):
    interruption, now = _planned_restart(client, running, nurse, oncologist)
    CareEvent.objects.filter(pk=interruption.restart_event_id).update(status=CareEvent.Status.IN_PROGRESS)
    move_url = reverse("patients:interruption_restart_move", args=[interruption.pk])
    assert move_url not in client.get(reverse("patient_detail", args=[running.patient.pk])).content.decode()
    assert move_url not in client.get(reverse("event_detail", args=[interruption.restart_event_id])).content.decode()
    assert "under way" in client.get(move_url).content.decode()

    before = snapshot(running)
    refused = client.post(move_url, {"restarted_at": local(now + dt.timedelta(hours=7), running.patient.unit.zone)})
    assert "under way" in form_errors(refused)["restarted_at"][0]
    assert snapshot(running) == before
