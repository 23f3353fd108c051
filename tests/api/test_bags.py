"""The pharmacy's bags through the API: read only, as the event's page shows them (the course
plan's readers, not a handoff's grant), with who compounded, checked and decided, and a filter for
those that wait for the pharmacist's decision."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import AccessGrant, CareEvent, InfusionBag

from ..checklists.helpers import make_event
from ..coordination.handoff_helpers import make_agency, make_home_nurse
from ..factories import UserFactory
from ..patients.helpers import make_bag
from .helpers import bearer, token_for


@pytest.fixture
def bags(patient, pharmacist):
    """A bag hung as planned, one whose event was cancelled (waiting), one returned."""
    checker = UserFactory(role="pharmacist", unit=patient.unit)
    made = {}
    for name, hours in (("hung", 3), ("waiting", 27), ("returned", 51)):
        event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=hours))
        made[name] = make_bag(event, compounded_by=pharmacist, checked_by=checker)
    CareEvent.objects.filter(pk__in=[made["waiting"].event_id, made["returned"].event_id]).update(
        status=CareEvent.Status.CANCELLED
    )
    InfusionBag.objects.filter(pk=made["returned"].pk).update(
        decision=InfusionBag.Decision.RETURNED,
        decision_reason="The restart moved to a new cycle",
        decided_by=pharmacist,
        decided_at=dt.datetime(2026, 12, 6, 11, 55, tzinfo=dt.UTC),
    )
    return made


def listed(client, user, query=""):
    response = client.get(reverse("api:bag-list") + query, **bearer(token_for(user)))
    assert response.status_code == 200, response.content[:300]
    return response.json()["results"]


def test_a_bag_reads_with_its_label_its_people_and_its_times_in_utc(client, nurse, pharmacist, bags):
    bag = bags["returned"]
    response = client.get(reverse("api:bag-detail", args=[bag.pk]), **bearer(token_for(nurse)))
    assert response.status_code == 200
    body = response.json()
    assert (body["patient"], body["event"], body["moved_from_event"]) == (bag.patient_id, bag.event_id, None)
    assert (body["dose"], body["dose_basis"], body["volume_ml"], body["rate_ml_per_hour"]) == (
        "9 mcg/day",
        "weight",
        "240.0",
        "10.0",
    )
    assert (body["duration_hours"], body["preservative"], body["stabiliser_added"]) == (24, False, True)
    assert body["compounded_by"] == {
        "id": pharmacist.pk,
        "username": pharmacist.username,
        "name": str(pharmacist),
        "role": "pharmacist",
    }
    assert body["checked_by"]["role"] == "pharmacist" and body["recorded_by"]["id"] == pharmacist.pk
    assert (body["decision"], body["decision_reason"], body["decided_by"]["id"]) == (
        "returned",
        "The restart moved to a new cycle",
        pharmacist.pk,
    )
    assert body["decided_at"] == "2026-12-06T11:55:00Z" and body["expires_at"].endswith("Z")
    assert body["needs_decision"] is False


def test_the_bags_waiting_for_a_decision_are_found_by_their_filter(client, nurse, patient, bags):
    assert [row["id"] for row in listed(client, nurse, "?needs_decision=true")] == [bags["waiting"].pk]
    assert listed(client, nurse, "?needs_decision=true")[0]["needs_decision"] is True
    others = {row["id"] for row in listed(client, nurse, "?needs_decision=false")}
    assert others == {bags["hung"].pk, bags["returned"].pk}
    assert [row["id"] for row in listed(client, nurse, f"?event={bags['hung'].event_id}")] == [bags["hung"].pk]
    assert len(listed(client, nurse, f"?patient={patient.pk}")) == 3


def test_a_needs_decision_that_is_neither_true_nor_false_is_a_400_at_its_parameter(client, nurse, bags):
    response = client.get(reverse("api:bag-list") + "?needs_decision=yes", **bearer(token_for(nurse)))
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"needs_decision": ["Say true or false."]}


def test_bags_are_not_written_through_the_api(client, pharmacist, bags):
    secret = token_for(pharmacist)
    bag = bags["waiting"]
    assert (
        client.post(reverse("api:bag-list"), {}, content_type="application/json", **bearer(secret)).status_code == 405
    )
    detail = reverse("api:bag-detail", args=[bag.pk])
    body = {"decision": "discarded", "decision_reason": "Expired"}
    for method in (client.put, client.patch, client.delete):
        assert method(detail, body, content_type="application/json", **bearer(secret)).status_code == 405
    assert InfusionBag.objects.get(pk=bag.pk).decision == ""


def test_a_receiving_unit_does_not_read_the_bags_as_the_event_page_is_not_theirs(client, patient, bags):
    agency = make_agency(patient.unit)
    AccessGrant.objects.create(patient=patient, unit=agency, reason="Handoff to home")
    home_nurse = make_home_nurse(agency)
    response = client.get(reverse("api:bag-detail", args=[bags["hung"].pk]), **bearer(token_for(home_nurse)))
    assert response.status_code == 404
    assert listed(client, home_nurse) == []
