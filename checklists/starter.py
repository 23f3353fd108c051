"""The starter library: blinatumomab checklist templates as plain data, and their loader.

The facts come from /work/shared/CLINICAL.md (corrected 2026-12: the regimens differ by
indication), which gathers the prescribing information, the maker's professional pages and
published practice. They are a starting point that each institution's pharmacy and oncology
team edit in the template pages; nothing here is a rule hard-wired in code. What differs by
regimen is read from the course's regimen version, not written here: the premedication items
apply when the fact `premedication_due` says the regimen asks for one, and the drug, dose and
window are copied into the task from the regimen when the checklist is made.

- `starter_library_load` creates a template only when none of that name (or of its former
  name) exists, so admins' edits and later versions are never overwritten;
- `starter_library_update` publishes the corrected content as a new version of each starter
  template whose published version the starter library made and that has no open draft.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from accounts.models import Role
from patients.models import CareEvent

from .models import ChecklistTemplate, ItemCondition, TemplateCondition, TemplateItem, TemplateVersion
from .services import template_version_new_draft, template_version_publish

HOUR = 60
DAY = 24 * HOUR

PHARMACIST, NURSE, ONCOLOGIST, CASE_MANAGER = Role.PHARMACIST, Role.NURSE, Role.ONCOLOGIST, Role.CASE_MANAGER
CHECKBOX, NUMBER, TEXT, CHOICE, ATTESTATION, DATETIME = TemplateItem.ResponseKind.values
WEIGHT, PUMP_RATE, PREMEDICATION_TIME, TOXICITY_ASSESSMENT = (
    TemplateItem.Records.WEIGHT,
    TemplateItem.Records.PUMP_RATE,
    TemplateItem.Records.PREMEDICATION_TIME,
    TemplateItem.Records.TOXICITY_ASSESSMENT,
)

# Bag options as the pharmacist reads them on the label (CLINICAL.md, "Infusion, pump, line and
# bags"): the maker's current rates; 72 h, 96 h and 7-day bags contain benzyl alcohol. The bag
# options' own data (patients.BagOption) hold the weight limits checked against today's weighing.
BAG_OPTIONS = [
    "24 h (10 mL/h)",
    "48 h (5 mL/h)",
    "72 h (1.8 mL/h, benzyl alcohol)",
    "96 h (1.8 mL/h, benzyl alcohol)",
    "7 days (0.6 mL/h, benzyl alcohol)",
]
SEVEN_DAY_BAG = BAG_OPTIONS[-1]
PRESERVATIVE_FREE_BAG = "24 h or 48 h (preservative-free)"
BENZYL_ALCOHOL_BAG = "72 h or 96 h (benzyl alcohol)"
INTERACTING_DRUGS = (
    "alfentanil, aminophylline, artemether, astemizole, carbamazepine, cisapride, cyclosporine, "
    "dihydroergotamine, ergotamine, fentanyl, fosphenytoin, iloperidone, lumefantrine, paclitaxel, "
    "phenytoin, pimozide, quinidine, sirolimus, tacrolimus, terfenadine, theophylline, warfarin"
)
CRS_SIGNS = "fever, headache, breathing problems, nausea and vomiting"
NEURO_SIGNS = "confusion, disorientation, slurred speech, difficulty talking, loss of balance, fainting, seizures"
INFECTION_SIGNS = "fever, chills, cough, sore throat, painful urination"
NO_FLUSH = "Never flush the line: the drug left in it would be given as a bolus (an overdose)."

Condition = tuple[str, str, str]  # (fact, operator, value), e.g. ("weight_kg", "lt", "45")

AT_LEAST_45_KG: tuple[Condition, ...] = (("weight_kg", "ge", "45"),)
UNDER_45_KG: tuple[Condition, ...] = (("weight_kg", "lt", "45"),)
UNDER_22_KG: tuple[Condition, ...] = (("weight_kg", "lt", "22"),)
UNDER_5_4_KG: tuple[Condition, ...] = (("weight_kg", "lt", "5.4"),)
AT_HOME: tuple[Condition, ...] = (("setting", "eq", "home"),)
IN_CLINIC: tuple[Condition, ...] = (("setting", "eq", "clinic"),)
INPATIENT: tuple[Condition, ...] = (("setting", "eq", "inpatient"),)
# Only the relapsed/refractory regimen starts at 9 mcg/day with a step-up (CLINICAL.md, regimens).
STEP_UP_REGIMEN: tuple[Condition, ...] = (("indication", "eq", "relapsed_refractory"),)
FLAT_REGIMEN: tuple[Condition, ...] = (("indication", "in", "mrd_positive,consolidation"),)
# The regimen decides: by indication, adult or child, cycle and kind of start.
PREMEDICATION_DUE: tuple[Condition, ...] = (("premedication_due", "eq", "yes"),)


@dataclass(frozen=True)
class StarterItem:
    ref: str  # a name for dependencies inside the template, not stored
    section: str
    role: str
    text: str
    offset: int = 0  # minutes from the event; negative: before it
    kind: str = CHECKBOX
    help: str = ""
    unit: str = ""
    min_value: str | None = None
    max_value: str | None = None
    choices: tuple[str, ...] = ()
    failing: tuple[str, ...] = ()
    required: bool = True
    hard_stop: bool = False
    verify: bool = False
    verifier_role: str = ""
    when: tuple[Condition, ...] = ()
    after: tuple[str, ...] = ()  # refs of the items that must be done first
    records: str = ""  # TemplateItem.Records: what the answer keeps or checks beyond the task
    source: str = ""  # what the item rests on (the label's version, the institution's policy)


@dataclass(frozen=True)
class StarterTemplate:
    name: str
    trigger: str
    description: str
    items: tuple[StarterItem, ...]
    conditions: tuple[Condition, ...] = field(default=())


# --- items shared by several templates ---------------------------------------------------------


def weight_item(ref="weight", section="Before the infusion", offset=-3 * HOUR) -> StarterItem:
    return StarterItem(
        ref,
        section,
        NURSE,
        "Weight (kg)",
        offset,
        NUMBER,
        help="Weigh the patient today: the weight becomes the patient's current weight. The pharmacist checks the "
        "dose (by body-surface area under 45 kg) and the bag's weight limit against it, never an older value.",
        unit="kg",
        min_value="1",
        max_value="300",
        hard_stop=True,
        records=WEIGHT,
    )


def bag_items(offset: int) -> tuple[StarterItem, ...]:
    """The bag on the label, then the weight limits: the bag options' data are the rule, these the check."""
    return (
        StarterItem(
            "bag",
            "Pharmacy",
            PHARMACIST,
            "Bag duration and preservative on the pharmacy label",
            offset,
            CHOICE,
            help="The infusion rate comes from the pharmacy label. 72 h, 96 h and 7-day bags are made with "
            "bacteriostatic saline (benzyl alcohol); 24 h and 48 h bags are preservative-free. The IV solution "
            "stabiliser is added to every bag.",
            choices=tuple(BAG_OPTIONS),
        ),
        StarterItem(
            "bag_under_22",
            "Pharmacy",
            PHARMACIST,
            "Patient under 22 kg: no 7-day bag",
            offset,
            CHOICE,
            help="Older label text forbids the 7-day bag (benzyl alcohol) under 22 kg; the current monograph sets "
            "5.4 kg for every bag with preservative. The bag options name the limit your pharmacy chose; benzyl "
            "alcohol can be fatal in newborns and infants.",
            choices=(PRESERVATIVE_FREE_BAG, BENZYL_ALCOHOL_BAG, SEVEN_DAY_BAG),
            failing=(SEVEN_DAY_BAG,),
            hard_stop=True,
            when=UNDER_22_KG,
        ),
        StarterItem(
            "bag_under_5_4",
            "Pharmacy",
            PHARMACIST,
            "Patient under 5.4 kg: preservative-free bag only",
            offset,
            CHOICE,
            help="The current monograph: bags with preservative (benzyl alcohol) are not recommended under 5.4 kg.",
            choices=(PRESERVATIVE_FREE_BAG, BENZYL_ALCOHOL_BAG, SEVEN_DAY_BAG),
            failing=(BENZYL_ALCOHOL_BAG, SEVEN_DAY_BAG),
            hard_stop=True,
            when=UNDER_5_4_KG,
        ),
    )


