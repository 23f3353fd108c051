import copy
import json
import re
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role
from checklists import starter
from checklists.governance import (
    emergency_review_pending,
    template_version_approve,
    template_version_discard,
    template_version_submit,
)
from checklists.interchange import ITEM_FIELDS, template_read
from checklists.models import (
    ITEM_CONTENT_FIELDS,
    Checklist,
    ChecklistTemplate,
    ItemCondition,
    Task,
    TemplateCondition,
    TemplateItem,
    TemplateReview,
    TemplateVersion,
)
from checklists.services import (
    template_version_new_draft,
    template_version_publish,
    template_version_validate,
)
from checklists.starter import (
    BAG_OPTIONS,
    CORRECTION_SUMMARY,
    LIBRARY,
    STARTER_FILES,
    STEP_UP_TEMPLATE,
    starter_library_load,
    starter_library_update,
    starter_texts,
)
from patients.models import CareEvent, Indication
from patients.services import course_schedule_build

from ..clinical import BAGS as CLINICAL_BAGS
from ..clinical import CRS_SIGNS, INTERACTION_DRUGS, NEUROLOGICAL_SIGNS, says
from ..factories import CourseFactory, UserFactory

CLINICAL_ROLES = {Role.PHARMACIST, Role.NURSE, Role.ONCOLOGIST, Role.CASE_MANAGER}
CYCLE_STARTS = ["Cycle 1 start (inpatient)", "Cycle 2 start", "Later cycle start (clinic)"]
PREMEDICATION = TemplateItem.Records.PREMEDICATION_TIME
RR, MRD, CONSOLIDATION = Indication.RELAPSED_REFRACTORY, Indication.MRD_POSITIVE, Indication.CONSOLIDATION
FORMER_STEP_UP = "Step-up dose (cycle 1 day 8)"


def _counts():
    return (
        ChecklistTemplate.objects.count(),
        TemplateVersion.objects.count(),
        TemplateItem.objects.count(),
        ItemCondition.objects.count(),
        TemplateCondition.objects.count(),
        TemplateItem.depends_on.through.objects.count(),
    )


def spec_named(name):
    """The library file's data for the template of this name (a copy: change it freely)."""
    data = next(data for data in map(json.loads, starter_texts()) if data["template"]["name"] == name)
    return copy.deepcopy(data)


def start_of(course, number, kind=CareEvent.Kind.CYCLE_START):
    return CareEvent.objects.get(cycle__course=course, cycle__number=number, kind=kind, scheduled=True)


def premedication_tasks(event):
    return Task.objects.filter(event=event, records=PREMEDICATION)


def template_names(events):
    return set(Checklist.objects.filter(event__in=events).values_list("template__name", flat=True))


def planned_course(patient, indication, cycles, **fields):
    course = CourseFactory(patient=patient, indication=indication, planned_cycles=cycles, **fields)
    course_schedule_build(course=course)
    return course


# --- loading ----------------------------------------------------------------------------------


def test_the_loader_creates_every_template_once(db):
    assert starter_library_load() == len(STARTER_FILES)
    first = _counts()
    assert starter_library_load() == 0
    assert _counts() == first
    assert first[0] == len(STARTER_FILES) >= 10


def test_the_loader_leaves_an_edited_template_alone(db):
    ChecklistTemplate.objects.create(name="Bag change", trigger_kind=CareEvent.Kind.BAG_CHANGE)
    assert starter_library_load() == len(STARTER_FILES) - 1
    assert not TemplateVersion.objects.filter(template__name="Bag change").exists()


def test_the_loader_counts_a_template_under_its_former_name_as_existing(db):
    ChecklistTemplate.objects.create(name=FORMER_STEP_UP, trigger_kind=CareEvent.Kind.DOSE_STEP_UP)
    assert starter_library_load() == len(STARTER_FILES) - 1
    assert not ChecklistTemplate.objects.filter(name=STEP_UP_TEMPLATE).exists()


