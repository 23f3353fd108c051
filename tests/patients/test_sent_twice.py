"""A bag, a home check or a pump event sent twice (a double click, or a form posted again whose
answer was lost): the same person's identical record, at once or within the minute, is answered as
the first was, with no second row. Found by a concurrency review: two identical bags for one event,
read as "a remade bag replaces the first". Real PostgreSQL row locks, threads with their own
connections; two records that differ are both kept."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from patients.models import HomeCheckIn, InfusionBag, Interruption, PumpEvent
from patients.services import check_in_record, infusion_bag_record, pump_event_record

from ..database_helpers import race
from .helpers import rr_course
from .test_bags import NOW, checker, clock, course, good, start_event, weigh  # noqa: F401 - fixtures

NY = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_bag_is_recorded_once(patient, good, start_event):  # noqa: F811 (the fixtures imported above)
    weigh(patient, "70")
    outcomes = race(lambda: infusion_bag_record(**good), lambda: infusion_bag_record(**good))
    bag = InfusionBag.objects.get(event=start_event)
    assert [getattr(outcome, "pk", outcome) for outcome in outcomes] == [bag.pk, bag.pk]


def test_a_bag_sent_again_within_the_minute_is_the_first(patient, good, start_event, time_machine):  # noqa: F811 (the fixtures imported above)
    weigh(patient, "70")
    first = infusion_bag_record(**good)
    again = infusion_bag_record(**{**good, "now": NOW + dt.timedelta(seconds=50)})
    assert again.pk == first.pk and InfusionBag.objects.filter(event=start_event).count() == 1


def test_a_remade_bag_is_a_second_bag(patient, good, start_event):  # noqa: F811 (the fixtures imported above)
    """Another label (another expiry), or the same bag recorded again later: a remade bag."""
    weigh(patient, "70")
    infusion_bag_record(**good)
    infusion_bag_record(**{**good, "expires_at": good["expires_at"] + dt.timedelta(hours=1)})
    infusion_bag_record(**{**good, "now": NOW + dt.timedelta(minutes=2)})
    assert InfusionBag.objects.filter(event=start_event).count() == 3


def home_check(patient, actor, **fields):
    values = {
        "checked_at": dt.datetime(2026, 3, 12, 2, 30, tzinfo=NY),
        "temperature": Decimal("38.6"),
        "temperature_unit": "C",
        "pump_status": "running",
        "signs": ["confusion"],
        "note": "Called at 02:30.",
        **fields,
    }
    return check_in_record(patient=patient, actor=actor, **values)


@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_home_check_is_recorded_once(patient, nurse, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 12, 3, tzinfo=NY), tick=False)
    outcomes = race(lambda: home_check(patient, nurse), lambda: home_check(patient, nurse))
    check = HomeCheckIn.objects.get()
    assert [getattr(outcome, "pk", outcome) for outcome in outcomes] == [check.pk, check.pk]
    assert outcomes[1].red_flags == check.red_flags != []


def test_a_home_check_with_other_findings_is_kept(patient, nurse, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 12, 3, tzinfo=NY), tick=False)
    first = home_check(patient, nurse)
    assert home_check(patient, nurse).pk == first.pk
    home_check(patient, nurse, temperature=Decimal("38.9"))
    assert HomeCheckIn.objects.count() == 2


def pump_event(patient, actor, **fields):
    values = {
        "kind": PumpEvent.Kind.OCCLUSION_ALARM,
        "occurred_at": dt.datetime(2026, 3, 12, 2, 20, tzinfo=NY),
        "reported_by": PumpEvent.Reporter.CAREGIVER,
        "action_taken": "Kink in the line undone by phone; pump restarted.",
        "volume_left_ml": Decimal("112"),
        **fields,
    }
    return pump_event_record(patient=patient, actor=actor, **values)


@pytest.fixture
def home_course(patient, time_machine):
    now = dt.datetime(2026, 3, 12, 3, tzinfo=NY)  # cycle 1 day 11, at home
    time_machine.move_to(now, tick=False)
    return rr_course(patient, start=dt.date(2026, 3, 2), cycles=2, now=now - dt.timedelta(days=11))


@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_pump_stop_is_recorded_once(patient, nurse, home_course):
    """With a short stop and its restart: the second found the break recorded and was refused
    ("falls inside a break already recorded"), a page the nurse read as the first having failed."""
    stopped = {
        "infusion_stopped_at": dt.datetime(2026, 3, 12, 2, 20, tzinfo=NY),
        "infusion_restarted_at": dt.datetime(2026, 3, 12, 2, 35, tzinfo=NY),
    }
    outcomes = race(lambda: pump_event(patient, nurse, **stopped), lambda: pump_event(patient, nurse, **stopped))
    event = PumpEvent.objects.get()
    assert [getattr(outcome, "pk", outcome) for outcome in outcomes] == [event.pk, event.pk]
    assert Interruption.objects.count() == 1


def test_a_pump_event_sent_again_is_the_first_and_another_is_kept(patient, nurse, home_course):
    first = pump_event(patient, nurse)
    assert pump_event(patient, nurse).pk == first.pk
    pump_event(patient, nurse, volume_left_ml=Decimal("90"))  # the next alarm, less left
    assert PumpEvent.objects.count() == 2


def test_the_check_sent_again_after_the_minute_is_a_new_one(patient, nurse, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 12, 3, tzinfo=NY), tick=False)
    home_check(patient, nurse)
    time_machine.move_to(timezone.now() + dt.timedelta(minutes=2), tick=False)
    home_check(patient, nurse)
    assert HomeCheckIn.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_stop_is_the_first(patient, nurse, home_course):
    """The second found the infusion stopped and was refused ("already stopped: record its restart
    first"): the page the nurse saw said the stop she had just recorded was not."""
    from patients.services import interruption_stop

    def post():
        return interruption_stop(
            course=home_course,
            stopped_at=dt.datetime(2026, 3, 12, 2, 20, tzinfo=NY),
            cause=Interruption.Cause.PUMP_OR_LINE,
            detail="Line leaking",
            actor=nurse,
        )

    outcomes = race(post, post)
    stop = Interruption.objects.get()
    assert [getattr(outcome, "pk", outcome) for outcome in outcomes] == [stop.pk, stop.pk]
