"""The patients' list pages read as many times for many rows as for one: the patient list, the
care team with its transfers, the toxicity watch with its assessments, home checks and pump events."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from patients.models import Assessment, HomeCheckIn, PumpEvent, Transfer

from ..factories import CareTeamMemberFactory, CourseFactory, PatientFactory, UnitFactory, UserFactory
from ..query_count import queries_of


@pytest.fixture(autouse=True)
def _still_clock(time_machine):
    time_machine.move_to(timezone.now(), tick=False)


def test_the_patient_list_reads_as_many_times_for_20_patients_as_for_1(client, patient, nurse):
    client.force_login(nurse)
    url = reverse("patients:list")
    client.get(url)
    one = queries_of(client, url)
    for _ in range(19):
        CareTeamMemberFactory(patient=PatientFactory(unit=UnitFactory()), user=nurse, role=Role.NURSE)
    assert client.get(url).content.decode().count("/patients/") >= 20
    assert queries_of(client, url) == one


def _transfer(patient, by):
    Transfer.objects.create(
        patient=patient, from_unit=UnitFactory(), to_unit=patient.unit, reason="Closer to home", by=by
    )


def test_the_care_team_reads_as_many_times_for_20_members_and_transfers_as_for_1(client, patient, coordinator):
    from ..accounts.helpers import verified_login

    verified_login(client, coordinator)
    CareTeamMemberFactory(patient=patient, user=UserFactory(unit=UnitFactory()), role=Role.NURSE)
    _transfer(patient, coordinator)
    url = reverse("patients:care_team", args=[patient.pk])
    client.get(url)
    one = queries_of(client, url)
    for _ in range(19):
        CareTeamMemberFactory(patient=patient, user=UserFactory(role=Role.NURSE, unit=UnitFactory()), role=Role.NURSE)
        _transfer(patient, UserFactory(role=Role.COORDINATOR, unit=patient.unit))
    assert queries_of(client, url) == one


def _record(patient, nurse, oncologist, at):
    Assessment.objects.create(
        patient=patient,
        assessed_at=at,
        recorded_by=nurse,
        crs_grade=1,
        crs_rule="Fever",
        icans_grade=0,
        confirmed_by=oncologist,
        confirmed_at=at,
        confirmed_crs_grade=1,
        confirmed_icans_grade=0,
    )
    Assessment.objects.create(patient=patient, assessed_at=at, recorded_by=nurse, crs_grade=2, icans_grade=1)
    HomeCheckIn.objects.create(
        patient=patient,
        checked_at=at,
        temperature=Decimal("37.0"),
        temperature_unit="C",
        temperature_celsius=Decimal("37.0"),
        pump_status="running",
        recorded_by=nurse,
    )
    course = patient.courses.first() or CourseFactory(patient=patient)
    PumpEvent.objects.create(
        patient=patient, course=course, kind="leak", occurred_at=at, reported_by="nurse", recorded_by=nurse
    )


def test_the_toxicity_watch_reads_as_many_times_for_20_assessments_as_for_1(client, patient, nurse, oncologist):
    client.force_login(oncologist)  # who sees a confirm form on each unconfirmed assessment
    now = timezone.now()
    _record(patient, nurse, oncologist, now - dt.timedelta(hours=1))
    url = reverse("patients:assessments", args=[patient.pk])
    client.get(url)
    one = queries_of(client, url)
    for hours in range(2, 21):
        recorder = UserFactory(role=Role.NURSE, unit=patient.unit)
        _record(
            patient, recorder, UserFactory(role=Role.ONCOLOGIST, unit=patient.unit), now - dt.timedelta(hours=hours)
        )
    assert queries_of(client, url) == one
