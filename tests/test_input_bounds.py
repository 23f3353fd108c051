"""Bad input gets a message at its field, never a 500 and never a stored absurdity (issue 15, findings 7 and 8)."""

import threading
from contextlib import contextmanager

import pytest
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from checklists.models import Task
from checklists.services import checklists_instantiate
from patients.models import Patient

from .accounts.helpers import verified_login
from .checklists.helpers import make_event, publish_template
from .factories import PatientFactory
from .patients.helpers import registration_data

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_a_very_long_user_name_at_sign_in_is_a_form_error(client, nurse):
    response = client.post(reverse("login"), {"username": "n" * 256, "password": "whatever-it-is"})
    assert response.status_code == 200
    assert "Ensure this value has at most 150 characters" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mrn", "RUH1\r\n0001", "An MRN has letters and digits"),
        ("mrn", 'RUH"0001', "An MRN has letters and digits"),
        ("family_name", "Lovelace\u202egnirts", "Remove the invisible or control characters"),
        ("given_name", "Ada\tMary", "Remove the invisible or control characters"),
        ("birth_date", "0001-01-01", "Give a birth date after 1900: 1 is a typo."),
        ("weight_kg", "-1", "-1 kg is not a possible weight (between 0.5 and 300 kg): check it."),
        ("weight_kg", "99999999", "99999999 kg is not a possible weight (between 0.5 and 300 kg): check it."),
    ],
)
def test_an_impossible_value_at_registration_is_refused_at_its_field(
    client, coordinator, patient, field, value, message
):
    verified_login(client, coordinator)
    response = client.post(reverse("patients:create"), registration_data(patient, **{field: value}))
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert not Patient.objects.filter(given_name="Ada").exists()


def test_names_in_any_script_are_kept(client, coordinator, patient):
    verified_login(client, coordinator)
    response = client.post(
        reverse("patients:create"), registration_data(patient, given_name="Zoë-Anne", family_name="O'Brien عبد الله")
    )
    assert response.status_code == 302
    assert Patient.objects.filter(family_name="O'Brien عبد الله").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        *((value, "Enter a number with the digits 0–9") for value in ["1e-2000", "1e2", "1_000", "٦٥", "𝟔𝟓", "65.5.1"]),
        ("Infinity", "Enter a number with the digits 0–9"),
        # Plain digits, too many of them: the message says which part is too long.
        ("123456789", "At most 8 digits before the decimal point."),
        ("65.12345", "At most 4 digits after the decimal point, for example 65.5."),
        ("0,0000001", "At most 4 digits after the decimal point, for example 65.5."),
    ],
)
def test_a_number_answer_takes_plain_digits_only(client, nurse, patient, value, message):
    publish_template(items=[{"text": "Temperature", "response_kind": "number", "unit": "°C"}])
    event = make_event(patient, planned_at=timezone.now())
    checklists_instantiate(events=[event])
    task = Task.objects.get(event=event)
    client.force_login(nurse)
    response = client.post(reverse("task_complete", args=[task.pk]), {f"task-{task.pk}-value": value}, **HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN and task.value == ""


@contextmanager
def mrn_registered_meanwhile(patient, mrn: str):
    """Another registration of `mrn` in the patient's organisation, in a thread: inserted, not yet
    committed when the `with` body starts, committed half a second later, while the body's own
    insert or update waits on the unique index."""
    inserted, release = threading.Event(), threading.Event()

    def registration():
        try:
            with transaction.atomic():
                PatientFactory(mrn=mrn, unit=patient.unit, organisation=patient.organisation)
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=registration)
    other.start()
    assert inserted.wait(10)
    threading.Timer(0.5, release.set).start()
    try:
        yield
    finally:
        other.join(10)


@pytest.mark.django_db(transaction=True)
def test_two_registrations_of_one_mrn_at_once_give_one_patient_and_a_form_error(client, coordinator, patient):
    """The second registration passes the form's look for a duplicate (the first is not yet
    committed), then meets the unique index: it gets the field's message, not a 500."""
    verified_login(client, coordinator)
    with mrn_registered_meanwhile(patient, "NEW0001"):
        response = client.post(reverse("patients:create"), registration_data(patient))

    assert response.status_code == 200
    assert "Another patient of this organisation already has this MRN." in response.context["form"].errors["mrn"]
    assert Patient.objects.filter(mrn="NEW0001").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_edit_to_an_mrn_registered_meanwhile_gets_a_form_error(client, nurse, patient):
    """As for two registrations: an edit that gives the record an MRN that another registration
    takes at the same moment meets the unique index, and gets the field's message, not a 500."""
    client.force_login(nurse)
    with mrn_registered_meanwhile(patient, "NEW0001"):
        response = client.post(reverse("patients:edit", args=[patient.pk]), registration_data(patient, mrn="NEW0001"))

    assert response.status_code == 200
    assert "Another patient of this organisation already has this MRN." in response.context["form"].errors["mrn"]
    patient.refresh_from_db()
    assert patient.mrn != "NEW0001"
