import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from accounts.models import Role
from patients.models import AccessGrant, Patient
from patients.selectors import get_patient_for_user
from patients.services import access_grant_open

from ..factories import OrganisationFactory, UnitFactory, UserFactory


def visible(user):
    return set(Patient.objects.visible_to(user))


def test_a_care_team_member_sees_their_patient_only(nurse, patient, foreign_patient):
    assert visible(nurse) == {patient}


def test_an_outsider_gets_404_for_a_patient_of_another_team(outsider, patient):
    with pytest.raises(Http404):
        get_patient_for_user(outsider, patient.pk)


def test_a_coordinator_sees_every_patient_of_their_unit(coordinator, patient, foreign_patient):
    assert visible(coordinator) == {patient}


def test_a_colleague_on_the_same_unit_who_is_not_on_the_team_sees_nothing(patient):
    colleague = UserFactory(role=Role.NURSE, unit=patient.unit)
    assert visible(colleague) == set()


def test_an_admin_is_not_thereby_a_care_team_member(admin_user, patient):
    assert visible(admin_user) == set()


def test_an_inactive_member_sees_nothing(nurse):
    nurse.is_active = False
    assert visible(nurse) == set()


def test_a_live_access_grant_opens_the_patient_to_the_unit_until_it_ends(patient):
    agency = UnitFactory(name="Home agency")
    home_nurse = UserFactory(role=Role.NURSE, unit=agency)
    now = timezone.now()
    grant = AccessGrant.objects.create(
        patient=patient,
        unit=agency,
        reason="handoff",
        starts_at=now - dt.timedelta(minutes=1),
        ends_at=now + dt.timedelta(hours=1),
    )
    assert visible(home_nurse) == {patient}
    grant.ends_at = now - dt.timedelta(seconds=1)
    grant.save()
    assert visible(home_nurse) == set()


def test_a_revoked_or_future_grant_opens_nothing(patient):
    agency = UnitFactory(name="Home agency")
    home_nurse = UserFactory(role=Role.NURSE, unit=agency)
    now = timezone.now()
    AccessGrant.objects.create(patient=patient, unit=agency, reason="later", starts_at=now + dt.timedelta(hours=1))
    AccessGrant.objects.create(patient=patient, unit=agency, reason="revoked", revoked_at=now)
    assert visible(home_nurse) == set()


def test_write_access_is_for_the_team_and_the_coordinator(nurse, coordinator, patient):
    assert get_patient_for_user(nurse, patient.pk, write=True) == patient
    assert get_patient_for_user(coordinator, patient.pk, write=True) == patient


def test_a_grant_never_opens_a_patient_to_another_organisations_unit_or_person(patient):
    """The grant service is the last word on who may be let in: the handoff form and the on-call
    roster offer only this organisation's units and people, and the service holds the same line
    for any caller that does not (the roster's own policy, say)."""
    elsewhere = UnitFactory(name="Other hospital's ward", organisation=OrganisationFactory(name="Other Hospital"))
    their_oncologist = UserFactory(role=Role.ONCOLOGIST, unit=elsewhere)
    with pytest.raises(ValidationError):
        access_grant_open(patient=patient, unit=elsewhere, reason="handoff")
    with pytest.raises(ValidationError):
        access_grant_open(patient=patient, user=their_oncologist, reason="On call: urgent alert")
    assert not AccessGrant.objects.exists()
    assert visible(their_oncologist) == set()
    own = UserFactory(role=Role.ONCOLOGIST, unit=UnitFactory(name="Oncology clinic"))
    access_grant_open(patient=patient, user=own, reason="On call: urgent alert")
    assert visible(own) == {patient}