def test_the_command_reports_how_many_were_created(db):
    out = StringIO()
    call_command("load_starter_templates", stdout=out)
    assert f"Created {len(STARTER_FILES)}" in out.getvalue()
    out = StringIO()
    call_command("load_starter_templates", stdout=out)
    assert "Created 0" in out.getvalue()


def test_the_library_command_loads_then_updates(db):
    out = StringIO()
    call_command("load_starter_library", stdout=out)
    assert f"Created {len(STARTER_FILES)}" in out.getvalue() and "Updated" not in out.getvalue()
    out = StringIO()
    call_command("load_starter_library", "--update", stdout=out)
    assert "Created 0" in out.getvalue()
    assert f"No draft written: {len(STARTER_FILES)} starter template(s) already up to date." in out.getvalue()


def _history():
    """Each template's review steps: (template, version, step, actor's username or None)."""
    return sorted(
        (review.version.template.name, review.version.number, review.step, getattr(review.actor, "username", None))
        for review in TemplateReview.objects.select_related("version__template", "actor")
    )


@pytest.mark.parametrize("by_an_admin", [True, False], ids=["by-an-admin", "by-the-system"])
def test_the_first_load_is_in_each_templates_history_as_installed_without_review(db, admin_user, by_an_admin):
    actor = admin_user if by_an_admin else None
    starter_library_load(actor=actor)
    username = admin_user.username if by_an_admin else None
    names = ChecklistTemplate.objects.values_list("name", flat=True)
    assert _history() == sorted((name, 1, TemplateReview.Step.INSTALLED, username) for name in names)
    for version in TemplateVersion.objects.all():
        assert version.published_by == actor
        assert not emergency_review_pending(version)  # installation content, not an emergency
    starter_library_load(actor=actor)
    assert len(_history()) == len(STARTER_FILES)  # nothing installed twice


@pytest.mark.parametrize("command", ["load_starter_templates", "load_starter_library"])
def test_the_commands_install_in_the_name_of_the_admin_given(db, admin_user, command):
    call_command(command, "--user", admin_user.username, stdout=StringIO())
    assert {actor for *_, actor in _history()} == {admin_user.username}


@pytest.mark.parametrize("command", ["load_starter_templates", "load_starter_library"])
def test_the_commands_refuse_a_user_who_is_not_an_admin_and_load_nothing(db, nurse, command):
    with pytest.raises(CommandError, match="not an active admin"):
        call_command(command, "--user", nurse.username, stdout=StringIO())
    with pytest.raises(CommandError, match="not an active admin"):
        call_command(command, "--user", "nobody", stdout=StringIO())
    assert not ChecklistTemplate.objects.exists()


def test_the_library_files_give_every_content_field_of_every_item():
    """A new ItemContent field must be added to the format and to the library's files too."""
    assert sorted(path.name for path in LIBRARY.glob("*.json")) == sorted(STARTER_FILES)
    for text in starter_texts():
        for item in json.loads(text)["items"]:
            assert list(item) == list(ITEM_FIELDS)
            assert set(ITEM_CONTENT_FIELDS) <= set(item)


def test_every_item_of_the_library_names_its_source():
    for text in starter_texts():
        data = json.loads(text)
        for item in data["items"]:
            assert item["source"].strip(), (data["template"]["name"], item["text"])


def test_the_library_spells_the_bag_options_as_the_bag_item_does():
    bag = next(i for i in spec_named("Cycle 1 start (inpatient)")["items"] if i["text"].startswith("Bag duration"))
    assert bag["choices"] == BAG_OPTIONS


# --- what the items say -------------------------------------------------------------------------
# Each against shared/CLINICAL.md, read from the library's files (tests/clinical.py holds the facts
# written out from it): a wrong dose, limit or list in a file fails here.


def library_items():
    """(template name, item) for every item of the library."""
    for data in map(json.loads, starter_texts()):
        for item in data["items"]:
            yield data["template"]["name"], item


