"""Bags as records: infusion_bag_record against the bag options' data and today's weighing.

shared/CLINICAL.md, "Infusion, pump, line and bags": each bag's rate comes from its label (the
bag option), preservative bags have a weight limit naming its source (22 kg for the 7-day bag in
the seed), every bag gets the stabiliser, and a second person checks what one compounded.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import Role
from patients.models import BagOption, CareEvent, InfusionBag, Interruption, PumpEvent, Weighing
from patients.services import (
    bag_for_event,
    infusion_bag_record,
    interruption_stop,
    next_change_after,
    pump_event_record,
)

from ..factories import OrganisationFactory, UnitFactory, UserFactory
from .helpers import live, rr_course

NY = zoneinfo.ZoneInfo("America/New_York")
START = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=NY)  # the day before cycle 1 starts


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def course(patient, clock):
    return rr_course(patient, start=START, cycles=1, now=NOW)


@pytest.fixture
def start_event(course):
    return live(course, CareEvent.Kind.CYCLE_START)[0]


@pytest.fixture
def checker(patient):
    """A second pharmacist: the check is a pharmacist's, and never the compounder's."""
    return UserFactory(username="pharmacist2", role=Role.PHARMACIST, unit=patient.unit)


def weigh(patient, kg, at=NOW - dt.timedelta(hours=2)):
    return Weighing.objects.create(patient=patient, weight_kg=Decimal(kg), measured_at=at)


def option(hours) -> BagOption:
    return BagOption.objects.get(duration_hours=hours)


@pytest.fixture
def good(start_event, pharmacist, checker):
    """The fields of a bag that passes every check: a 24-hour bag for day 1 in hospital."""
    return {
        "event": start_event,
        "option": option(24),
        "dose": "9 mcg/day",
        "dose_basis": InfusionBag.DoseBasis.WEIGHT,
        "volume_ml": "240",
        "rate_ml_per_hour": "10",
        "expires_at": start_event.planned_at + dt.timedelta(hours=30),
        "stabiliser_added": True,
        "compounded_by": pharmacist,
        "checked_by": checker,
        "actor": pharmacist,
        "now": NOW,
    }


def test_a_bag_is_refused_without_todays_weighing(patient, good):
    weigh(patient, "70", at=NOW - dt.timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**good)
    assert "not today: weigh the patient" in refused.value.message_dict["option"][0]
    assert not InfusionBag.objects.exists()


def test_a_good_bag_is_recorded_with_the_weighing_it_used(patient, good, start_event, pharmacist, checker):
    weigh(patient, "60", at=NOW - dt.timedelta(days=3))
    today = weigh(patient, "70")
    bag = infusion_bag_record(**good)
    assert bag_for_event(start_event.pk) == bag
    bag.refresh_from_db()
    assert (bag.weighing, bag.option, bag.duration_hours, bag.preservative) == (today, option(24), 24, False)
    assert (bag.rate_ml_per_hour, bag.volume_ml, bag.dose) == (Decimal("10"), Decimal("240"), "9 mcg/day")
    assert (bag.compounded_by, bag.checked_by, bag.recorded_by, bag.recorded_at) == (
        pharmacist,
        checker,
        pharmacist,
        NOW,
    )
    assert bag.stabiliser_added and bag.patient == patient


def test_the_bag_comes_down_at_the_next_bag_change(start_event):
    following = next_change_after(start_event)
    assert following.kind == CareEvent.Kind.BAG_CHANGE
    assert following.planned_at == start_event.planned_at + dt.timedelta(hours=24)  # daily in hospital


@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        ({"rate_ml_per_hour": "0"}, "rate_ml_per_hour", "must be more than 0"),
        ({"rate_ml_per_hour": "-10"}, "rate_ml_per_hour", "must be more than 0"),
        ({"rate_ml_per_hour": "5"}, "rate_ml_per_hour", "runs at 10 mL/h"),
        ({"rate_ml_per_hour": "ten"}, "rate_ml_per_hour", "as a number"),
        ({"expires_at": None}, "expires_at", "Give the expiry"),
        ({"expires_at": "before the next change"}, "expires_at", "expires before it comes down"),
        ({"expires_at": NOW - dt.timedelta(minutes=1)}, "expires_at", "already expired"),
        ({"checked_by": "the compounder"}, "checked_by", "second person"),
        ({"checked_by": "a nurse"}, "checked_by", "pharmacist"),
        ({"checked_by": None}, "checked_by", "who checked"),
        ({"checked_by": "another hospital's pharmacist"}, "checked_by", "this hospital's pharmacy"),
        ({"compounded_by": "another hospital's pharmacist"}, "compounded_by", "this hospital's pharmacy"),
        ({"compounded_by": "a nurse"}, "compounded_by", "pharmacist"),
        ({"stabiliser_added": False}, "stabiliser_added", "stabiliser"),
        ({"volume_ml": "0"}, "volume_ml", "more than 0"),
        ({"dose": "  "}, "dose", "Give the dose"),
    ],
)
def test_a_bag_that_breaks_a_rule_is_refused_at_its_field(patient, good, nurse, start_event, change, field, said):
    weigh(patient, "70")
    fields = {**good, **change}
    if fields["expires_at"] == "before the next change":
        fields["expires_at"] = next_change_after(start_event).planned_at - dt.timedelta(minutes=1)
    if fields["checked_by"] == "the compounder":
        fields["checked_by"] = fields["compounded_by"]
    for who in ("checked_by", "compounded_by"):
        if fields[who] == "a nurse":
            fields[who] = nurse
    for who in ("checked_by", "compounded_by"):
        if fields[who] == "another hospital's pharmacist":  # found by a review: only the form limited it
            elsewhere = UnitFactory(organisation=OrganisationFactory(name="Another hospital"))
            fields[who] = UserFactory(username=f"{who}-elsewhere", role=Role.PHARMACIST, unit=elsewhere)
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**fields)
    assert list(refused.value.message_dict) == [field]
    assert said in refused.value.message_dict[field][0]
    assert not InfusionBag.objects.exists()


@pytest.mark.parametrize(("kg", "allowed"), [("21.9", False), ("20", False), ("22", True), ("70", True)])
def test_the_seven_day_preservative_bag_follows_the_weight_limit_of_the_newest_weighing(
    patient, good, start_event, kg, allowed
):
    weigh(patient, "70", at=NOW - dt.timedelta(days=20))  # an old weight above the limit does not count
    weigh(patient, kg)
    seven_days = option(168)
    assert (seven_days.preservative, seven_days.min_weight_kg) == (True, Decimal("22"))
    basis = InfusionBag.DoseBasis.BSA if Decimal(kg) < 45 else InfusionBag.DoseBasis.WEIGHT
    fields = {**good, "option": seven_days, "rate_ml_per_hour": "0.6", "dose_basis": basis}
    fields["expires_at"] = start_event.planned_at + dt.timedelta(days=8)
    if allowed:
        bag = infusion_bag_record(**fields)
        assert bag.preservative and bag.duration_hours == 168
        return
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**fields)
    (message,) = refused.value.message_dict["option"]
    assert "not used under 22 kg" in message and f"newest weighing is {kg} kg" in message
    assert seven_days.weight_limit_source in message  # the limit names its source
    assert list(refused.value.message_dict) == ["option"]
    assert not InfusionBag.objects.exists()


@pytest.mark.parametrize("hours", [72, 96])
@pytest.mark.parametrize(("kg", "allowed"), [("5.3", False), ("5.4", True)])
def test_the_three_and_four_day_preservative_bags_are_not_used_under_5_4_kg(
    patient, good, start_event, hours, kg, allowed
):
    """Benzyl alcohol can be fatal in newborns and infants: the current monograph's 5.4 kg for the
    preservative bags, in the seed (CLINICAL.md, "Infusion, pump, line and bags")."""
    weigh(patient, kg)
    bag_option = option(hours)
    assert (bag_option.preservative, bag_option.min_weight_kg) == (True, Decimal("5.4"))
    fields = {**good, "option": bag_option, "rate_ml_per_hour": "1.8", "dose_basis": InfusionBag.DoseBasis.BSA}
    fields["expires_at"] = start_event.planned_at + dt.timedelta(hours=hours + 24)
    if allowed:
        assert infusion_bag_record(**fields).duration_hours == hours
        return
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**fields)
    (message,) = refused.value.message_dict["option"]
    assert "not used under 5.4 kg" in message and bag_option.weight_limit_source in message
    assert not InfusionBag.objects.exists()


@pytest.mark.parametrize(
    ("kg", "basis", "said"),
    [
        ("40", InfusionBag.DoseBasis.WEIGHT, "Under 45 kg the dose is by body-surface area"),
        ("44.9", InfusionBag.DoseBasis.WEIGHT, "Under 45 kg the dose is by body-surface area"),
        ("45", InfusionBag.DoseBasis.BSA, "From 45 kg the dose is the weight band's flat dose"),
        ("70", InfusionBag.DoseBasis.BSA, "From 45 kg the dose is the weight band's flat dose"),
    ],
)
def test_the_basis_of_the_dose_follows_todays_weight(patient, good, kg, basis, said):
    """CLINICAL.md: "Under 45 kg the dose is by body-surface area"; the limit is the regimen's."""
    weigh(patient, kg)
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**{**good, "dose_basis": basis})
    assert list(refused.value.message_dict) == ["dose_basis"]
    (message,) = refused.value.message_dict["dose_basis"]
    assert said in message and f"today's weighing is {kg} kg" in message
    assert patient.courses.get().regimen_version.source in message
    assert not InfusionBag.objects.exists()

    right = InfusionBag.DoseBasis.BSA if basis == InfusionBag.DoseBasis.WEIGHT else InfusionBag.DoseBasis.WEIGHT
    assert infusion_bag_record(**{**good, "dose_basis": right}).dose_basis == right


