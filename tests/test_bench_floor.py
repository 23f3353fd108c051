"""`python -m bench load`'s floor page (bench/urls.py): what every page showing patients does for
a signed-in reader, so that it is measured as the pages are: sign-in needed, the access policy's
patients, and the read's audit row naming them."""

import pytest

from accounts.models import AuditEvent

from .accounts.helpers import verified_login

pytestmark = pytest.mark.urls("bench.urls")


def test_the_floor_page_shows_the_readers_patients_and_logs_the_read(client, nurse, patient, foreign_patient):
    verified_login(client, nurse)

    response = client.get("/signed-in/")

    assert response.status_code == 200
    assert response.content.decode().startswith("1 patients, version ")
    read = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, object_type="bench.signed_in").get()
    assert read.detail["patients"] == [patient.pk] and read.actor_id == nurse.pk


def test_the_floor_page_needs_a_signed_in_reader(client):
    response = client.get("/signed-in/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