def items_starting(words):
    return [(name, item) for name, item in library_items() if item["text"].startswith(words)]


def conditions_of(item):
    return [(c["fact"], c["operator"], c["value"]) for c in item["conditions"]]


def test_the_bag_options_are_the_makers_durations_rates_and_preservative():
    """CLINICAL.md: 24 h (10 mL/h), 48 h (5 mL/h), 72 h (1.8 mL/h), 96 h (1.8 mL/h), 7 days (0.6 mL/h);
    72 h, 96 h and 7-day bags with preservative (benzyl alcohol), 24 h and 48 h preservative-free."""
    assert len(BAG_OPTIONS) == len(CLINICAL_BAGS)
    for option, (hours, rate, preservative) in zip(BAG_OPTIONS, CLINICAL_BAGS, strict=True):
        duration = "7 days" if hours == 168 else f"{hours} h"
        assert option.startswith(f"{duration} ({rate} mL/h"), option
        assert ("benzyl alcohol" in option) is preservative, option
    (said,) = {item["help_text"] for _, item in library_items() if item["records"] == "bag_duration"}
    assert "72 h, 96 h and 7-day bags are made with bacteriostatic saline (benzyl alcohol)" in said
    assert "24 h and 48 h bags are preservative-free" in said
    assert "stabiliser is added to every bag" in said


def test_the_dose_bands_are_clinical_md_s_by_weight_and_by_body_surface_area_under_45_kg():
    """CLINICAL.md: 9 mcg/day days 1–7 then 28 mcg/day where the step-up applies, 28 mcg/day
    otherwise; under 45 kg by body-surface area, 5 mcg/m²/day (max 9 mcg/day) where the step-up
    applies, 15 mcg/m²/day (max 28 mcg/day) otherwise."""
    bands = items_starting("Dose band verified") + items_starting("BSA-based dose verified")
    assert len(bands) == 14  # 4 in each cycle start, 2 in the step-up's
    for name, item in bands:
        text, where = item["text"], (name, item["text"])
        by_weight = [c for c in conditions_of(item) if c[0] == "weight_kg"]
        if text.startswith("Dose band"):
            assert by_weight == [("weight_kg", "ge", "45")] and "at least 45 kg" in text, where
            assert says(text, "28 mcg/day"), where
            assert not says(text, "mcg/m²"), where
            if says(text, "9 mcg/day"):
                assert "9 mcg/day days 1–7, then 28 mcg/day from day 8" in text, where
        else:
            assert by_weight == [("weight_kg", "lt", "45")] and "under 45 kg" in text, where
            assert "15 mcg/m²/day (not above 28 mcg/day)" in text, where
            if says(text, "5 mcg/m²/day"):
                assert "5 mcg/m²/day (not above 9 mcg/day), then 15 mcg/m²/day" in text and "day 8" in text, where
            assert "Mosteller" in item["help_text"], where
    # The step-up band is only where the step-up applies: relapsed/refractory cycle 1, or a cycle
    # repeating its step-up; a flat 28 mcg/day start says "no step-up" on cycle 1.
    for name, item in bands:
        step_up = says(item["text"], "9 mcg/day") or says(item["text"], "5 mcg/m²/day")
        facts = conditions_of(item)
        if not step_up:
            continue
        assert ("indication", "eq", "relapsed_refractory") in facts or ("step_up_cycle", "eq", "yes") in facts, name


def test_the_restart_dose_is_9_mcg_a_day_and_re_escalates_after_7_days():
    """CLINICAL.md: after a grade 3 toxicity "restart at 9 mcg/day (children 5 mcg/m²/day) and escalate
    to 28 mcg/day (15 mcg/m²/day) after 7 days without recurrence"."""
    restarts = items_starting("Restart dose verified") + items_starting("Restart dose ordered")
    assert len(restarts) == 3
    for name, item in restarts:
        said = item["help_text"]
        assert says(said, "9 mcg/day") and says(said, "5 mcg/m²/day"), name
        assert says(said, "7 days"), name
    (description,) = [d["template"]["description"] for d in map(json.loads, starter_texts()) if
                      d["template"]["name"] == STEP_UP_TEMPLATE]  # fmt: skip
    assert "9 to 28 mcg/day" in description and "5 to 15 mcg/m²/day" in description
    assert "cycle 1 day 8" in description and "re-escalation 7 days after a restart" in description


