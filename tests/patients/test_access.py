import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from accounts.audit import scope_of
from accounts.db import NOW, compiled
from accounts.models import Role
from patients.models import AccessGrant, Patient
from patients.models.record import visible_ids_query
from patients.selectors import get_patient_for_user
from patients.services import access_grant_open

from ..accounts.helpers import verified_login
from ..factories import OrganisationFactory, UnitFactory, UserFactory


@pytest.fixture(params=["queryset", "page statement"])
def visible(request):
    """Whom a user sees, asked as every query does (`visible_to`) and as a page's one statement
    does (`visible_ids_query`, compiled once per reader and asked again at each request's time)."""
    if request.param == "queryset":
        return lambda user: set(Patient.objects.visible_to(user))
    return lambda user: set(Patient.objects.filter(pk__in=scope_of(visible_ids_query(user)).patient_ids))


def test_a_care_team_member_sees_their_patient_only(nurse, patient, foreign_patient, visible):
    assert visible(nurse) == {patient}


def test_an_outsider_gets_404_for_a_patient_of_another_team(outsider, patient):
    with pytest.raises(Http404):
        get_patient_for_user(outsider, patient.pk)


def test_a_coordinator_sees_every_patient_of_their_unit(coordinator, patient, foreign_patient, visible):
    assert visible(coordinator) == {patient}


def test_a_colleague_on_the_same_unit_who_is_not_on_the_team_sees_nothing(patient, visible):
    colleague = UserFactory(role=Role.NURSE, unit=patient.unit)
    assert visible(colleague) == set()


def test_an_admin_is_not_thereby_a_care_team_member(admin_user, patient, visible):
    assert visible(admin_user) == set()


@pytest.mark.parametrize(
    ("role", "staff"),
    [("", True), (Role.CASE_MANAGER, False)],
    ids=["made-an-administrator", "made-case-manager"],
)
def test_a_membership_of_a_role_the_user_no_longer_holds_opens_nothing(nurse, patient, visible, role, staff):
    """A membership keeps the role its user was added in (CareTeamMember.objects.in_current_role):
    a nurse made an administrator (who sees no patient) or case manager is no longer on the team,
    for seeing it as for working it, until the coordinator adds them again in their new role."""
    nurse.role, nurse.is_staff = role, staff
    nurse.save()

    assert visible(nurse) == set()
    with pytest.raises(Http404):
        get_patient_for_user(nurse, patient.pk)


def test_an_inactive_member_sees_nothing(nurse, visible):
    nurse.is_active = False
    assert visible(nurse) == set()


def test_a_live_access_grant_opens_the_patient_to_the_unit_until_it_ends(patient, visible):
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


@pytest.mark.parametrize(
    ("role", "staff", "sees"),
    [
        ("", True, False),
        ("", False, False),
        (Role.PHARMACIST, True, True),
        (Role.CASE_MANAGER, False, True),
        (Role.COORDINATOR, False, True),
    ],
    ids=["administrator", "no-role", "pharmacist-and-staff", "case-manager", "coordinator"],
)
def test_a_units_grant_opens_the_patient_to_its_clinicians_and_coordinators_only(patient, visible, role, staff, sees):
    """Found by review: the agency's administrator (no clinical role) read the granted patient's
    page, its REST record and its FHIR $everything. A unit's grant opens the patient to those of
    the unit who see patients at all (VIEW_PATIENTS), as a care team does; an admin sees nothing."""
    agency = UnitFactory(name="Home agency", organisation=patient.unit.organisation)
    user = UserFactory(role=role, is_staff=staff, unit=agency)
    access_grant_open(patient=patient, unit=agency, reason="handoff")

    assert visible(user) == ({patient} if sees else set())


def test_a_revoked_or_future_grant_opens_nothing(patient, visible):
    agency = UnitFactory(name="Home agency")
    home_nurse = UserFactory(role=Role.NURSE, unit=agency)
    now = timezone.now()
    AccessGrant.objects.create(patient=patient, unit=agency, reason="later", starts_at=now + dt.timedelta(hours=1))
    AccessGrant.objects.create(patient=patient, unit=agency, reason="revoked", revoked_at=now)
    assert visible(home_nurse) == set()


def test_write_access_is_for_the_team_and_the_coordinator(nurse, coordinator, patient):
    assert get_patient_for_user(nurse, patient.pk, write=True) == patient
    assert get_patient_for_user(coordinator, patient.pk, write=True) == patient


