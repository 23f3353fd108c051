"""The starter library: blinatumomab checklist templates as plain data, and their loader.

The facts come from /work/shared/CLINICAL.md (prescribing information, the maker's
professional pages and published practice). They are a starting point that each
institution's pharmacy and oncology team edit in the template pages; nothing here is a rule
hard-wired in code. `starter_library_load` creates a template only when none of that name
exists, so admins' edits and later versions are never overwritten.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from accounts.models import Role
from patients.models import CareEvent

from .models import ChecklistTemplate, ItemCondition, TemplateCondition, TemplateItem, TemplateVersion
from .services import template_version_publish

HOUR = 60
DAY = 24 * HOUR

PHARMACIST, NURSE, ONCOLOGIST, CASE_MANAGER = Role.PHARMACIST, Role.NURSE, Role.ONCOLOGIST, Role.CASE_MANAGER
CHECKBOX, NUMBER, TEXT, CHOICE, ATTESTATION, DATETIME = TemplateItem.ResponseKind.values

# Bag options are data: labels differ on which durations exist (CLINICAL.md, "Infusion").
BAG_OPTIONS = [
    "24 h (10 mL/h)",
    "48 h (5 mL/h)",
    "72 h",
    "96 h",
    "7 days (0.6 mL/h, benzyl alcohol)",
]
SEVEN_DAY_BAG = BAG_OPTIONS[-1]
INTERACTING_DRUGS = (
    "alfentanil, aminophylline, artemether, astemizole, carbamazepine, cisapride, cyclosporine, "
    "dihydroergotamine, ergotamine, fentanyl, fosphenytoin, iloperidone, lumefantrine, paclitaxel, "
    "phenytoin, pimozide, quinidine, sirolimus, tacrolimus, terfenadine, theophylline, warfarin"
)
CRS_SIGNS = "fever, headache, breathing problems, nausea and vomiting"
NEURO_SIGNS = "confusion, disorientation, slurred speech, difficulty talking, loss of balance, fainting, seizures"

Condition = tuple[str, str, str]  # (fact, operator, value), e.g. ("weight_kg", "lt", "45")

ADULT: tuple[Condition, ...] = (("age_years", "ge", "18"),)
CHILD: tuple[Condition, ...] = (("age_years", "lt", "18"),)
AT_LEAST_45_KG: tuple[Condition, ...] = (("weight_kg", "ge", "45"),)
UNDER_45_KG: tuple[Condition, ...] = (("weight_kg", "lt", "45"),)
UNDER_22_KG: tuple[Condition, ...] = (("weight_kg", "lt", "22"),)
AT_HOME: tuple[Condition, ...] = (("setting", "eq", "home"),)
IN_CLINIC: tuple[Condition, ...] = (("setting", "eq", "clinic"),)
INPATIENT: tuple[Condition, ...] = (("setting", "eq", "inpatient"),)


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
        help="Weigh the patient today; the pharmacist checks the dose band (45 kg) and the bag (22 kg) against it.",
        unit="kg",
        min_value="1",
        max_value="300",
        hard_stop=True,
    )


def bag_items(offset: int) -> tuple[StarterItem, ...]:
    return (
        StarterItem(
            "bag",
            "Pharmacy",
            PHARMACIST,
            "Bag duration and preservative on the pharmacy label",
            offset,
            CHOICE,
            help="The infusion rate comes from the pharmacy label. 7-day bags contain benzyl alcohol.",
            choices=tuple(BAG_OPTIONS),
        ),
        StarterItem(
            "bag_under_22",
            "Pharmacy",
            PHARMACIST,
            "Patient under 22 kg: preservative-free bag confirmed",
            offset,
            CHOICE,
            help="No 7-day bag (benzyl alcohol) under 22 kg: benzyl alcohol can be fatal in newborns and infants.",
            choices=("Preservative-free bag (24–96 h)", SEVEN_DAY_BAG),
            failing=(SEVEN_DAY_BAG,),
            hard_stop=True,
            when=UNDER_22_KG,
        ),
    )


def dose_items(*, adult_dose: str, bsa_dose: str, offset: int, after=("order",)) -> tuple[StarterItem, ...]:
    return (
        StarterItem(
            "dose",
            "Pharmacy",
            PHARMACIST,
            f"Dose band verified for a patient of at least 45 kg: {adult_dose}",
            offset,
            help="Checked against today's weight; this app never computes an order.",
            when=AT_LEAST_45_KG,
            after=after,
        ),
        StarterItem(
            "dose_bsa",
            "Pharmacy",
            PHARMACIST,
            f"BSA-based dose verified for a patient under 45 kg: {bsa_dose}",
            offset,
            help="Body-surface area from today's weight and height (Mosteller).",
            when=UNDER_45_KG,
            after=after,
        ),
    )


def interactions_item(offset: int) -> StarterItem:
    return StarterItem(
        "interactions",
        "Pharmacy",
        PHARMACIST,
        "Interaction review done against the current medication list",
        offset,
        help=f"Drugs listed in the patient information: {INTERACTING_DRUGS}.",
    )


def dexamethasone_items(*, offset: int, when=(), children_too=True) -> tuple[StarterItem, ...]:
    """The order (pharmacist) and the dose given at least 1 h before (nurse)."""
    order_help = "Adults: dexamethasone 20 mg IV 1 hour before."
    if children_too:
        order_help += " Children: 5 mg/m² (not above 20 mg)."
    return (
        StarterItem(
            "dex_order",
            "Pharmacy",
            PHARMACIST,
            "Dexamethasone premedication order verified",
            offset,
            help=order_help,
            when=when,
        ),
        StarterItem(
            "dex_given",
            "Before the infusion",
            NURSE,
            "Dexamethasone given at least 1 hour before the infusion starts",
            -HOUR,
            help="Record the time given in the medication record.",
            when=when,
            after=("dex_order",),
        ),
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
        StarterItem(
            "pump",
            "Line and pump",
            NURSE,
            "Pump programmed at the label rate and locked; independent double-check",
            -15,
            help="Programmable, lockable, non-elastomeric pump with an alarm. A second nurse checks independently.",
            verify=True,
            verifier_role=NURSE,
            after=("line", *after_pump),
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
    return StarterItem(
        "baseline",
        "Before the infusion",
        NURSE,
        "Baseline neurological and CRS assessment recorded",
        offset,
        TEXT,
        help=f"Vital signs, neuro exam (a writing sample helps). Watch for CRS ({CRS_SIGNS}) and neurotoxicity "
        f"({NEURO_SIGNS}).",
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
        "Labs reviewed: blood count, transaminases and bilirubin",
        offset,
        help="Interrupt if transaminases exceed 5× the upper limit of normal or bilirubin 3×.",
    )


# --- the library -------------------------------------------------------------------------------

CYCLE_START = CareEvent.Kind.CYCLE_START

STARTER_TEMPLATES: list[StarterTemplate] = [
    StarterTemplate(
        name="Cycle 1 start (inpatient)",
        trigger=CYCLE_START,
        description="The first cycle starts in hospital under full supervision (days 1–9 or 1–3 by indication).",
        conditions=(("cycle_number", "eq", "1"),),
        items=(
            StarterItem(
                "indication",
                "Oncology",
                ONCOLOGIST,
                "Indication confirmed (sets the inpatient days)",
                -2 * DAY,
                CHOICE,
                choices=(
                    "Relapsed/refractory: days 1–9 in hospital",
                    "MRD-positive: days 1–3 in hospital",
                    "Consolidation: days 1–3 in hospital",
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
            StarterItem(
                "order_verified",
                "Pharmacy",
                PHARMACIST,
                "Blinatumomab order verified",
                -DAY,
                after=("order",),
            ),
            *dose_items(
                adult_dose="9 mcg/day days 1–7, then 28 mcg/day",
                bsa_dose="5 mcg/m²/day (not above 9 mcg/day), then 15 mcg/m²/day (not above 28 mcg/day)",
                offset=-DAY,
                after=("order",),
            ),
            *bag_items(-DAY),
            interactions_item(-DAY),
            StarterItem(
                "compounded",
                "Pharmacy",
                PHARMACIST,
                "Bag compounded under sterile conditions and labelled with rate and duration",
                -2 * HOUR,
                help="Storage and stability as in the label.",
                after=("order_verified",),
            ),
            weight_item(),
            *dexamethasone_items(offset=-DAY),
            baseline_assessment_item(),
            *line_and_pump_items(),
            clear_to_start(),
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
        description="The second cycle starts under full supervision (days 1–2 in hospital).",
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
            StarterItem(
                "order_verified", "Pharmacy", PHARMACIST, "Blinatumomab order verified", -DAY, after=("order",)
            ),
            *dose_items(
                adult_dose="28 mcg/day",
                bsa_dose="15 mcg/m²/day (not above 28 mcg/day)",
                offset=-DAY,
                after=("order",),
            ),
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
            # Adults take dexamethasone before the first dose of each cycle, children only in cycle 1.
            *dexamethasone_items(offset=-DAY, when=ADULT, children_too=False),
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
        description="Cycles 3 and later start with a health-care professional or in hospital.",
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
            StarterItem(
                "order_verified", "Pharmacy", PHARMACIST, "Blinatumomab order verified", -DAY, after=("order",)
            ),
            *dose_items(
                adult_dose="28 mcg/day",
                bsa_dose="15 mcg/m²/day (not above 28 mcg/day)",
                offset=-DAY,
                after=("order",),
            ),
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
            *dexamethasone_items(offset=-DAY, when=ADULT, children_too=False),
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
        name="Step-up dose (cycle 1 day 8)",
        trigger=CareEvent.Kind.DOSE_STEP_UP,
        description="Cycle 1 day 8: the dose steps up; dexamethasone before it.",
        items=(
            StarterItem(
                "tolerance",
                "Oncology",
                ONCOLOGIST,
                "No CRS or neurotoxicity that holds the step-up",
                -DAY,
                help="Grade 3 CRS or neurotoxicity: hold; restart at 9 mcg/day.",
            ),
            StarterItem("order", "Oncology", ONCOLOGIST, "Step-up ordered", -DAY, after=("tolerance",)),
            *dose_items(
                adult_dose="28 mcg/day",
                bsa_dose="15 mcg/m²/day (not above 28 mcg/day)",
                offset=-12 * HOUR,
                after=("order",),
            ),
            StarterItem(
                "compounded",
                "Pharmacy",
                PHARMACIST,
                "Step-up bag compounded and labelled with the new rate",
                -2 * HOUR,
                after=("order",),
            ),
            *dexamethasone_items(offset=-12 * HOUR),
            baseline_assessment_item(offset=-30),
            StarterItem(
                "pump",
                "Line and pump",
                NURSE,
                "Pump reprogrammed for the step-up and locked; independent double-check",
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
        description="Every bag change, in hospital or at home.",
        items=(
            StarterItem(
                "next_bag",
                "Pharmacy",
                PHARMACIST,
                "Next bag compounded, labelled and dispatched",
                -DAY,
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
            StarterItem(
                "pump",
                "Bag change",
                NURSE,
                "Pump rate matches the new label and is locked; independent double-check",
                0,
                verify=True,
                verifier_role=NURSE,
                when=INPATIENT,
                after=("label",),
            ),
            StarterItem(
                "pump_home",
                "Bag change",
                NURSE,
                "Pump rate matches the new label and is locked; caregiver read-back",
                0,
                when=AT_HOME,
                after=("label",),
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
        ),
    ),
    StarterTemplate(
        name="Hospital-to-home transition",
        trigger=CareEvent.Kind.DISCHARGE_HOME,
        description="The handoff from the ward to home: everything in place before the patient leaves.",
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
                help=f"Warning signs: CRS ({CRS_SIGNS}), neurotoxicity ({NEURO_SIGNS}), infection (fever, chills).",
            ),
        ),
    ),
    StarterTemplate(
        name="Restart after an interruption",
        trigger=CareEvent.Kind.RESTART,
        description="Restarting after an interruption: 4 hours or more needs supervision and dexamethasone.",
        items=(
            StarterItem(
                "decision",
                "Oncology",
                ONCOLOGIST,
                "Length of the interruption decides the cycle",
                -2 * HOUR,
                CHOICE,
                help="Up to 7 days: continue the same cycle. More than 7 days: start a new cycle.",
                choices=("Continue the same cycle (7 days or less)", "Start a new cycle (more than 7 days)"),
            ),
            StarterItem(
                "restart_dose",
                "Oncology",
                ONCOLOGIST,
                "Restart dose ordered (9 mcg/day after grade 3 toxicity)",
                -2 * HOUR,
                after=("decision",),
            ),
            StarterItem(
                "supervision",
                "Oncology",
                ONCOLOGIST,
                "Supervision by a health-care professional or hospitalisation arranged",
                -2 * HOUR,
            ),
            StarterItem(
                "order_verified",
                "Pharmacy",
                PHARMACIST,
                "Restart order and dose verified",
                -HOUR,
                after=("restart_dose",),
            ),
            *dexamethasone_items(offset=-2 * HOUR),
            weight_item(offset=-HOUR),
            baseline_assessment_item(offset=-30),
            *line_and_pump_items(after_pump=("order_verified",)),
            StarterItem(
                "agency",
                "Logistics",
                CASE_MANAGER,
                "Home-health agency told of the restart and the new bag dates",
                0,
            ),
        ),
    ),
]


# --- the loader ---------------------------------------------------------------------------------


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@transaction.atomic
def starter_library_load(*, actor=None) -> int:
    """Create and publish the starter templates that do not exist yet; the number created."""
    existing = set(
        ChecklistTemplate.objects.filter(name__in=[t.name for t in STARTER_TEMPLATES]).values_list("name", flat=True)
    )
    created = 0
    for spec in STARTER_TEMPLATES:
        if spec.name in existing:
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
    items = {
        item.ref: TemplateItem(
            version=version,
            section=item.section,
            order=order,
            text=item.text,
            help_text=item.help,
            role=item.role,
            due_offset_minutes=item.offset,
            response_kind=item.kind,
            unit=item.unit,
            min_value=_decimal(item.min_value),
            max_value=_decimal(item.max_value),
            choices=list(item.choices),
            failing_choices=list(item.failing),
            required=item.required,
            hard_stop=item.hard_stop,
            needs_verification=item.verify,
            verifier_role=item.verifier_role,
        )
        for order, item in enumerate(spec.items, start=1)
    }
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
    template_version_publish(version=version, actor=actor, change_summary="Starter library")
    return template
