"""The schedule of each indication, cycle by cycle, against shared/CLINICAL.md ("Regimens by indication").

One table, written from CLINICAL.md and not from regimen_library.py, drives both the schedule
tests and the check of the seeded regimen versions.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from patients.models import BagOption, CareEvent, Cycle, Indication, RegimenVersion, Setting, TreatmentCourse
from patients.services import course_extend, course_plan, cycle_set_next_start, regimen_version_new_draft

from ..accounts.helpers import verified_login
from ..clinical import says
from ..factories import PatientFactory, UnitFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
UTC = dt.UTC
RR, MRD, CONSOLIDATION = Indication.RELAPSED_REFRACTORY, Indication.MRD_POSITIVE, Indication.CONSOLIDATION
INDUCTION, CONSOL, CONTINUED = Cycle.Phase.INDUCTION, Cycle.Phase.CONSOLIDATION, Cycle.Phase.CONTINUED

# CLINICAL.md, "Regimens by indication": per cycle, (phase, rest days after it, days in hospital).
# None for the rest: set by the chemotherapy plan, not a fixed number.
TABLE = {
    RR: {
        1: (INDUCTION, 14, 9),
        2: (INDUCTION, 14, 2),
        3: (CONSOL, 14, 0),
        4: (CONSOL, 14, 0),
        5: (CONSOL, 14, 0),
        6: (CONTINUED, 56, 0),
        7: (CONTINUED, 56, 0),
        8: (CONTINUED, 56, 0),
        9: (CONTINUED, 56, 0),
    },
    MRD: {
        1: (INDUCTION, 14, 3),
        2: (CONSOL, 14, 2),
        3: (CONSOL, 14, 0),
        4: (CONSOL, 14, 0),
    },
    CONSOLIDATION: {
        1: (CONSOL, None, 3),
        2: (CONSOL, None, 2),
        3: (CONSOL, None, 0),
        4: (CONSOL, None, 0),
    },
}
MAX_CYCLES = {RR: 9, MRD: 4, CONSOLIDATION: None}  # consolidation: from the chemotherapy protocol
STEP_UP_DAY = {RR: 8, MRD: None, CONSOLIDATION: None}  # cycle 1 only
# A Monday. Paris changes its clocks on 29 March and 25 October 2026: cycle 1 (16 March – 13 April)
# and, for relapsed/refractory, cycle 6 (12 October – 9 November) run across a change.
START = dt.date(2026, 3, 16)
BEFORE = dt.datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def paris_patient(db):
    return PatientFactory(unit=UnitFactory(time_zone="Europe/Paris"))


def plan(patient, indication, cycles, *, actor=None, start=START):
    return course_plan(
        patient=patient,
        indication=indication,
        start_date=start,
        planned_cycles=cycles,
        bag_hours=48,
        outpatient_setting=Setting.HOME,
        actor=actor,
        now=BEFORE,
    )


def events(course, kind=None):
    found = CareEvent.objects.filter(cycle__course=course).exclude(status=CareEvent.Status.CANCELLED)
    if kind:
        found = found.filter(kind=kind)
    return list(found.select_related("cycle", "patient__unit").order_by("planned_at"))


def local(event) -> dt.datetime:
    return timezone.localtime(event.planned_at, PARIS)


def set_all_consolidation_starts(course, gaps_days):
    """The chemotherapy plan sets each next start: `gaps_days[n]` days after cycle n+1's pump-off."""
    for number, gap in enumerate(gaps_days, start=1):
        cycle = course.cycles.get(number=number)
        cycle_set_next_start(cycle=cycle, next_start_date=cycle.infusion_end_date + dt.timedelta(days=gap), now=BEFORE)


# --- the schedule, cycle by cycle ------------------------------------------------------------