def dose_items(
    *, adult_dose: str, bsa_dose: str, offset: int, after=("order",), when=(), suffix=""
) -> tuple[StarterItem, ...]:
    return (
        StarterItem(
            f"dose{suffix}",
            "Pharmacy",
            PHARMACIST,
            f"Dose band verified for a patient of at least 45 kg: {adult_dose}",
            offset,
            help="Checked against today's weight; this app never computes an order.",
            when=(*AT_LEAST_45_KG, *when),
            after=after,
        ),
        StarterItem(
            f"dose_bsa{suffix}",
            "Pharmacy",
            PHARMACIST,
            f"BSA-based dose verified for a patient under 45 kg: {bsa_dose}",
            offset,
            help="Body-surface area from today's weight and height (Mosteller).",
            when=(*UNDER_45_KG, *when),
            after=after,
        ),
    )


FLAT_DOSE = {"adult_dose": "28 mcg/day", "bsa_dose": "15 mcg/m²/day (not above 28 mcg/day)"}


def order_verified_item(offset=-DAY, text="Blinatumomab order verified", after=("order",)) -> StarterItem:
    return StarterItem(
        "order_verified",
        "Pharmacy",
        PHARMACIST,
        text,
        offset,
        help="With the premedication order: the course's regimen names it by indication, age and cycle.",
        after=after,
    )


def interactions_item(offset: int) -> StarterItem:
    return StarterItem(
        "interactions",
        "Pharmacy",
        PHARMACIST,
        "Interaction review done: CYP450 window (cycle 1 days 1–9, cycle 2 days 1–2), narrow-therapeutic-index "
        "drugs, no live vaccines",
        offset,
        help="Cytokines released early in treatment suppress CYP450 enzymes, most on cycle 1 days 1–9 and cycle 2 "
        "days 1–2: watch drugs with a narrow therapeutic index (e.g. warfarin, cyclosporine) then. No live vaccines "
        "in the 2 weeks before, during treatment, or until immune recovery. Drugs listed in the patient "
        f"information: {INTERACTING_DRUGS}.",
    )


def premedication_item(*, offset=-HOUR, after=()) -> StarterItem:
    """One item: the nurse records when the premedication was given; the regimen names it.

    It applies only when the course's regimen asks for a premedication before this event; the
    drug, dose and window are copied into the task's help from the regimen. A time outside the
    window fails the hard stop.
    """
    return StarterItem(
        "premedication",
        "Before the infusion",
        NURSE,
        "Premedication given: record the time",
        offset,
        DATETIME,
        help="Give the premedication the regimen names and record the time it was given; a time outside the "
        "window fails the hard stop.",
        hard_stop=True,
        when=PREMEDICATION_DUE,
        after=after,
        records=PREMEDICATION_TIME,
    )


