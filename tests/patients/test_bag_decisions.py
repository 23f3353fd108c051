"""A bag prepared for an event that is then cancelled waits for the pharmacist's decision: used for
another planned event of the patient (the checks of its record made again), or returned or
discarded with a reason. The patient page and the cancelled event's page show it until then."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts import moments
from accounts.models import AuditEvent, Role
from patients.models import BagOption, CareEvent, InfusionBag, Interruption, Weighing
from patients.services import (
    bag_for_event,
    bags_awaiting_decision,
    bags_waiting,
    course_stop_for_good,
    event_cancel,
    infusion_bag_dispose,
    infusion_bag_record,
    infusion_bag_reuse,
    interruption_restart,
    interruption_restart_move,
    interruption_stop,
)

from ..factories import UserFactory
from .helpers import live, rr_course

NY = zoneinfo.ZoneInfo("America/New_York")
START = dt.date(2026, 3, 2)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
STOP = dt.datetime(2026, 3, 13, 10, tzinfo=NY)  # day 12, at home
NOW = STOP + 2 * HOUR  # the restart is planned and moved, the bag decided, the same day


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def course(patient, nurse, oncologist, pharmacist, clock):
    course = rr_course(patient, start=START, cycles=3, now=dt.datetime(2026, 2, 20, 12, tzinfo=NY))
    Weighing.objects.create(patient=patient, weight_kg=Decimal("70"), measured_at=STOP + HOUR / 2)
    return course


@pytest.fixture
def checker(patient):
    return UserFactory(username="pharmacist2", role=Role.PHARMACIST, unit=patient.unit)


def prepare(event, pharmacist, checker, *, expires_at, hours=48) -> InfusionBag:
    option = BagOption.objects.get(duration_hours=hours)
    return infusion_bag_record(
        event=event,
        option=option,
        dose="28 mcg/day",
        dose_basis=InfusionBag.DoseBasis.WEIGHT,
        volume_ml="240",
        rate_ml_per_hour=option.rate_ml_per_hour,
        expires_at=expires_at,
        stabiliser_added=True,
        compounded_by=pharmacist,
        checked_by=checker,
        actor=pharmacist,
        now=STOP + HOUR,
    )


@pytest.fixture
def moved(course, nurse, oncologist, pharmacist, checker):
    """A restart planned 3 days after the stop, its bag prepared; then moved to 9 days after the
    stop: a break that long begins cycle 2 at the restart, and the first restart event is cancelled."""
    interruption = interruption_stop(
        course=course,
        stopped_at=STOP,
        cause=Interruption.Cause.PUMP_OR_LINE,
        toxicity_grade=None,
        toxicity_kind="",
        detail="Pump occlusion alarm",
        actor=nurse,
        now=STOP + dt.timedelta(minutes=10),
    )
    interruption = interruption_restart(
        interruption=interruption, restarted_at=STOP + 3 * DAY, actor=oncologist, now=STOP + HOUR
    )
    first = interruption.restart_event
    bag = prepare(first, pharmacist, checker, expires_at=STOP + 11 * DAY)
    interruption = interruption_restart_move(
        interruption=interruption, restarted_at=STOP + 9 * DAY, actor=oncologist, now=NOW
    )
    first.refresh_from_db()
    assert first.status == CareEvent.Status.CANCELLED
    new = interruption.restart_event
    assert (new.kind, new.cycle.number, new.planned_at) == (CareEvent.Kind.CYCLE_START, 2, STOP + 9 * DAY)
    return {"bag": bag, "cancelled": first, "new": new}


def fresh(bag) -> InfusionBag:
    return InfusionBag.objects.get(pk=bag.pk)


def field_error(call, field) -> str:
    with pytest.raises(ValidationError) as refused:
        call()
    return " ".join(refused.value.message_dict[field])


# --- the interruption's rebuild moves the restart to a new cycle --------------------------------


def test_the_bag_of_a_restart_moved_to_a_new_cycle_waits_for_a_decision(client, patient, pharmacist, moved):
    assert list(bags_awaiting_decision(patient.pk)) == [moved["bag"]]
    assert fresh(moved["bag"]).needs_decision
    client.force_login(pharmacist)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Bags waiting for a decision" in page
    assert (
        'class="alert alert-warning' in page
        and "alert-danger" not in page.split("bags-waiting")[1].split("</section>")[0]
    )
    assert reverse("patients:bag_reuse", args=[moved["bag"].pk]) in page
    assert reverse("patients:bag_dispose", args=[moved["bag"].pk]) in page
    assert "Offered first: the cycle start on Sun 22 Mar, 10:00" in page
    event_page = client.get(reverse("event_detail", args=[moved["cancelled"].pk])).content.decode()
    assert "Bag waiting for a decision" in event_page
    assert "Record a remade bag" not in event_page


def test_the_replacing_event_is_offered_first_and_reuse_moves_the_bag_there(client, patient, pharmacist, moved):
    client.force_login(pharmacist)
    url = reverse("patients:bag_reuse", args=[moved["bag"].pk])
    form = client.get(url).context["form"]
    assert form.initial["event"] == moved["new"]

    answer = client.post(url, {"event": moved["new"].pk})

    assert answer.status_code == 302
    bag = fresh(moved["bag"])
    assert (bag.event, bag.moved_from_event, bag.decision) == (moved["new"], moved["cancelled"], "reused")
    assert (bag.decided_by, bag.decided_at) == (pharmacist, NOW)
    assert not bag.needs_decision and not bags_awaiting_decision(patient.pk).exists()
    assert bag_for_event(moved["new"].pk) == bag
    event_page = client.get(reverse("event_detail", args=[moved["new"].pk])).content.decode()
    assert "28 mcg/day" in event_page and "No bag recorded yet" not in event_page
    # Each event says where the bag came from, or went: the nurse hanging it, the one looking back.
    cancelled = moved["cancelled"]
    assert f"Prepared for the {cancelled.label.lower()} of Mon 16 Mar, 10:00, which was cancelled" in event_page
    cancelled_page = client.get(reverse("event_detail", args=[cancelled.pk])).content.decode()
    assert "used for the " in cancelled_page and reverse("event_detail", args=[moved["new"].pk]) in cancelled_page
    assert "No bag waits for this cancelled event" not in cancelled_page
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Bags waiting for a decision" not in page


def test_the_decision_is_in_the_audit_log_with_who_made_it(pharmacist, moved):
    infusion_bag_reuse(bag=moved["bag"], event=moved["new"], actor=pharmacist, now=NOW)
    logged = AuditEvent.objects.filter(object_type="patients_infusionbag", object_id=str(moved["bag"].pk))
    row = logged.get(action="bag_reuse")
    assert row.actor_id == pharmacist.pk
    assert row.detail["changes"]["event_id"] == [moved["cancelled"].pk, moved["new"].pk]


def test_a_bag_moved_to_an_event_that_is_cancelled_in_turn_waits_again(pharmacist, moved, patient):
    infusion_bag_reuse(bag=moved["bag"], event=moved["new"], actor=pharmacist, now=NOW)
    event_cancel(event=moved["new"], reason="Admission postponed", actor=pharmacist)
    assert list(bags_awaiting_decision(patient.pk)) == [moved["bag"]]


# --- a course stopped for good ------------------------------------------------------------------


def test_a_bag_of_a_course_stopped_for_good_waits_and_is_returned_with_the_reason(
    client, patient, course, pharmacist, checker, oncologist
):
    change = next(e for e in live(course, CareEvent.Kind.BAG_CHANGE) if e.planned_at > NOW)
    bag = prepare(change, pharmacist, checker, expires_at=change.planned_at + 3 * DAY)
    course_stop_for_good(course=course, stopped_at=STOP, reason="Grade 4 CRS", actor=oncologist, now=NOW)

    assert fresh(bag).needs_decision
    client.force_login(pharmacist)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Bags waiting for a decision" in page
    url = reverse("patients:bag_dispose", args=[bag.pk])
    assert client.post(url, {"decision": "returned", "reason": "Course stopped for good"}).status_code == 302

    bag = fresh(bag)
    assert (bag.decision, bag.decision_reason, bag.decided_by) == ("returned", "Course stopped for good", pharmacist)
    assert not bag.needs_decision
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Bags waiting for a decision" not in page
    event_page = client.get(reverse("event_detail", args=[change.pk])).content.decode()
    assert "returned to the pharmacy by" in event_page and "Course stopped for good" in event_page


# --- red only when it is urgent -----------------------------------------------------------------


def test_a_bag_that_expired_undecided_shows_red(client, patient, pharmacist, moved, time_machine):
    time_machine.move_to(STOP + 11 * DAY + HOUR, tick=False)
    client.force_login(pharmacist)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    section = page.split('id="bags-waiting"')[1].split("</section>")[0]
    assert "alert-danger" in section and "with no decision: return or discard it" in section


def test_a_bag_undecided_within_the_hour_of_the_replacing_event_without_a_bag_shows_red(
    client, patient, pharmacist, moved, time_machine
):
    time_machine.move_to(STOP + 9 * DAY - HOUR / 2, tick=False)
    client.force_login(pharmacist)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    section = page.split('id="bags-waiting"')[1].split("</section>")[0]
    assert "alert-danger" in section and "has no bag yet" in section
    # Its time is written as every moment is, with its day, on the unit's clock (not "at 09:30").
    (bag,) = bags_waiting(patient, now=STOP + 9 * DAY - HOUR / 2)
    when = moments.moment_short(bag.replacing.planned_at, patient.unit.zone)
    assert f"The {bag.replacing.get_kind_display().lower()} at {when} has no bag yet." in section


# --- refusals: a clear message at its field, nothing saved --------------------------------------


def test_an_event_of_another_patient_is_refused(pharmacist, moved, foreign_patient, checker):
    other = rr_course(foreign_patient, start=START, cycles=1, now=dt.datetime(2026, 2, 20, 12, tzinfo=NY))
    event = live(other, CareEvent.Kind.BAG_CHANGE)[-1]
    said = field_error(lambda: infusion_bag_reuse(bag=moved["bag"], event=event, actor=pharmacist, now=NOW), "event")
    assert "an event of this patient" in said
    assert fresh(moved["bag"]).needs_decision


def test_an_expired_bag_is_not_used_again(pharmacist, moved):
    late = STOP + 11 * DAY + HOUR
    said = field_error(
        lambda: infusion_bag_reuse(bag=moved["bag"], event=moved["new"], actor=pharmacist, now=late), "event"
    )
    assert "expired" in said and "return or discard it" in said
    assert fresh(moved["bag"]).event == moved["cancelled"]


@pytest.mark.parametrize("status", [CareEvent.Status.DONE, CareEvent.Status.CANCELLED])
def test_a_done_or_cancelled_event_is_refused(pharmacist, moved, status):
    CareEvent.objects.filter(pk=moved["new"].pk).update(status=status)
    said = field_error(
        lambda: infusion_bag_reuse(bag=moved["bag"], event=moved["new"], actor=pharmacist, now=NOW), "event"
    )
    assert f"is {status}" in said and "choose a planned event" in said
    assert fresh(moved["bag"]).event == moved["cancelled"]


def test_an_event_after_the_bag_expires_is_refused(pharmacist, moved, course):
    later = live(course, CareEvent.Kind.BAG_CHANGE)[-1]
    assert later.planned_at > STOP + 11 * DAY
    said = field_error(lambda: infusion_bag_reuse(bag=moved["bag"], event=later, actor=pharmacist, now=NOW), "event")
    assert "before this event starts" in said


def test_the_checks_of_the_record_are_made_again_for_the_new_event(pharmacist, moved, patient):
    # Weighed yesterday only: the dose band is read from today's weighing, as when a bag is recorded.
    Weighing.objects.filter(patient=patient).update(measured_at=NOW - DAY)
    said = field_error(
        lambda: infusion_bag_reuse(bag=moved["bag"], event=moved["new"], actor=pharmacist, now=NOW), "event"
    )
    assert "not today: weigh the patient" in said
    assert fresh(moved["bag"]).event == moved["cancelled"]


@pytest.mark.parametrize("reason", ["", "   "])
def test_returning_or_discarding_needs_a_reason(pharmacist, moved, reason):
    call = lambda: infusion_bag_dispose(bag=moved["bag"], decision="discarded", reason=reason, actor=pharmacist)  # noqa: E731
    assert "Say why" in field_error(call, "reason")
    assert fresh(moved["bag"]).decision == ""


def test_a_decided_bag_is_not_decided_twice(pharmacist, moved):
    infusion_bag_dispose(bag=moved["bag"], decision="discarded", reason="Expires first", actor=pharmacist)
    with pytest.raises(ValidationError) as refused:
        infusion_bag_reuse(bag=moved["bag"], event=moved["new"], actor=pharmacist, now=NOW)
    assert "discarded already" in refused.value.messages[0]


def test_a_bag_of_a_live_event_needs_no_decision(pharmacist, course, checker):
    change = next(e for e in live(course, CareEvent.Kind.BAG_CHANGE) if e.planned_at > NOW)
    bag = prepare(change, pharmacist, checker, expires_at=change.planned_at + 3 * DAY)
    assert not bag.needs_decision
    with pytest.raises(ValidationError) as refused:
        infusion_bag_dispose(bag=bag, decision="discarded", reason="No", actor=pharmacist)
    assert "not cancelled" in refused.value.messages[0]


def test_the_form_shows_the_refusal_at_its_field(client, pharmacist, moved):
    client.force_login(pharmacist)
    answer = client.post(
        reverse("patients:bag_dispose", args=[moved["bag"].pk]), {"decision": "returned", "reason": " "}
    )
    assert answer.status_code == 200
    assert answer.context["form"].errors["reason"]
    assert fresh(moved["bag"]).decision == ""


# --- who may decide -----------------------------------------------------------------------------


def test_only_a_pharmacist_of_the_care_team_decides(nurse, moved):
    with pytest.raises(PermissionDenied):
        infusion_bag_dispose(bag=moved["bag"], decision="discarded", reason="x", actor=nurse)
    assert fresh(moved["bag"]).decision == ""


@pytest.mark.parametrize(("who", "expected"), [(None, 302), ("nurse", 403), ("outsider", 404), ("pharmacist", 200)])
@pytest.mark.parametrize("page", ["patients:bag_reuse", "patients:bag_dispose"])
def test_the_decision_pages_are_for_the_pharmacist_of_the_care_team(client, request, moved, who, expected, page):
    if who:
        client.force_login(request.getfixturevalue(who))
    assert client.get(reverse(page, args=[moved["bag"].pk])).status_code == expected


def test_the_nurse_sees_the_waiting_bag_without_the_actions(client, patient, nurse, moved):
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Bags waiting for a decision" in page
    assert reverse("patients:bag_reuse", args=[moved["bag"].pk]) not in page


def test_the_waiting_bags_are_read_in_the_same_queries_however_many_wait(
    patient, pharmacist, moved, django_assert_num_queries
):
    from patients.services import bags_waiting

    with django_assert_num_queries(3):
        assert [bag.replacing for bag in bags_waiting(patient, now=NOW)] == [moved["new"]]
    copied = {
        f.attname: getattr(moved["bag"], f.attname) for f in InfusionBag._meta.concrete_fields if not f.primary_key
    }
    for _ in range(2):  # two more bags remade for the same cancelled restart, both undecided
        InfusionBag.objects.create(**copied)
    with django_assert_num_queries(3):
        waiting = bags_waiting(patient, now=NOW)
    assert len(waiting) == 3 and {bag.replacing for bag in waiting} == {moved["new"]}
    assert all(bag.urgent == "" for bag in waiting)
    for bag in waiting:  # decided: none waits, and the page asks one short question to know it
        infusion_bag_dispose(bag=bag, decision="discarded", reason="Remade in error", actor=pharmacist, now=NOW)
    with django_assert_num_queries(1):
        assert bags_waiting(patient, now=NOW) == []


# --- the dose: a bag prepared at the starting dose is not hung after the step-up ----------------


def test_a_bag_prepared_at_the_starting_dose_is_not_used_at_the_step_up(patient, pharmacist, checker, time_machine):
    """Cycle 1 runs 9 mcg/day until the step-up on day 8, then 28 mcg/day (CLINICAL.md): a bag
    prepared for a bag change before the step-up, that change cancelled, is not hung at the step-up."""
    day_4 = dt.datetime(2026, 3, 5, 12, tzinfo=NY)
    time_machine.move_to(day_4, tick=False)
    course = rr_course(patient, start=START, cycles=1, now=dt.datetime(2026, 2, 20, 12, tzinfo=NY))
    Weighing.objects.create(patient=patient, weight_kg=Decimal("70"), measured_at=day_4 - HOUR)
    step_up = live(course, CareEvent.Kind.DOSE_STEP_UP)[0]
    change = [e for e in live(course, CareEvent.Kind.BAG_CHANGE) if day_4 < e.planned_at < step_up.planned_at][-1]
    option = BagOption.objects.get(duration_hours=168)
    bag = infusion_bag_record(
        event=change,
        option=option,
        dose="9 mcg/day",
        dose_basis=InfusionBag.DoseBasis.WEIGHT,
        volume_ml="110",
        rate_ml_per_hour=option.rate_ml_per_hour,
        expires_at=step_up.planned_at + 8 * DAY,
        stabiliser_added=True,
        compounded_by=pharmacist,
        checked_by=checker,
        actor=pharmacist,
        now=day_4,
    )
    event_cancel(event=change, reason="Bag changed early", actor=pharmacist)

    said = field_error(lambda: infusion_bag_reuse(bag=bag, event=step_up, actor=pharmacist, now=day_4), "event")

    assert "starting dose" in said
    assert fresh(bag).needs_decision


@pytest.mark.parametrize("page", ["patients:bag_reuse", "patients:bag_dispose"])
def test_a_decision_page_of_a_bag_decided_meanwhile_goes_to_its_event(client, pharmacist, moved, page):
    """A second pharmacist's open link, once the first has decided: not a page saying the event the
    bag is now hung at was cancelled, with a form for a decision already made."""
    infusion_bag_reuse(bag=moved["bag"], event=moved["new"], actor=pharmacist, now=NOW)
    client.force_login(pharmacist)

    answer = client.get(reverse(page, args=[moved["bag"].pk]), follow=True)

    assert answer.redirect_chain == [(reverse("event_detail", args=[moved["new"].pk]), 302)]
    assert "waits for no decision" in answer.content.decode()


def test_a_decision_page_of_a_returned_bag_says_so(client, pharmacist, moved):
    infusion_bag_dispose(bag=moved["bag"], decision="returned", reason="Restart moved", actor=pharmacist)
    client.force_login(pharmacist)

    answer = client.post(reverse("patients:bag_reuse", args=[moved["bag"].pk]), {"event": moved["new"].pk}, follow=True)

    assert answer.redirect_chain == [(reverse("event_detail", args=[moved["cancelled"].pk]), 302)]
    assert "returned to the pharmacy already" in answer.content.decode()
    assert fresh(moved["bag"]).event == moved["cancelled"]