def test_a_grant_never_opens_a_patient_to_another_organisations_unit_or_person(patient, visible):
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


def test_a_page_asks_the_policy_at_its_own_time_though_its_sql_was_compiled_before(patient, visible):
    """The page statement's SQL is compiled once per reader; the time in it is each request's."""
    agency = UnitFactory(name="Home agency")
    home_nurse = UserFactory(role=Role.NURSE, unit=agency)
    start = timezone.now()
    AccessGrant.objects.create(
        patient=patient,
        unit=agency,
        reason="handoff",
        starts_at=start + dt.timedelta(hours=1),
        ends_at=start + dt.timedelta(hours=3),
    )
    assert visible(home_nurse) == set()
    with time_machine.travel(start + dt.timedelta(hours=2)):
        assert visible(home_nurse) == {patient}
    with time_machine.travel(start + dt.timedelta(hours=4)):
        assert visible(home_nurse) == set()


def test_a_reader_made_coordinator_or_moved_is_asked_anew(patient, visible):
    """What the policy reads of a user (their unit, whether they coordinate it) names the compiled
    query: a change of either is a new query, never the former one's answer."""
    colleague = UserFactory(role=Role.NURSE, unit=patient.unit)
    assert visible(colleague) == set()
    colleague.role = Role.COORDINATOR
    assert visible(colleague) == {patient}
    colleague.unit = UnitFactory(name="Another ward")
    assert visible(colleague) == set()
    AccessGrant.objects.create(patient=patient, unit=colleague.unit, reason="handoff", starts_at=timezone.now())
    assert visible(colleague) == {patient}


def test_the_patient_page_statement_selects_the_one_patient_if_seen(nurse, patient, foreign_patient):
    assert scope_of(visible_ids_query(nurse, pk=patient.pk)).patient_ids == [patient.pk]
    assert scope_of(visible_ids_query(nurse, pk=foreign_patient.pk)).patient_ids == []


def test_a_compiled_query_is_built_once_and_asked_at_each_time():
    built = []

    def build(user_id, now):
        built.append(user_id)
        return AccessGrant.objects.filter(user_id=user_id, starts_at__lte=now).values("patient_id")

    first, again = compiled(build, 7, NOW), compiled(build, 7, NOW)
    assert first is again and built == [7]
    moment = timezone.now()
    assert sorted(first.at(moment).params, key=str) == sorted((7, moment), key=str)
    assert NOW in compiled(build, 8, NOW).params and built == [7, 8]


def test_on_sqlite_the_page_statement_is_the_ids_of_the_patients_seen(nurse, patient, foreign_patient, monkeypatch):
    """`make run`'s SQLite compiles nothing (accounts.db.compiled gives None) and scope_of reads the
    ids in Python: they must be ids, as they were, not rows (My work answered a 500 there)."""
    from collections import defaultdict
    from types import SimpleNamespace

    from accounts import audit
    from patients.models import record

    monkeypatch.setattr(record, "compiled", lambda *args: None)
    sqlite = defaultdict(lambda: SimpleNamespace(vendor="sqlite"))
    monkeypatch.setattr(audit, "connections", sqlite)  # only scope_of is told
    assert scope_of(visible_ids_query(nurse)).patient_ids == [patient.pk]
    assert scope_of(visible_ids_query(nurse, pk=patient.pk)).patient_ids == [patient.pk]
    assert scope_of(visible_ids_query(nurse, pk=foreign_patient.pk)).patient_ids == []


def test_an_agency_administrator_reads_nothing_of_a_granted_patient_by_page_api_or_fhir(client, patient):
    """The review's reproduction: the agency's staff administrator (no clinical role) had 200 from
    all four; the patient is not theirs to read."""
    agency = UnitFactory(name="Home agency", organisation=patient.unit.organisation)
    access_grant_open(patient=patient, unit=agency, reason="handoff")
    verified_login(client, UserFactory(username="agencyadmin", role="", unit=agency, is_staff=True))

    for address in (
        f"/patients/{patient.pk}/",
        f"/api/v1/patients/{patient.pk}/",
        f"/fhir/R4/Patient/{patient.pk}",
        f"/fhir/R4/Patient/{patient.pk}/$everything",
    ):
        assert client.get(address).status_code == 404, address