@pytest.mark.parametrize("indication", [RR, MRD, CONSOLIDATION])
def test_each_cycle_follows_the_table(paris_patient, indication):
    table = TABLE[indication]
    course = plan(paris_patient, indication, len(table))
    if indication == CONSOLIDATION:
        set_all_consolidation_starts(course, [21, 35, 28])
    cycles = list(course.cycles.order_by("number"))
    assert [c.number for c in cycles] == list(table)

    for cycle in cycles:
        phase, rest, inpatient = table[cycle.number]
        where = f"{indication} cycle {cycle.number}"
        assert cycle.phase == phase, where
        assert cycle.inpatient_days == inpatient, where
        assert cycle.infusion_days == 28, where
        assert cycle.infusion_end_date == cycle.start_date + dt.timedelta(days=28), where
        if rest is not None:
            assert cycle.rest_days == rest, where
        # Day 1 at 09:00 on its calendar day; the pump-off (day 29) after 28 days of infusion in
        # hours (672 h: 10:00 local across the spring clock change, 08:00 across the autumn one).
        start = cycle.events.get(kind=CareEvent.Kind.CYCLE_START)
        end = cycle.events.get(kind=CareEvent.Kind.CYCLE_END)
        assert local(start) == dt.datetime.combine(cycle.start_date, dt.time(9), tzinfo=PARIS), where
        assert end.planned_at - start.planned_at == dt.timedelta(hours=28 * 24), where
        assert local(end).date() == cycle.infusion_end_date, where
        assert end.day_number == 29, where
        # Day 1 of the next cycle is the pump-off day plus the rest (84-day cycles for 56 rest days).
        if cycle.number < len(cycles):
            following = cycles[cycle.number]
            assert following.start_date == cycle.infusion_end_date + dt.timedelta(days=cycle.rest_days), where
            if rest is not None:
                assert (following.start_date - cycle.start_date).days == 28 + rest, where

    if indication == RR:
        assert [(c.start_date - p.start_date).days for p, c in zip(cycles[5:], cycles[6:], strict=False)] == [84] * 3
    if indication == CONSOLIDATION:
        assert INDUCTION not in {c.phase for c in cycles}


@pytest.mark.parametrize("indication", [RR, MRD, CONSOLIDATION])
def test_step_up_only_on_relapsed_refractory_cycle_one_day_8(paris_patient, indication):
    course = plan(paris_patient, indication, 2)
    if indication == CONSOLIDATION:
        set_all_consolidation_starts(course, [21])
    step_ups = events(course, CareEvent.Kind.DOSE_STEP_UP)
    if STEP_UP_DAY[indication] is None:
        assert step_ups == []
    else:
        (step_up,) = step_ups
        assert (step_up.cycle.number, step_up.day_number) == (1, STEP_UP_DAY[indication])
        assert local(step_up).time() == dt.time(9, 0)
        assert step_up.setting == Setting.INPATIENT  # day 8 of the 9 days in hospital
    assert course.cycles.count() == 2


@pytest.mark.parametrize("indication", [RR, MRD, CONSOLIDATION])
def test_inpatient_days_end_with_a_discharge_and_set_the_setting(paris_patient, indication):
    table = TABLE[indication]
    course = plan(paris_patient, indication, 3)
    if indication == CONSOLIDATION:
        set_all_consolidation_starts(course, [21, 21])
    for cycle in course.cycles.order_by("number"):
        inpatient = table[cycle.number][2]
        discharges = [e for e in events(course, CareEvent.Kind.DISCHARGE_HOME) if e.cycle_id == cycle.pk]
        cycle_events = [e for e in events(course) if e.cycle_id == cycle.pk and e.kind != CareEvent.Kind.CYCLE_END]
        if inpatient == 0:
            assert discharges == [], cycle.number
            assert {e.setting for e in cycle_events} == {Setting.HOME}, cycle.number
            continue
        (discharge,) = discharges
        assert discharge.day_number == inpatient + 1
        assert local(discharge).time() == dt.time(11, 0)
        inside = {e.setting for e in cycle_events if e.planned_at < discharge.planned_at}
        after = {e.setting for e in cycle_events if e.planned_at > discharge.planned_at}
        assert inside == {Setting.INPATIENT} and after == {Setting.HOME}, cycle.number


def test_consolidation_waits_for_the_chemotherapy_plan_then_starts_on_its_date(paris_patient):
    course = plan(paris_patient, CONSOLIDATION, 3)
    (first,) = course.cycles.all()
    assert first.rest_days is None and first.rest_end_date is None
    assert first.infusion_end_date == dt.date(2026, 4, 13)

    cycle_set_next_start(cycle=first, next_start_date=dt.date(2026, 5, 4), now=dt.datetime(2026, 3, 20, tzinfo=UTC))

    first.refresh_from_db()
    assert first.rest_days == 21
    second = course.cycles.get(number=2)
    assert (second.start_date, second.phase, second.rest_days) == (dt.date(2026, 5, 4), CONSOL, None)
    assert second.inpatient_days == 2
    (start,) = [e for e in events(course, CareEvent.Kind.CYCLE_START) if e.cycle_id == second.pk]
    assert local(start) == dt.datetime(2026, 5, 4, 9, 0, tzinfo=PARIS)
    assert not course.cycles.filter(number=3).exists()  # waits for the next chemotherapy block