def pump_rate_item(*, offset: int, section: str, after: tuple[str, ...]) -> StarterItem:
    return StarterItem(
        "pump_rate",
        section,
        NURSE,
        "Pump rate entered (mL/h)",
        offset,
        NUMBER,
        help="The rate programmed on the pump, from the pharmacy label. It is checked against the pharmacist's "
        "record of this bag: a mismatch fails the hard stop.",
        unit="mL/h",
        min_value="0.1",
        max_value="20",
        hard_stop=True,
        after=after,
        records=PUMP_RATE,
    )


def line_and_pump_items(*, after_pump=("compounded",)) -> tuple[StarterItem, ...]:
    return (
        StarterItem(
            "line",
            "Line and pump",
            NURSE,
            "Dedicated line primed with a 0.2 µm low-protein-binding in-line filter",
            -30,
        ),
        pump_rate_item(offset=-15, section="Line and pump", after=("line", *after_pump)),
        StarterItem(
            "pump",
            "Line and pump",
            NURSE,
            "Pump programmed at the label rate and locked; independent double-check",
            -15,
            help="Programmable, lockable, non-elastomeric pump with an alarm. A second nurse checks independently.",
            verify=True,
            verifier_role=NURSE,
            after=("pump_rate",),
        ),
        StarterItem(
            "no_flush",
            "Line and pump",
            NURSE,
            "Line labelled “do not flush” and the team told: flushing gives a bolus",
            -15,
        ),
    )


def baseline_assessment_item(offset=-HOUR) -> StarterItem:
    return assessment_item("baseline", "Before the infusion", "Baseline CRS and ICANS assessment recorded", offset)


def assessment_item(ref: str, section: str, text: str, offset: int, *, when=()) -> StarterItem:
    """Done by recording a CRS and ICANS assessment (graded by the ASTCT consensus), never by a tick."""
    return StarterItem(
        ref,
        section,
        NURSE,
        text,
        offset,
        TEXT,
        help=f"Vital signs and the ICE score (the CAPD under 12; a writing sample helps). Watch for CRS ({CRS_SIGNS}) "
        f"and neurotoxicity ({NEURO_SIGNS}).",
        when=when,
        records=TOXICITY_ASSESSMENT,
    )


def clear_to_start(text="Clear to start the infusion", after=("labs", "consent")) -> StarterItem:
    return StarterItem(
        "clear",
        "Oncology",
        ONCOLOGIST,
        text,
        -30,
        ATTESTATION,
        help="I have reviewed the order, weight, labs and the readiness of this checklist.",
        after=after,
    )


def labs_item(offset=-DAY) -> StarterItem:
    return StarterItem(
        "labs",
        "Oncology",
        ONCOLOGIST,
        "Labs reviewed: blood count and liver tests (transaminases, bilirubin, GGT)",
        offset,
        help="Interrupt if transaminases exceed 5× the upper limit of normal or bilirubin 3×.",
    )


def pregnancy_item(offset=-DAY) -> StarterItem:
    return StarterItem(
        "pregnancy",
        "Oncology",
        ONCOLOGIST,
        "Pregnancy status checked before cycle 1: not pregnant, not breastfeeding",
        offset,
        help="For patients who can become pregnant; for anyone else mark it not applicable with the reason. "
        "Not to be used in pregnancy or breastfeeding; contraception for patients and partners.",
    )


# --- the library -------------------------------------------------------------------------------

CYCLE_START = CareEvent.Kind.CYCLE_START
STEP_UP_TEMPLATE = "Dose step-up or re-escalation"

