"""`seed_demo`: the demo hospital that `make run` shows a newcomer.

Seeding takes some 20 seconds, so the module seeds once (`demo`, a layer of tests/layers.py): by
the command, with --force and DEBUG off, under a password of its own. Each test reads that
hospital inside its own savepoint; the one that seeds a second time does it there too.
"""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Unit, User
from checklists.models import ChecklistTemplate, TemplateItem, TemplateReview, TemplateVersion
from checklists.services import template_version_new_draft, template_version_publish
from checklists.starter import CORRECTION_SUMMARY, LOAD_SUMMARY, STARTER_FILES
from coordination.demo import seed_demo
from coordination.handoffs.selectors import handoff_actions_for, handoffs_visible_to
from coordination.models import Handoff, HandoffAction, HandoffComment, Notification, OnCallShift, ToxicityAlert
from patients.models import (
    AccessGrant,
    CareEvent,
    CareTeamMember,
    Cycle,
    HomeCheckIn,
    Indication,
    InfusionBag,
    Interruption,
    Patient,
    PumpEvent,
    TreatmentCourse,
)

from .layers import build, layer

DEMO_PASSWORD = "another-Demo-pass-9"
MODELS = [
    Unit,
    User,
    Patient,
    CareTeamMember,
    TreatmentCourse,
    Cycle,
    CareEvent,
    Handoff,
    HandoffAction,
    HandoffComment,
    AccessGrant,
]


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def seed():
    call_command("seed_demo", force=True, stdout=io.StringIO())


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, seeded as on a demo server: DEBUG off, so only with --force. Its counts."""
    with layer(django_db_blocker):
        yield build(django_db_blocker, lambda: (seed(), counts())[1], DEBUG=False, DEMO_PASSWORD=DEMO_PASSWORD)


# The demo users that ../shared/DESIGN.md promises (its contract for `seed_demo`).
DESIGN_USERS = [
    "pharmacist",
    "nurse",
    "nurse2",
    "oncologist",
    "casemanager",
    "coordinator",
    "homenurse",
    "outsider",
    "admin",
]


def test_seeding_again_adds_nothing_and_gives_every_demo_user_the_password_now_set(demo, db, settings):
    settings.DEMO_PASSWORD = "a-third-Demo-pass-7"
    seed()
    assert counts() == demo
    for user in User.objects.filter(username__in=DESIGN_USERS):
        assert user.check_password("a-third-Demo-pass-7"), user.username


def test_every_demo_user_signs_in_with_the_demo_password(demo, db, client):
    users = User.objects.filter(username__in=DESIGN_USERS, is_active=True)
    assert sorted(user.username for user in users) == sorted(DESIGN_USERS)
    for user in users:
        assert user.check_password(DEMO_PASSWORD), user.username
    assert client.login(username="nurse", password=DEMO_PASSWORD)


def test_the_outsider_shares_no_patient_with_the_ward(demo, db):
    assert demo["Patient"] >= 12
    nurse, outsider = User.objects.get(username="nurse"), User.objects.get(username="outsider")
    assert not set(Patient.objects.visible_to(nurse)) & set(Patient.objects.visible_to(outsider))


def test_the_demo_holds_each_indication_a_moved_plan_and_a_stop_for_good(demo, db):
    courses = TreatmentCourse.objects.select_related("regimen_version__regimen")
    assert {course.indication for course in courses} == set(Indication.values)
    continued = Cycle.objects.filter(course__indication=Indication.RELAPSED_REFRACTORY, number__gte=6)
    assert continued.exists() and {cycle.rest_days for cycle in continued} == {56}
    assert not Cycle.objects.filter(course__indication=Indication.CONSOLIDATION, phase=Cycle.Phase.INDUCTION).exists()
    moved = Interruption.objects.get(patient__mrn="RUH100014", restarted_at__isnull=False, permanent=False)
    assert moved.cycle.extended_by == moved.restarted_at - moved.stopped_at
    assert courses.filter(status=TreatmentCourse.Status.STOPPED).exists()
    # Only relapsed/refractory courses step up on cycle 1 day 8 (re-escalations are added by hand).
    step_ups = CareEvent.objects.filter(kind=CareEvent.Kind.DOSE_STEP_UP, scheduled=True)
    assert {event.cycle.course.indication for event in step_ups} == {Indication.RELAPSED_REFRACTORY}


def test_the_course_stopped_for_good_asks_nothing_for_a_next_cycle(demo, db):
    """Found by a walk through the demo: Novak's course, stopped for good after a grade 4 CRS, gave
    the case manager an overdue "next cycle's authorisation" on its kept cycle end. It is cancelled
    with the reason (condition fact next_cycle); the pump and supplies still come back."""
    from checklists.models import Task

    (end,) = CareEvent.objects.filter(patient__mrn="RUH100015", kind=CareEvent.Kind.CYCLE_END).exclude(
        status=CareEvent.Status.CANCELLED
    )
    tasks = {str(task.item.key): task.status for task in Task.objects.filter(event=end).select_related("item")}
    assert tasks["f60216d7-94e9-4d88-a559-5c374804c548"] == Task.Status.CANCELLED  # next cycle's authorisation
    assert tasks["c7898032-ee91-42b3-beeb-a276f15805a1"] != Task.Status.CANCELLED  # pump and supplies returned


def test_the_course_stopped_for_good_shows_the_grade_4_crs_it_was_stopped_for(demo, db):
    """Found by a walk through the demo: Novak's page said "Course stopped ... Grade 4 cytokine release
    syndrome" above "No assessment yet". The nurse's assessment is there, confirmed at grade 4 before
    the stop, its alert taken by the oncologist who stopped the course."""
    from patients.models import Assessment

    course = TreatmentCourse.objects.get(patient__mrn="RUH100015")
    stop = Interruption.objects.get(course=course, permanent=True)
    (assessment,) = Assessment.objects.filter(patient=course.patient)
    assert (assessment.crs, assessment.course_id) == (4, course.pk)
    assert assessment.confirmed_by.username == "oncologist"
    assert assessment.assessed_at < stop.stopped_at
    (alert,) = ToxicityAlert.objects.filter(assessment=assessment)
    assert alert.acknowledged_by.username == "oncologist" and alert.acknowledged_at < stop.stopped_at


def test_the_demos_past_work_never_skips_a_hard_stop_or_a_double_check(demo, db):
    """The tracker refuses to mark either not applicable (checklists.policy); so must the demo's
    bulk shortcut, or the demo would show what the tracker never lets happen."""
    from checklists.models import Task

    skipped = Task.objects.filter(status=Task.Status.NOT_APPLICABLE)
    assert skipped.exists()
    assert not skipped.filter(hard_stop=True).exists()
    assert not skipped.filter(needs_verification=True).exists()
    answered = Task.objects.filter(hard_stop=True, status=Task.Status.DONE, hard_stop_failed=False)
    assert {"weight", "premedication_time", "pump_rate"} <= set(answered.values_list("records", flat=True))
    past = Task.objects.filter(due_at__lt=timezone.now() - dt.timedelta(days=2), status=Task.Status.OPEN)
    assert not past.filter(hard_stop=True).exists()


def test_a_demo_bag_change_whose_bag_is_said_prepared_has_its_bag_recorded(demo, db):
    """Ticked in bulk, Okafor's bag change showed pharmacy's part done with no bag recorded, while
    the nurse's pump rate was refused for want of one: it could never get ready. The demo records
    the bag of the next one (through the services), and its pump rate is checked against it."""
    from checklists.models import Task

    prepared = Task.objects.filter(records="bag_prepared", status=Task.Status.DONE).select_related("event")
    assert prepared.exists()
    assert all(InfusionBag.objects.filter(event=task.event).exists() for task in prepared)
    # The paper era's bags were never recorded here: not applicable, as the demo's other past answers.
    paper = Task.objects.filter(records="bag_prepared", status=Task.Status.NOT_APPLICABLE)
    assert paper.exists() and not InfusionBag.objects.filter(event__tasks__in=paper).exists()
    okafor = prepared.get(patient__mrn="RUH100004").event
    assert okafor.kind == CareEvent.Kind.BAG_CHANGE and okafor.status == CareEvent.Status.PLANNED


def test_the_demo_holds_a_bag_waiting_for_the_pharmacists_decision(demo, db, client):
    """Novak's next bag change was cancelled after its bag was prepared: the pharmacist meets it."""
    from patients.services import bags_awaiting_decision

    novak = Patient.objects.get(mrn="RUH100011")
    (bag,) = bags_awaiting_decision(novak.pk)
    assert bag.event.status == CareEvent.Status.CANCELLED and bag.expires_at > timezone.now()
    assert client.login(username="pharmacist", password=DEMO_PASSWORD)
    page = client.get(f"/patients/{novak.pk}/").content.decode()
    assert "Bags waiting for a decision" in page and "Use for another event" in page