def test_day_n_events_keep_nine_o_clock_local_across_daylight_saving(paris_patient):
    course = plan(paris_patient, RR, 9)  # 16 March 2026 into 2027: three clock changes
    day_n = events(course)
    offsets = {local(e).utcoffset() for e in day_n}
    assert offsets == {dt.timedelta(hours=1), dt.timedelta(hours=2)}  # winter and summer time both met
    for event in day_n:
        if event.kind in (CareEvent.Kind.CYCLE_START, CareEvent.Kind.DOSE_STEP_UP):
            assert local(event).time() == dt.time(9, 0), event
        if event.kind == CareEvent.Kind.DISCHARGE_HOME:
            assert local(event).time() == dt.time(11, 0), event
    for cycle in course.cycles.all():
        ends = [e for e in events(course, CareEvent.Kind.CYCLE_END) if e.cycle_id == cycle.pk]
        assert [e.day_number for e in ends] == [29]
        assert local(ends[0]).date() == cycle.infusion_end_date
    # The pump-off on day 29 comes after 28 × 24 hours of infusion, whatever the clock change: at
    # 10:00 local when the spring change falls in the cycle, 08:00 when the autumn one does.
    lengths, hours_off = {}, {}
    for cycle in course.cycles.all():
        start, end = (cycle.events.get(kind=kind) for kind in (CareEvent.Kind.CYCLE_START, CareEvent.Kind.CYCLE_END))
        lengths[cycle.number], hours_off[cycle.number] = end.planned_at - start.planned_at, local(end).hour
    assert set(lengths.values()) == {dt.timedelta(days=28)}
    assert (hours_off[1], hours_off[6], hours_off[2]) == (10, 8, 9)
    step_up = events(course, CareEvent.Kind.DOSE_STEP_UP)[0]
    end = course.cycles.get(number=1).events.get(kind=CareEvent.Kind.CYCLE_END)
    assert (local(step_up).utcoffset(), local(end).utcoffset()) == (dt.timedelta(hours=1), dt.timedelta(hours=2))


# --- limits on cycles --------------------------------------------------------------------------


@pytest.mark.parametrize(("indication", "limit"), [(RR, 9), (MRD, 4)])
def test_planning_more_cycles_than_the_regimen_allows_is_refused(paris_patient, oncologist, indication, limit):
    with pytest.raises(ValidationError) as refused:
        plan(paris_patient, indication, limit + 1, actor=oncologist)
    (message,) = refused.value.message_dict["planned_cycles"]
    assert f"at most {limit} cycles" in message
    assert not TreatmentCourse.objects.filter(patient=paris_patient).exists()

    course = plan(paris_patient, indication, limit, actor=oncologist)
    assert course.cycles.count() == limit


def test_extending_an_mrd_course_to_five_cycles_is_refused(paris_patient):
    course = plan(paris_patient, MRD, 4)
    events_before = CareEvent.objects.filter(cycle__course=course).count()
    with pytest.raises(ValidationError) as refused:
        course_extend(course=course, planned_cycles=5, now=BEFORE)
    (message,) = refused.value.message_dict["planned_cycles"]
    assert "at most 4 cycles" in message and "5 were asked for" in message
    course.refresh_from_db()
    assert course.planned_cycles == 4
    assert course.cycles.count() == 4
    assert CareEvent.objects.filter(cycle__course=course).count() == events_before


def test_consolidation_has_no_regimen_limit_but_the_trackers_ceiling(paris_patient):
    with pytest.raises(ValidationError) as refused:
        plan(paris_patient, CONSOLIDATION, 10)
    assert "at most 9 cycles" in refused.value.message_dict["planned_cycles"][0]
    course = plan(paris_patient, CONSOLIDATION, 9)
    assert course.planned_cycles == 9


def test_a_course_is_pinned_to_the_published_version_of_its_indication(paris_patient):
    course = plan(paris_patient, MRD, 2)
    assert course.regimen_version == RegimenVersion.objects.get(regimen__indication=MRD, status="published")


# --- the seeded data ---------------------------------------------------------------------------