def test_the_library_words_the_days_in_hospital_and_the_rests_as_the_regimen_table():
    """CLINICAL.md, "Regimens by indication": in hospital cycle 1 days 1–9 (relapsed/refractory) or
    days 1–3 (MRD-positive, consolidation), cycle 2 days 1–2; rests 14 days after cycles 1–5 and 56
    after cycles 6–9 (relapsed/refractory), 14 (MRD-positive), set by the chemotherapy plan
    (consolidation); the step-up on day 8 for relapsed/refractory only."""
    cycle_1 = spec_named("Cycle 1 start (inpatient)")
    indication = next(item for item in cycle_1["items"] if item["text"].startswith("Indication confirmed"))
    assert indication["choices"] == [
        "Relapsed/refractory: step-up on day 8, days 1–9 in hospital",
        "MRD-positive: no step-up, days 1–3 in hospital",
        "Consolidation: no step-up, days 1–3 in hospital",
    ]
    said = cycle_1["template"]["description"]
    assert "days 1–9 for relapsed/refractory, days 1–3 for MRD-positive and consolidation" in said
    assert "starts at 9 mcg/day with a step-up on day 8" in said and "others start at 28 mcg/day" in said
    assert "days 1–2 in hospital for every indication" in spec_named("Cycle 2 start")["template"]["description"]
    rests = [
        spec_named("Later cycle start (clinic)")["template"]["description"],
        next(i["help_text"] for i in spec_named("Cycle end")["items"] if i["text"].startswith("Next cycle or rest")),
    ]
    for said in rests:
        assert says(said, "14 days after cycles 1–5") and re.search(r"(?<!\d)56 (days )?after cycles 6–9", said), said
        assert re.search(r"MRD-positive:? 14 days", said) and "chemotherapy plan" in said, said
    (discharge,) = [i for i in spec_named("Cycle 2 start")["items"] if i["text"].endswith("discharge on day 3")]
    assert conditions_of(discharge) == [("step_up_cycle", "eq", "no")]  # 2 days in hospital: home on day 3


def test_the_labs_item_interrupts_at_5_times_the_transaminases_or_3_times_the_bilirubin():
    """CLINICAL.md: "Liver: interrupt if transaminases exceed 5× the upper limit of normal or bilirubin
    3×. Before the start: liver tests including GGT"."""
    labs = items_starting("Labs reviewed")
    assert sorted(name for name, _ in labs) == sorted(CYCLE_STARTS)
    for name, item in labs:
        said = item["help_text"]
        assert says(said, "5× the upper limit of normal") and says(said, "bilirubin 3×"), name
        assert "GGT" in item["text"], name


def test_the_interaction_review_lists_the_seeds_drugs_and_the_live_vaccine_rule():
    """CLINICAL.md: the seed's 22 interacting drugs; "No live vaccines in the 2 weeks before, during
    treatment, or until immune recovery"."""
    reviews = items_starting("Interaction review")
    assert sorted(name for name, _ in reviews) == sorted(CYCLE_STARTS)
    for name, item in reviews:
        said = item["help_text"]
        listed = said.split("Drugs listed in the patient information: ")[1].rstrip(".").split(", ")
        assert listed == INTERACTION_DRUGS, name
        assert "No live vaccines in the 2 weeks before, during treatment, or until immune recovery" in said, name


