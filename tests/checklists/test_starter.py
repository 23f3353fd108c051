import copy
import json
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