STARTER_TEMPLATES: list[StarterTemplate] = [
    StarterTemplate(
        name="Cycle 1 start (inpatient)",
        trigger=CYCLE_START,
        description="The first cycle starts in hospital under full supervision: days 1–9 for relapsed/refractory, "
        "days 1–3 for MRD-positive and consolidation. Only relapsed/refractory starts at 9 mcg/day with a step-up on "
        "day 8; the others start at 28 mcg/day. Labs with GGT and pregnancy status before the start; premedication "
        "as the course's regimen asks (CLINICAL.md, corrected 2026-12).",
        conditions=(("cycle_number", "eq", "1"),),
        items=(
            StarterItem(
                "indication",
                "Oncology",
                ONCOLOGIST,
                "Indication confirmed (sets the regimen: dose, step-up, inpatient days, premedication)",
                -2 * DAY,
                CHOICE,
                choices=(
                    "Relapsed/refractory: step-up on day 8, days 1–9 in hospital",
                    "MRD-positive: no step-up, days 1–3 in hospital",
                    "Consolidation: no step-up, days 1–3 in hospital",
                ),
            ),
            StarterItem(
                "consent",
                "Oncology",
                ONCOLOGIST,
                "Consent signed; pregnancy, contraception and no-driving discussed",
                -2 * DAY,
            ),
            StarterItem(
                "order",
                "Oncology",
                ONCOLOGIST,
                "Cycle 1 ordered and signed with weight or BSA, cycle and day",
                -2 * DAY,
                after=("indication",),
            ),
            labs_item(),
            pregnancy_item(),
            order_verified_item(),
            *dose_items(
                adult_dose="9 mcg/day days 1–7, then 28 mcg/day from day 8",
                bsa_dose="5 mcg/m²/day (not above 9 mcg/day), then 15 mcg/m²/day (not above 28 mcg/day) from day 8",
                offset=-DAY,
                when=STEP_UP_REGIMEN,
            ),
            *dose_items(
                adult_dose="28 mcg/day days 1–28, no step-up",
                bsa_dose="15 mcg/m²/day (not above 28 mcg/day), no step-up",
                offset=-DAY,
                when=FLAT_REGIMEN,
                suffix="_flat",
            ),
            *bag_items(-DAY),
            interactions_item(-DAY),
            StarterItem(
                "compounded",
                "Pharmacy",
                PHARMACIST,
                "Bag compounded under sterile conditions and labelled with rate and duration",
                -2 * HOUR,
                help="Storage and stability as in the label. The bag is recorded for this event: the pump rate is "
                "checked against it.",
                after=("order_verified",),
            ),
            weight_item(),
            premedication_item(after=("order_verified",)),
            baseline_assessment_item(),
            *line_and_pump_items(),
            clear_to_start(after=("labs", "pregnancy", "consent")),
            StarterItem(
                "caregiver_teaching",
                "Discharge planning",
                NURSE,
                "Caregiver education started: warning signs, pump alarms, catheter care",
                DAY,
            ),
            StarterItem(
                "home_referral",
                "Discharge planning",
                CASE_MANAGER,
                "Referral sent to the home-health agency or outpatient infusion service",
                DAY,
            ),
            StarterItem(
                "insurance",
                "Discharge planning",
                CASE_MANAGER,
                "Insurance authorisation for home infusion requested",
                -DAY,
            ),
            StarterItem(
                "psychosocial",
                "Discharge planning",
                CASE_MANAGER,
                "Psychosocial needs and caregiver availability assessed",
                2 * DAY,
                required=False,
            ),
        ),
    ),
    StarterTemplate(
        name="Cycle 2 start",
        trigger=CYCLE_START,
        description="The second cycle starts under full supervision (days 1–2 in hospital for every indication), at "
        "28 mcg/day. Premedication as the course's regimen asks: relapsed/refractory adults before every cycle, "
        "children only in cycle 1; MRD-positive before every cycle (CLINICAL.md, corrected 2026-12).",
        conditions=(("cycle_number", "eq", "2"),),
        items=(
            StarterItem(
                "review",
                "Oncology",
                ONCOLOGIST,
                "Response and toxicities of cycle 1 reviewed",
                -2 * DAY,
                TEXT,
            ),
            StarterItem("order", "Oncology", ONCOLOGIST, "Cycle 2 ordered and signed", -2 * DAY, after=("review",)),
            labs_item(),
            StarterItem("consent", "Oncology", ONCOLOGIST, "Consent still valid", -DAY),
            order_verified_item(),
            *dose_items(offset=-DAY, **FLAT_DOSE),
            *bag_items(-DAY),
            interactions_item(-DAY),
            StarterItem(
                "compounded",
                "Pharmacy",
                PHARMACIST,
                "Bag compounded under sterile conditions and labelled",
                -2 * HOUR,
                after=("order_verified",),
            ),
            weight_item(),
            premedication_item(after=("order_verified",)),
            baseline_assessment_item(),
            *line_and_pump_items(),
            clear_to_start(),
            StarterItem(
                "agency",
                "Discharge planning",
                CASE_MANAGER,
                "Home-health agency confirmed for the discharge on day 3",
                -DAY,
            ),
            StarterItem("supplies", "Discharge planning", CASE_MANAGER, "Pump and supplies ordered for home", -DAY),
        ),
    ),
    StarterTemplate(
        name="Later cycle start (clinic)",
        trigger=CYCLE_START,
        description="Cycles 3 and later start at 28 mcg/day with a health-care professional or in hospital. The rest "
        "before them depends on the indication (relapsed/refractory: 14 days after cycles 1–5, 56 after cycles 6–9; "
        "MRD-positive: 14 days; consolidation: the chemotherapy plan). Premedication as the course's regimen asks "
        "(CLINICAL.md, corrected 2026-12).",
        conditions=(("cycle_number", "ge", "3"),),
        items=(
            StarterItem("order", "Oncology", ONCOLOGIST, "Cycle ordered and signed", -2 * DAY),
            labs_item(),
            StarterItem(
                "supervision",
                "Oncology",
                ONCOLOGIST,
                "Supervision for the start arranged (clinic or hospital)",
                -2 * DAY,
            ),
            order_verified_item(),
            *dose_items(offset=-DAY, **FLAT_DOSE),
            *bag_items(-DAY),
            interactions_item(-DAY),
            StarterItem(
                "compounded",
                "Pharmacy",
                PHARMACIST,
                "Bag compounded under sterile conditions and labelled",
                -2 * HOUR,
                after=("order_verified",),
            ),
            weight_item(),
            premedication_item(after=("order_verified",)),
            baseline_assessment_item(),
            *line_and_pump_items(),
            StarterItem(
                "caregiver_refresher",
                "Home",
                NURSE,
                "Caregiver refresher: pump alarms, no flushing, warning signs, 24/7 contact",
                0,
                when=AT_HOME,
            ),
            clear_to_start(after=("labs",)),
            StarterItem(
                "chair",
                "Logistics",
                CASE_MANAGER,
                "Infusion clinic chair booked for the start",
                -3 * DAY,
                when=IN_CLINIC,
            ),
            StarterItem(
                "home_supplies",
                "Logistics",
                CASE_MANAGER,
                "Pump, bags and supplies delivered at home",
                -DAY,
                when=AT_HOME,
            ),
            StarterItem(
                "home_visit",
                "Logistics",
                CASE_MANAGER,
                "Home-health visit booked for the start",
                -2 * DAY,
                when=AT_HOME,
            ),
            StarterItem(
                "follow_up",
                "Logistics",
                CASE_MANAGER,
                "Follow-up appointments of this cycle booked",
                DAY,
            ),
        ),
    ),
    StarterTemplate(
        name=STEP_UP_TEMPLATE,
        trigger=CareEvent.Kind.DOSE_STEP_UP,
        description="A dose increase: the relapsed/refractory regimen's step-up on cycle 1 day 8 (9 to 28 mcg/day; "
        "under 45 kg 5 to 15 mcg/m²/day), or the re-escalation 7 days after a restart at the restart dose that "
        "followed a grade 3 toxicity (any indication). MRD-positive and consolidation regimens have no step-up. "
        "Premedication only where the course's regimen asks for it (CLINICAL.md, corrected 2026-12).",
        items=(
            StarterItem(
                "tolerance",
                "Oncology",
                ONCOLOGIST,
                "No CRS or neurological toxicity that holds the dose increase",
                -DAY,
                help="Grade 3 CRS or neurological toxicity: interrupt and record the stop. A re-escalation comes only "
                "after 7 days without recurrence at the restart dose.",
            ),
            StarterItem(
                "order",
                "Oncology",
                ONCOLOGIST,
                "Dose increase ordered (step-up on cycle 1 day 8, or re-escalation after a restart)",
                -DAY,
                after=("tolerance",),
            ),
            *dose_items(offset=-12 * HOUR, **FLAT_DOSE),
            StarterItem(
                "compounded",
                "Pharmacy",
                PHARMACIST,
                "Bag for the new dose compounded and labelled with dose, rate and duration",
                -2 * HOUR,
                after=("order",),
            ),
            premedication_item(after=("order",)),
            baseline_assessment_item(offset=-30),
            StarterItem(
                "pump",
                "Line and pump",
                NURSE,
                "Pump reprogrammed for the new bag and locked; independent double-check",
                0,
                verify=True,
                verifier_role=NURSE,
                after=("compounded",),
            ),
        ),
    ),
    StarterTemplate(
        name="Bag change",
        trigger=CareEvent.Kind.BAG_CHANGE,
        description="Every bag change, in hospital or at home: the new bag's label, its pump rate checked against the "
        "pharmacy's bag record, no flushing, and the port needle on day 6–8 (CLINICAL.md, infusion, pump, line and "
        "bags).",
        items=(
            StarterItem(
                "next_bag",
                "Pharmacy",
                PHARMACIST,
                "Next bag compounded, labelled, recorded for this change and dispatched",
                -DAY,
                help="The bag record (dose, volume, rate, duration, expiry) is what the pump rate is checked against.",
            ),
            *bag_items(-DAY)[1:],
            StarterItem(
                "delivery",
                "Logistics",
                CASE_MANAGER,
                "Next bag delivery to the home confirmed",
                -12 * HOUR,
                when=AT_HOME,
                after=("next_bag",),
            ),
            StarterItem(
                "label",
                "Bag change",
                NURSE,
                "Bag label checked: patient, dose, duration and rate",
                0,
            ),
            pump_rate_item(offset=0, section="Bag change", after=("label",)),
            StarterItem(
                "pump",
                "Bag change",
                NURSE,
                "Pump rate matches the new label and is locked; independent double-check",
                0,
                verify=True,
                verifier_role=NURSE,
                when=INPATIENT,
                after=("pump_rate",),
            ),
            StarterItem(
                "pump_home",
                "Bag change",
                NURSE,
                "Pump rate matches the new label and is locked; caregiver read-back",
                0,
                when=AT_HOME,
                after=("pump_rate",),
            ),
            StarterItem(
                "site",
                "Bag change",
                NURSE,
                "IV site clean, line not flushed",
                0,
            ),
            StarterItem(
                "port_needle",
                "Bag change",
                NURSE,
                "Port needle changed (day 6–8)",
                0,
                when=(("cycle_day", "ge", "6"), ("cycle_day", "le", "8")),
            ),
            assessment_item("assessment", "Bag change", "CRS and ICANS assessment recorded", 0, when=AT_HOME),
        ),
    ),
    StarterTemplate(
        name="CRS and ICANS check",
        trigger=CareEvent.Kind.TOXICITY_CHECK,
        description="The watch for the boxed warnings while in hospital, every few hours (the regimen sets how "
        "often): vital signs and the ICE score, graded by the ASTCT consensus (CLINICAL.md, interruptions and "
        "toxicity).",
        items=(assessment_item("assessment", "Watch", "CRS and ICANS assessment recorded", 0),),
    ),
    StarterTemplate(
        name="Hospital-to-home transition",
        trigger=CareEvent.Kind.DISCHARGE_HOME,
        description="The handoff from the ward to home: everything in place before the patient leaves (CLINICAL.md, "
        "roles and handoffs).",
        items=(
            StarterItem(
                "discharge_ok",
                "Oncology",
                ONCOLOGIST,
                "Discharge approved: no active CRS or neurotoxicity",
                -4 * HOUR,
                ATTESTATION,
            ),
            StarterItem(
                "bags",
                "Pharmacy",
                PHARMACIST,
                "Take-home bags dispensed with labels (rate, duration)",
                -DAY,
            ),
            *bag_items(-DAY)[1:],
            StarterItem(
                "agency",
                "Home health",
                CASE_MANAGER,
                "Home-health agency accepted the patient",
                -2 * DAY,
            ),
            StarterItem(
                "supplies",
                "Home health",
                CASE_MANAGER,
                "Pump and supplies delivered at home",
                -DAY,
                after=("agency",),
            ),
            StarterItem(
                "calendar",
                "Home health",
                CASE_MANAGER,
                "Bag-change calendar handed over to the patient and the agency",
                -4 * HOUR,
                after=("agency",),
            ),
            StarterItem(
                "first_visit",
                "Home health",
                CASE_MANAGER,
                "First home visit booked",
                -DAY,
                after=("agency",),
            ),
            StarterItem(
                "clinic",
                "Home health",
                CASE_MANAGER,
                "Next clinic appointment booked",
                -DAY,
            ),
            StarterItem(
                "contact",
                "Home health",
                CASE_MANAGER,
                "24/7 contact number given and tested with the caregiver",
                -4 * HOUR,
            ),
            StarterItem(
                "pump",
                "Nursing",
                NURSE,
                "Pump programming verified before leaving; independent double-check",
                -HOUR,
                verify=True,
                verifier_role=NURSE,
            ),
            StarterItem(
                "teach_back",
                "Nursing",
                NURSE,
                "Caregiver teach-back done: pump alarms, catheter care, warning signs, no flushing",
                -4 * HOUR,
                help=f"Warning signs: CRS ({CRS_SIGNS}), neurotoxicity ({NEURO_SIGNS}), infection ({INFECTION_SIGNS}).",
            ),
        ),
    ),
    StarterTemplate(
        name="Restart after an interruption",
        trigger=CareEvent.Kind.RESTART,
        description="A supervised restart after a break of 4 hours or more within the same cycle (a break of more "
        "than 7 days starts a new cycle instead): supervision, the restart dose after a grade 3 toxicity, a new bag "
        "and its pump rate, and premedication as the course's regimen asks by indication, age and cycle "
        "(relapsed/refractory children: cycle 1 only) (CLINICAL.md, corrected 2026-12).",
        items=(
            StarterItem(
                "decision",
                "Oncology",
                ONCOLOGIST,
                "Restart approved: the reaction has resolved as the label asks",
                -2 * HOUR,
                help="Grade 3 neurological or other toxicity: grade 1 or less for at least 3 days. Grade 4, more than "
                "one seizure, or a toxicity that recurs or took too long to resolve: stop for good instead.",
            ),
            StarterItem(
                "restart_dose",
                "Oncology",
                ONCOLOGIST,
                "Restart dose ordered (the regimen's restart dose after a grade 3 toxicity)",
                -2 * HOUR,
                help="After a grade 3 toxicity the restart is at 9 mcg/day (under 45 kg 5 mcg/m²/day) and a "
                "re-escalation is scheduled 7 days later; otherwise the dose before the stop.",
                after=("decision",),
            ),
            StarterItem(
                "supervision",
                "Oncology",
                ONCOLOGIST,
                "Supervision by a health-care professional or hospitalisation arranged",
                -2 * HOUR,
            ),
            order_verified_item(-HOUR, "Restart order and dose verified", after=("restart_dose",)),
            StarterItem(
                "compounded",
                "Pharmacy",
                PHARMACIST,
                "Bag for the restart compounded, labelled and recorded",
                -HOUR,
                help="The pump rate is checked against this bag's record.",
                after=("order_verified",),
            ),
            *bag_items(-HOUR)[1:],
            weight_item(offset=-HOUR),
            premedication_item(after=("order_verified",)),
            baseline_assessment_item(offset=-30),
            *line_and_pump_items(),
            StarterItem(
                "agency",
                "Logistics",
                CASE_MANAGER,
                "Home-health agency told of the restart and the new bag dates",
                0,
            ),
        ),
    ),
    StarterTemplate(
        name="Cycle end",
        trigger=CareEvent.Kind.CYCLE_END,
        description="The end of a cycle's infusion (moved by any breaks): the residual drug aspirated before "
        "disconnection, never flushed; pump and supplies returned; the end-of-cycle marrow test booked; and the "
        "next cycle or rest planned by indication (CLINICAL.md, corrected 2026-12).",
        items=(
            StarterItem(
                "marrow",
                "Oncology",
                ONCOLOGIST,
                "End-of-cycle bone-marrow and MRD test booked",
                -7 * DAY,
                help="The response at the end of the cycle decides the next one.",
            ),
            StarterItem(
                "plan",
                "Oncology",
                ONCOLOGIST,
                "Next cycle or rest-period plan confirmed",
                -2 * DAY,
                CHOICE,
                help="Rest by indication: relapsed/refractory 14 days after cycles 1–5 and 56 days after cycles 6–9; "
                "MRD-positive 14 days; consolidation: the chemotherapy plan sets the next start (record it on the "
                "course page).",
                choices=(
                    "Next cycle after the regimen's rest period",
                    "Next start set by the chemotherapy plan",
                    "Course complete: no further cycle",
                    "Treatment stopped or changed",
                ),
            ),
            StarterItem(
                "aspirate",
                "Disconnection",
                NURSE,
                "Residual drug aspirated from the line before disconnection; line not flushed",
                0,
                help=NO_FLUSH,
            ),
            StarterItem(
                "disconnect",
                "Disconnection",
                NURSE,
                "Pump stopped and disconnected; the end time recorded",
                0,
                after=("aspirate",),
            ),
            StarterItem(
                "warning_signs",
                "Disconnection",
                NURSE,
                "Patient and caregiver told what to watch during the rest and the next appointments",
                0,
                help=f"Infection ({INFECTION_SIGNS}); low white cells. No driving; no live vaccines.",
            ),
            StarterItem(
                "unused_bags",
                "Pharmacy",
                PHARMACIST,
                "Unused bags returned or disposed of as the pharmacy says",
                DAY,
                when=AT_HOME,
            ),
            StarterItem(
                "returned",
                "Logistics",
                CASE_MANAGER,
                "Pump and supplies returned to the home-infusion provider or pharmacy",
                2 * DAY,
                after=("disconnect",),
            ),
            StarterItem(
                "next_logistics",
                "Logistics",
                CASE_MANAGER,
                "Next cycle's authorisation, admission or chair and deliveries requested",
                DAY,
                required=False,
                after=("plan",),
            ),
        ),
    ),
    StarterTemplate(
        name="Home visit",
        trigger=CareEvent.Kind.HOME_VISIT,
        description="A home-health visit during the infusion: site and dressing, pump and line, CRS and neurological "
        "signs asked, the caregiver's questions (CLINICAL.md, what to watch; infusion, pump, line and bags).",
        items=(
            StarterItem(
                "site",
                "Visit",
                NURSE,
                "IV site and dressing checked; dressing changed if due",
                0,
                help="Keep the IV site clean. The port needle is changed on day 6–8 with a bag change.",
            ),
            StarterItem(
                "pump",
                "Visit",
                NURSE,
                "Pump checked: running, locked, no alarms; rate and bag volume as on the label",
                0,
            ),
            StarterItem(
                "line",
                "Visit",
                NURSE,
                "Dedicated line and in-line filter intact; nothing else through it; not flushed",
                0,
                help=NO_FLUSH,
            ),
            StarterItem(
                "signs",
                "Visit",
                NURSE,
                "CRS and neurological signs asked and checked; temperature recorded",
                0,
                TEXT,
                help=f"CRS ({CRS_SIGNS}); neurotoxicity ({NEURO_SIGNS}), a handwriting sample shows early change; "
                f"infection ({INFECTION_SIGNS}). Any sign: call the oncologist before leaving.",
            ),
            StarterItem(
                "caregiver",
                "Visit",
                NURSE,
                "Caregiver questions answered; pump alarms, no-flush rule and 24/7 number reviewed",
                0,
            ),
            StarterItem(
                "report",
                "Logistics",
                CASE_MANAGER,
                "Visit report received; next visit and bag delivery confirmed",
                DAY,
            ),
        ),
    ),
    StarterTemplate(
        name="Interruption",
        trigger=CareEvent.Kind.INTERRUPTION,
        description="The infusion stopped (a nurse recorded the stop): cause and time documented, the oncologist "
        "told, the line secured without flushing, the bag kept or discarded as the pharmacy says, and the "
        "oncologist's restart decision. A break of 4 hours or more restarts supervised and premedicated; more than "
        "7 days starts a new cycle (CLINICAL.md, interruptions and toxicity).",
        items=(
            StarterItem(
                "documented",
                "At the stop",
                NURSE,
                "Cause and time of the stop documented, with vital signs",
                15,
                TEXT,
                help="What happened and what was done. Grading follows the ASTCT consensus (CRS: fever, blood "
                "pressure, oxygen; ICANS: ICE score or CAPD).",
            ),
            StarterItem(
                "oncologist_told",
                "At the stop",
                NURSE,
                "Oncologist told of the stop",
                15,
            ),
            StarterItem(
                "line",
                "At the stop",
                NURSE,
                "Line secured without flushing (clamped and capped; residual drug aspirated if disconnected)",
                15,
                help=NO_FLUSH,
            ),
            StarterItem(
                "bag",
                "Pharmacy",
                PHARMACIST,
                "Bag kept or discarded as the pharmacy says",
                2 * HOUR,
                CHOICE,
                help="Within its stability and expiry a bag may be kept for a restart; otherwise a new bag is "
                "prepared and recorded for the restart.",
                choices=("Kept for the restart", "Discarded: a new bag for the restart"),
            ),
            StarterItem(
                "grade",
                "Oncology",
                ONCOLOGIST,
                "Reaction graded and treated (CRS, ICANS or other)",
                HOUR,
                TEXT,
                help="For an adverse reaction; a pump or line problem: mark not applicable.",
                required=False,
            ),
            StarterItem(
                "decision",
                "Oncology",
                ONCOLOGIST,
                "Restart decision recorded",
                4 * HOUR,
                CHOICE,
                help="Grade 3: hold until grade 1 or less (3 days for neurological and other reactions), restart at "
                "the regimen's restart dose, re-escalate after 7 days. Grade 4 or more than one seizure: stop for "
                "good. Record the restart or the stop for good on the course page.",
                choices=(
                    "Restart: time recorded on the course page",
                    "Hold until the reaction resolves",
                    "Stop for good: recorded on the course page",
                ),
                after=("oncologist_told",),
            ),
            StarterItem(
                "agency",
                "Logistics",
                CASE_MANAGER,
                "Home-health agency told of the stop",
                HOUR,
                when=AT_HOME,
            ),
        ),
    ),
]

