from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Role
from checklists.conditions import parse_value
from checklists.models import ChecklistTemplate, ItemCondition, Task, TemplateCondition, TemplateItem, TemplateVersion
from checklists.services import checklists_instantiate, template_version_validate
from checklists.starter import STARTER_TEMPLATES, starter_library_load
from patients.models import CareEvent
from patients.services import course_schedule_build

from ..factories import CourseFactory

CLINICAL_ROLES = {Role.PHARMACIST, Role.NURSE, Role.ONCOLOGIST, Role.CASE_MANAGER}
CYCLE_STARTS = ["Cycle 1 start (inpatient)", "Cycle 2 start", "Later cycle start (clinic)"]


def _counts():
    return (
        ChecklistTemplate.objects.count(),
        TemplateVersion.objects.count(),
        TemplateItem.objects.count(),
        ItemCondition.objects.count(),
        TemplateCondition.objects.count(),
        TemplateItem.depends_on.through.objects.count(),
    )


def test_the_loader_creates_every_template_once(db):
    assert starter_library_load() == len(STARTER_TEMPLATES)
    first = _counts()
    assert starter_library_load() == 0
    assert _counts() == first
    assert first[0] == len(STARTER_TEMPLATES) >= 7


def test_the_loader_leaves_an_edited_template_alone(db):
    ChecklistTemplate.objects.create(name="Bag change", trigger_kind=CareEvent.Kind.BAG_CHANGE)
    assert starter_library_load() == len(STARTER_TEMPLATES) - 1
    assert not TemplateVersion.objects.filter(template__name="Bag change").exists()


def test_the_command_reports_how_many_were_created(db):
    out = StringIO()
    call_command("load_starter_templates", stdout=out)
    assert f"Created {len(STARTER_TEMPLATES)}" in out.getvalue()
    out = StringIO()
    call_command("load_starter_templates", stdout=out)
    assert "Created 0" in out.getvalue()


def test_every_template_is_published_once_and_valid(db):
    starter_library_load()
    for template in ChecklistTemplate.objects.all():
        versions = list(template.versions.all())
        assert [(v.number, v.status) for v in versions] == [(1, TemplateVersion.Status.PUBLISHED)]
        template_version_validate(versions[0])


@pytest.mark.parametrize("name", CYCLE_STARTS)
def test_every_clinical_role_has_items_in_each_cycle_start(db, name):
    starter_library_load()
    template = ChecklistTemplate.objects.get(name=name)
    assert template.trigger_kind == CareEvent.Kind.CYCLE_START
    roles = set(TemplateItem.objects.filter(version__template=template).values_list("role", flat=True))
    assert roles >= CLINICAL_ROLES


def test_the_cycle_start_templates_are_told_apart_by_cycle_number(db):
    starter_library_load()
    conditions = {
        c.template.name: (c.fact, c.operator, c.value)
        for c in TemplateCondition.objects.filter(template__name__in=CYCLE_STARTS).select_related("template")
    }
    assert conditions == {
        "Cycle 1 start (inpatient)": ("cycle_number", "eq", "1"),
        "Cycle 2 start": ("cycle_number", "eq", "2"),
        "Later cycle start (clinic)": ("cycle_number", "ge", "3"),
    }


def test_every_condition_and_offset_is_valid(db):
    starter_library_load()
    rows = list(TemplateCondition.objects.all()) + list(ItemCondition.objects.all())
    assert rows
    for row in rows:
        parse_value(row.fact, row.operator, row.value)
    facts = {(c.fact, c.operator, c.value) for c in ItemCondition.objects.all()}
    assert ("weight_kg", "lt", "45") in facts
    assert ("weight_kg", "lt", "22") in facts
    assert ("setting", "eq", "home") in facts
    for item in TemplateItem.objects.all():
        assert -43200 <= item.due_offset_minutes <= 43200


def test_cycle_1_has_the_pre_infusion_safety_items(db):
    starter_library_load()
    items = TemplateItem.objects.filter(version__template__name="Cycle 1 start (inpatient)")
    weight = items.get(text="Weight (kg)")
    assert (weight.role, weight.response_kind, weight.unit) == (Role.NURSE, "number", "kg")
    assert (weight.min_value, weight.max_value, weight.required) == (1, 300, True)
    pump = items.get(needs_verification=True)
    assert (pump.role, pump.verifier_role) == (Role.NURSE, Role.NURSE)
    assert items.filter(role=Role.NURSE, response_kind="checkbox").exists()
    assert items.filter(role=Role.PHARMACIST, required=True).exists()
    assert items.filter(role=Role.ONCOLOGIST, required=True).exists()
    seven_day = items.get(hard_stop=True, response_kind="choice")
    assert seven_day.conditions.get().value == "22"
    assert seven_day.failing_choices == ["7 days (0.6 mL/h, benzyl alcohol)"]


def test_a_heavy_patients_cycle_1_gets_the_weight_band_check_not_the_bsa_one(patient):
    starter_library_load()
    course = CourseFactory(patient=patient)
    course_schedule_build(course=course)
    event = CareEvent.objects.get(cycle__course=course, cycle__number=1, kind=CareEvent.Kind.CYCLE_START)
    checklists_instantiate(events=[event])
    texts = set(Task.objects.filter(event=event).values_list("text", flat=True))
    assert "Weight (kg)" in texts
    assert any(text.startswith("Dose band verified") for text in texts)
    assert not any(text.startswith("BSA-based") for text in texts)
    assert not any("under 22 kg" in text for text in texts)
    assert set(Task.objects.filter(event=event).values_list("checklist__template__name", flat=True)) == {
        "Cycle 1 start (inpatient)"
    }
