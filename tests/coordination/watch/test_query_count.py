"""The toxicity watch's lists read as many times for many rows as for one: the urgent alerts (the
page, its CSV and the board's open ones), an alert's page with the transfers it followed, and the on-call roster."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from coordination.watch.models import OnCallShift, ToxicityAlert
from patients.models import Transfer

from ...accounts.helpers import verified_login
from ...factories import PatientFactory, UnitFactory, UserFactory
from ...query_count import queries_of


@pytest.fixture(autouse=True)
def _still_clock(time_machine):
    time_machine.move_to(timezone.now(), tick=False)


def _alert(ward, n: int) -> ToxicityAlert:
    """An alert of a patient of its own, raised by one nurse and, every other one, acknowledged by another."""
    raised_at = timezone.now() - dt.timedelta(hours=n + 1)
    acknowledged = {"acknowledged_at": raised_at, "acknowledged_by": UserFactory(unit=ward)} if n % 2 else {}
    return ToxicityAlert.objects.create(
        patient=PatientFactory(unit=ward),
        unit=ward,
        reason=f"ICANS grade {n % 4 + 1}",
        raised_at=raised_at,
        raised_by=UserFactory(role=Role.NURSE, unit=ward),
        **acknowledged,
    )


@pytest.mark.parametrize(("name", "query"), [("alert_list", ""), ("alert_list", "?format=csv"), ("board", "")])
def test_the_alerts_list_reads_as_many_times_for_20_alerts_as_for_2(client, ward, coordinator, name, query, settings):
    """The list of the alerts, and the board's list of those not acknowledged."""
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's reads, not a kept board's
    verified_login(client, coordinator)
    _alert(ward, 0), _alert(ward, 1)
    url = reverse(name) + query
    client.get(url)
    few = queries_of(client, url)
    for n in range(2, 20):
        _alert(ward, n)
    assert queries_of(client, url) == few
    assert client.get(reverse("alert_list")).content.decode().count('href="/alerts/') >= 20


def test_an_alerts_page_reads_as_many_times_for_20_transfers_as_for_1(client, ward, coordinator):
    verified_login(client, coordinator)
    alert = _alert(ward, 0)

    def transfer():
        Transfer.objects.create(
            patient=alert.patient, from_unit=UnitFactory(), to_unit=UnitFactory(), reason="Bed", by=UserFactory()
        )

    transfer()
    url = reverse("alert_detail", args=[alert.pk])
    client.get(url)
    one = queries_of(client, url)
    for _ in range(19):
        transfer()
    assert queries_of(client, url) == one


def test_the_roster_reads_as_many_times_for_20_shifts_as_for_1(client, ward, coordinator):
    verified_login(client, coordinator)
    start = timezone.now()

    def shift(n):
        OnCallShift.objects.create(
            unit=ward,
            role=Role.ONCOLOGIST,
            rank=1,
            user=UserFactory(role=Role.ONCOLOGIST, unit=ward),
            starts_at=start + dt.timedelta(hours=8 * n),
            ends_at=start + dt.timedelta(hours=8 * (n + 1)),
            created_by=coordinator,
        )

    shift(0)
    url = reverse("roster")
    client.get(url)
    one = queries_of(client, url)
    for n in range(1, 20):
        shift(n)
    assert queries_of(client, url) == one
    assert client.get(url).content.decode().count("<tr><td>Oncologist</td>") == 20
