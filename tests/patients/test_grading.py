"""ASTCT consensus grading (Lee et al. 2019): one test case per row and column of its tables."""

from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from patients.grading import (
    ICE_MAX,
    Consciousness,
    MotorFinding,
    OxygenDevice,
    RaisedPressure,
    Seizure,
    Vasopressors,
    crs_grade,
    icans_grade,
    low_systolic_below,
)
from patients.models.toxicity import ICE_PARTS


@dataclass(frozen=True)
class Findings:
    temperature_celsius: Decimal | None = Decimal("37.0")
    fever_masked: bool = False
    hypotension: bool = False
    vasopressors: str = Vasopressors.NONE
    oxygen_device: str = OxygenDevice.NONE
    oxygen_flow_l_min: Decimal | None = None
    uses_capd: bool = False
    ice_score: int | None = 10
    ice_unable: bool = False
    capd_score: int | None = None
    consciousness: str = Consciousness.ALERT
    seizure: str = Seizure.NONE
    motor_finding: str = MotorFinding.NONE
    raised_pressure: str = RaisedPressure.NONE


FEVER = Findings(temperature_celsius=Decimal("38.6"))

# CRS: fever, then the worse of hypotension and hypoxia.
CRS_TABLE = [
    ("no fever, nothing else", Findings(), 0),
    ("37.9 °C is not fever", Findings(temperature_celsius=Decimal("37.9")), 0),
    ("no fever: hypotension alone is not CRS", Findings(hypotension=True), 0),
    ("grade 1: fever 38.0 °C exactly", Findings(temperature_celsius=Decimal("38.0")), 1),
    ("grade 1: fever, no hypotension, no hypoxia", FEVER, 1),
    ("grade 2: fever, hypotension without vasopressors", replace(FEVER, hypotension=True), 2),
    (
        "grade 2: fever, nasal cannula 2 L/min",
        replace(FEVER, oxygen_device=OxygenDevice.NASAL_CANNULA, oxygen_flow_l_min=Decimal("2")),
        2,
    ),
    (
        "grade 2: fever, nasal cannula 6 L/min (the limit)",
        replace(FEVER, oxygen_device=OxygenDevice.NASAL_CANNULA, oxygen_flow_l_min=Decimal("6")),
        2,
    ),
    ("grade 2: fever, blow-by", replace(FEVER, oxygen_device=OxygenDevice.BLOW_BY), 2),
    ("grade 3: fever, one vasopressor", replace(FEVER, vasopressors=Vasopressors.ONE), 3),
    (
        "grade 3: fever, nasal cannula over 6 L/min",
        replace(FEVER, oxygen_device=OxygenDevice.NASAL_CANNULA, oxygen_flow_l_min=Decimal("8")),
        3,
    ),
    ("grade 3: fever, high-flow nasal cannula", replace(FEVER, oxygen_device=OxygenDevice.HIGH_FLOW_NASAL_CANNULA), 3),
    ("grade 3: fever, facemask", replace(FEVER, oxygen_device=OxygenDevice.FACEMASK), 3),
    ("grade 3: fever, non-rebreather", replace(FEVER, oxygen_device=OxygenDevice.NON_REBREATHER), 3),
    ("grade 3: fever, Venturi mask", replace(FEVER, oxygen_device=OxygenDevice.VENTURI), 3),
    ("grade 4: fever, several vasopressors", replace(FEVER, vasopressors=Vasopressors.SEVERAL), 4),
    ("grade 4: fever, CPAP", replace(FEVER, oxygen_device=OxygenDevice.CPAP), 4),
    ("grade 4: fever, BiPAP", replace(FEVER, oxygen_device=OxygenDevice.BIPAP), 4),
    ("grade 4: fever, ventilation", replace(FEVER, oxygen_device=OxygenDevice.MECHANICAL_VENTILATION), 4),
    (
        "the worse of the two: hypotension (2) and facemask (3)",
        replace(FEVER, hypotension=True, oxygen_device=OxygenDevice.FACEMASK),
        3,
    ),
    (
        "the worse of the two: one vasopressor (3) and BiPAP (4)",
        replace(FEVER, vasopressors=Vasopressors.ONE, oxygen_device=OxygenDevice.BIPAP),
        4,
    ),
    (
        "fever masked by antipyretics: graded by blood pressure and oxygen",
        Findings(fever_masked=True, vasopressors=Vasopressors.ONE),
        3,
    ),
    ("fever masked, nothing else: no CRS", Findings(fever_masked=True), 0),
]


@pytest.mark.parametrize(("case", "findings", "expected"), CRS_TABLE, ids=[row[0] for row in CRS_TABLE])
def test_crs_grade(case, findings, expected):
    grade = crs_grade(findings)
    assert grade.grade == expected
    assert grade.rule  # always says why


