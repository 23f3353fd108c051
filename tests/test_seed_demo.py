import pytest
from django.core.management import CommandError, call_command

from accounts.models import Unit, User
from patients.models import CareEvent, CareTeamMember, Cycle, Indication, Interruption, Patient, TreatmentCourse

MODELS = [Unit, User, Patient, CareTeamMember, TreatmentCourse, Cycle, CareEvent]


@pytest.fixture(autouse=True)
def _demo_password(settings):
    settings.DEMO_PASSWORD = "test-Demo-pass-1"


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_seed_demo_run_twice_gives_the_same_counts(db, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    assert first["Patient"] >= 12
    assert {
        "pharmacist",
        "nurse",
        "nurse2",
        "oncologist",
        "casemanager",
        "coordinator",
        "homenurse",
        "outsider",
        "admin",
    } <= set(User.objects.values_list("username", flat=True))
    assert_the_demo_holds_each_indication_a_moved_plan_and_a_stop_for_good()


def test_demo_users_sign_in_with_the_demo_password(db, settings, client):
    settings.DEBUG = True
    settings.DEMO_PASSWORD = "another-Demo-pass-9"
    call_command("seed_demo")
    assert client.login(username="nurse", password="another-Demo-pass-9")


def test_the_outsider_shares_no_patient_with_the_ward(db, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    nurse, outsider = User.objects.get(username="nurse"), User.objects.get(username="outsider")
    assert not set(Patient.objects.visible_to(nurse)) & set(Patient.objects.visible_to(outsider))


def test_seed_demo_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")
    assert Patient.objects.count() == 0
    call_command("seed_demo", force=True)
    assert Patient.objects.count() >= 12


def test_seed_demo_needs_a_password(db, settings):
    settings.DEBUG = True
    settings.DEMO_PASSWORD = ""
    with pytest.raises(CommandError, match="DEMO_PASSWORD"):
        call_command("seed_demo")


def assert_the_demo_holds_each_indication_a_moved_plan_and_a_stop_for_good():
    """Checked inside the first test: seeding costs seconds, so the suite seeds once for both."""
    courses = TreatmentCourse.objects.select_related("regimen_version__regimen")
    assert {course.indication for course in courses} == set(Indication.values)
    continued = Cycle.objects.filter(course__indication=Indication.RELAPSED_REFRACTORY, number__gte=6)
    assert continued.exists() and {cycle.rest_days for cycle in continued} == {56}
    assert not Cycle.objects.filter(course__indication=Indication.CONSOLIDATION, phase=Cycle.Phase.INDUCTION).exists()
    moved = Interruption.objects.get(patient__mrn="RUH100014", restarted_at__isnull=False, permanent=False)
    assert moved.cycle.extended_by == moved.restarted_at - moved.stopped_at
    assert courses.filter(status=TreatmentCourse.Status.STOPPED).exists()
    # The toxicity watch: an open urgent alert at night, one acknowledged, a night pump alarm
    # that stopped and restarted the infusion at home, a home check with a red flag, rosters.
    from coordination.models import OnCallShift, ToxicityAlert
    from patients.models import HomeCheckIn, PumpEvent

    assert ToxicityAlert.objects.filter(acknowledged_at__isnull=True, reason="ICANS grade 2").exists()
    assert ToxicityAlert.objects.filter(acknowledged_at__isnull=False, reason="CRS grade 2").exists()
    alarm = PumpEvent.objects.get(patient__mrn="RUH100003")
    assert alarm.out_of_hours and alarm.interruption.restarted_at is not None
    assert HomeCheckIn.objects.get(patient__mrn="RUH100003").red_flags == ["Loss of balance"]
    assert {(shift.unit.name, shift.role) for shift in OnCallShift.objects.all()} >= {
        ("Haematology Ward 7", "oncologist"),
        ("HomeCare Infusion", "nurse"),
    }
    # Only relapsed/refractory courses step up on cycle 1 day 8 (re-escalations are added by hand).
    step_ups = CareEvent.objects.filter(kind=CareEvent.Kind.DOSE_STEP_UP, scheduled=True)
    assert {event.cycle.course.indication for event in step_ups} == {Indication.RELAPSED_REFRACTORY}