def test_where_a_line_is_primed_it_is_dedicated_with_a_filter_and_never_flushed():
    """CLINICAL.md: "Programmable, lockable, non-elastomeric pump with an alarm. Dedicated line with a
    0.2 µm low-protein-binding in-line filter. Never flush the line"."""
    primed = items_starting("Dedicated line primed")
    assert sorted(name for name, _ in primed) == sorted([*CYCLE_STARTS, "Restart after an interruption"])
    for name, item in primed:
        assert "0.2 µm low-protein-binding in-line filter" in item["text"], name
        siblings = [i for n, i in library_items() if n == name]
        assert any("do not flush" in i["text"] and "bolus" in i["text"] for i in siblings), name
        pump = next(i for i in siblings if i["text"].startswith("Pump programmed"))
        assert "Programmable, lockable, non-elastomeric pump with an alarm" in pump["help_text"], name


def test_the_assessment_items_name_the_signs_clinical_md_lists():
    """CLINICAL.md, what to watch: the signs of CRS and of neurological toxicity (seed)."""
    assessments = [(n, i) for n, i in library_items() if "CRS and ICANS assessment recorded" in i["text"]]
    assert assessments
    for name, item in assessments:
        said = item["help_text"].lower()
        for sign in [*CRS_SIGNS, *NEUROLOGICAL_SIGNS]:
            assert sign in said, (name, sign)
        assert "ice score" in said and "capd" in said, name


# --- the checklists that courses get ----------------------------------------------------------


# --- the update ---------------------------------------------------------------------------------

OLD_PREMEDICATION = {
    "key": "5f0c3d52-7a8e-4d8b-9f1e-2b6a0c4e8d11",
    "section": "Before the infusion",
    "order": 99,
    "text": "Dexamethasone given",
    "help_text": "",
    "role": "nurse",
    "due_offset_minutes": -60,
    "response_kind": "checkbox",
    "unit": "",
    "min_value": None,
    "max_value": None,
    "choices": [],
    "failing_choices": [],
    "required": True,
    "hard_stop": False,
    "needs_verification": False,
    "verifier_role": "",
    "records": "",
    "source": "",
    "conditions": [],
    "depends_on": [],
}


def _without(data, text):
    """The file's data without the item of this text, nor the dependencies on it."""
    gone = next(item["key"] for item in data["items"] if item["text"] == text)
    data["items"] = [item for item in data["items"] if item["key"] != gone]
    for item in data["items"]:
        item["depends_on"] = [key for key in item["depends_on"] if key != gone]
    return data


def _old_library(*, keys_of_their_own=False):
    """The library as an earlier release loaded it: the step-up under its former name, and a bag
    change without the pump rate; the rest as today. `keys_of_their_own`: loaded before the
    files, when each installation drew its own item keys."""
    step_up = _without(spec_named(STEP_UP_TEMPLATE), "Premedication given: record the time")
    step_up["template"]["name"] = FORMER_STEP_UP
    step_up["template"]["description"] = "Cycle 1 day 8: the dose steps up; dexamethasone before it."
    step_up["items"].append(OLD_PREMEDICATION)
    bag_change = _without(spec_named("Bag change"), "Pump rate entered (mL/h)")
    label = next(item["key"] for item in bag_change["items"] if item["text"].startswith("Bag label checked"))
    for item in bag_change["items"]:
        if item["text"].startswith("Pump rate matches"):
            item["depends_on"] = [label]
    for data in (step_up, bag_change):
        if keys_of_their_own:
            renamed = {item["key"]: str(uuid.uuid4()) for item in data["items"]}
            for item in data["items"]:
                item["key"] = renamed[item["key"]]
                item["depends_on"] = [renamed[key] for key in item["depends_on"]]
        starter._create(data, actor=None)
    starter_library_load()


def _published():
    return sorted(
        TemplateVersion.objects.filter(status=TemplateVersion.Status.PUBLISHED).values_list("pk", "published_at")
    )


def _settings():
    return sorted(
        (t.name, t.trigger_kind, t.description, t.approver_role, starter._template_conditions(t))
        for t in ChecklistTemplate.objects.prefetch_related("conditions")
    )