@pytest.mark.parametrize("indication", [RR, MRD, CONSOLIDATION])
def test_seeded_regimen_versions_match_the_table_and_name_their_source(db, indication):
    version = RegimenVersion.objects.get(regimen__indication=indication, status=RegimenVersion.Status.PUBLISHED)
    assert "prescribing information" in version.source and "2024" in version.source
    assert version.max_cycles == MAX_CYCLES[indication]
    assert version.step_up_day == STEP_UP_DAY[indication]
    assert version.infusion_days == 28
    for number, (phase, rest, inpatient) in TABLE[indication].items():
        rule = version.cycle_rule(number)
        assert (rule.phase, rule.rest_days, rule.inpatient_days) == (phase, rest, inpatient), number
    # Interruptions and toxicity (CLINICAL.md): 7-day breaks, 4-hour supervision, restart at 9 mcg/day.
    assert version.longest_break_in_cycle_days == 7
    assert version.supervised_restart_after_hours == 4
    assert version.re_escalation_after_days == 7
    assert version.restart_dose.startswith("9 mcg/day")
    # "Neurological toxicity grade 3: ... stop for good if it ... took more than 7 days to resolve";
    # "Other grade 3 reactions: hold until grade 1 or less for 3 days, ... stop if it takes more
    # than 14 days to resolve".
    assert version.neurological_resolve_within_days == 7
    assert version.other_toxicity_resolve_within_days == 14
    assert version.restart_after_resolved_days == 3
    # "CRS ... Grade 4: stop for good"; "Neurological toxicity ... grade 4: stop for good"; for
    # other reactions only the grade 3 rule.
    assert version.crs_stop_for_good_from_grade == version.neurological_stop_for_good_from_grade == 4
    assert version.other_stop_for_good_from_grade is None
    # "Under 45 kg the dose is by body-surface area".
    assert version.dose_by_area_under_kg == 45
    if STEP_UP_DAY[indication]:
        assert "9 mcg/day days 1–7" in version.starting_dose and version.step_up_dose
    else:
        assert "no step-up" in version.starting_dose and not version.step_up_dose


# CLINICAL.md, the regimen table and its note on patients under 45 kg, and "Interruptions and
# toxicity" (the restart and re-escalation doses): the words each dose must say, by field. The
# tracker never computes an order: these are the wordings the pharmacist checks the order against.
UNDER_45_STEP_UP = ["5 mcg/m²/day (max 9 mcg/day)", "15 mcg/m²/day (max 28 mcg/day)"]
UNDER_45_FLAT = ["15 mcg/m²/day (max 28 mcg/day)"]
LATER_CYCLES = ["28 mcg/day days 1–28", *UNDER_45_FLAT]
DOSES = {
    RR: {
        "starting_dose": ["9 mcg/day days 1–7", "28 mcg/day days 8–28", *UNDER_45_STEP_UP],
        "step_up_dose": ["28 mcg/day", "15 mcg/m²/day", "max 28 mcg/day"],
        "later_cycle_dose": LATER_CYCLES,
    },
    MRD: {"starting_dose": ["28 mcg/day days 1–28", "no step-up", *UNDER_45_FLAT], "later_cycle_dose": LATER_CYCLES},
    CONSOLIDATION: {
        "starting_dose": ["28 mcg/day days 1–28", "no step-up", *UNDER_45_FLAT],
        "later_cycle_dose": LATER_CYCLES,
    },
}
# "restart at 9 mcg/day (children 5 mcg/m²/day) and escalate to 28 mcg/day (15 mcg/m²/day) after
# 7 days without recurrence": the same for every indication.
RESTART_DOSES = {
    "restart_dose": ["9 mcg/day", "5 mcg/m²/day"],
    "re_escalation_dose": ["28 mcg/day", "15 mcg/m²/day", "7 days without recurrence"],
}


@pytest.mark.parametrize("indication", [RR, MRD, CONSOLIDATION])
def test_seeded_dose_wordings_say_clinical_md_s_doses(db, indication):
    version = RegimenVersion.objects.get(regimen__indication=indication, status=RegimenVersion.Status.PUBLISHED)
    for field, words in {**DOSES[indication], **RESTART_DOSES}.items():
        said = getattr(version, field)
        for word in words:
            assert says(said, word), (field, word, said)
    # Only the relapsed/refractory cycle 1 starts low (before its step-up): no other cycle's dose
    # says 9 mcg/day or 5 mcg/m².
    full_dose_fields = ["later_cycle_dose"] if STEP_UP_DAY[indication] else ["starting_dose", "later_cycle_dose"]
    for field in full_dose_fields:
        said = getattr(version, field)
        assert not says(said, "9 mcg/day") and not says(said, "5 mcg/m²"), (field, said)


# CLINICAL.md, "Premedication (by indication, age, cycle and restart)", written out here on its own:
# (population, moment) -> (the last cycle it applies to, None for every cycle; the medication).
# Restarts are premedicated for every indication ("Restart after 4 hours or more: supervised,
# premedicated"); children of the relapsed/refractory regimen in cycle 1 only.
ADULT_RR = "dexamethasone 20 mg IV"
CHILD = "dexamethasone 5 mg/m² (max 20 mg)"
ADULT_MRD = "prednisone 100 mg IV or equivalent (e.g. dexamethasone 16 mg)"
PREMEDICATIONS = {
    RR: {
        ("adult", "cycle_start"): (None, ADULT_RR),
        ("adult", "step_up"): (None, ADULT_RR),
        ("adult", "restart"): (None, ADULT_RR),
        ("child", "cycle_start"): (1, CHILD),
        ("child", "step_up"): (1, CHILD),
        ("child", "restart"): (1, CHILD),
    },
    MRD: {
        ("adult", "cycle_start"): (None, ADULT_MRD),
        ("adult", "restart"): (None, ADULT_MRD),
        ("child", "cycle_start"): (None, CHILD),
        ("child", "restart"): (None, CHILD),
    },
}