def test_the_demos_override_names_what_it_covered(demo, db):
    """An override that covers nothing reads on the board as one lifted when its event moved."""
    from checklists.models import Checklist

    (overridden,) = Checklist.objects.filter(overridden_at__isnull=False)
    assert overridden.overridden_blockers and overridden.override_reason


def test_the_demo_shows_the_toxicity_watch(demo, db):
    """An open urgent alert at night, one acknowledged, a night pump alarm that stopped and
    restarted the infusion at home, a home check with a red flag, rosters."""
    assert ToxicityAlert.objects.filter(acknowledged_at__isnull=True, reason="ICANS grade 2").exists()
    assert ToxicityAlert.objects.filter(acknowledged_at__isnull=False, reason="CRS grade 2").exists()
    alarm = PumpEvent.objects.get(patient__mrn="RUH100005")
    assert alarm.out_of_hours and alarm.interruption.restarted_at is not None
    assert HomeCheckIn.objects.get(patient__mrn="RUH100005").red_flags == ["Loss of balance"]


def _at_home(patient, at) -> bool:
    """Whether the plan has the patient at home at `at`: their last discharge or cycle start before
    then is a discharge home."""
    last = (
        CareEvent.objects.filter(
            patient=patient, kind__in=[CareEvent.Kind.DISCHARGE_HOME, CareEvent.Kind.CYCLE_START], planned_at__lte=at
        )
        .exclude(status=CareEvent.Status.CANCELLED)
        .order_by("-planned_at")
        .first()
    )
    return last is not None and last.kind == CareEvent.Kind.DISCHARGE_HOME


