"""What the starter library holds and what it gives on patients' events, read from the library
loaded once for the module (a layer, tests/layers.py: loading it costs a second or more, and each
of these tests only reads it or builds on it). Each test runs in a savepoint of that layer, rolled
back after it. The loading itself, and the updates from an earlier library, are in test_starter.py,
which starts each test from an empty database."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from checklists import starter
from checklists.conditions import parse_value
from checklists.governance import template_version_install
from checklists.models import (
    ChecklistTemplate,
    ItemCondition,
    Task,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
)
from checklists.services import (
    checklists_instantiate,
    task_complete,
    template_version_new_draft,
    template_version_validate,
)
from checklists.starter import (
    STARTER_FILES,
    STEP_UP_TEMPLATE,
    starter_library_load,
    starter_library_update,
)
from patients.models import CareEvent, Interruption, Setting
from patients.services import course_schedule_build, event_schedule, interruption_restart, interruption_stop

from ..accounts.helpers import verified_login
from ..factories import CourseFactory, PatientFactory
from ..layers import build, layer
from .test_starter import (
    CLINICAL_ROLES,
    CONSOLIDATION,
    CYCLE_STARTS,
    MRD,
    PREMEDICATION,
    RR,
    _counts,
    planned_course,
    premedication_tasks,
    start_of,
    template_names,
)


@pytest.fixture(scope="module")
def _loaded_library(django_db_setup, django_db_blocker):
    """`starter_library_load()` once for the module, as the system (no admin), rolled back after it."""
    with layer(django_db_blocker):
        build(django_db_blocker, starter_library_load)
        yield


@pytest.fixture(autouse=True)
def _library(_loaded_library, db):
    """Every test here starts from the loaded library; what it changes is rolled back after it."""


def test_a_later_version_is_never_installed_without_review(db, admin_user):
    draft = template_version_new_draft(template=ChecklistTemplate.objects.get(name="Bag change"), actor=admin_user)
    with pytest.raises(ValidationError, match="Only a new template's first version is installed"):
        template_version_install(version=draft, actor=admin_user, change_summary=starter.LOAD_SUMMARY)
    assert TemplateVersion.objects.get(pk=draft.pk).status == TemplateVersion.Status.DRAFT


def test_the_template_page_shows_the_installation_in_its_history(client, admin_user):
    template = ChecklistTemplate.objects.get(name="Bag change")
    verified_login(client, admin_user)
    page = client.get(reverse("checklists:template_detail", args=[template.pk])).content.decode()
    history = page.split('id="history-heading"')[1]
    assert "Installed from the starter library (published without review)" in history
    assert "by the system" in history


def test_every_template_is_published_once_and_valid(db):
    assert ChecklistTemplate.objects.count() == len(STARTER_FILES)
    for template in ChecklistTemplate.objects.all():
        versions = list(template.versions.all())
        assert [(v.number, v.status) for v in versions] == [(1, TemplateVersion.Status.PUBLISHED)]
        template_version_validate(versions[0])
    assert not TemplateItem.objects.filter(source="").exists()  # every item names what it rests on


@pytest.mark.parametrize("name", CYCLE_STARTS)
def test_every_clinical_role_has_items_in_each_cycle_start(db, name):
    template = ChecklistTemplate.objects.get(name=name)
    assert template.trigger_kind == CareEvent.Kind.CYCLE_START
    roles = set(TemplateItem.objects.filter(version__template=template).values_list("role", flat=True))
    assert roles >= CLINICAL_ROLES


def test_the_cycle_start_templates_are_told_apart_by_cycle_number(db):
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


def test_cycle_1_has_the_pre_infusion_safety_items(db):
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
    reviews = TemplateItem.objects.filter(text__startswith="Interaction review")
    assert set(reviews.values_list("version__template__name", flat=True)) == set(CYCLE_STARTS)
    for review in reviews:
        said = f"{review.text} {review.help_text}"
        assert "CYP450" in said and "cycle 1 days 1–9" in said and "cycle 2 days 1–2" in said
        assert "narrow" in said and "live vaccines" in said and "warfarin" in said


def test_one_premedication_item_per_template_and_no_drug_written_in_the_library(db):
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
    # The regimen names the premedication: no item of the library hard-codes one. The treatment of
    # a grade 3 CRS is not a premedication: the label gives it for every regimen (below).
    for item in TemplateItem.objects.exclude(key__in=GRADE_3_CRS_TREATMENT):
        said = f"{item.text} {item.help_text}".lower()
        assert "dexamethasone" not in said and "prednisone" not in said, item.text


# The interruption checklist's items for the treatment of a grade 3 CRS (found by their keys).
GRADE_3_CRS_TREATMENT = ["26157146-1acd-487c-a010-2dbfac124a38", "e8444a7b-0e65-4ef0-81bc-d15cbc63298c"]


def test_the_interruption_checklist_orders_and_checks_the_dexamethasone_of_a_grade_3_crs(db):
    """ "CRS grade 3: interrupt; dexamethasone 8 mg every 8 h for up to 3 days, then taper over 4
    days (children 5 mg/m², max 8 mg)": the oncologist orders it, the pharmacist verifies the order."""
    ordered, verified = (
        TemplateItem.objects.get(version__template__name="Interruption", key=key) for key in GRADE_3_CRS_TREATMENT
    )
    assert (ordered.role, verified.role) == (Role.ONCOLOGIST, Role.PHARMACIST)
    assert list(verified.depends_on.all()) == [ordered]
    for item in (ordered, verified):
        assert "8 mg every 8 hours for up to 3 days" in item.text and "4" in item.text
        assert "5 mg/m², max 8 mg" in item.text
        # The grade and kind may be unknown at the stop (and are never revised there): the item
        # says where it applies; only a pump or line problem leaves it out.
        assert list(item.conditions.values_list("fact", "operator", "value")) == [("stop_cause", "ne", "pump_or_line")]
        assert not item.required
        assert "grade 3 cytokine release syndrome only" in item.help_text and "not applicable" in item.help_text
        assert "prescribing information" in item.source and "cytokine release syndrome grade 3" in item.source
    restart = TemplateItem.objects.get(version__template__name="Interruption", text="Restart decision recorded")
    assert ordered.order < verified.order < restart.order


