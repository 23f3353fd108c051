import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from patients.models import CareEvent, Cycle, Indication, Regimen, Setting
from patients.services import (
    course_extend,
    course_schedule_build,
    cycle_postpone,
    regimen_version_new_draft,
    regimen_version_publish,
)

from ..factories import CourseFactory, PatientFactory, UnitFactory
from .helpers import snapshot

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
UTC = dt.UTC


def _events(course, kind):
    return list(CareEvent.objects.filter(cycle__course=course, kind=kind).order_by("planned_at"))


@pytest.fixture
def paris_patient(db):
    return PatientFactory(unit=UnitFactory(time_zone="Europe/Paris"))


def build(course, now):
    return course_schedule_build(course=course, now=now)


def test_cycles_are_28_days_of_infusion_then_14_of_rest(paris_patient):
    course = CourseFactory(patient=paris_patient, planned_cycles=3, start_date=dt.date(2026, 1, 5))
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    cycles = list(course.cycles.order_by("number"))
    assert [c.start_date for c in cycles] == [dt.date(2026, 1, 5), dt.date(2026, 2, 16), dt.date(2026, 3, 30)]
    assert [c.phase for c in cycles] == [Cycle.Phase.INDUCTION, Cycle.Phase.INDUCTION, Cycle.Phase.CONSOLIDATION]
    assert cycles[0].infusion_end_date == dt.date(2026, 2, 2)
    assert cycles[0].rest_end_date == dt.date(2026, 2, 16)


@pytest.mark.parametrize(
    ("indication", "expected"),
    [
        (Indication.RELAPSED_REFRACTORY, [9, 2, 0]),
        (Indication.MRD_POSITIVE, [3, 2, 0]),
        (Indication.CONSOLIDATION, [3]),  # the next starts wait for the chemotherapy plan
    ],
)
def test_inpatient_days_follow_indication_and_cycle(paris_patient, indication, expected):
    course = CourseFactory(
        patient=paris_patient, indication=indication, planned_cycles=3, start_date=dt.date(2026, 1, 5)
    )
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert [c.inpatient_days for c in course.cycles.order_by("number")] == expected


