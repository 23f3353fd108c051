"""The admin's units: a unit stays in the organisation it was made in, and keeps its kind and its
existence once anything refers to it."""

from django.urls import reverse

from accounts.models import Unit

from ..factories import OrganisationFactory, UnitFactory
from .helpers import verified_login


def test_a_units_organisation_is_read_only_once_it_exists(client, ward, admin_user):
    """Found by a review: moving a unit to another organisation left its patients, staff and
    grants in the first one, and the access checks, which compare organisations, disagreed."""
    elsewhere = OrganisationFactory(name="Another hospital")
    verified_login(client, admin_user)
    change = reverse("admin:accounts_unit_change", args=[ward.pk])
    form = client.get(change)
    assert form.status_code == 200
    assert 'name="organisation"' not in form.text  # shown, not offered

    hours = {"office_opens": "08:00", "office_closes": "18:00"}
    data = {"name": ward.name, "kind": ward.kind, "time_zone": ward.time_zone, "organisation": elsewhere.pk, **hours}
    assert client.post(change, data).status_code == 302
    ward.refresh_from_db()
    assert ward.organisation_id != elsewhere.pk

    add = client.post(
        reverse("admin:accounts_unit_add"),
        {
            "name": "New ward",
            "kind": Unit.Kind.INPATIENT_WARD,
            "time_zone": "UTC",
            "organisation": elsewhere.pk,
            **hours,
        },
    )
    assert add.status_code == 302
    assert Unit.objects.get(name="New ward").organisation == elsewhere


def test_a_units_clock_is_named_in_words_with_the_abbreviation_of_the_moment(ward, time_machine):
    """Found by a review of the pages: times were said to be in "America/New_York"."""
    import datetime as dt

    ward.time_zone = "America/New_York"
    time_machine.move_to(dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC), tick=False)
    assert ward.clock_label == "New York time (EST)"
    time_machine.move_to(dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC), tick=False)
    assert ward.clock_label == "New York time (EDT)"
    ward.time_zone = "UTC"
    assert ward.clock_label == "UTC"


def test_the_clock_stays_in_sight_when_the_menu_folds_away(client, nurse):
    client.force_login(nurse)
    page = client.get(reverse("home")).text
    header = page.split('id="nav-main"')[0]  # before the part that folds away below 992 px
    assert 'title="Times are on this clock"' in header and page.count('title="Times are on this clock"') == 1


def _unit_form(unit, **changes):
    hours = {"office_opens": "08:00", "office_closes": "18:00"}
    return {"name": unit.name, "kind": unit.kind, "time_zone": unit.time_zone, **hours, **changes}


def test_a_units_kind_is_read_only_once_anything_refers_to_it(client, patient, admin_user):
    """Found by a review: a ward with patients was turned into a home-health agency, whose staff
    see patients only through a handoff's grant, and which takes no transfers."""
    ward = patient.unit
    verified_login(client, admin_user)
    change = reverse("admin:accounts_unit_change", args=[ward.pk])
    assert 'name="kind"' not in client.get(change).text  # shown, not offered
    assert client.post(change, _unit_form(ward, kind=Unit.Kind.HOME_HEALTH)).status_code == 302
    ward.refresh_from_db()
    assert ward.kind == Unit.Kind.INPATIENT_WARD

    # A unit nothing refers to yet is still set up freely.
    new = UnitFactory(organisation=ward.organisation, name="New clinic")
    change = reverse("admin:accounts_unit_change", args=[new.pk])
    assert 'name="kind"' in client.get(change).text
    assert client.post(change, _unit_form(new, kind=Unit.Kind.INFUSION_CLINIC)).status_code == 302
    new.refresh_from_db()
    assert new.kind == Unit.Kind.INFUSION_CLINIC


def test_only_a_unit_nothing_refers_to_is_deleted(client, patient, admin_user):
    """Found by a review: a unit's delete page listed its patients by name and MRN, to
    administrators, who see no patient record."""
    ward = patient.unit
    verified_login(client, admin_user)
    assert client.get(reverse("admin:accounts_unit_delete", args=[ward.pk])).status_code == 403
    assert client.post(reverse("admin:accounts_unit_delete", args=[ward.pk]), {"post": "yes"}).status_code == 403
    assert "delete_selected" not in client.get(reverse("admin:accounts_unit_changelist")).text
    assert Unit.objects.filter(pk=ward.pk).exists()

    mistake = UnitFactory(organisation=ward.organisation, name="Made by mistake")
    delete = reverse("admin:accounts_unit_delete", args=[mistake.pk])
    assert client.get(delete).status_code == 200
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Unit.objects.filter(pk=mistake.pk).exists()