def test_a_bag_without_any_weighing_is_refused(good):
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**good)
    assert "weigh the patient" in refused.value.message_dict["option"][0]
    assert not InfusionBag.objects.exists()


def test_a_bag_is_recorded_for_an_event_that_hangs_one(patient, good, course):
    weigh(patient, "70")
    (end,) = live(course, CareEvent.Kind.CYCLE_END)
    with pytest.raises(ValidationError):
        infusion_bag_record(**{**good, "event": end})
    assert not InfusionBag.objects.exists()


def test_only_the_patients_pharmacist_records_a_bag(patient, good, nurse, checker):
    weigh(patient, "70")
    for actor in (nurse, checker):  # the checker is a pharmacist, but not on this care team
        with pytest.raises(PermissionDenied):
            infusion_bag_record(**{**good, "actor": actor})
    assert not InfusionBag.objects.exists()


def test_a_remade_bag_replaces_the_first(patient, good, start_event):
    weigh(patient, "70")
    first = infusion_bag_record(**good)
    remade = infusion_bag_record(**{**good, "option": option(48), "rate_ml_per_hour": "5", "now": NOW})
    assert first.pk != remade.pk
    assert bag_for_event(start_event.pk) == remade


def test_a_bag_that_runs_out_before_it_comes_down_is_refused(patient, course, pharmacist, checker):
    """At home the 48-hour bag change is 48 hours after the one before: a 24-hour bag runs dry."""
    weigh(patient, "70")
    home_change = next(
        event
        for event in live(course, CareEvent.Kind.BAG_CHANGE)
        if next_change_after(event).planned_at - event.planned_at == dt.timedelta(hours=48)
    )
    fields = {
        "event": home_change,
        "option": option(24),
        "dose": "28 mcg/day",
        "dose_basis": InfusionBag.DoseBasis.WEIGHT,
        "volume_ml": "240",
        "rate_ml_per_hour": "10",
        "expires_at": home_change.planned_at + dt.timedelta(hours=60),
        "stabiliser_added": True,
        "compounded_by": pharmacist,
        "checked_by": checker,
        "actor": pharmacist,
        "now": NOW,
    }
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**fields)
    assert "runs out before the bag change 48 hours later" in refused.value.message_dict["option"][0]
    assert not InfusionBag.objects.exists()
    bag = infusion_bag_record(**{**fields, "option": option(48), "rate_ml_per_hour": "5"})
    assert bag.duration_hours == 48