def test_a_newly_published_regimen_version_plans_new_courses_and_leaves_pinned_ones(paris_patient, admin_user):
    pinned = CourseFactory(patient=paris_patient, indication=Indication.MRD_POSITIVE, start_date=dt.date(2026, 1, 5))
    draft = regimen_version_new_draft(regimen=Regimen.objects.get(indication=Indication.MRD_POSITIVE), actor=admin_user)
    draft.cycle_rules.filter(first_cycle=1).update(inpatient_days=4)
    regimen_version_publish(version=draft, actor=admin_user, change_summary="Four days in hospital")
    course = CourseFactory(
        patient=PatientFactory(unit=paris_patient.unit),
        indication=Indication.MRD_POSITIVE,
        start_date=dt.date(2026, 1, 5),
    )
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    build(pinned, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert course.cycles.get(number=1).inpatient_days == 4
    assert pinned.cycles.get(number=1).inpatient_days == 3


def test_relapsed_refractory_cycle_one_has_step_up_on_day_8_and_discharge_after_day_9(paris_patient):
    course = CourseFactory(patient=paris_patient, planned_cycles=1, start_date=dt.date(2026, 1, 5))
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    (step_up,) = _events(course, CareEvent.Kind.DOSE_STEP_UP)
    (discharge,) = _events(course, CareEvent.Kind.DISCHARGE_HOME)
    assert step_up.day_number == 8 and step_up.setting == Setting.INPATIENT
    assert discharge.day_number == 10
    assert discharge.local_planned_at == dt.datetime(2026, 1, 14, 11, 0, tzinfo=PARIS)
    bags = _events(course, CareEvent.Kind.BAG_CHANGE)
    inpatient_bags = [b for b in bags if b.setting == Setting.INPATIENT]
    # Every 24 h in hospital until the discharge, but on day 8, where the step-up hangs its own bag.
    assert [b.day_number for b in inpatient_bags] == [2, 3, 4, 5, 6, 7, 9, 10]
    home_gaps = {later.planned_at - earlier.planned_at for earlier, later in zip(bags[8:], bags[9:], strict=False)}
    assert home_gaps == {dt.timedelta(hours=48)}
    assert all(b.planned_at < _events(course, CareEvent.Kind.CYCLE_END)[0].planned_at for b in bags)


def test_bags_in_hospital_last_what_the_course_says_the_hospital_pharmacy_prepares(paris_patient):
    course = CourseFactory(
        patient=paris_patient, planned_cycles=1, start_date=dt.date(2026, 1, 5), inpatient_bag_hours=48
    )
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    bags = _events(course, CareEvent.Kind.BAG_CHANGE)
    inpatient = [b.planned_at for b in bags if b.setting == Setting.INPATIENT]
    (start,) = _events(course, CareEvent.Kind.CYCLE_START)
    # Every 48 h; the step-up (hour 168, day 8) hangs its own bag, and the count starts again from it.
    assert [later - start.planned_at for later in inpatient] == [dt.timedelta(hours=h) for h in (48, 96, 144, 216)]
    first_home = next(b for b in bags if b.setting != Setting.INPATIENT)
    assert first_home.planned_at - inpatient[-1] == dt.timedelta(hours=48)  # then the course's home bags


@pytest.mark.parametrize("inpatient_bag_hours", [24, 48])
def test_the_step_up_hangs_the_new_dose_bag_and_the_bag_count_starts_again_from_it(paris_patient, inpatient_bag_hours):
    """Found by a review: on day 8 a bag change and the step-up fell at the same minute, each with
    a bag of its own; the one at the old dose could be hung instead of the step-up's."""
    course = CourseFactory(
        patient=paris_patient, planned_cycles=1, start_date=dt.date(2026, 1, 5), inpatient_bag_hours=inpatient_bag_hours
    )
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    (step_up,) = _events(course, CareEvent.Kind.DOSE_STEP_UP)
    bags = [b.planned_at for b in _events(course, CareEvent.Kind.BAG_CHANGE)]
    assert step_up.planned_at not in bags
    after = [b for b in bags if b > step_up.planned_at]
    assert after[0] - step_up.planned_at == dt.timedelta(hours=inpatient_bag_hours)


def test_building_twice_changes_nothing(paris_patient):
    course = CourseFactory(patient=paris_patient, start_date=dt.date(2026, 1, 5))
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    first = build(course, now)
    again = build(course, now)
    assert first.created and not (again.created or again.moved or again.cancelled)
    assert CareEvent.objects.filter(cycle__course=course).count() == len(first.created)


def test_day_n_stays_on_its_calendar_day_across_daylight_saving(paris_patient):
    # Paris springs forward on 29 March 2026: cycle days after it keep their 09:00 local time.
    course = CourseFactory(patient=paris_patient, planned_cycles=1, start_date=dt.date(2026, 3, 20))
    build(course, now=dt.datetime(2026, 3, 1, tzinfo=UTC))
    (start,) = _events(course, CareEvent.Kind.CYCLE_START)
    (step_up,) = _events(course, CareEvent.Kind.DOSE_STEP_UP)
    (end,) = _events(course, CareEvent.Kind.CYCLE_END)
    assert start.planned_at == dt.datetime(2026, 3, 20, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert step_up.planned_at == dt.datetime(2026, 3, 27, 8, 0, tzinfo=UTC)  # before the change
    # The pump comes off after 28 days of infusion (672 h), at 10:00 CEST across the 23-hour day.
    assert end.planned_at == dt.datetime(2026, 4, 17, 8, 0, tzinfo=UTC)
    assert end.planned_at - start.planned_at == dt.timedelta(hours=672)
    assert (end.local_planned_at.date(), end.local_planned_at.hour) == (dt.date(2026, 4, 17), 10)
    assert end.day_number == 29


def test_no_bag_is_hung_for_the_hour_the_autumn_clock_change_adds(paris_patient):
    """Found by a review: Paris falls back on 25 October 2026; with the end at "day 29, 09:00" the
    cycle lasted 673 h and a last bag change fell at 08:00, for one hour of infusion."""
    course = CourseFactory(patient=paris_patient, planned_cycles=1, start_date=dt.date(2026, 10, 12))
    build(course, now=dt.datetime(2026, 10, 1, tzinfo=UTC))
    (start,) = _events(course, CareEvent.Kind.CYCLE_START)
    (end,) = _events(course, CareEvent.Kind.CYCLE_END)
    bags = _events(course, CareEvent.Kind.BAG_CHANGE)
    assert end.planned_at - start.planned_at == dt.timedelta(hours=672)
    assert (end.local_planned_at.date(), end.local_planned_at.hour) == (dt.date(2026, 11, 9), 8)
    assert end.planned_at - bags[-1].planned_at == dt.timedelta(hours=course.bag_hours)


def test_bag_changes_count_absolute_hours_across_daylight_saving(paris_patient):
    course = CourseFactory(patient=paris_patient, planned_cycles=1, start_date=dt.date(2026, 3, 20))
    build(course, now=dt.datetime(2026, 3, 1, tzinfo=UTC))
    bags = _events(course, CareEvent.Kind.BAG_CHANGE)
    gaps = {later.planned_at - earlier.planned_at for earlier, later in zip(bags[:6], bags[1:6], strict=False)}
    assert gaps == {dt.timedelta(hours=24)}  # up to the step-up on 27 March, which hangs its own bag
    # the 29 March change happens at 10:00 local: 24 hours of infusion after the 09:00 CET change
    # of the day before, across the 23-hour day
    march_29 = [b for b in bags if b.local_planned_at.date() == dt.date(2026, 3, 29)]
    assert [b.local_planned_at.hour for b in march_29] == [10]


def test_postponing_moves_future_events_and_never_past_ones(paris_patient):
    course = CourseFactory(patient=paris_patient, planned_cycles=2, start_date=dt.date(2026, 1, 5))
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    cycle2 = course.cycles.get(number=2)
    assert cycle2.start_date == dt.date(2026, 2, 16)
    now = dt.datetime(2026, 2, 10, 12, tzinfo=UTC)  # cycle 1 done, resting
    past_before = {e.pk: e.planned_at for e in CareEvent.objects.filter(cycle__course=course, planned_at__lt=now)}

    changes = cycle_postpone(cycle=cycle2, new_start_date=dt.date(2026, 2, 23), now=now)

    cycle2.refresh_from_db()
    assert cycle2.start_date == dt.date(2026, 2, 23)
    past_after = {e.pk: e.planned_at for e in CareEvent.objects.filter(pk__in=past_before)}
    assert past_after == past_before
    (start2,) = CareEvent.objects.filter(cycle=cycle2, kind=CareEvent.Kind.CYCLE_START)
    assert start2.local_planned_at == dt.datetime(2026, 2, 23, 9, 0, tzinfo=PARIS)
    assert changes.moved and not changes.created


def test_a_started_cycle_cannot_be_postponed(paris_patient):
    course = CourseFactory(patient=paris_patient, start_date=dt.date(2026, 1, 5))
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError):
        cycle_postpone(
            cycle=course.cycles.get(number=1),
            new_start_date=dt.date(2026, 1, 20),
            now=dt.datetime(2026, 1, 6, tzinfo=UTC),
        )


def test_adding_a_cycle_appends_it_after_the_last_rest(paris_patient):
    course = CourseFactory(patient=paris_patient, planned_cycles=2, start_date=dt.date(2026, 1, 5))
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    changes = course_extend(course=course, planned_cycles=3, now=dt.datetime(2026, 1, 20, tzinfo=UTC))
    third = course.cycles.get(number=3)
    assert third.start_date == dt.date(2026, 3, 30)
    assert {e.cycle_id for e in changes.created} == {third.pk}
    assert not changes.moved


def test_a_course_started_in_the_past_keeps_its_past_events_when_the_bag_duration_changes(paris_patient):
    course = CourseFactory(patient=paris_patient, planned_cycles=1, start_date=dt.date(2026, 1, 5))
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    now = dt.datetime(2026, 1, 20, tzinfo=UTC)
    past = set(
        CareEvent.objects.filter(cycle__course=course, planned_at__lt=now).values_list("pk", "planned_at", "status")
    )
    course.bag_hours = 168
    course.save()
    changes = build(course, now)
    assert changes.cancelled  # future 48-hour bag changes the 7-day bags no longer need
    assert all(e.planned_at > now for e in changes.cancelled + changes.moved + changes.created)
    still = set(CareEvent.objects.filter(pk__in=[p for p, *_ in past]).values_list("pk", "planned_at", "status"))
    assert still == past


# --- fewer cycles than the ones under way ---------------------------------------------------------


def _second_cycle_under_way(paris_patient):
    """A relapsed/refractory course of 3 cycles whose cycle 2 (from 16 Feb 2026) has started."""
    course = CourseFactory(patient=paris_patient, planned_cycles=3, start_date=dt.date(2026, 1, 5))
    build(course, now=dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert course.cycles.get(number=2).start_date == dt.date(2026, 2, 16)
    return course


def _on_paris_clock(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS)


@pytest.mark.parametrize(
    ("now", "start_done"),
    [
        (_on_paris_clock(dt.date(2026, 2, 21), 10), False),  # day 6 of cycle 2: infusing at home
        (_on_paris_clock(dt.date(2026, 2, 16), 8), False),  # its day 1, before the 09:00 start
        (_on_paris_clock(dt.date(2026, 2, 15), 18), True),  # its start recorded done already
    ],
    ids=["infusing", "day-1-reached", "start-done"],
)
def test_fewer_cycles_than_one_that_has_started_are_refused_and_its_care_stays(paris_patient, now, start_done):
    """Found by review: 1 cycle planned while cycle 2 was infusing kept cycle 2 but cancelled its
    bag changes and its pump-off."""
    course = _second_cycle_under_way(paris_patient)
    if start_done:
        CareEvent.objects.filter(cycle__course=course, cycle__number=2, kind=CareEvent.Kind.CYCLE_START).update(
            status=CareEvent.Status.DONE
        )
    before = snapshot(course)

    with pytest.raises(ValidationError) as refused:
        course_extend(course=course, planned_cycles=1, now=now)

    assert refused.value.message_dict == {
        "planned_cycles": ["Cycle 2 has started: plan at least 2 cycles, or stop the course for good."]
    }
    assert snapshot(course) == before


def test_the_cycles_after_the_one_under_way_can_still_be_taken_off(paris_patient):
    course = _second_cycle_under_way(paris_patient)
    now = _on_paris_clock(dt.date(2026, 2, 21), 10)
    second = course.cycles.get(number=2)
    ahead = [(e.pk, e.planned_at) for e in _events(course, CareEvent.Kind.BAG_CHANGE) if e.cycle_id == second.pk]

    course_extend(course=course, planned_cycles=2, now=now)

    assert list(course.cycles.values_list("number", flat=True).order_by("number")) == [1, 2]
    still = CareEvent.objects.filter(cycle=second, kind=CareEvent.Kind.BAG_CHANGE, status=CareEvent.Status.PLANNED)
    assert sorted(still.values_list("pk", "planned_at")) == sorted(ahead)
    assert CareEvent.objects.filter(cycle=second, kind=CareEvent.Kind.CYCLE_END, status="planned").exists()


def test_a_rebuild_never_leaves_a_started_cycle_out_of_the_plan(paris_patient):
    """The guard behind the refusal above: whatever lowered the planned count, the rebuild refuses
    to drop a started cycle's care rather than cancel it."""
    course = _second_cycle_under_way(paris_patient)
    course.planned_cycles = 1
    course.save(update_fields=["planned_cycles"])
    before = snapshot(course)

    with pytest.raises(ValidationError) as refused:
        build(course, now=_on_paris_clock(dt.date(2026, 2, 21), 10))

    assert refused.value.message_dict == {
        "planned_cycles": ["Cycle 2 has started: plan at least 2 cycles, or stop the course for good."]
    }
    assert snapshot(course) == before