# A starter template renamed since an earlier library: the former name counts as the same template.
FORMER_NAMES = {"Step-up dose (cycle 1 day 8)": STEP_UP_TEMPLATE}
LOAD_SUMMARY = "Starter library"
CORRECTION_SUMMARY = "Starter library corrected to the regimens by indication (CLINICAL.md, 2026-12)"
STARTER_SUMMARIES = (LOAD_SUMMARY, CORRECTION_SUMMARY)


# --- the loader ---------------------------------------------------------------------------------


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _item_fields(item: StarterItem, order: int) -> dict:
    """An item's stored content (TemplateItem's ItemContent fields)."""
    return {
        "section": item.section,
        "order": order,
        "text": item.text,
        "help_text": item.help,
        "role": item.role,
        "due_offset_minutes": item.offset,
        "response_kind": item.kind,
        "unit": item.unit,
        "min_value": _decimal(item.min_value),
        "max_value": _decimal(item.max_value),
        "choices": list(item.choices),
        "failing_choices": list(item.failing),
        "required": item.required,
        "hard_stop": item.hard_stop,
        "needs_verification": item.verify,
        "verifier_role": item.verifier_role,
        "records": item.records,
        "source": item.source,
    }


ITEM_FIELDS = tuple(_item_fields(StarterItem("", "", NURSE, ""), 0))