def test_the_demos_home_checks_and_pump_calls_are_of_patients_at_home(demo, db):
    """Dubois goes home tomorrow: no home check or pump call at home while the plan has her on the ward."""
    assert HomeCheckIn.objects.exists() and PumpEvent.objects.exists()
    for check in HomeCheckIn.objects.select_related("patient"):
        assert _at_home(check.patient, check.checked_at), check.patient
    for event in PumpEvent.objects.select_related("patient"):
        assert _at_home(event.patient, event.occurred_at), event.patient
    assert not HomeCheckIn.objects.filter(patient__mrn="RUH100003").exists()
    assert {(shift.unit.name, shift.role) for shift in OnCallShift.objects.all()} >= {
        ("Haematology Ward 7", "oncologist"),
        ("HomeCare Infusion", "nurse"),
    }


def test_the_demo_holds_handoffs_in_every_state_for_homenurse(demo, db):
    homenurse = User.objects.get(username="homenurse")
    by_status = {handoff.patient.mrn: handoff.status for handoff in Handoff.objects.select_related("patient")}
    assert set(by_status.values()) >= {"draft", "sent", "acknowledged", "accepted", "returned", "completed"}
    assert set(Handoff.objects.values_list("to_person__username", flat=True)) == {"homenurse"}

    seen = {h.patient.mrn for h in handoffs_visible_to(homenurse).select_related("patient")}
    # A completed handoff stays open to the agency while the infusion it sent home runs, until the
    # pump-off: both of the demo's patients at home are mid-cycle (Okafor's bag changes, Novak's day 20).
    live = {mrn for mrn, status in by_status.items() if status in ("sent", "acknowledged", "accepted", "completed")}
    assert seen == live
    assert {"RUH100001", "RUH100002"} & seen == set()  # the draft and the returned one
    visible = set(Patient.objects.visible_to(homenurse).values_list("mrn", flat=True))
    assert visible == seen  # the returned and the draft ones are closed to the agency
    assert handoff_actions_for(homenurse)  # the accepted handoff's tasks wait for her
    assert Notification.objects.filter(recipient=homenurse, link__startswith="/handoffs/").exists()

    sent = Handoff.objects.get(status="sent")
    assert sent.acknowledgement_overdue(timezone.now())  # the board has something to show
    assert Handoff.objects.filter(status="completed", signed_off_at__isnull=False).count() == 1


def test_the_starter_library_is_installed_and_shown_so_in_each_templates_history(demo, db):
    installed = TemplateReview.objects.filter(step=TemplateReview.Step.INSTALLED)
    assert installed.count() == ChecklistTemplate.objects.count() == len(STARTER_FILES)
    assert set(installed.values_list("version__number", "actor")) == {(1, None)}  # by the system
    assert not TemplateVersion.objects.filter(status__in=TemplateVersion.UNPUBLISHED).exists()


def test_seeding_a_database_of_an_older_library_leaves_the_corrections_as_drafts_to_review(demo, db):
    template = ChecklistTemplate.objects.get(name="Bag change")
    older = template_version_new_draft(template=template, actor=None)  # as an earlier release had it
    older.items.get(records=TemplateItem.Records.PUMP_RATE).delete()
    template_version_publish(version=older, actor=None, change_summary=LOAD_SUMMARY)
    published = set(TemplateVersion.objects.filter(status=TemplateVersion.Status.PUBLISHED).values_list("pk"))

    result = seed_demo(password=DEMO_PASSWORD)

    assert set(TemplateVersion.objects.filter(status=TemplateVersion.Status.PUBLISHED).values_list("pk")) == published
    draft = template.versions.get(status=TemplateVersion.Status.DRAFT)
    assert (draft.number, draft.change_summary) == (3, CORRECTION_SUMMARY)
    assert draft.items.filter(records=TemplateItem.Records.PUMP_RATE).exists()
    assert list(draft.authors.all()) == []  # the demo's content admins submit and approve it
    assert result.starter.drafted == {"Bag change": draft}
    assert not draft.reviews.exists()


# --- refusals: nothing is seeded ---------------------------------------------------------------


def test_seed_demo_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    before = counts()
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")
    assert counts() == before


def test_seed_demo_needs_a_password(db, settings):
    settings.DEBUG = True
    settings.DEMO_PASSWORD = ""
    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        call_command("seed_demo")
