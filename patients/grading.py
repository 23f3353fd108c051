"""ASTCT consensus grading of cytokine release syndrome (CRS) and of immune effector cell-associated
neurotoxicity syndrome (ICANS), from one bedside assessment.

Source: Lee DW et al., "ASTCT Consensus Grading for Cytokine Release Syndrome and Neurologic
Toxicity Associated with Immune Effector Cells", Biol Blood Marrow Transplant 2019;25:625-638
(CLINICAL.md, "Interruptions and toxicity"). The tables are code, not data: each row is a rule
below with a test of its own (tests/patients/test_grading.py), and a grade always comes with the
rule that gave it, so that the oncologist who confirms it sees why.

The grade is that of the most severe finding. The categories (oxygen devices, vasopressors,
consciousness, seizures, motor findings, raised pressure) are the tables' columns; the
assessment model stores them as these choices.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.db import models

FEVER_CELSIUS = Decimal("38.0")
# Oxygen by nasal cannula up to 6 L/min is "low-flow" (grade 2); above, "high-flow" (grade 3).
LOW_FLOW_MAX_L_MIN = Decimal("6")
# Hypotension by age, for the question asked when the box is left unticked below it (ASTCT grades
# on hypotension, a clinical judgement: the tracker asks, it does not decide). Source: American
# Heart Association, Pediatric Advanced Life Support (PALS) provider manual, hypotension by age:
# systolic below 70 mmHg under 1 year, below 70 + 2 x age in years from 1 to 10, below 90 mmHg from
# 10; 90 mmHg is also the common adult definition. PALS's band for newborns up to 28 days (below
# 60 mmHg) is not kept: under 1 year this asks from 70, a few more newborn readings.
# Rows: (from age in years, mmHg, mmHg more for each year of age).
LOW_SYSTOLIC_BY_AGE = ((0, 70, 0), (1, 70, 2), (10, 90, 0))
ICE_MAX = 10
CAPD_MAX = 32
# The ICE score is for adults and children from 12 years; younger children are screened with the
# Cornell Assessment of Pediatric Delirium (CAPD), where 9 or more means delirium.
ICE_FROM_AGE_YEARS = 12
CAPD_DELIRIUM = 9


def low_systolic_below(age_years: int) -> int:
    """The systolic pressure (mmHg) below which a patient of this age is hypotensive."""
    _, mmhg, per_year = max(row for row in LOW_SYSTOLIC_BY_AGE if row[0] <= age_years)
    return mmhg + per_year * age_years


def screened_with_capd(age_years: int) -> bool:
    """The CAPD, not the ICE, for a child of this age (the age on the day assessed)."""
    return age_years < ICE_FROM_AGE_YEARS


class OxygenDevice(models.TextChoices):
    NONE = "none", "None (room air)"
    BLOW_BY = "blow_by", "Blow-by"
    NASAL_CANNULA = "nasal_cannula", "Nasal cannula"
    HIGH_FLOW_NASAL_CANNULA = "high_flow_nasal_cannula", "High-flow nasal cannula"
    FACEMASK = "facemask", "Facemask"
    NON_REBREATHER = "non_rebreather", "Non-rebreather mask"
    VENTURI = "venturi", "Venturi mask"
    CPAP = "cpap", "CPAP"
    BIPAP = "bipap", "BiPAP"
    MECHANICAL_VENTILATION = "mechanical_ventilation", "Intubation and mechanical ventilation"


# The devices whose grade the flow decides (`_crs_oxygen`): without the flow, "low-flow, grade 2"
# would be a guess that may hide a grade 3.
GRADED_BY_FLOW = (OxygenDevice.NASAL_CANNULA,)


class Vasopressors(models.TextChoices):
    NONE = "none", "None"
    ONE = "one", "One vasopressor (with or without vasopressin)"
    SEVERAL = "several", "Several vasopressors (vasopressin aside)"


class Consciousness(models.TextChoices):
    ALERT = "alert", "Awake and alert"
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously", "Drowsy, awakens spontaneously"
    AWAKENS_TO_VOICE = "awakens_to_voice", "Awakens to voice"
    AWAKENS_TO_TOUCH = "awakens_to_touch", "Awakens only to touch"
    UNAROUSABLE = "unarousable", "Unarousable, or needs vigorous or repeated touch; stupor or coma"


class Seizure(models.TextChoices):
    NONE = "none", "None"
    RESOLVED_RAPIDLY = (
        "resolved_rapidly",
        "A seizure that resolved rapidly, or non-convulsive on EEG resolving with treatment",
    )
    LIFE_THREATENING = "life_threatening", "Prolonged (over 5 minutes), or repeated without return to baseline"


class MotorFinding(models.TextChoices):
    NONE = "none", "None"
    DEEP_FOCAL_WEAKNESS = "deep_focal_weakness", "Deep focal motor weakness (hemiparesis, paraparesis)"


class RaisedPressure(models.TextChoices):
    NONE = "none", "None"
    FOCAL_OEDEMA = "focal_oedema", "Focal or local oedema on imaging"
    DIFFUSE_OEDEMA = (
        "diffuse_oedema",
        ("Diffuse cerebral oedema, posturing, cranial nerve VI palsy, papilloedema or Cushing's triad"),
    )


@dataclass(frozen=True)
class Grade:
    """A grade (0: none) and the finding that set it, in the consensus' words."""

    grade: int
    rule: str

    def __str__(self) -> str:
        return f"Grade {self.grade}: {self.rule}" if self.grade else self.rule