def test_the_step_up_template_fits_the_step_up_and_a_re_escalation(db):
    template = ChecklistTemplate.objects.get(trigger_kind=CareEvent.Kind.DOSE_STEP_UP)
    assert template.name == STEP_UP_TEMPLATE
    assert not template.conditions.exists()
    assert "re-escalation" in template.description and "no step-up" in template.description


def test_the_new_templates_cover_their_clinical_steps(db):
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
    rates = TemplateItem.objects.filter(records=TemplateItem.Records.PUMP_RATE)
    assert set(rates.values_list("version__template__name", flat=True)) == {
        *CYCLE_STARTS,
        "Bag change",
        "Restart after an interruption",
        "Dose step-up or re-escalation",
    }
    assert set(rates.values_list("hard_stop", "unit", "response_kind")) == {(True, "mL/h", "number")}


def test_the_bag_duration_on_the_label_is_checked_against_the_bag_recorded(db):
    """CLINICAL.md: every bag prepared is a record (duration, preservative…). The pharmacist's
    "Bag duration and preservative on the pharmacy label" was a choice checked against nothing: a
    7-day bag's answer stood beside a 24-hour bag's record. Now it is checked against the bag
    recorded for the event, once that bag is recorded, and a different duration fails its hard stop."""
    durations = TemplateItem.objects.filter(records="bag_duration").select_related("version__template")
    assert {item.version.template.name for item in durations} == set(CYCLE_STARTS)
    for item in durations:
        name = item.version.template.name
        assert (item.role, item.response_kind, item.hard_stop, item.failing_choices) == (
            Role.PHARMACIST,
            "choice",
            True,
            [],
        ), name
        (bag,) = item.version.items.filter(records="bag_prepared")
        assert bag in item.depends_on.all() and item.due_offset_minutes >= bag.due_offset_minutes, name