@pytest.mark.parametrize("keys_of_their_own", [False, True], ids=["loaded-from-the-files", "loaded-before-them"])
def test_the_update_writes_the_corrections_as_drafts_for_the_owners_to_review(db, admin_user, keys_of_their_own):
    _old_library(keys_of_their_own=keys_of_their_own)
    assert ChecklistTemplate.objects.count() == len(STARTER_FILES)
    old_label = TemplateItem.objects.get(version__template__name="Bag change", text__startswith="Bag label checked")
    published, settings, history = _published(), _settings(), _history()

    result = starter_library_update(actor=admin_user)

    assert sorted(result.drafted) == sorted([FORMER_STEP_UP, "Bag change"])
    assert result.skipped == {}
    assert len(result.unchanged) == len(STARTER_FILES) - 2
    # Nothing is published, and no setting changes: the owners change those on the template's page.
    assert (_published(), _settings(), _history()) == (published, settings, history)
    assert result.settings == {FORMER_STEP_UP: [f"name: “{STEP_UP_TEMPLATE}”", "description"]}
    for name in (FORMER_STEP_UP, "Bag change"):
        template = ChecklistTemplate.objects.get(name=name)
        versions = [(v.number, v.status, v.change_summary) for v in template.versions.order_by("number")]
        assert versions == [
            (1, TemplateVersion.Status.PUBLISHED, "Starter library"),
            (2, TemplateVersion.Status.DRAFT, CORRECTION_SUMMARY),
        ]
        draft = template.versions.get(number=2)
        assert list(draft.authors.all()) == [admin_user]  # who brought it in does not approve it
        template_version_validate(draft)
        spec = template_read(spec_named(STEP_UP_TEMPLATE if name == FORMER_STEP_UP else name))
        assert starter.version_content(draft) == starter.spec_content(spec)
    new_label = TemplateItem.objects.get(
        version__template__name="Bag change", version__number=2, text__startswith="Bag label checked"
    )
    assert new_label.key == old_label.key  # the same item across versions

    counts = _counts()
    again = starter_library_update(actor=admin_user)
    assert again.drafted == {} and again.skipped == dict.fromkeys(
        [FORMER_STEP_UP, "Bag change"], "it has an open draft"
    )
    assert _counts() == counts


BAG_CHECKED_TEMPLATES = (
    "Bag change",
    "Restart after an interruption",
    "Cycle 1 start (inpatient)",
    "Cycle 2 start",
    "Later cycle start (clinic)",
    "Dose step-up or re-escalation",
)


def test_a_library_whose_bag_items_were_plain_ticks_gets_the_bag_check_as_a_draft_to_review(db, admin_user):
    """An installation loaded before the bag items were checked against the bag record: its
    published versions stay as they are (their checklists with them); the check comes as a draft."""
    for name in BAG_CHECKED_TEMPLATES:
        data = spec_named(name)
        for item in data["items"]:
            item["records"] = "" if item["records"] == "bag_prepared" else item["records"]
        starter._create(data, actor=None)
    starter_library_load()
    published = _published()

    result = starter_library_update(actor=admin_user)

    assert sorted(result.drafted) == sorted(BAG_CHECKED_TEMPLATES) and _published() == published
    for name in BAG_CHECKED_TEMPLATES:
        template = ChecklistTemplate.objects.get(name=name)
        before = template.versions.get(status=TemplateVersion.Status.PUBLISHED)
        assert not before.items.filter(records=TemplateItem.Records.BAG_PREPARED).exists()
        (checked,) = result.drafted[name].items.filter(records=TemplateItem.Records.BAG_PREPARED)
        assert before.items.filter(key=checked.key, role=Role.PHARMACIST).exists()  # the same item, now checked


