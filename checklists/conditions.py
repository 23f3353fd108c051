"""Conditions on the facts of a patient, course, cycle and event, evaluated without eval().

A condition is a structured row (fact, operator, value). Each fact says how to read it from a
care event and what type its value has, so a malformed condition is refused when the template
is edited, not discovered when a checklist is instantiated.
"""

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from patients.models import CareEvent, Cycle, Indication, Interruption, Setting
from patients.selectors import premedication_for_event, restart_of, stop_of


@dataclass(frozen=True)
class Fact:
    label: str
    read: Callable[[CareEvent], object]
    options: tuple[tuple[str, str], ...] | None = None  # (value, label); None: a number

    @property
    def is_number(self) -> bool:
        return self.options is None

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The values that the fact may have (None: a number)."""
        return None if self.options is None else tuple(value for value, _ in self.options)

    def value_label(self, value: str) -> str:
        """A value as a sentence says it: "home", "infusion clinic", "MRD-positive"."""
        return _in_sentence(dict(self.options or ()).get(value, value))


def _in_sentence(label: str) -> str:
    """A label inside a sentence: lower-case first letter, unless it starts an abbreviation (MRD)."""
    if len(label) > 1 and label[0].isupper() and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


NO_STOP = "none"

FACTS: dict[str, Fact] = {
    "weight_kg": Fact("Weight (kg)", lambda e: e.patient.weight_kg),
    "age_years": Fact("Age (years)", lambda e: Decimal(e.patient.age_on(e.local_planned_at.date()))),
    "body_surface_area": Fact("Body-surface area (m²)", lambda e: e.patient.body_surface_area),
    "indication": Fact("Indication", lambda e: e.cycle.course.indication, tuple(Indication.choices)),
    "cycle_number": Fact("Cycle number", lambda e: Decimal(e.cycle.number)),
    "phase": Fact("Cycle phase", lambda e: e.cycle.phase, tuple(Cycle.Phase.choices)),
    "cycle_day": Fact("Day of the cycle", lambda e: Decimal(e.day_number)),
    "setting": Fact("Setting", lambda e: e.setting, tuple(Setting.choices)),
    "bag_hours": Fact("Bag duration (hours)", lambda e: Decimal(e.cycle.course.bag_hours)),
    # Whether the course's regimen asks for a premedication before this event (by indication,
    # age, cycle and kind of start): the rule itself is regimen data, not template data.
    "premedication_due": Fact(
        "Premedication due (regimen)",
        lambda e: "yes" if premedication_for_event(e) else "no",
        (("yes", "yes"), ("no", "no")),
    ),
    # The event restarts the infusion at the regimen's restart dose after a grade 3 reaction: a
    # supervised restart, or a new cycle after a break too long to continue its own, which then
    # starts at the restart dose and not at the cycle's usual dose.
    "restart_dose": Fact(
        "Starts at the restart dose (grade 3 reaction)",
        lambda e: "yes" if (stop := restart_of(e)) is not None and stop.restart_dose else "no",
        (("yes", "yes"), ("no", "no")),
    ),
    # Why the infusion stopped, on the stop's own event and on its restart ("none" on any other
    # event): a pump or line problem needs no grading, no treatment of a reaction and no word that
    # a reaction has resolved before the restart.
    "stop_cause": Fact(
        "Cause of the stop (the stop and its restart)",
        lambda e: stop.cause if (stop := stop_of(e)) is not None else NO_STOP,
        ((NO_STOP, "None: not a stop or its restart"), *Interruption.Cause.choices),
    ),
    # The event's cycle has the regimen's step-up: cycle 1's rule (a regimen with one), or a later
    # cycle that repeats it after a break too long to continue cycle 1 before its step-up
    # (patients: Cycle.rule_number). Its dose is the starting dose, not the later cycles'.
    "step_up_cycle": Fact(
        "Cycle with the regimen's step-up",
        lambda e: "yes" if e.cycle.course.regimen_version.steps_up_in_cycle(e.cycle.rule_number) else "no",
        (("yes", "yes"), ("no", "no")),
    ),
    # Another cycle follows the event's (patients: Cycle.has_next_cycle): work for the next cycle
    # (its authorisation, admission or chair) is moot at the end of the last planned cycle and
    # after a stop for good. Read from the course that the event is loaded with (every caller
    # selects cycle__course): no query per event.
    "next_cycle": Fact(
        "Next cycle planned (not the last cycle, not stopped for good)",
        lambda e: "yes" if e.cycle.has_next_cycle else "no",
        (("yes", "yes"), ("no", "no")),
    ),
}
FACT_CHOICES = [(name, fact.label) for name, fact in FACTS.items()]

OPERATORS: dict[str, tuple[str, Callable[[object, object], bool]]] = {
    "eq": ("is", operator.eq),
    "ne": ("is not", operator.ne),
    "lt": ("is less than", operator.lt),
    "le": ("is at most", operator.le),
    "gt": ("is more than", operator.gt),
    "ge": ("is at least", operator.ge),
    "in": ("is one of", lambda actual, allowed: actual in allowed),
}
OPERATOR_CHOICES = [(name, label) for name, (label, _) in OPERATORS.items()]
ORDERING_OPERATORS = {"lt", "le", "gt", "ge"}


def parse_value(fact_name: str, op: str, raw: str):
    """The typed value of a condition, or ValidationError naming the field that is wrong."""
    fact = FACTS.get(fact_name)
    if fact is None:
        raise ValidationError({"fact": f"Unknown fact “{fact_name}”."})
    if op not in OPERATORS:
        raise ValidationError({"operator": f"Unknown operator “{op}”."})
    if not fact.is_number and op in ORDERING_OPERATORS:
        raise ValidationError({"operator": f"{fact.label} can only be compared with is, is not or is one of."})
    parts = [part.strip() for part in raw.split(",")] if op == "in" else [raw.strip()]
    if not all(parts):
        raise ValidationError({"value": "Give a value (several separated by commas for “is one of”)."})
    values = []
    for part in parts:
        if fact.is_number:
            try:
                number = Decimal(part)
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():  # NaN would make every comparison raise
                raise ValidationError({"value": f"{fact.label} needs a number, not “{part}”."})
            values.append(number)
        else:
            if part not in fact.choices:
                raise ValidationError({"value": f"{fact.label} is one of {', '.join(fact.choices)}; not “{part}”."})
            values.append(part)
    return tuple(values) if op == "in" else values[0]


def condition_holds(*, fact: str, operator_name: str, value: str, event: CareEvent) -> bool:
    expected = parse_value(fact, operator_name, value)
    actual = FACTS[fact].read(event)
    return OPERATORS[operator_name][1](actual, expected)


def describe(fact: str, operator_name: str, value: str) -> str:
    """One condition as words: "weight (kg) is less than 45", "setting is one of home or infusion clinic"."""
    known = FACTS.get(fact)
    label = _in_sentence(known.label) if known else fact
    words = OPERATORS.get(operator_name, (operator_name,))[0]
    parts = [part.strip() for part in str(value).split(",") if part.strip()] if operator_name == "in" else [value]
    shown = [known.value_label(part) if known else part for part in parts]
    said = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    return f"{label} {words} {said}"


def describe_all(rows: Iterable) -> str:
    """When an item or a template applies, as one sentence: "Applies when weight (kg) is less
    than 45 and setting is home", or "Always applies". `rows` are condition rows (fact, operator,
    value attributes) or (fact, operator, value) triples."""
    said = [
        describe(*row) if isinstance(row, tuple | list) else describe(row.fact, row.operator, row.value) for row in rows
    ]
    return f"Applies when {' and '.join(said)}" if said else "Always applies"
