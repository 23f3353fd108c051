"""The admin's units: a unit stays in the organisation it was made in."""

from django.urls import reverse

from accounts.models import Unit

from ..factories import OrganisationFactory
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
