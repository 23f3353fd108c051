import copy
import datetime as dt
import json
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists import starter
from checklists.conditions import parse_value
from checklists.governance import (
    emergency_review_pending,
    template_version_approve,
    template_version_install,
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
    checklists_instantiate,
    task_complete,
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
from patients.models import CareEvent, Indication, Interruption, Setting
from patients.services import course_schedule_build, event_schedule, interruption_restart, interruption_stop

from ..accounts.helpers import verified_login
from ..factories import CourseFactory, PatientFactory, UserFactory

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


def test_a_later_version_is_never_installed_without_review(db, admin_user):
    starter_library_load()
    draft = template_version_new_draft(template=ChecklistTemplate.objects.get(name="Bag change"), actor=admin_user)
    with pytest.raises(ValidationError, match="Only a new template's first version is installed"):
        template_version_install(version=draft, actor=admin_user, change_summary=starter.LOAD_SUMMARY)
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.DRAFT


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


def test_the_template_page_shows_the_installation_in_its_history(client, admin_user):
    starter_library_load()
    template = ChecklistTemplate.objects.get(name="Bag change")
    verified_login(client, admin_user)
    page = client.get(reverse("checklists:template_detail", args=[template.pk])).content.decode()
    history = page.split('id="history-heading"')[1]
    assert "Installed from the starter library (published without review)" in history
    assert "by the system" in history


def test_every_template_is_published_once_and_valid(db):
    starter_library_load()
    assert ChecklistTemplate.objects.count() == len(STARTER_FILES)
    for template in ChecklistTemplate.objects.all():
        versions = list(template.versions.all())
        assert [(v.number, v.status) for v in versions] == [(1, TemplateVersion.Status.PUBLISHED)]
        template_version_validate(versions[0])
    assert not TemplateItem.objects.filter(source="").exists()  # every item names what it rests on


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
    assert ("premedication_due", "eq", "yes") in facts
    assert ("indication", "eq", "relapsed_refractory") in facts
    for item in TemplateItem.objects.all():
        assert -43200 <= item.due_offset_minutes <= 43200


# --- what the items say -------------------------------------------------------------------------


def test_cycle_1_has_the_pre_infusion_safety_items(db):
    starter_library_load()
    items = TemplateItem.objects.filter(version__template__name="Cycle 1 start (inpatient)")
    weight = items.get(text="Weight (kg)")
    assert (weight.role, weight.response_kind, weight.unit, weight.records) == (Role.NURSE, "number", "kg", "weight")
    assert (weight.min_value, weight.max_value, weight.required, weight.hard_stop) == (1, 300, True, True)
    pump = items.get(needs_verification=True)
    assert pump.text == "Pump programmed at the label rate and locked; independent double-check"
    assert (pump.role, pump.verifier_role) == (Role.NURSE, Role.NURSE)
    rate = items.get(records=TemplateItem.Records.PUMP_RATE)
    assert (rate.text, rate.response_kind, rate.unit, rate.hard_stop) == (
        "Pump rate entered (mL/h)",
        "number",
        "mL/h",
        True,
    )
    assert (rate.min_value, rate.max_value) == (Decimal("0.1"), Decimal("20"))
    assert list(pump.depends_on.all()) == [rate]
    assert items.filter(role=Role.NURSE, response_kind="checkbox").exists()
    assert items.filter(role=Role.PHARMACIST, required=True).exists()
    assert items.filter(role=Role.ONCOLOGIST, required=True).exists()
    bag = items.get(text="Bag duration and preservative on the pharmacy label")
    assert [choice for choice in bag.choices if "benzyl alcohol" in choice] == [
        "72 h (1.8 mL/h, benzyl alcohol)",
        "96 h (1.8 mL/h, benzyl alcohol)",
        "7 days (0.6 mL/h, benzyl alcohol)",
    ]
    seven_day = items.get(hard_stop=True, response_kind="choice", conditions__value="22")
    assert seven_day.failing_choices == ["7 days (0.6 mL/h, benzyl alcohol)"]
    infant = items.get(hard_stop=True, response_kind="choice", conditions__value="5.4")
    assert set(infant.failing_choices) == {"72 h or 96 h (benzyl alcohol)", "7 days (0.6 mL/h, benzyl alcohol)"}


def test_cycle_1_checks_the_liver_tests_with_ggt_and_the_pregnancy_status(db):
    starter_library_load()
    items = TemplateItem.objects.filter(version__template__name="Cycle 1 start (inpatient)")
    labs = items.get(text__startswith="Labs reviewed")
    assert "GGT" in labs.text and "blood count" in labs.text and labs.role == Role.ONCOLOGIST
    pregnancy = items.get(text__startswith="Pregnancy status")
    # Completed, or marked not applicable for a patient who cannot become pregnant: never a hard stop.
    assert (pregnancy.role, pregnancy.hard_stop, pregnancy.required) == (Role.ONCOLOGIST, False, True)
    assert "not applicable" in pregnancy.help_text
    clear = items.get(text="Clear to start the infusion")
    assert pregnancy in clear.depends_on.all()


def test_the_interaction_review_names_the_cyp450_window_and_live_vaccines(db):
    starter_library_load()
    reviews = TemplateItem.objects.filter(text__startswith="Interaction review")
    assert set(reviews.values_list("version__template__name", flat=True)) == set(CYCLE_STARTS)
    for review in reviews:
        said = f"{review.text} {review.help_text}"
        assert "CYP450" in said and "cycle 1 days 1–9" in said and "cycle 2 days 1–2" in said
        assert "narrow" in said and "live vaccines" in said and "warfarin" in said


def test_one_premedication_item_per_template_and_no_drug_written_in_the_library(db):
    starter_library_load()
    premedications = TemplateItem.objects.filter(records=PREMEDICATION)
    by_template = sorted(premedications.values_list("version__template__name", flat=True))
    assert by_template == sorted([*CYCLE_STARTS, STEP_UP_TEMPLATE, "Restart after an interruption"])
    for item in premedications:
        assert (item.text, item.role, item.response_kind, item.hard_stop) == (
            "Premedication given: record the time",
            Role.NURSE,
            TemplateItem.ResponseKind.DATETIME,
            True,
        )
        assert [(c.fact, c.operator, c.value) for c in item.conditions.all()] == [("premedication_due", "eq", "yes")]
    # The regimen names the drug: no item of the library hard-codes one.
    for item in TemplateItem.objects.all():
        said = f"{item.text} {item.help_text}".lower()
        assert "dexamethasone" not in said and "prednisone" not in said, item.text


def test_the_step_up_template_fits_the_step_up_and_a_re_escalation(db):
    starter_library_load()
    template = ChecklistTemplate.objects.get(trigger_kind=CareEvent.Kind.DOSE_STEP_UP)
    assert template.name == STEP_UP_TEMPLATE
    assert not template.conditions.exists()
    assert "re-escalation" in template.description and "no step-up" in template.description


def test_the_new_templates_cover_their_clinical_steps(db):
    starter_library_load()
    expected = {
        "Cycle end": (CareEvent.Kind.CYCLE_END, ["aspirated", "Pump and supplies returned", "marrow", "rest-period"]),
        "Home visit": (CareEvent.Kind.HOME_VISIT, ["dressing", "Pump checked", "CRS and neurological", "Caregiver"]),
        "Interruption": (
            CareEvent.Kind.INTERRUPTION,
            ["Cause and time", "Oncologist told", "without flushing", "Bag kept or discarded", "Restart decision"],
        ),
    }
    for name, (kind, phrases) in expected.items():
        template = ChecklistTemplate.objects.get(name=name)
        assert template.trigger_kind == kind
        texts = " | ".join(TemplateItem.objects.filter(version__template=template).values_list("text", flat=True))
        for phrase in phrases:
            assert phrase in texts, (name, phrase)
    decision = TemplateItem.objects.get(version__template__name="Interruption", text="Restart decision recorded")
    assert decision.role == Role.ONCOLOGIST
    aspirate = TemplateItem.objects.get(version__template__name="Cycle end", text__startswith="Residual drug")
    assert "flush" in aspirate.text and "bolus" in aspirate.help_text


def test_the_pump_rate_is_recorded_where_a_bag_is_hung(db):
    starter_library_load()
    rates = TemplateItem.objects.filter(records=TemplateItem.Records.PUMP_RATE)
    assert set(rates.values_list("version__template__name", flat=True)) == {
        *CYCLE_STARTS,
        "Bag change",
        "Restart after an interruption",
    }
    assert set(rates.values_list("hard_stop", "unit", "response_kind")) == {(True, "mL/h", "number")}


# --- the checklists that courses get ----------------------------------------------------------


def test_a_heavy_patients_cycle_1_gets_the_weight_band_check_not_the_bsa_one(patient):
    starter_library_load()
    course = CourseFactory(patient=patient)
    course_schedule_build(course=course)
    event = CareEvent.objects.get(cycle__course=course, cycle__number=1, kind=CareEvent.Kind.CYCLE_START)
    checklists_instantiate(events=[event])
    texts = set(Task.objects.filter(event=event).values_list("text", flat=True))
    assert "Weight (kg)" in texts
    assert "Dose band verified for a patient of at least 45 kg: 9 mcg/day days 1–7, then 28 mcg/day from day 8" in texts
    assert not any("no step-up" in text for text in texts)
    assert not any(text.startswith("BSA-based") for text in texts)
    assert not any("under 22 kg" in text or "under 5.4 kg" in text for text in texts)
    assert set(Task.objects.filter(event=event).values_list("checklist__template__name", flat=True)) == {
        "Cycle 1 start (inpatient)"
    }


@pytest.mark.parametrize("indication", [MRD, CONSOLIDATION])
def test_a_cycle_1_without_step_up_gets_the_flat_dose(patient, indication):
    starter_library_load()
    course = planned_course(patient, indication, 1)
    texts = set(Task.objects.filter(event=start_of(course, 1)).values_list("text", flat=True))
    assert "Dose band verified for a patient of at least 45 kg: 28 mcg/day days 1–28, no step-up" in texts
    assert not any("9 mcg/day" in text for text in texts)


def test_the_step_up_checklist_comes_with_the_relapsed_refractory_day_8_only(ward):
    starter_library_load()
    rr = planned_course(PatientFactory(unit=ward), RR, 2)
    step_up = start_of(rr, 1, CareEvent.Kind.DOSE_STEP_UP)
    assert step_up.day_number == 8
    assert template_names([step_up]) == {STEP_UP_TEMPLATE}
    assert premedication_tasks(step_up).count() == 1  # adults: before the step-up

    for indication in (MRD, CONSOLIDATION):
        course = planned_course(PatientFactory(unit=ward), indication, 2)
        events = CareEvent.objects.filter(cycle__course=course)
        assert events.filter(kind=CareEvent.Kind.CYCLE_START).exists()
        assert STEP_UP_TEMPLATE not in template_names(events), indication
        assert not events.filter(kind=CareEvent.Kind.DOSE_STEP_UP).exists()


def test_relapsed_refractory_premedication_adults_every_cycle_children_cycle_1_only(ward):
    starter_library_load()
    adult = planned_course(PatientFactory(unit=ward), RR, 2)
    child = planned_course(
        PatientFactory(unit=ward, birth_date=timezone.localdate() - dt.timedelta(days=10 * 366), weight_kg=30),
        RR,
        2,
    )
    assert premedication_tasks(start_of(adult, 1)).count() == 1
    assert premedication_tasks(start_of(adult, 2)).count() == 1
    assert premedication_tasks(start_of(child, 1)).count() == 1
    assert premedication_tasks(start_of(child, 2)).count() == 0
    assert Task.objects.filter(event=start_of(child, 2)).exists()  # the cycle 2 checklist is there, without it
    help_text = premedication_tasks(start_of(adult, 2)).get().help_text
    assert help_text.startswith("dexamethasone 20 mg IV, given 30–90 minutes before the start")
    assert "5 mg/m²" in premedication_tasks(start_of(child, 1)).get().help_text


def test_mrd_positive_adults_are_premedicated_with_prednisone_every_cycle(patient):
    starter_library_load()
    course = planned_course(patient, MRD, 3)
    for number in (1, 2, 3):
        task = premedication_tasks(start_of(course, number)).get()
        assert "prednisone 100 mg IV" in task.help_text, number
        assert (task.response_kind, task.hard_stop, task.role) == ("datetime", True, Role.NURSE)


def test_the_premedication_time_is_checked_against_the_window(patient, nurse, pharmacist, oncologist):
    starter_library_load()
    course = planned_course(patient, MRD, 1)
    event = start_of(course, 1)
    workers = {Role.NURSE: nurse, Role.PHARMACIST: pharmacist, Role.ONCOLOGIST: oncologist}
    at = event.planned_at

    def done(task):
        for dependency in task.depends_on.filter(status=Task.Status.OPEN):
            done(dependency)
        value = {"choice": task.choices[0] if task.choices else "", "text": "ok"}.get(task.response_kind, "yes")
        return task_complete(task=task, actor=workers[task.role], value=value, now=at)

    premedication = premedication_tasks(event).get()
    for dependency in premedication.depends_on.all():
        done(dependency)
    local = timezone.localtime(at - dt.timedelta(minutes=20), patient.unit.zone)
    late = task_complete(
        task=premedication, actor=nurse, value=local.strftime("%Y-%m-%dT%H:%M"), now=at, confirmed=True
    )
    assert late.hard_stop_failed and "the window is given 30–90 minutes before the start" in late.value

    other = planned_course(patient, MRD, 1, start_date=course.start_date + dt.timedelta(days=60))
    event = start_of(other, 1)
    at = event.planned_at
    premedication = premedication_tasks(event).get()
    for dependency in premedication.depends_on.all():
        done(dependency)
    local = timezone.localtime(at - dt.timedelta(minutes=60), patient.unit.zone)
    on_time = task_complete(task=premedication, actor=nurse, value=local.strftime("%Y-%m-%dT%H:%M"), now=at)
    assert not on_time.hard_stop_failed


def test_the_new_templates_instantiate_on_their_events(patient, nurse, oncologist):
    starter_library_load()
    now = timezone.now()
    course = planned_course(patient, MRD, 2, start_date=timezone.localdate() - dt.timedelta(days=2))
    ends = CareEvent.objects.filter(cycle__course=course, kind=CareEvent.Kind.CYCLE_END)
    assert ends.count() == 2
    for end in ends:
        assert template_names([end]) == {"Cycle end"}

    visit = event_schedule(
        cycle=course.cycles.get(number=1),
        kind=CareEvent.Kind.HOME_VISIT,
        planned_at=now + dt.timedelta(days=3),
        setting=Setting.HOME,
    )
    assert template_names([visit]) == {"Home visit"}
    assert Task.objects.filter(event=visit, text__startswith="CRS and neurological signs").exists()

    stop = interruption_stop(
        course=course,
        stopped_at=now - dt.timedelta(hours=1),
        cause=Interruption.Cause.ADVERSE_REACTION,
        toxicity_grade=3,
        detail="Grade 3 CRS",
        actor=nurse,
        now=now,
    )
    stopped = CareEvent.objects.get(cycle__course=course, kind=CareEvent.Kind.INTERRUPTION)
    assert template_names([stopped]) == {"Interruption"}
    assert Task.objects.filter(event=stopped, text="Restart decision recorded", role=Role.ONCOLOGIST).exists()

    stop = interruption_restart(interruption=stop, restarted_at=now + dt.timedelta(hours=5), actor=oncologist, now=now)
    assert template_names([stop.restart_event]) == {"Restart after an interruption"}
    restart_premedication = premedication_tasks(stop.restart_event).get()
    assert "prednisone" in restart_premedication.help_text
    # The re-escalation of an MRD-positive course gets the same checklist as a step-up, without a
    # premedication: its regimen asks for none before a dose increase.
    re_escalation = stop.re_escalation_event
    assert re_escalation.kind == CareEvent.Kind.DOSE_STEP_UP and re_escalation.note.startswith("Re-escalation")
    assert template_names([re_escalation]) == {STEP_UP_TEMPLATE}
    assert not premedication_tasks(re_escalation).exists()
    assert Task.objects.filter(event=re_escalation, text__startswith="Dose increase ordered").exists()


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


def test_the_update_changes_nothing_on_a_current_library(db):
    starter_library_load()
    counts = _counts()
    result = starter_library_update()
    assert result.drafted == {} and result.settings == {} and len(result.unchanged) == len(STARTER_FILES)
    assert _counts() == counts


def test_the_update_leaves_a_template_with_an_open_draft_alone(db, admin_user):
    _old_library()
    template = ChecklistTemplate.objects.get(name="Bag change")
    draft = template_version_new_draft(template=template, actor=admin_user)
    result = starter_library_update()
    assert result.skipped == {"Bag change": "it has an open draft"}
    assert FORMER_STEP_UP in result.drafted
    assert list(template.versions.values_list("number", "status")) == [(2, "draft"), (1, "published")]
    assert not draft.items.filter(records=TemplateItem.Records.PUMP_RATE).exists()


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