class CrsFindings(Protocol):
    temperature_celsius: Decimal | None
    fever_masked: bool
    hypotension: bool
    vasopressors: str
    oxygen_device: str
    oxygen_flow_l_min: Decimal | None


class IcansFindings(Protocol):
    uses_capd: bool
    ice_score: int | None
    ice_unable: bool
    capd_score: int | None
    consciousness: str
    seizure: str
    motor_finding: str
    raised_pressure: str


# --- CRS -------------------------------------------------------------------------------------------


def _crs_oxygen(device: str, flow: Decimal | None) -> Grade:
    if device in (OxygenDevice.CPAP, OxygenDevice.BIPAP, OxygenDevice.MECHANICAL_VENTILATION):
        return Grade(4, "hypoxia needing positive pressure (CPAP, BiPAP, intubation and ventilation)")
    if device in (
        OxygenDevice.HIGH_FLOW_NASAL_CANNULA,
        OxygenDevice.FACEMASK,
        OxygenDevice.NON_REBREATHER,
        OxygenDevice.VENTURI,
    ):
        return Grade(3, "hypoxia needing high-flow nasal cannula, facemask, non-rebreather or Venturi mask")
    if device == OxygenDevice.NASAL_CANNULA and flow is not None and flow > LOW_FLOW_MAX_L_MIN:
        return Grade(3, f"hypoxia needing oxygen over {LOW_FLOW_MAX_L_MIN} L/min")
    if device in (OxygenDevice.NASAL_CANNULA, OxygenDevice.BLOW_BY):
        return Grade(2, f"hypoxia needing low-flow nasal cannula (up to {LOW_FLOW_MAX_L_MIN} L/min) or blow-by")
    return Grade(0, "")


def _crs_blood_pressure(vasopressors: str, hypotension: bool) -> Grade:
    if vasopressors == Vasopressors.SEVERAL:
        return Grade(4, "hypotension needing several vasopressors")
    if vasopressors == Vasopressors.ONE:
        return Grade(3, "hypotension needing one vasopressor")
    if hypotension:
        return Grade(2, "hypotension not needing vasopressors")
    return Grade(0, "")