def test_a_bag_said_recorded_is_ticked_only_once_the_bag_is_recorded(db):
    """The pharmacy items that say the bag is recorded for the event are checked against the bag
    record, which the pump rate of the same checklist is checked against too."""
    prepared = TemplateItem.objects.filter(records="bag_prepared")
    assert set(prepared.values_list("version__template__name", "text")) == {
        ("Bag change", "Next bag compounded, labelled, recorded for this change and dispatched"),
        ("Restart after an interruption", "Bag for the restart compounded, labelled and recorded"),
        (
            "Cycle 1 start (inpatient)",
            "Bag compounded under sterile conditions, labelled with rate and duration, and recorded for this start",
        ),
        ("Cycle 2 start", "Bag compounded under sterile conditions, labelled and recorded for this start"),
        (
            "Later cycle start (clinic)",
            "Bag compounded under sterile conditions, labelled and recorded for this start",
        ),
        (
            "Dose step-up or re-escalation",
            "Bag for the new dose compounded, labelled with dose, rate and duration, and recorded",
        ),
    }
    # Every template whose pump rate is checked against the bag has the bag said prepared checked too.
    rates = TemplateItem.objects.filter(records="pump_rate").values_list("version", flat=True)
    assert set(rates) == set(prepared.values_list("version", flat=True))
    assert set(prepared.values_list("role", "response_kind", "required")) == {(Role.PHARMACIST, "checkbox", True)}


def test_where_a_bag_is_recorded_the_patient_is_weighed_before_the_bag_is_due(db):
    """A bag is recorded only against a weighing of today (CLINICAL.md: "The weight used must be
    today's weighing"). Found by a review: the restart's weighing was due with its bag, so the
    pharmacist's task was late by design, and the step-up asked for no weighing at all. The bag
    change's bag is compounded the day before, on that day's weighing, and asks for none."""
    prepared = TemplateItem.objects.filter(records="bag_prepared").exclude(version__template__name="Bag change")
    for bag in prepared.select_related("version__template"):
        (weight,) = bag.version.items.filter(records=TemplateItem.Records.WEIGHT)
        assert weight.due_offset_minutes < bag.due_offset_minutes, bag.version.template.name
        assert (weight.role, weight.required, weight.hard_stop) == (Role.NURSE, True, True)


def test_the_pharmacists_checks_by_weight_wait_for_todays_weighing(db):
    """CLINICAL.md: "The weight used must be today's weighing, not an old value on the record";
    the pharmacist verifies the "dose band by today's weight or body-surface area", and the bag's
    weight limit is "checked against today's weighing". Found by a review: the dose bands and the
    22 kg and 5.4 kg bag checks were due the day before the start (and 12 hours before the step-up),
    hours before the nurse's weighing they say they are checked against."""
    weighings = TemplateItem.objects.filter(records=TemplateItem.Records.WEIGHT).select_related("version__template")
    assert weighings.count() == 5
    for weight in weighings:
        items = weight.version.items.exclude(pk=weight.pk)
        by_weight = items.filter(conditions__fact="weight_kg") | items.filter(help_text__contains="today's weight")
        assert by_weight.exists(), weight.version.template.name
        for item in by_weight.distinct():
            where = (weight.version.template.name, item.text)
            assert item.due_offset_minutes > weight.due_offset_minutes, where
            assert weight in item.depends_on.all(), where


def test_every_cycle_start_asks_the_insurance_authorisation_first(db):
    """CLINICAL.md, the case manager: "insurance authorisation early and per cycle". Found by a
    review: only cycle 1 asked for it, due the day before the admission; cycles 2 and later had
    only an optional request at the previous cycle's end."""
    for name in CYCLE_STARTS:
        items = TemplateItem.objects.filter(version__template__name=name)
        (authorisation,) = items.filter(text__icontains="insurance authorisation")
        assert (authorisation.role, authorisation.required) == (Role.CASE_MANAGER, True), name
        assert not authorisation.conditions.exists(), name
        earliest = min(items.exclude(pk=authorisation.pk).values_list("due_offset_minutes", flat=True))
        assert authorisation.due_offset_minutes < earliest, name


