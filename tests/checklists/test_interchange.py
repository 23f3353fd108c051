"""Template files in and out (checklists.interchange): the format, the round trip, every refusal,
the pages and the commands."""

import json
import re
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils.html import escape

from accounts.models import AuditEvent
from checklists.conditions import FACTS
from checklists.interchange import (
    FORMAT,
    ITEM_FIELDS,
    template_import,
    template_read,
    template_version_export,
    template_version_export_json,
)
from checklists.models import (
    ITEM_CONTENT_FIELDS,
    ChecklistAuditAction,
    ChecklistTemplate,
    ItemCondition,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
)
from checklists.services import template_version_new_draft
from checklists.starter import LIBRARY, STARTER_FILES, starter_library_load, starter_texts

from ..accounts.helpers import verified_login
from .helpers import publish_template

SAMPLE = "bag-change.json"  # numbers with limits, failing options, conditions, dependencies


def _counts():
    return (
        ChecklistTemplate.objects.count(),
        TemplateVersion.objects.count(),
        TemplateItem.objects.count(),
        ItemCondition.objects.count(),
        TemplateCondition.objects.count(),
        TemplateItem.depends_on.through.objects.count(),
    )


def sample() -> dict:
    return json.loads((LIBRARY / SAMPLE).read_text(encoding="utf-8"))


def item(data: dict, order: int) -> dict:
    return next(row for row in data["items"] if row["order"] == order)


class _Undo(Exception):
    """Raised to roll a block back: what it wrote never was."""


def _in_a_database_that_forgets(work):
    """`work()`'s result, with everything it wrote rolled back."""
    result = {}
    try:
        with transaction.atomic():
            result["value"] = work()
            raise _Undo
    except _Undo:
        pass
    return result["value"]


@pytest.fixture
def staff(client, admin_user):
    verified_login(client, admin_user)
    return client


# --- the format and the round trip ---------------------------------------------------------------


def test_the_library_files_are_what_the_export_writes_and_survive_a_round_trip(db, admin_user):
    """Every starter template: its file is byte for byte the export of the loaded library; that
    export, imported into a database with no templates and exported again, is the same file."""

    def load_and_export():
        starter_library_load()
        return {
            version.template.name: template_version_export_json(version)
            for version in TemplateVersion.objects.select_related("template")
        }

    exported = _in_a_database_that_forgets(load_and_export)
    files = dict(zip([json.loads(text)["template"]["name"] for text in starter_texts()], starter_texts(), strict=True))
    assert exported == files and len(files) == len(STARTER_FILES)

    assert not ChecklistTemplate.objects.exists()
    for name, text in exported.items():
        draft = template_import(text, actor=admin_user)
        assert draft.status == TemplateVersion.Status.DRAFT
        assert template_version_export_json(draft) == text, name


