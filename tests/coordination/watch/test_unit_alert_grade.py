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


@pytest.mark.parametrize(
    ("alert_from", "words"), [(None, "CRS grade 2 or more"), (1, "any CRS"), (3, "CRS grade 3 or more")]
)
def test_the_alert_list_says_the_units_rule(client, patient, nurse, alert_from, words):
    """Found by a review: the page said "CRS grade 2 or more" whatever the unit's rule."""
    if alert_from is not None:
        WatchUnitRule.objects.create(unit=patient.unit, alert_from_crs_grade=alert_from)
    from ...accounts.helpers import verified_login

    verified_login(client, nurse)
    intro = client.get("/alerts/").text
    assert f"{words[:1].upper()}{words[1:]}, any ICANS" in intro
    assert (alert_from in (1, 3)) is ("CRS grade 2 or more" not in intro)


def test_the_alert_list_names_each_units_rule_when_they_differ(client, patient, nurse, other_ward):
    """A nurse whose patients' alerts are routed by units with different rules reads each."""
    from ...accounts.helpers import verified_login

    WatchUnitRule.objects.create(unit=other_ward, alert_from_crs_grade=3)
    alert = assess(patient, nurse, **GRADE_3).alerts.get()
    ToxicityAlert.objects.filter(pk=alert.pk).update(unit=other_ward)
    verified_login(client, nurse)
    intro = client.get("/alerts/").text
    assert f"CRS by the unit's rule ({other_ward}: CRS grade 3 or more; {patient.unit}: CRS grade 2 or more)" in intro