def test_every_new_bag_for_a_weighed_patient_gets_the_bag_weight_limits(db):
    """CLINICAL.md: preservative bags' weight limits (22 kg in older label text, 5.4 kg in the
    current monograph) "checked against today's weighing". Found by a review: the step-up and
    re-escalation compound a new bag for a child and asked neither."""
    for bag in TemplateItem.objects.filter(records="bag_prepared").select_related("version__template"):
        limits = {
            value: item
            for item in bag.version.items.filter(hard_stop=True, response_kind="choice")
            for value in item.conditions.filter(fact="weight_kg", operator="lt").values_list("value", flat=True)
        }
        assert set(limits) == {"22", "5.4"}, bag.version.template.name
        assert limits["22"].failing_choices == ["7 days (0.6 mL/h, benzyl alcohol)"]
        assert set(limits["5.4"].failing_choices) == {
            "72 h or 96 h (benzyl alcohol)",
            "7 days (0.6 mL/h, benzyl alcohol)",
        }
        assert {limits["22"].role, limits["5.4"].role} == {Role.PHARMACIST}


def test_cycle_1_asks_the_conditions_the_patient_information_names(db):
    """CLINICAL.md, what to watch: "Other seed conditions to ask about: liver disease, low white
    cells, pancreatitis, seizures, infections, recent or planned vaccinations". Found by a review:
    no item asked them before the first dose."""
    items = TemplateItem.objects.filter(version__template__name="Cycle 1 start (inpatient)")
    (history,) = items.filter(text__contains="pancreatitis")
    for condition in ("liver disease", "low white cells", "pancreatitis", "seizures", "infections", "vaccinations"):
        assert condition in history.text, condition
    assert (history.role, history.required) == (Role.ONCOLOGIST, True)
    clear = items.get(text="Clear to start the infusion")
    assert history in clear.depends_on.all()
    assert history.due_offset_minutes < clear.due_offset_minutes


@pytest.mark.parametrize("name", CYCLE_STARTS)
def test_every_cycle_start_asks_extra_care_for_a_patient_of_65_or_older(db, name):
    """CLINICAL.md, what to watch (neurological toxicity): "Patients 65 or older need extra care
    (seed)". Found by a review: no item of the library read the patient's age."""
    items = TemplateItem.objects.filter(version__template__name=name)
    (older,) = items.filter(conditions__fact="age_years")
    assert list(older.conditions.values_list("fact", "operator", "value")) == [("age_years", "ge", "65")]
    assert (older.role, older.required) == (Role.NURSE, True)
    assert "neurological" in older.text and "65" in older.text
    clear = items.get(text="Clear to start the infusion")
    assert older.due_offset_minutes < clear.due_offset_minutes


def test_a_clinic_start_has_the_patients_transport_arranged(db):
    """CLINICAL.md: the case manager arranges "transport"; "No driving during treatment". Found by a
    review: a later cycle started in the infusion clinic booked the chair but not the way there."""
    items = TemplateItem.objects.filter(version__template__name="Later cycle start (clinic)")
    (transport,) = items.filter(text__icontains="transport")
    assert (transport.role, transport.required) == (Role.CASE_MANAGER, True)
    assert list(transport.conditions.values_list("fact", "operator", "value")) == [("setting", "eq", "clinic")]
    assert "driv" in transport.help_text


def test_a_heavy_patients_cycle_1_gets_the_weight_band_check_not_the_bsa_one(patient):
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
    course = planned_course(patient, indication, 1)
    texts = set(Task.objects.filter(event=start_of(course, 1)).values_list("text", flat=True))
    assert "Dose band verified for a patient of at least 45 kg: 28 mcg/day days 1–28, no step-up" in texts
    assert not any("9 mcg/day" in text for text in texts)


def test_the_step_up_checklist_comes_with_the_relapsed_refractory_day_8_only(ward):
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
    course = planned_course(patient, MRD, 3)
    for number in (1, 2, 3):
        task = premedication_tasks(start_of(course, number)).get()
        assert "prednisone 100 mg IV" in task.help_text, number
        assert (task.response_kind, task.hard_stop, task.role) == ("datetime", True, Role.NURSE)