def seeded_premedications(indication):
    version = RegimenVersion.objects.get(regimen__indication=indication, status="published")
    return {(r.population, r.moment): (r.last_cycle, r.medication) for r in version.premedications.all()}


@pytest.mark.parametrize("indication", [RR, MRD])
def test_seeded_premedications_are_clinical_md_s_table(db, indication):
    assert seeded_premedications(indication) == PREMEDICATIONS[indication]


@pytest.mark.parametrize("indication", [RR, MRD, CONSOLIDATION])
def test_seeded_premedications_are_checked_against_a_window_not_merely_at_least_an_hour_before(db, indication):
    """CLINICAL.md: "the start is checked against a window (e.g. given 30–90 minutes before), not
    merely 'at least 1 hour before'"."""
    version = RegimenVersion.objects.get(regimen__indication=indication, status="published")
    windows = {(rule.window_min_minutes, rule.window_max_minutes) for rule in version.premedications.all()}
    assert windows == {(30, 90)}


def test_consolidation_premedications_are_per_the_protocol_and_every_cycle_without_step_up(db):
    """CLINICAL.md: "per the label and the chemotherapy protocol; keep it editable"."""
    rules = seeded_premedications(CONSOLIDATION)
    assert set(rules) == {
        ("adult", "cycle_start"),
        ("adult", "restart"),
        ("child", "cycle_start"),
        ("child", "restart"),
    }
    assert all(last_cycle is None for last_cycle, _ in rules.values())
    assert all("protocol" in medication for (population, _), (_, medication) in rules.items() if population == "adult")


def test_seeded_bag_options_match_the_makers_page_and_name_the_weight_limits_source(db):
    options = {o.duration_hours: o for o in BagOption.objects.all()}
    assert {h: (o.rate_ml_per_hour, o.preservative) for h, o in options.items()} == {
        24: (Decimal("10"), False),
        48: (Decimal("5"), False),
        72: (Decimal("1.8"), True),
        96: (Decimal("1.8"), True),
        168: (Decimal("0.6"), True),
    }
    # The preservative bags' weight limits differ between label versions (CLINICAL.md): the 7-day
    # bag takes the older text's 22 kg, the 72 h and 96 h bags the current monograph's 5.4 kg, each
    # naming its source; the preservative-free bags have none.
    assert {h: o.min_weight_kg for h, o in options.items()} == {
        24: None,
        48: None,
        72: Decimal("5.4"),
        96: Decimal("5.4"),
        168: Decimal("22"),
    }
    assert "22 kg" in options[168].weight_limit_source and "older label" in options[168].weight_limit_source.lower()
    for hours in (72, 96):
        assert "5.4 kg" in options[hours].weight_limit_source and "monograph" in options[hours].weight_limit_source
    assert all(o.source for o in options.values())
    for option in options.values():
        if option.min_weight_kg is not None:
            assert option.preservative and option.weight_limit_source


def test_the_limits_on_a_restart_are_edited_on_a_draft_and_shown_on_a_published_version(client, admin_user):
    verified_login(client, admin_user)
    published = RegimenVersion.objects.get(regimen__indication=RR, status=RegimenVersion.Status.PUBLISHED)
    draft = regimen_version_new_draft(regimen=published.regimen, actor=admin_user)
    assert draft.neurological_resolve_within_days == 7 and draft.other_toxicity_resolve_within_days == 14
    editable = client.get(reverse("admin:patients_regimenversion_change", args=[draft.pk])).content.decode()
    for name in (
        "neurological_resolve_within_days",
        "other_toxicity_resolve_within_days",
        "restart_after_resolved_days",
        "crs_stop_for_good_from_grade",
        "neurological_stop_for_good_from_grade",
        "other_stop_for_good_from_grade",
    ):
        assert f'name="{name}"' in editable, name
    shown = client.get(reverse("admin:patients_regimenversion_change", args=[published.pk])).content.decode()
    assert (
        "stop for good unless resolved within (days)" in shown
        and 'name="neurological_resolve_within_days"' not in shown
    )
