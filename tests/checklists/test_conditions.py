from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from checklists import conditions
from checklists.conditions import condition_holds, parse_value
from patients.models import CareEvent, Cycle, Indication, Setting, TreatmentCourse

from ..factories import CourseFactory
from .helpers import make_event


def refusal(fact, operator, value) -> dict:
    with pytest.raises(ValidationError) as caught:
        parse_value(fact, operator, value)
    return caught.value.message_dict


def test_an_unknown_fact_is_refused():
    assert "Unknown fact" in refusal("shoe_size", "eq", "42")["fact"][0]


def test_an_unknown_operator_is_refused():
    assert "Unknown operator" in refusal("weight_kg", "like", "45")["operator"][0]


@pytest.mark.parametrize("operator", ["lt", "le", "gt", "ge"])
def test_an_ordering_operator_on_a_choice_fact_is_refused(operator):
    assert "can only be compared with is" in refusal("indication", operator, "mrd_positive")["operator"][0]


@pytest.mark.parametrize("value", ["heavy", "45 kg", "", "4,5", "NaN", "Infinity", "-inf", "sNaN"])
def test_a_number_fact_needs_a_finite_number(value):
    assert "value" in refusal("weight_kg", "lt", value)


def test_a_list_of_numbers_must_hold_only_numbers():
    assert "not “two”" in refusal("cycle_number", "in", "1, two")["value"][0]


def test_an_unknown_choice_is_refused_and_the_known_ones_are_listed():
    message = refusal("setting", "eq", "moon")["value"][0]
    assert "not “moon”" in message
    assert "home" in message


def test_an_empty_entry_in_a_list_is_refused():
    assert "value" in refusal("setting", "in", "home,,clinic")


def test_values_are_typed():
    assert parse_value("weight_kg", "lt", " 45 ") == Decimal("45")
    assert parse_value("setting", "in", "home, clinic") == ("home", "clinic")
    assert parse_value("indication", "eq", "mrd_positive") == "mrd_positive"


def test_code_in_a_value_is_just_a_bad_value():
    assert "value" in refusal("weight_kg", "lt", "__import__('os').system('true')")


@pytest.fixture
def no_eval(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("conditions must not use eval or exec")

    monkeypatch.setattr("builtins.eval", forbidden)
    monkeypatch.setattr("builtins.exec", forbidden)


@pytest.mark.parametrize(
    ("fact", "operator", "value", "expected"),
    [
        ("weight_kg", "lt", "45", False),  # the patient weighs 70 kg
        ("weight_kg", "ge", "70", True),
        ("weight_kg", "in", "60, 70.0", True),
        ("cycle_number", "le", "2", True),  # cycle 2
        ("cycle_number", "gt", "2", False),
        ("cycle_number", "eq", "2", True),
        ("indication", "eq", "mrd_positive", True),
        ("indication", "ne", "mrd_positive", False),
        ("indication", "in", "consolidation,relapsed_refractory", False),
        ("setting", "eq", "home", True),
        ("setting", "in", "clinic, inpatient", False),
        ("phase", "eq", "induction", True),
        ("cycle_day", "eq", "1", True),
        ("age_years", "ge", "18", True),
        ("bag_hours", "eq", "48", True),
        ("body_surface_area", "gt", "1.8", True),  # Mosteller of 170 cm and 70 kg: 1.82 m²
    ],
)
def test_a_condition_reads_its_fact_from_the_event(patient, no_eval, fact, operator, value, expected):
    event = make_event(patient, number=2, indication=Indication.MRD_POSITIVE, setting=Setting.HOME)
    assert condition_holds(fact=fact, operator_name=operator, value=value, event=event) is expected


def test_every_fact_is_readable_from_an_event(patient):
    event = make_event(patient)
    for name, fact in conditions.FACTS.items():
        actual = fact.read(event)
        if fact.is_number:
            assert isinstance(actual, Decimal), name
        else:
            assert actual in fact.choices, name


def test_a_condition_describes_itself_in_words():
    assert conditions.describe("weight_kg", "lt", "45") == "weight (kg) is less than 45"
    assert conditions.describe("setting", "in", "home,clinic") == "setting is one of home or infusion clinic"


STOPPED, ACTIVE = TreatmentCourse.Status.STOPPED, TreatmentCourse.Status.ACTIVE


@pytest.mark.parametrize(
    ("number", "planned_cycles", "status", "expected"),
    [
        (2, 3, ACTIVE, "yes"),  # a middle cycle (cycle 3 has no row yet, as a consolidation's successor)
        (3, 3, ACTIVE, "no"),  # the last planned cycle
        (2, 3, STOPPED, "no"),  # stopped for good: no cycle follows, whatever the plan said
    ],
    ids=["middle", "last-planned", "stopped-for-good"],
)
def test_next_cycle_says_whether_another_cycle_follows(patient, number, planned_cycles, status, expected):
    course = CourseFactory(patient=patient, planned_cycles=planned_cycles, status=status)
    cycle = Cycle.objects.create(
        course=course, number=number, phase=Cycle.Phase.INDUCTION, start_date=course.start_date
    )
    event = make_event(patient, kind=CareEvent.Kind.CYCLE_END, cycle=cycle)
    assert conditions.FACTS["next_cycle"].read(event) == expected
    assert condition_holds(fact="next_cycle", operator_name="eq", value="yes", event=event) is (expected == "yes")


def test_next_cycle_reads_no_row_beyond_the_event_and_its_course(patient, django_assert_num_queries):
    """Facts are read for every event of a rebuild: this one reads the course that the event is
    loaded with, as the checklists' callers load it (select_related), never its cycles."""
    event = make_event(patient, kind=CareEvent.Kind.CYCLE_END)
    loaded = CareEvent.objects.select_related("cycle__course").get(pk=event.pk)
    with django_assert_num_queries(0):
        assert conditions.FACTS["next_cycle"].read(loaded) == "yes"  # cycle 1 of the factory's 2
