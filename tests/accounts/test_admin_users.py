"""The admin's users: deactivated, never deleted; kept in their organisation once they have work
there; given admin rights only by a superuser (found by a review)."""

from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from coordination.models import Reminder
from patients.models import CareTeamMember, Patient

from ..factories import OrganisationFactory, UnitFactory, UserFactory
from .helpers import verified_login
from .test_signin import change_form_data

ELSEWHERE = "A user stays in their organisation: give them an account there."


def test_users_are_deactivated_never_deleted_in_the_admin(client, admin_user, nurse, patient):
    """Deleting a user erased their reminder ledger's rows and their care-team memberships."""
    now = timezone.now()
    Reminder.objects.create(
        kind=Reminder.Kind.DIGEST,
        target="digest",
        recipient=nurse,
        due_at=now,
        fire_at=now,
        dispatch_after=now,
        state=Reminder.State.SENT,
        sent_at=now,
    )
    verified_login(client, admin_user)
    delete = reverse("admin:accounts_user_delete", args=[nurse.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = client.get(reverse("admin:accounts_user_changelist")).text
    assert "delete_selected" not in changelist and 'value="deactivate"' in changelist
    bulk = {"action": "delete_selected", "_selected_action": [nurse.pk]}
    client.post(reverse("admin:accounts_user_changelist"), bulk)
    assert User.objects.filter(pk=nurse.pk).exists()
    assert Reminder.objects.filter(recipient=nurse).exists()
    assert CareTeamMember.objects.filter(patient=patient, user=nurse).exists()
    form = client.get(reverse("admin:accounts_user_change", args=[nurse.pk])).text
    assert "Deactivate instead (untick Active)" in form


def _move(client, user, unit):
    data = change_form_data(client, user, unit=unit.pk)
    return client.post(reverse("admin:accounts_user_change", args=[user.pk]), data)


def test_a_user_with_work_stays_in_their_organisation(client, admin_user, nurse, patient):
    """Moved to another organisation's unit, a nurse kept seeing the patients of her care teams."""
    elsewhere = UnitFactory(organisation=OrganisationFactory(name="Another hospital"), name="Their ward")
    verified_login(client, admin_user)
    response = _move(client, nurse, elsewhere)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["unit"] == [ELSEWHERE]
    nurse.refresh_from_db()
    assert nurse.unit == patient.unit

    # Within the organisation, or with no unit, as before.
    clinic = UnitFactory(organisation=patient.organisation, name="Day clinic")
    assert _move(client, nurse, clinic).status_code == 302
    nurse.refresh_from_db()
    assert nurse.unit == clinic and Patient.objects.visible_to(nurse).filter(pk=patient.pk).exists()

    # With no unit, their work still says where they are: no way round through an empty unit.
    User.objects.filter(pk=nurse.pk).update(unit=None)
    nurse.refresh_from_db()
    assert _move(client, nurse, elsewhere).status_code == 200
    assert _move(client, nurse, clinic).status_code == 302


def test_a_user_with_no_work_yet_is_placed_anywhere(client, admin_user, ward):
    newcomer = UserFactory(username="newcomer", role=Role.NURSE, unit=ward)
    elsewhere = UnitFactory(organisation=OrganisationFactory(name="Another hospital"), name="Their ward")
    verified_login(client, admin_user)
    assert _move(client, newcomer, elsewhere).status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.unit == elsewhere


def test_only_a_superuser_gives_admin_rights(client, ward):
    """A staff member allowed to change users ticked "superuser" on their own form."""
    staff = UserFactory(username="useradmin", role="", unit=None, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user"]))
    group = Group.objects.create(name="Everything")
    verified_login(client, staff)
    url = reverse("admin:accounts_user_change", args=[staff.pk])
    form = client.get(url)
    for name in ("is_superuser", "groups", "user_permissions"):
        assert f'name="{name}"' not in form.text, name
    data = change_form_data(client, staff, is_superuser="on", groups=[group.pk])
    data["user_permissions"] = list(Permission.objects.values_list("pk", flat=True))
    assert client.post(url, data).status_code == 302
    staff.refresh_from_db()
    assert not staff.is_superuser and not staff.groups.exists() and staff.user_permissions.count() == 2


def test_a_superuser_still_gives_them(client, admin_user, nurse):
    group = Group.objects.create(name="Template editors")
    verified_login(client, admin_user)
    url = reverse("admin:accounts_user_change", args=[nurse.pk])
    assert 'name="is_superuser"' in client.get(url).text
    assert client.post(url, change_form_data(client, nurse, groups=[group.pk])).status_code == 302
    assert list(nurse.groups.all()) == [group]


def test_a_staff_member_who_is_not_a_superuser_changes_no_superusers_account(client, admin_user):
    """Beside the above: one allowed to change users could set a superuser's password or deactivate
    them, and sign in as them. A superuser's account is shown to them, not changed."""
    staff = UserFactory(username="useradmin", role="", unit=None, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["change_user", "view_user"]))
    verified_login(client, staff)
    url = reverse("admin:accounts_user_change", args=[admin_user.pk])
    assert 'name="is_active"' not in client.get(url).text
    client.post(url, change_form_data(client, admin_user, is_active=""))
    password = reverse("admin:auth_user_password_change", args=[admin_user.pk])
    assert client.post(password, {"password1": "Another-pass-99", "password2": "Another-pass-99"}).status_code == 403
    admin_user.refresh_from_db()
    assert admin_user.is_active and not admin_user.check_password("Another-pass-99")