def _former_name(name: str) -> str | None:
    return next((old for old, new in FORMER_NAMES.items() if new == name), None)


@transaction.atomic
def starter_library_load(*, actor=None) -> int:
    """Create and publish the starter templates that do not exist yet; the number created.

    A template that exists under its former name is left to `starter_library_update`.
    """
    names = [t.name for t in STARTER_TEMPLATES] + list(FORMER_NAMES)
    existing = set(ChecklistTemplate.objects.filter(name__in=names).values_list("name", flat=True))
    created = 0
    for spec in STARTER_TEMPLATES:
        if spec.name in existing or _former_name(spec.name) in existing:
            continue
        _create(spec, actor=actor)
        created += 1
    return created


def _create(spec: StarterTemplate, *, actor) -> ChecklistTemplate:
    template = ChecklistTemplate.objects.create(name=spec.name, trigger_kind=spec.trigger, description=spec.description)
    TemplateCondition.objects.bulk_create(
        TemplateCondition(template=template, fact=fact, operator=op, value=value) for fact, op, value in spec.conditions
    )
    version = TemplateVersion.objects.create(template=template, number=1)
    _fill(version, spec)
    template_version_publish(version=version, actor=actor, change_summary=LOAD_SUMMARY)
    return template


def _fill(version: TemplateVersion, spec: StarterTemplate, keys: dict[str, object] | None = None) -> None:
    """Write the spec's items into a draft; `keys` (text → key) keeps an item's identity across versions."""
    keys = dict(keys or {})
    items = {}
    for order, item in enumerate(spec.items, start=1):
        row = TemplateItem(version=version, **_item_fields(item, order))
        if item.text in keys:
            row.key = keys.pop(item.text)
        items[item.ref] = row
    if len(items) != len(spec.items):
        raise ValueError(f"{spec.name}: two items share a ref.")
    TemplateItem.objects.bulk_create(items.values())
    ItemCondition.objects.bulk_create(
        ItemCondition(item=items[item.ref], fact=fact, operator=op, value=value)
        for item in spec.items
        for fact, op, value in item.when
    )
    through = TemplateItem.depends_on.through
    through.objects.bulk_create(
        through(from_templateitem_id=items[item.ref].pk, to_templateitem_id=items[ref].pk)
        for item in spec.items
        for ref in item.after
    )