def test_no_bag_is_recorded_for_an_event_after_a_stop_that_lasts(
    patient, course, pharmacist, checker, oncologist, time_machine
):
    """While a stop lasts no bag change is due (README): the restart moves the step-up by the break's
    length, unknown yet, so a bag's expiry and length checked against today's plan say nothing of
    when it will hang. Found by a review: the step-up's bag was recorded during the stop, its expiry
    checked against a time that the restart then moved past it."""
    stopped_at = dt.datetime(2026, 3, 4, 10, tzinfo=NY)  # cycle 1 day 3, in hospital
    time_machine.move_to(stopped_at + dt.timedelta(hours=1), tick=False)
    now = stopped_at + dt.timedelta(hours=1)
    interruption_stop(course=course, stopped_at=stopped_at, cause=Interruption.Cause.OTHER, actor=oncologist, now=now)
    weigh(patient, "70", at=now - dt.timedelta(minutes=30))
    # The bag changes after the stop are taken off the plan; the step-up stays, to move with the restart.
    (change,) = live(course, CareEvent.Kind.DOSE_STEP_UP)
    fields = {
        "event": change,
        "option": option(24),
        "dose": "28 mcg/day",
        "dose_basis": InfusionBag.DoseBasis.WEIGHT,
        "volume_ml": "240",
        "rate_ml_per_hour": "10",
        "expires_at": change.planned_at + dt.timedelta(hours=30),
        "stabiliser_added": True,
        "compounded_by": pharmacist,
        "checked_by": checker,
        "actor": pharmacist,
        "now": now,
    }
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**fields)
    assert "infusion is stopped" in refused.value.messages[0]
    assert not InfusionBag.objects.exists()


