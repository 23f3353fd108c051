"""The starter regimens and bag options, as plain data naming their source.

From shared/CLINICAL.md (corrected 2026-12), which gathers the US blinatumomab prescribing
information, the maker's dosing pages, drug references and PMC6368716 table 1. Admins edit
them afterwards as new drafts in the admin; `regimen_library_load` only creates what is
missing, so an edit is never overwritten. The data migration and `seed_demo` both call it.
"""

from decimal import Decimal

LABEL = "US prescribing information (drugs.com dosage page, Dec 2024; maker's dosing pages; PMC6368716 table 1)"
PREMED_LABEL = "US prescribing information, premedication section (shared/CLINICAL.md, corrected 2026-12)"

UNDER_45_STEP_UP = "under 45 kg: 5 mcg/m²/day (max 9 mcg/day), then 15 mcg/m²/day (max 28 mcg/day) from day 8"
UNDER_45_FLAT = "under 45 kg: 15 mcg/m²/day (max 28 mcg/day)"
RESTART_DOSE = "9 mcg/day (under 45 kg: 5 mcg/m²/day), after a grade 3 toxicity has resolved"
RE_ESCALATION_DOSE = "28 mcg/day (under 45 kg: 15 mcg/m²/day) after 7 days without recurrence"
CHILD_DEXAMETHASONE = "dexamethasone 5 mg/m² (max 20 mg)"

REGIMENS = [
    {
        "indication": "relapsed_refractory",
        "name": "Blinatumomab, relapsed or refractory B-cell ALL",
        "version": {
            "source": LABEL,
            "max_cycles": 9,
            "step_up_day": 8,
            "starting_dose": f"9 mcg/day days 1–7, then 28 mcg/day days 8–28 ({UNDER_45_STEP_UP})",
            "step_up_dose": "28 mcg/day from day 8 (under 45 kg: 15 mcg/m²/day, max 28 mcg/day)",
            "later_cycle_dose": f"28 mcg/day days 1–28 ({UNDER_45_FLAT})",
        },
        # (first cycle, phase, rest days, days in hospital): 2 induction, 3 consolidation, then
        # 4 cycles of continued therapy with 56 rest days (84-day cycles).
        "cycles": [
            (1, "induction", 14, 9),
            (2, "induction", 14, 2),
            (3, "consolidation", 14, 0),
            (6, "continued", 56, 0),
        ],
        # (population, moment, last cycle or None for every cycle, medication)
        "premedications": [
            ("adult", "cycle_start", None, "dexamethasone 20 mg IV"),
            ("adult", "step_up", None, "dexamethasone 20 mg IV"),
            ("adult", "restart", None, "dexamethasone 20 mg IV"),
            ("child", "cycle_start", 1, CHILD_DEXAMETHASONE),
            ("child", "step_up", 1, CHILD_DEXAMETHASONE),
            ("child", "restart", 1, CHILD_DEXAMETHASONE),
        ],
    },
    {
        "indication": "mrd_positive",
        "name": "Blinatumomab, MRD-positive B-cell ALL",
        "version": {
            "source": LABEL,
            "max_cycles": 4,
            "step_up_day": None,
            "starting_dose": f"28 mcg/day days 1–28, no step-up ({UNDER_45_FLAT})",
            "step_up_dose": "",
            "later_cycle_dose": f"28 mcg/day days 1–28 ({UNDER_45_FLAT})",
        },
        # 1 induction and up to 3 consolidation cycles, 14 rest days each.
        "cycles": [
            (1, "induction", 14, 3),
            (2, "consolidation", 14, 2),
            (3, "consolidation", 14, 0),
        ],
        "premedications": [
            ("adult", "cycle_start", None, "prednisone 100 mg IV or equivalent (e.g. dexamethasone 16 mg)"),
            ("adult", "restart", None, "prednisone 100 mg IV or equivalent (e.g. dexamethasone 16 mg)"),
            ("child", "cycle_start", None, CHILD_DEXAMETHASONE),
            ("child", "restart", None, CHILD_DEXAMETHASONE),
        ],
    },
    {
        "indication": "consolidation",
        "name": "Blinatumomab, Ph-negative consolidation within multiphase chemotherapy",
        "version": {
            "source": f"{LABEL}; the number of cycles and the rests come from the chemotherapy protocol",
            "max_cycles": None,
            "step_up_day": None,
            "starting_dose": f"28 mcg/day days 1–28, no step-up ({UNDER_45_FLAT})",
            "step_up_dose": "",
            "later_cycle_dose": f"28 mcg/day days 1–28 ({UNDER_45_FLAT})",
        },
        # Cycles alternate with chemotherapy blocks: the rest is set per cycle by the plan.
        "cycles": [
            (1, "consolidation", None, 3),
            (2, "consolidation", None, 2),
            (3, "consolidation", None, 0),
        ],
        # Per the label and the chemotherapy protocol: editable, confirm locally.
        "premedications": [
            ("adult", "cycle_start", None, "prednisone 100 mg IV or equivalent, per the chemotherapy protocol"),
            ("adult", "restart", None, "prednisone 100 mg IV or equivalent, per the chemotherapy protocol"),
            ("child", "cycle_start", None, CHILD_DEXAMETHASONE),
            ("child", "restart", None, CHILD_DEXAMETHASONE),
        ],
    },
]