# ICANS: the worst of the screen and the other columns.
ICANS_TABLE = [
    ("ICE 10, alert: no ICANS", Findings(), 0),
    ("grade 1: ICE 9", Findings(ice_score=9), 1),
    ("grade 1: ICE 7", Findings(ice_score=7), 1),
    ("grade 2: ICE 6", Findings(ice_score=6), 2),
    ("grade 2: ICE 3", Findings(ice_score=3), 2),
    ("grade 3: ICE 2", Findings(ice_score=2), 3),
    ("grade 3: ICE 0, arousable", Findings(ice_score=0), 3),
    ("grade 4: unarousable, unable to do the ICE", Findings(ice_score=None, ice_unable=True), 4),
    ("grade 1: awakens spontaneously", Findings(consciousness=Consciousness.AWAKENS_SPONTANEOUSLY), 1),
    ("grade 2: awakens to voice", Findings(consciousness=Consciousness.AWAKENS_TO_VOICE), 2),
    ("grade 3: awakens only to touch", Findings(consciousness=Consciousness.AWAKENS_TO_TOUCH), 3),
    ("grade 4: stupor or coma", Findings(consciousness=Consciousness.UNAROUSABLE), 4),
    ("grade 3: a seizure that resolved rapidly", Findings(seizure=Seizure.RESOLVED_RAPIDLY), 3),
    ("grade 4: a prolonged or repeated seizure", Findings(seizure=Seizure.LIFE_THREATENING), 4),
    ("grade 4: deep focal motor weakness", Findings(motor_finding=MotorFinding.DEEP_FOCAL_WEAKNESS), 4),
    ("grade 3: focal oedema on imaging", Findings(raised_pressure=RaisedPressure.FOCAL_OEDEMA), 3),
    ("grade 4: diffuse cerebral oedema", Findings(raised_pressure=RaisedPressure.DIFFUSE_OEDEMA), 4),
    ("the worst finding: ICE 8 (1) with a seizure (3)", Findings(ice_score=8, seizure=Seizure.RESOLVED_RAPIDLY), 3),
    (
        "the worst finding: ICE 5 (2) and awakens spontaneously (1)",
        Findings(ice_score=5, consciousness=Consciousness.AWAKENS_SPONTANEOUSLY),
        2,
    ),
    # Children under 12: the CAPD instead of the ICE.
    ("child: CAPD 0, alert: no ICANS", Findings(uses_capd=True, ice_score=None, capd_score=0), 0),
    ("child grade 1: CAPD 1", Findings(uses_capd=True, ice_score=None, capd_score=1), 1),
    ("child grade 1: CAPD 8", Findings(uses_capd=True, ice_score=None, capd_score=8), 1),
    (
        "child grade 2: CAPD 8, awakens to voice",
        Findings(uses_capd=True, ice_score=None, capd_score=8, consciousness=Consciousness.AWAKENS_TO_VOICE),
        2,
    ),
    ("child grade 3: CAPD 9", Findings(uses_capd=True, ice_score=None, capd_score=9), 3),
    ("child grade 4: unable to do the CAPD", Findings(uses_capd=True, ice_score=None, ice_unable=True), 4),
]


@pytest.mark.parametrize(("case", "findings", "expected"), ICANS_TABLE, ids=[row[0] for row in ICANS_TABLE])
def test_icans_grade(case, findings, expected):
    grade = icans_grade(findings)
    assert grade.grade == expected
    assert grade.rule


def test_a_grade_names_the_finding_that_set_it():
    assert str(icans_grade(Findings(ice_score=5))) == "Grade 2: ICE score 5 (3 to 6)"
    assert (
        str(crs_grade(replace(FEVER, vasopressors=Vasopressors.ONE))) == "Grade 3: hypotension needing one vasopressor"
    )
    assert str(crs_grade(Findings())) == "No CRS: no fever of 38.0 °C or more"


def test_the_ice_score_has_the_five_parts_clinical_md_gives():
    """CLINICAL.md: the ICE score is 10 points: orientation 4, naming 3 objects 3, following commands
    1, writing a sentence 1, attention by counting back 1."""
    assert ICE_PARTS == {
        "ice_orientation": 4,
        "ice_naming": 3,
        "ice_commands": 1,
        "ice_writing": 1,
        "ice_attention": 1,
    }
    assert sum(ICE_PARTS.values()) == ICE_MAX == 10


@pytest.mark.parametrize(
    ("age_years", "low_below"),
    [(0, 70), (1, 72), (5, 80), (9, 88), (10, 90), (17, 90), (56, 90)],
)
def test_hypotension_by_age_is_the_pals_table(age_years, low_below):
    """PALS: systolic below 70 mmHg under 1 year, below 70 + 2 x age from 1 to 10, below 90 from 10."""
    assert low_systolic_below(age_years) == low_below