def test_the_premedication_time_is_checked_against_the_window(patient, nurse, pharmacist, oncologist):
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
        toxicity_kind=Interruption.ToxicityKind.CRS,
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


REACTION_ITEMS = ("Reaction graded and treated", "Grade 3 CRS: dexamethasone", "Restart approved: the reaction")


@pytest.mark.parametrize(
    ("cause", "asked"),
    [
        (Interruption.Cause.PUMP_OR_LINE, False),
        (Interruption.Cause.ADVERSE_REACTION, True),
        (Interruption.Cause.OTHER, True),
    ],
)
def test_a_pump_or_line_stop_asks_nothing_about_a_reaction(patient, nurse, oncologist, cause, asked):
    """Found by a review: a pump alarm stop asked the oncologist to grade and treat a reaction and
    to order dexamethasone for a grade 3 CRS, and the restart to confirm that "the reaction has
    resolved"; each had to be marked not applicable by hand. A stop of another cause keeps them
    (what happened may yet be a reaction)."""
    now = timezone.now()
    course = planned_course(patient, MRD, 1, start_date=timezone.localdate() - dt.timedelta(days=2))
    stop = interruption_stop(
        course=course, stopped_at=now - dt.timedelta(hours=1), cause=cause, detail="Stopped", actor=nurse, now=now
    )
    stop = interruption_restart(interruption=stop, restarted_at=now + dt.timedelta(hours=5), actor=oncologist, now=now)
    stopped = CareEvent.objects.get(cycle__course=course, kind=CareEvent.Kind.INTERRUPTION)
    texts = set(Task.objects.filter(event__in=[stopped, stop.restart_event]).values_list("text", flat=True))
    assert "Restart decision recorded" in texts and "Pump rate entered (mL/h)" in texts
    for start in REACTION_ITEMS:
        assert any(text.startswith(start) for text in texts) is asked, start


NEXT_CYCLE_KEY = "f60216d7-94e9-4d88-a559-5c374804c548"  # "Next cycle's authorisation, admission or chair…"


def test_the_next_cycles_logistics_are_asked_only_when_a_next_cycle_follows(patient):
    """Found by a walk through the demo: a course stopped for good after a grade 4 CRS still gave
    the case manager an overdue "next cycle's authorisation" on its kept cycle end; the last planned
    cycle's end asked it too. The clinical items of the cycle end (the marrow test, the next cycle
    or rest plan, which names "course complete") stay unconditional."""
    item = TemplateItem.objects.get(version__template__name="Cycle end", key=NEXT_CYCLE_KEY)
    assert list(item.conditions.values_list("fact", "operator", "value")) == [("next_cycle", "eq", "yes")]
    others = TemplateItem.objects.filter(version__template__name="Cycle end").exclude(key=NEXT_CYCLE_KEY)
    assert not ItemCondition.objects.filter(item__in=others, fact="next_cycle").exists()
    course = planned_course(patient, MRD, 2)
    asked = Task.objects.filter(event__cycle__course=course, item=item).values_list("event__cycle__number", flat=True)
    assert list(asked) == [1]


def test_the_update_changes_nothing_on_a_current_library(db):
    counts = _counts()
    result = starter_library_update()
    assert result.drafted == {} and result.settings == {} and len(result.unchanged) == len(STARTER_FILES)
    assert _counts() == counts


@pytest.mark.parametrize("template", ["Interruption", "Restart after an interruption"])
def test_the_restart_help_stops_grade_4_crs_and_neurotoxicity_for_good_not_every_grade_4(db, template):
    """CLINICAL.md: grade 4 stops for good for CRS and neurological toxicity; for other reactions
    the label gives only the grade 3 rule (patients' restart follows it)."""
    helps = TemplateItem.objects.filter(version__template__name=template).values_list("help_text", flat=True)
    (help_text,) = [text for text in helps if "Grade 4" in text]
    assert "Grade 4 CRS or neurological toxicity" in help_text and "another reaction of grade 4" in help_text