def _hand_made_export():
    version = publish_template(
        name="Cycle 1 start, our ward",
        conditions=[("cycle_number", "eq", "1"), ("indication", "in", "mrd_positive,consolidation")],
        items=[
            {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": "1.5", "max_value": 300},
            {
                "text": "Bag",
                "role": "pharmacist",
                "response_kind": "choice",
                "choices": ["24 h", "7 days"],
                "failing_choices": ["7 days"],
                "hard_stop": True,
                "conditions": [("weight_kg", "lt", "22"), ("setting", "eq", "home")],
                "source": "Institution policy «bags», 2026",
            },
            {"text": "Pump locked", "needs_verification": True, "verifier_role": "nurse", "due_offset_minutes": -90},
        ],
        dependencies=[("Pump locked", "Weight"), ("Pump locked", "Bag")],
    )
    ChecklistTemplate.objects.filter(pk=version.template_id).update(approver_role="pharmacist", description="Ours")
    return template_version_export_json(TemplateVersion.objects.get(pk=version.pk))


def test_a_hand_made_template_survives_the_round_trip_with_its_settings(db, admin_user):
    text = _in_a_database_that_forgets(_hand_made_export)
    data = json.loads(text)
    assert list(data) == ["format", "format_version", "template", "version", "items"]
    assert data["template"]["approver_role"] == "pharmacist"
    assert data["template"]["conditions"] == [
        {"fact": "cycle_number", "operator": "eq", "value": "1"},
        {"fact": "indication", "operator": "in", "value": "mrd_positive,consolidation"},
    ]
    assert [list(row) for row in data["items"]] == [list(ITEM_FIELDS)] * 3
    assert item(data, 1)["min_value"] == "1.5" and item(data, 1)["max_value"] == "300"
    assert sorted(item(data, 3)["depends_on"]) == sorted([item(data, 1)["key"], item(data, 2)["key"]])
    assert "«bags»" in text  # UTF-8 kept as it is, not escaped
    assert text.endswith("}\n") and '\n  "format_version": 1,' in text

    assert not ChecklistTemplate.objects.exists()
    draft = template_import(text, actor=admin_user)
    assert draft.template.approver_role == "pharmacist"
    assert template_version_export_json(draft) == text


def test_an_import_is_a_draft_by_the_importer_with_every_part_of_the_file(db, admin_user):
    data = sample()
    draft = template_import(data, actor=admin_user)
    template = draft.template
    assert (template.name, template.trigger_kind, template.description) == (
        "Bag change",
        "bag_change",
        data["template"]["description"],
    )
    assert (draft.number, draft.status, draft.change_summary) == (1, "draft", "Starter library")
    assert list(draft.authors.all()) == [admin_user]
    items = {str(row.key): row for row in draft.items.prefetch_related("conditions", "depends_on")}
    assert set(items) == {row["key"] for row in data["items"]}
    for row in data["items"]:
        stored = items[row["key"]]
        for name in ("order", "text", "role", "source", "hard_stop", "choices", "failing_choices", "records"):
            assert getattr(stored, name) == row[name], name
        assert sorted((c.fact, c.operator, c.value) for c in stored.conditions.all()) == sorted(
            (c["fact"], c["operator"], c["value"]) for c in row["conditions"]
        )
        assert sorted(str(dep.key) for dep in stored.depends_on.all()) == sorted(row["depends_on"])
    logged = AuditEvent.objects.filter(action=ChecklistAuditAction.IMPORT, actor_id=admin_user.pk)
    assert logged.filter(object_type__icontains="templateversion").exists()


def test_an_import_into_an_existing_template_is_its_next_draft_and_keeps_its_settings(db, admin_user):
    starter_library_load()
    template = ChecklistTemplate.objects.get(name="Bag change")
    published = template.versions.get()
    data = sample()
    data["template"]["description"] = "Someone else's words"
    item(data, 9)["text"] = "IV site clean, line never flushed"

    draft = template_import(data, actor=admin_user)

    assert (draft.template_id, draft.number, draft.status) == (template.pk, 2, "draft")
    assert draft.settings_kept == ["description"]
    template.refresh_from_db()
    assert template.description != "Someone else's words"
    # The same items across versions: the keys match, so the comparison sees one change.
    assert set(draft.items.values_list("key", flat=True)) == set(published.items.values_list("key", flat=True))
    assert template.versions.get(status="published") == published  # never published by itself


def test_an_export_of_a_draft_writes_its_dependencies_by_key(db, admin_user):
    version = publish_template(items=[{"text": "A"}, {"text": "B"}], dependencies=[("B", "A")])
    draft = template_version_new_draft(template=version.template, actor=admin_user)
    data = template_version_export(draft)
    a, b = data["items"]
    assert b["depends_on"] == [a["key"]] and a["depends_on"] == []
    assert set(a) == {"key", *ITEM_CONTENT_FIELDS, "conditions", "depends_on"}


# --- refusals: a clear message, nothing created ---------------------------------------------------


def _set(path, value):
    def change(data):
        target = data
        for step in path[:-1]:
            target = item(data, step) if isinstance(step, int) and target is data else target[step]
        target[path[-1]] = value

    return change


def _delete(order, name):
    def change(data):
        del item(data, order)[name]

    return change


def _cycle(data):
    item(data, 5)["depends_on"] = [item(data, 7)["key"]]  # 7 waits for 6, 6 for 5, 5 for 7


def _duplicate(name):
    def change(data):
        item(data, 3)[name] = item(data, 2)[name]

    return change


CHECKBOX = "Next bag compounded, labelled, recorded for this change and dispatched"
BAD_DATA = {
    "unknown format": (_set(["format"], "fhir/questionnaire"), "Unknown format “fhir/questionnaire”"),
    "unknown format version": (_set(["format_version"], 2), "Unknown format_version 2"),
    "format version as text": (_set(["format_version"], "1"), "Unknown format_version 1"),
    "unknown top-level field": (_set(["comment"], "hello"), "Field comment: unknown to this format version."),
    "unknown item field": (
        _set([1, "colour"], "red"),
        f"Item 1 ({CHECKBOX}), field colour: unknown to this format version.",
    ),
    "missing item field": (_delete(1, "role"), f"Item 1 ({CHECKBOX}), field role: missing."),
    "boolean as text": (_set([1, "required"], "yes"), f"Item 1 ({CHECKBOX}), field required: must be true or false"),
    "order as text": (_set([1, "order"], "1"), "field order: must be a whole number, not text."),
    "limit as a float": (_set([6, "min_value"], 0.1), "field min_value: must be a number written as text"),
    "limit with 3 decimals": (_set([6, "min_value"], "0.125"), "field min_value: Ensure that there are no more than 2"),
    "unknown role": (_set([1, "role"], "surgeon"), f"Item 1 ({CHECKBOX}), field role: Value 'surgeon' is not a valid"),
    "unknown fact": (
        _set([2, "conditions"], [{"fact": "height_cm", "operator": "lt", "value": "120"}]),
        "Item 2 (Patient under 22 kg: no 7-day bag), condition 1, field fact: Unknown fact “height_cm”.",
    ),
    "unknown operator": (
        _set([2, "conditions"], [{"fact": "weight_kg", "operator": "under", "value": "22"}]),
        "condition 1, field operator: Unknown operator “under”.",
    ),
    "bad condition value": (
        _set([2, "conditions"], [{"fact": "weight_kg", "operator": "lt", "value": "heavy"}]),
        "condition 1, field value: Weight (kg) needs a number, not “heavy”.",
    ),
    "condition with a field too many": (
        _set([2, "conditions"], [{"fact": "weight_kg", "operator": "lt", "value": "22", "unit": "kg"}]),
        "condition 1, field unit: unknown to this format version.",
    ),
    "unknown template condition fact": (
        _set(["template", "conditions"], [{"fact": "moon", "operator": "eq", "value": "full"}]),
        "Template, condition 1, field fact: Unknown fact “moon”.",
    ),
    "dependency on an unknown key": (
        _set([4, "depends_on"], ["00000000-0000-0000-0000-000000000001"]),
        "field depends_on: no item of this file has the key 00000000-0000-0000-0000-000000000001.",
    ),
    "dependency that is not a key": (_set([4, "depends_on"], ["item 1"]), "field depends_on: must be an item key"),
    "dependency cycle": (_cycle, "the items wait for each other in a circle: Item "),
    "hard stop on a checkbox": (
        _set([1, "hard_stop"], True),
        f"Item 1 ({CHECKBOX}), field hard_stop: Only a number with limits or a single choice with failing options "
        "can fail.",
    ),
    "failing option not among the options": (
        _set([2, "failing_choices"], ["14 days"]),
        "field failing_choices: Not among the options: 14 days.",
    ),
    "duplicate order": (
        _duplicate("order"),
        "Item 2 (Patient under 5.4 kg: preservative-free bag only), field order: 2 is also the order of Item 2 "
        "(Patient under 22 kg: no 7-day bag).",
    ),
    "duplicate key": (_duplicate("key"), "field key: "),
    "text too long": (
        _set([1, "text"], "x" * 501),
        "field text: Ensure this value has at most 500 characters (it has 501).",
    ),
    "source too long": (_set([1, "source"], "y" * 301), "field source: Ensure this value has at most 300 characters"),
    "offset beyond 30 days": (_set([1, "due_offset_minutes"], 50000), "field due_offset_minutes: An item is due at"),
    "null character": (_set([1, "help_text"], "a\x00b"), "field help_text: contains a null character."),
    "unknown trigger": (_set(["template", "trigger_kind"], "birthday"), "Template, field trigger_kind: Value"),
    "empty name": (_set(["template", "name"], ""), "Template, field name: This field cannot be blank."),
    "summary too long": (_set(["version", "change_summary"], "z" * 501), "Version, field change_summary: Ensure"),
    "no items": (_set(["items"], []), "Field items: must be a list of at least one item."),
}


@pytest.mark.parametrize("change,expected", BAD_DATA.values(), ids=BAD_DATA.keys())
def test_a_bad_file_is_refused_with_a_message_naming_the_place_and_nothing_is_created(db, admin_user, change, expected):
    data = sample()
    change(data)
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        template_import(json.dumps(data, ensure_ascii=False), actor=admin_user)
    assert any(expected in message for message in refused.value.messages), refused.value.messages
    assert _counts() == before
    assert not AuditEvent.objects.filter(action=ChecklistAuditAction.IMPORT).exists()


BAD_TEXT = {
    "invalid JSON": ('{\n  "format": "care-tracker/checklist-template"\n  "x": 1\n}', "at line 3, column 3."),
    "not an object": ("[1, 2]", "it must be a JSON object"),
    "a name twice": ('{"format": 1, "format": 2}', "The file names “format” twice"),
    "nested too deeply": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "not UTF-8": (b'{"format": "\xff"}', "not UTF-8 text"),
}


@pytest.mark.parametrize("text,expected", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_a_file_that_is_not_a_template_is_refused(db, admin_user, text, expected):
    with pytest.raises(ValidationError) as refused:
        template_import(text, actor=admin_user)
    assert expected in " ".join(refused.value.messages)
    assert _counts() == (0, 0, 0, 0, 0, 0)


def test_ten_megabytes_are_refused_before_they_are_parsed(db, admin_user, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr("checklists.interchange.json.loads", never)
    with pytest.raises(ValidationError, match=r"The file is 10.0 MB; a template file is at most 1 MB."):
        template_import("x" * (10 * 1024 * 1024), actor=admin_user)
    assert _counts() == (0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("status", ["draft", "in_review"])
def test_an_import_is_refused_while_the_template_has_an_unpublished_version(db, admin_user, status):
    starter_library_load()
    template = ChecklistTemplate.objects.get(name="Bag change")
    draft = template_version_new_draft(template=template, actor=admin_user)
    TemplateVersion.objects.filter(pk=draft.pk).update(status=status)
    before = _counts()
    said = "in review" if status == "in_review" else "as a draft"
    with pytest.raises(ValidationError, match=f"“Bag change” already has v2 {said}: publish it, or discard it"):
        template_import(sample(), actor=admin_user)
    assert _counts() == before


def test_an_import_is_refused_into_a_template_of_another_trigger(db, admin_user):
    ChecklistTemplate.objects.create(name="Bag change", trigger_kind="discharge_home")
    before = _counts()
    with pytest.raises(ValidationError, match="Template, field trigger_kind: “Bag change” here is triggered by"):
        template_import(sample(), actor=admin_user)
    assert _counts() == before


def test_every_problem_of_a_file_is_said_at_once(db, admin_user):
    data = sample()
    item(data, 1)["hard_stop"] = True
    item(data, 4)["role"] = "surgeon"
    with pytest.raises(ValidationError) as refused:
        template_import(data, actor=admin_user)
    assert [message.split(", field")[0] for message in refused.value.messages] == [
        f"Item 1 ({CHECKBOX})",
        "Item 4 (Next bag delivery to the home confirmed)",
    ]


# --- the pages ------------------------------------------------------------------------------------


def _upload(content: bytes, name="bag-change.json"):
    return SimpleUploadedFile(name, content, content_type="application/json")


def test_the_import_page_makes_a_draft_and_opens_its_editor(staff, admin_user):
    page = staff.get(reverse("checklists:template_import"))
    assert page.status_code == 200 and b'type="file"' in page.content
    response = staff.post(reverse("checklists:template_import"), {"file": _upload((LIBRARY / SAMPLE).read_bytes())})
    draft = TemplateVersion.objects.get(template__name="Bag change")
    assert response.status_code == 302 and response["Location"] == reverse("checklists:draft_edit", args=[draft.pk])
    assert draft.status == "draft" and list(draft.authors.all()) == [admin_user]
    shown = staff.get(response["Location"])
    assert "Bag change v1 is imported as a draft" in shown.content.decode()


@pytest.mark.parametrize(
    "content,expected",
    [
        (json.dumps({**sample(), "format_version": 7}).encode(), "Unknown format_version 7"),
        (b"{ not json", "The file is not valid JSON: Expecting property name enclosed in double quotes at line 1"),
        (b" " * (10 * 1024 * 1024), "The file is 10.0 MB; a template file is at most 1 MB."),
    ],
    ids=["unknown version", "invalid JSON", "10 MB"],
)
def test_the_import_page_shows_the_problem_at_the_file_field(staff, content, expected):
    response = staff.post(reverse("checklists:template_import"), {"file": _upload(content)})
    assert response.status_code == 200
    assert any(expected in error for error in response.context["form"].errors["file"])
    assert escape(expected) in response.content.decode()
    assert _counts() == (0, 0, 0, 0, 0, 0)


def test_the_import_page_names_the_item_and_field_of_a_refused_file(staff):
    data = sample()
    item(data, 1)["hard_stop"] = True
    response = staff.post(reverse("checklists:template_import"), {"file": _upload(json.dumps(data).encode())})
    assert response.context["form"].errors["file"] == [
        f"Item 1 ({CHECKBOX}), field hard_stop: Only a number with limits or a single choice with failing "
        "options can fail."
    ]
    assert not ChecklistTemplate.objects.exists()


def test_the_version_page_downloads_the_file_and_logs_the_export(staff, admin_user):
    starter_library_load()
    version = TemplateVersion.objects.get(template__name="Bag change")
    page = staff.get(reverse("checklists:version_detail", args=[version.pk]))
    assert reverse("checklists:version_export", args=[version.pk]) in page.content.decode()
    assert reverse("checklists:template_import") in staff.get(reverse("checklists:template_list")).content.decode()

    response = staff.get(reverse("checklists:version_export", args=[version.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="bag-change-v1.json"'
    assert response.content == (LIBRARY / SAMPLE).read_bytes()
    exported = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert (exported.actor_id, exported.object_type, exported.object_id) == (
        admin_user.pk,
        "checklists.templateversion",
        str(version.pk),
    )


@pytest.mark.parametrize("name", ["template_import", "version_export"])
def test_the_pages_refuse_a_clinician(client, nurse, name):
    version = publish_template(items=[{"text": "A"}])
    client.force_login(nurse)
    args = [version.pk] if name == "version_export" else []
    assert client.get(reverse(f"checklists:{name}", args=args)).status_code == 403
    response = client.post(reverse("checklists:template_import"), {"file": _upload((LIBRARY / SAMPLE).read_bytes())})
    assert response.status_code == 403
    assert not ChecklistTemplate.objects.filter(name="Bag change").exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


# --- the commands ---------------------------------------------------------------------------------


def test_template_export_all_writes_the_library_files(db, tmp_path):
    starter_library_load()
    call_command("template_export", "--all", "--output", str(tmp_path), stderr=StringIO())
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(STARTER_FILES)
    for name in STARTER_FILES:
        assert (tmp_path / name).read_bytes() == (LIBRARY / name).read_bytes(), name
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == len(STARTER_FILES)


def test_template_export_writes_one_template_to_stdout_the_published_one_or_the_version_asked(db, admin_user):
    starter_library_load()
    out = StringIO()
    call_command("template_export", "Bag change", stdout=out)
    assert out.getvalue() == (LIBRARY / SAMPLE).read_text(encoding="utf-8")

    draft = template_version_new_draft(template=ChecklistTemplate.objects.get(name="Bag change"), actor=admin_user)
    draft.items.filter(order=9).update(text="IV site clean, line never flushed")
    out = StringIO()
    call_command("template_export", "Bag change", "--version", "2", stdout=out)
    assert json.loads(out.getvalue())["items"][8]["text"] == "IV site clean, line never flushed"


@pytest.mark.parametrize(
    "args,expected",
    [
        (["Nothing like it"], "No template is named “Nothing like it”."),
        (["Bag change", "--version", "9"], "“Bag change” has no version 9 (it has v1)."),
        (["--all"], "--all writes one file per template: give --output DIR."),
        ([], "Name one template, or give --all."),
    ],
)
def test_template_export_says_what_is_wrong(db, args, expected):
    starter_library_load()
    with pytest.raises(CommandError, match=re.escape(expected)):
        call_command("template_export", *args, stdout=StringIO())


def test_template_import_makes_drafts_in_the_admins_name(db, admin_user, tmp_path):
    paths = []
    for name in ("bag-change.json", "home-visit.json"):
        (tmp_path / name).write_bytes((LIBRARY / name).read_bytes())
        paths.append(str(tmp_path / name))
    out = StringIO()
    call_command("template_import", *paths, "--user", "admin", stdout=out)
    assert "Imported Bag change as draft v1." in out.getvalue()
    drafts = TemplateVersion.objects.filter(status="draft")
    assert sorted(drafts.values_list("template__name", flat=True)) == ["Bag change", "Home visit"]
    assert all(list(draft.authors.all()) == [admin_user] for draft in drafts)


def test_template_import_imports_nothing_when_one_file_is_refused(db, admin_user, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes((LIBRARY / SAMPLE).read_bytes())
    data = json.loads((LIBRARY / "home-visit.json").read_text(encoding="utf-8"))
    data["format_version"] = 2
    bad.write_text(json.dumps(data), encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="Nothing imported: 1 problem"):
        call_command("template_import", str(good), str(bad), "--user", "admin", stderr=err, stdout=StringIO())
    assert f"{bad}: Unknown format_version 2" in err.getvalue()
    assert _counts() == (0, 0, 0, 0, 0, 0)


def test_template_import_refuses_a_big_file_and_a_user_who_is_not_an_admin(db, admin_user, nurse, tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (2 * 1024 * 1024))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("template_import", str(big), "--user", "admin", stderr=err)
    assert "a template file is at most 1 MB" in err.getvalue()
    with pytest.raises(CommandError, match="“nurse” is not an active admin"):
        call_command("template_import", str(LIBRARY / SAMPLE), "--user", "nurse")
    assert _counts() == (0, 0, 0, 0, 0, 0)


def test_the_documentation_names_every_field_and_its_example_is_a_sound_file(db):
    documented = (Path(__file__).resolve().parents[2] / "docs" / "template-format.md").read_text(encoding="utf-8")
    for name in (*ITEM_FIELDS, "format", "format_version", "change_summary", "approver_role", "trigger_kind"):
        assert f"| `{name}` |" in documented, name
    for fact in FACTS:  # a condition's fact, as a file names it
        assert f"| `{fact}` |" in documented, fact
    example = documented.split("```json\n", 1)[1].split("```", 1)[0]
    spec = template_read(example)
    assert json.loads(example)["format"] == FORMAT
    assert [item.values["text"] for item in spec.items] == [
        "Patient under 22 kg: no 7-day bag",
        "Pump rate entered (mL/h)",
    ]


def test_a_template_imported_under_a_new_name_gets_new_keys_where_another_template_has_them(db, admin_user):
    """Review: "Bag change" exported, renamed and imported as a new template kept its items' keys,
    so two templates had the same items for whatever follows an item by its key (the report's
    items most often late merged them). A new template's items are its own; the file's
    dependencies still hold between them, and an item whose key no template has keeps it."""
    starter_library_load()
    published = ChecklistTemplate.objects.get(name="Bag change").versions.get()
    data = json.loads(template_version_export_json(published))
    data["template"]["name"] = "Bag change, our ward"
    first, fresh = data["items"][0], str(uuid.uuid4())
    for row in data["items"]:
        row["depends_on"] = [fresh if key == first["key"] else key for key in row["depends_on"]]
    first["key"] = fresh
    text_of = {row["key"]: row["text"] for row in data["items"]}

    draft = template_import(data, actor=admin_user)

    keys = set(draft.items.values_list("key", flat=True))
    assert len(keys) == len(data["items"]) and not keys & set(published.items.values_list("key", flat=True))
    assert uuid.UUID(fresh) in keys
    stored = draft.items.prefetch_related("depends_on")
    waits_for = {row.text: {dep.text for dep in row.depends_on.all()} for row in stored}
    assert waits_for == {row["text"]: {text_of[key] for key in row["depends_on"]} for row in data["items"]}
    assert any(waits_for.values())