def test_the_corrections_are_published_by_a_second_admin_and_then_the_library_is_current(db, admin_user):
    _old_library()
    starter_library_update(actor=admin_user)
    reviewer = UserFactory(is_staff=True, role=Role.PHARMACIST)
    draft = TemplateVersion.objects.get(template__name="Bag change", status=TemplateVersion.Status.DRAFT)
    submitted = template_version_submit(version=draft, actor=admin_user, change_summary=draft.change_summary)
    assert starter_library_update().skipped["Bag change"] == "it has a draft in review"
    template_version_approve(version=submitted, actor=reviewer)

    published = ChecklistTemplate.objects.get(name="Bag change").versions.get(status=TemplateVersion.Status.PUBLISHED)
    assert (published.number, published.change_summary, published.published_by) == (2, CORRECTION_SUMMARY, reviewer)
    assert published.items.filter(records=TemplateItem.Records.PUMP_RATE).exists()
    assert [review.step for review in published.reviews.all()] == ["submitted", "approved"]
    result = starter_library_update()
    assert "Bag change" in result.unchanged and "Bag change" not in result.drafted


def test_the_update_leaves_a_template_with_an_open_draft_alone(db, admin_user):
    _old_library()
    template = ChecklistTemplate.objects.get(name="Bag change")
    draft = template_version_new_draft(template=template, actor=admin_user)
    result = starter_library_update()
    assert result.skipped == {"Bag change": "it has an open draft"}
    assert FORMER_STEP_UP in result.drafted
    assert list(template.versions.values_list("number", "status")) == [(2, "draft"), (1, "published")]
    assert not draft.items.filter(records=TemplateItem.Records.PUMP_RATE).exists()


def test_once_the_open_draft_is_discarded_the_update_drafts_the_corrections(db, admin_user):
    _old_library()
    template = ChecklistTemplate.objects.get(name="Bag change")
    draft = template_version_new_draft(template=template, actor=admin_user)
    assert starter_library_update().skipped == {"Bag change": "it has an open draft"}

    template_version_discard(version=draft, actor=admin_user, reason="Started by mistake; the library brings it.")
    result = starter_library_update(actor=admin_user)

    assert result.drafted["Bag change"].number == 3
    assert list(template.versions.values_list("number", "status")) == [
        (3, "draft"),
        (2, "discarded"),
        (1, "published"),
    ]
    assert result.drafted["Bag change"].items.filter(records=TemplateItem.Records.PUMP_RATE).exists()


def test_the_update_leaves_a_local_edit_alone_unless_forced_and_then_only_drafts(db, admin_user):
    _old_library()
    template = ChecklistTemplate.objects.get(name="Bag change")
    draft = template_version_new_draft(template=template, actor=admin_user)
    draft.items.filter(text="IV site clean, line not flushed").update(text="IV site clean, line never flushed")
    template_version_publish(version=draft, actor=admin_user, change_summary="Our wording")

    result = starter_library_update()
    assert "Bag change" in result.skipped and "Bag change" not in result.drafted
    assert template.versions.get(status="published").change_summary == "Our wording"

    published = _published()
    result = starter_library_update(actor=admin_user, force=True)
    assert "Bag change" in result.drafted
    assert _published() == published  # the institution's approved version stays published
    assert template.versions.get(status="published").change_summary == "Our wording"
    proposed = template.versions.get(status="draft")
    assert (proposed.number, proposed.change_summary) == (3, CORRECTION_SUMMARY)
    assert proposed.items.filter(records=TemplateItem.Records.PUMP_RATE).exists()


def test_the_library_command_says_which_templates_got_a_draft_to_review(db):
    _old_library()
    published = _published()
    out = StringIO()
    call_command("load_starter_library", "--update", stdout=out)
    said = out.getvalue()
    assert "Created 0" in said
    assert "Wrote the library's corrections as a draft of 2 starter template(s)" in said
    assert "nothing is published until another admin approves it" in said
    assert "  draft to review: Bag change (v2)" in said
    assert f"  draft to review: {FORMER_STEP_UP} (v2)" in said
    assert f"  settings differ: {FORMER_STEP_UP}: name: “{STEP_UP_TEMPLATE}”, description" in said
    assert "Renamed" not in said and "Updated" not in said
    assert _published() == published