def crs_grade(findings: CrsFindings) -> Grade:
    """CRS needs fever (38.0 °C or more) unless antipyretics or anti-cytokine treatment mask it;
    its grade is then that of the worse of blood pressure and oxygen need, at least 1."""
    temperature = findings.temperature_celsius
    fever = temperature is not None and temperature >= FEVER_CELSIUS
    if not (fever or findings.fever_masked):
        return Grade(0, "No CRS: no fever of 38.0 °C or more")
    worst = max(
        _crs_blood_pressure(findings.vasopressors, findings.hypotension),
        _crs_oxygen(findings.oxygen_device, findings.oxygen_flow_l_min),
        key=lambda grade: grade.grade,
    )
    if worst.grade:
        return worst
    if fever:
        return Grade(1, f"fever of {temperature} °C without hypotension or hypoxia")
    return Grade(0, "No CRS: no hypotension or hypoxia (fever masked by treatment)")


# --- ICANS -----------------------------------------------------------------------------------------


def _icans_screen(findings: IcansFindings) -> Grade:
    """The ICE score (12 years and over) or the CAPD (under 12)."""
    if findings.ice_unable:
        return Grade(4, "unarousable and unable to be screened")
    if findings.uses_capd:
        score = findings.capd_score
        if score is None or score == 0:
            return Grade(0, "")
        if score >= CAPD_DELIRIUM:
            return Grade(3, f"CAPD {score} (9 or more)")
        return Grade(1, f"CAPD {score} (1 to 8)")
    score = findings.ice_score
    if score is None or score == ICE_MAX:
        return Grade(0, "")
    if score <= 2:
        return Grade(3, f"ICE score {score} (0 to 2)")
    if score <= 6:
        return Grade(2, f"ICE score {score} (3 to 6)")
    return Grade(1, f"ICE score {score} (7 to 9)")


CONSCIOUSNESS_GRADES = {
    Consciousness.ALERT: Grade(0, ""),
    Consciousness.AWAKENS_SPONTANEOUSLY: Grade(1, "depressed consciousness, awakens spontaneously"),
    Consciousness.AWAKENS_TO_VOICE: Grade(2, "depressed consciousness, awakens to voice"),
    Consciousness.AWAKENS_TO_TOUCH: Grade(3, "depressed consciousness, awakens only to touch"),
    Consciousness.UNAROUSABLE: Grade(4, "unarousable, stupor or coma"),
}
SEIZURE_GRADES = {
    Seizure.NONE: Grade(0, ""),
    Seizure.RESOLVED_RAPIDLY: Grade(3, "a seizure that resolved rapidly"),
    Seizure.LIFE_THREATENING: Grade(4, "a life-threatening seizure (over 5 minutes, or repeated)"),
}
MOTOR_GRADES = {
    MotorFinding.NONE: Grade(0, ""),
    MotorFinding.DEEP_FOCAL_WEAKNESS: Grade(4, "deep focal motor weakness"),
}
PRESSURE_GRADES = {
    RaisedPressure.NONE: Grade(0, ""),
    RaisedPressure.FOCAL_OEDEMA: Grade(3, "focal or local oedema on imaging"),
    RaisedPressure.DIFFUSE_OEDEMA: Grade(4, "diffuse cerebral oedema or its signs"),
}


def icans_grade(findings: IcansFindings) -> Grade:
    """The worst of the screen, consciousness, seizures, motor findings and raised pressure.

    In the children's table a CAPD of 1 to 8 is grade 1 or 2: consciousness decides, as it does
    for every age; so a CAPD of 1 to 8 alone gives grade 1."""
    grades = [
        _icans_screen(findings),
        CONSCIOUSNESS_GRADES[Consciousness(findings.consciousness)],
        SEIZURE_GRADES[Seizure(findings.seizure)],
        MOTOR_GRADES[MotorFinding(findings.motor_finding)],
        PRESSURE_GRADES[RaisedPressure(findings.raised_pressure)],
    ]
    worst = max(grades, key=lambda grade: grade.grade)  # the first of equals: the screen first
    if worst.grade == 0:
        return Grade(0, "No ICANS: screen normal, alert, no seizure or other finding")
    return worst