def test_a_bag_that_a_moved_plan_leaves_expiring_before_it_comes_down_is_flagged_on_its_event(
    client, patient, good, start_event, pharmacist, nurse, time_machine
):
    """A short pump stop only pauses the bag, and the next change moves later by the break
    (README); the bag hung was checked against the change as it was planned. Found by a review:
    after a 3-hour stop the event page still showed the bag as good while it expired an hour before
    the moved change, so it would be infused past its expiry."""
    weigh(patient, "70")
    following = next_change_after(start_event)
    infusion_bag_record(**{**good, "expires_at": following.planned_at + dt.timedelta(hours=1)})
    stopped_at = start_event.planned_at + dt.timedelta(hours=5)
    time_machine.move_to(stopped_at + dt.timedelta(hours=4), tick=False)
    pump_event_record(
        patient=patient,
        actor=nurse,
        kind=PumpEvent.Kind.OCCLUSION_ALARM,
        occurred_at=stopped_at,
        reported_by=PumpEvent.Reporter.NURSE,
        action_taken="Line unkinked.",
        infusion_stopped_at=stopped_at,
        infusion_restarted_at=stopped_at + dt.timedelta(hours=3),
    )
    moved = next_change_after(start_event)
    assert moved.planned_at == following.planned_at + dt.timedelta(hours=3)
    client.force_login(pharmacist)
    page = client.get(reverse("event_detail", args=[start_event.pk])).content.decode()
    assert "expires before it comes down" in page
    assert "ask the pharmacy for a new bag" in page
    # Written as the pages write a moment (accounts.moments), not "03 Mar 2026 10:00".
    assert "it expires Tue 3 Mar 2026, 10:00, and the plan" in page
    assert "at the bag change on Tue 3 Mar 2026, 12:00: ask the pharmacy" in page


def test_the_expiry_refusal_writes_the_next_change_as_the_pages_do(patient, good, start_event):
    """ "Tue 3 Mar 2026, 09:00" (accounts.moments), not "03 Mar 2026 09:00"."""
    weigh(patient, "70")
    following = next_change_after(start_event)
    with pytest.raises(ValidationError) as refused:
        infusion_bag_record(**{**good, "expires_at": following.planned_at - dt.timedelta(minutes=1)})
    (message,) = refused.value.message_dict["expires_at"]
    assert message == (
        "This bag expires before it comes down at the bag change on Tue 3 Mar 2026, 09:00: prepare one that lasts."
    )


def test_the_weighing_warnings_date_is_written_as_the_pages_write_dates(patient):
    """ "4 Dec 2026", as every page writes a day, not "04 Dec 2026"."""
    from django.utils import timezone

    from patients.services import weighing_warning

    from ..checklists.helpers import make_event

    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=2))
    event.patient.weight_measured_on = dt.date(2026, 12, 4)
    assert "(70 kg, 4 Dec 2026) was entered with the record" in weighing_warning(None, event)


def test_the_event_page_writes_the_bags_weighing_on_the_units_clock(
    client, patient, good, start_event, pharmacist, time_machine
):
    """Found by a walk through the pages: "weighing used: 77.2 kg on 2026-12-07", the day of the
    weighing in UTC (a weighing at 20:30 in New York read as the next day) and in no page's format."""
    evening = dt.datetime(2026, 3, 1, 21, 0, tzinfo=NY)  # 02:00 UTC on 2 March
    time_machine.move_to(evening, tick=False)
    weigh(patient, "70", at=evening - dt.timedelta(minutes=30))
    infusion_bag_record(**{**good, "now": evening})
    client.force_login(pharmacist)
    page = client.get(reverse("event_detail", args=[start_event.pk])).content.decode()
    assert "weighing used: 70 kg, weighed Sun 1 Mar, 20:30." in page
