import pytest
from django.core.management import CommandError, call_command

from accounts.models import Unit, User
from patients.models import CareEvent, CareTeamMember, Cycle, Patient, TreatmentCourse

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