# --- the update ---------------------------------------------------------------------------------


@dataclass
class StarterUpdate:
    """What `starter_library_update` did, template by template."""

    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # name → why it was left alone
    renamed: dict[str, str] = field(default_factory=dict)  # former name → name


def _spec_content(spec: StarterTemplate) -> list:
    order_of = {item.ref: order for order, item in enumerate(spec.items, start=1)}
    return [
        (
            _item_fields(item, order_of[item.ref]),
            sorted(item.when),
            sorted(order_of[ref] for ref in item.after),
        )
        for item in spec.items
    ]


def _version_content(version: TemplateVersion) -> list:
    items = list(version.items.prefetch_related("conditions", "depends_on").order_by("order"))
    return [
        (
            {name: getattr(item, name) for name in ITEM_FIELDS},
            sorted((c.fact, c.operator, c.value) for c in item.conditions.all()),
            sorted(dep.order for dep in item.depends_on.all()),
        )
        for item in items
    ]


def _template_conditions(template: ChecklistTemplate) -> list[Condition]:
    return sorted((c.fact, c.operator, c.value) for c in template.conditions.all())


@transaction.atomic
def starter_library_update(actor=None, *, force: bool = False) -> StarterUpdate:
    """Publish the corrected content of each starter template that already exists, as a new version.

    Only when its published content (items, conditions, dependencies, or the template's name,
    description and conditions) differs from the spec. Left alone: a template with an open
    draft (someone is editing it), and, unless `force`, one whose published version is not the
    starter library's (an institution's own edit). Idempotent: a second call changes nothing.
    Templates that do not exist are `starter_library_load`'s.
    """
    result = StarterUpdate()
    for spec in STARTER_TEMPLATES:
        template = ChecklistTemplate.objects.filter(name=spec.name).first()
        if template is None and (former := _former_name(spec.name)):
            template = ChecklistTemplate.objects.filter(name=former).first()
        if template is None:
            continue
        label = template.name
        if template.versions.filter(status=TemplateVersion.Status.DRAFT).exists():
            result.skipped[label] = "it has an open draft"
            continue
        published = template.versions.filter(status=TemplateVersion.Status.PUBLISHED).first()
        items_differ = published is None or _version_content(published) != _spec_content(spec)
        meta_differs = (template.name, template.trigger_kind, template.description) != (
            spec.name,
            spec.trigger,
            spec.description,
        ) or _template_conditions(template) != sorted(spec.conditions)
        if not (items_differ or meta_differs):
            result.unchanged.append(label)
            continue
        if not force and (published is None or published.change_summary not in STARTER_SUMMARIES):
            result.skipped[label] = "its published version is a local edit, not the starter library's"
            continue
        if template.name != spec.name:
            result.renamed[template.name] = spec.name
        if meta_differs:
            template.name, template.trigger_kind, template.description = spec.name, spec.trigger, spec.description
            template.save(update_fields=["name", "trigger_kind", "description"])
            if _template_conditions(template) != sorted(spec.conditions):
                template.conditions.all().delete()
                TemplateCondition.objects.bulk_create(
                    TemplateCondition(template=template, fact=fact, operator=op, value=value)
                    for fact, op, value in spec.conditions
                )
        if items_differ:
            draft = template_version_new_draft(template=template, actor=actor)
            keys = {}
            for item in draft.items.order_by("order"):
                keys.setdefault(item.text, item.key)
            draft.items.all().delete()
            _fill(draft, spec, keys)
            template_version_publish(version=draft, actor=actor, change_summary=CORRECTION_SUMMARY)
        result.updated.append(spec.name)
    return result
