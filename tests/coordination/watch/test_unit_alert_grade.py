"""The CRS grade that raises an urgent alert is the unit's rule (data an administrator edits,
audited), not a constant: grade 2 by default; a unit may bring the doctor from grade 1, or leave
grade 2 to the ward; grade 3 and 4 always alert."""

from decimal import Decimal

import pytest

from coordination.watch.models import ToxicityAlert, WatchUnitRule
from patients.grading import Vasopressors

from .test_alerts import assess, roster  # noqa: F401  (a fixture: the first-call oncologist at night)

pytestmark = pytest.mark.usefixtures("roster")

# 39.0 °C with hypotension that needs fluids only: ASTCT CRS grade 2.
GRADE_2 = {"temperature": Decimal("39.0"), "hypotension": True}
# With a vasopressor: grade 3.
GRADE_3 = {"temperature": Decimal("39.0"), "hypotension": True, "vasopressors": Vasopressors.ONE}
# Fever alone: grade 1.
GRADE_1 = {"temperature": Decimal("38.6")}


@pytest.mark.parametrize(
    ("alert_from", "findings", "alerts"),
    [
        (None, GRADE_1, False),
        (None, GRADE_2, True),
        (1, GRADE_1, True),
        (3, GRADE_2, False),
        (3, GRADE_3, True),
    ],
)
def test_the_units_rule_decides_from_which_crs_grade_an_alert_is_raised(patient, nurse, alert_from, findings, alerts):
    if alert_from is not None:
        WatchUnitRule.objects.create(unit=patient.unit, alert_from_crs_grade=alert_from)
    assessment = assess(patient, nurse, **findings)
    assert ToxicityAlert.objects.filter(assessment=assessment).exists() is alerts


def test_a_grade_3_crs_asks_for_an_interruption_whatever_the_units_grade(patient, nurse):
    WatchUnitRule.objects.create(unit=patient.unit, alert_from_crs_grade=3)
    assess(patient, nurse, **GRADE_3)
    alert = ToxicityAlert.objects.get()
    assert (alert.reason, alert.ask) == ("CRS grade 3", ToxicityAlert.Ask.INTERRUPTION)