COMMON_VERSION_FIELDS = {
    "infusion_days": 28,
    "restart_dose": RESTART_DOSE,
    "re_escalation_dose": RE_ESCALATION_DOSE,
    "re_escalation_after_days": 7,
    "longest_break_in_cycle_days": 7,
    "supervised_restart_after_hours": 4,
    # After a grade 3 reaction (CLINICAL.md, "Interruptions and toxicity"): neurological toxicity
    # that takes more than 7 days to resolve, or other reactions more than 14, mean stopping; both
    # restart after 3 days at grade 1 or less.
    "neurological_resolve_within_days": 7,
    "other_toxicity_resolve_within_days": 14,
    "restart_after_resolved_days": 3,
    # "CRS ... Grade 4: stop for good"; "Neurological toxicity ... grade 4: stop for good". For
    # other reactions the label gives the grade 3 rule only: a grade 4 follows it.
    "crs_stop_for_good_from_grade": 4,
    "neurological_stop_for_good_from_grade": 4,
    "other_stop_for_good_from_grade": None,
    "adult_from_age": 18,
    # "Under 45 kg the dose is by body-surface area" (CLINICAL.md, the regimen table's note).
    "dose_by_area_under_kg": 45,
    # The watch for CRS and ICANS around the clock while in hospital (the boxed warnings; the
    # tracker's default, which each institution sets): every 4 hours from the cycle's start.
    "inpatient_assessment_hours": 4,
    "change_summary": "Seeded from shared/CLINICAL.md (corrected 2026-12).",
}

BAG_SOURCE = "Maker's current dosing page (shared/CLINICAL.md, Infusion, pump, line and bags)"
OLD_LABEL_LIMIT = "Older label text: no 7-day bag under 22 kg (the current monograph says 5.4 kg; the admin chooses)"
MONOGRAPH_LIMIT = "Current drug monograph: preservative bags not recommended under 5.4 kg"

# (hours, rate mL/h, preservative, lowest weight kg or None, the limit's source)
BAG_OPTIONS = [
    (24, Decimal("10"), False, None, ""),
    (48, Decimal("5"), False, None, ""),
    (72, Decimal("1.8"), True, Decimal("5.4"), MONOGRAPH_LIMIT),
    (96, Decimal("1.8"), True, Decimal("5.4"), MONOGRAPH_LIMIT),
    (168, Decimal("0.6"), True, Decimal("22"), OLD_LABEL_LIMIT),
]


def regimen_library_load(*, regimen_model, version_model, cycle_rule_model, premedication_model, bag_model, now):
    """Create the regimens (one published version each) and bag options that are missing.

    Takes the model classes so that a data migration can pass its historical models.
    """
    created = 0
    for spec in REGIMENS:
        regimen, was_created = regimen_model.objects.get_or_create(
            indication=spec["indication"], defaults={"name": spec["name"]}
        )
        if not was_created and version_model.objects.filter(regimen=regimen).exists():
            continue
        # A migration passes the model as it was then: fields added later take their default.
        known = {field.name for field in version_model._meta.get_fields()}
        fields = {name: value for name, value in {**COMMON_VERSION_FIELDS, **spec["version"]}.items() if name in known}
        version = version_model.objects.create(regimen=regimen, number=1, status="draft", **fields)
        for first_cycle, phase, rest_days, inpatient_days in spec["cycles"]:
            cycle_rule_model.objects.create(
                version=version,
                first_cycle=first_cycle,
                phase=phase,
                rest_days=rest_days,
                inpatient_days=inpatient_days,
            )
        for population, moment, last_cycle, medication in spec["premedications"]:
            premedication_model.objects.create(
                version=version, population=population, moment=moment, last_cycle=last_cycle, medication=medication
            )
        version.status, version.published_at = "published", now
        version.save()
        created += 1
    for hours, rate, preservative, min_weight, limit_source in BAG_OPTIONS:
        _, was_created = bag_model.objects.get_or_create(
            duration_hours=hours,
            defaults={
                "rate_ml_per_hour": rate,
                "preservative": preservative,
                "min_weight_kg": min_weight,
                "weight_limit_source": limit_source,
                "source": BAG_SOURCE,
            },
        )
        created += was_created
    return created
