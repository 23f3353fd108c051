"""One clock (issue 14, item 3): every time a message or page gives is on the unit's clock, 24-hour,
with its day and zone, across a daylight-saving change (Europe/Paris, 29 March 2026, 02:00 → 03:00)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.urls import reverse

from accounts import moments
from coordination.handoffs.models import Handoff
from coordination.models import Notification

from ...factories import PatientFactory

UTC = dt.UTC
BEFORE = dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET
AFTER = dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST: an hour later, two on the clock


def test_reminder_and_email_times_carry_the_day_and_the_zone_either_side_of_the_change():
    """Reminders and emails write their times with moments.moment_zoned (coordination.reminders.content)."""
    paris = ZoneInfo("Europe/Paris")
    assert moments.moment_zoned(BEFORE, paris) == "Sun 29 Mar, 01:30 CET"
    assert moments.moment_zoned(AFTER, paris) == "Sun 29 Mar, 03:30 CEST"
    assert moments.moment_zoned(dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC), paris) == "Sun 29 Mar, 00:00 CET"


def test_the_bell_stamps_notifications_on_the_readers_unit_clock(client, nurse, ward):
    ward.time_zone = "Europe/Paris"
    ward.save()
    Notification.objects.create(recipient=nurse, title="Before the change", created_at=BEFORE)
    Notification.objects.create(recipient=nurse, title="After the change", created_at=AFTER)
    client.force_login(nurse)
    page = client.get(reverse("notifications")).content.decode()
    assert "Sun 29 Mar, 01:30" in page and "Sun 29 Mar, 03:30" in page
    assert "29 Mar, 00:30" not in page  # never UTC beside the unit's deadlines
    home = client.get(reverse("home")).content.decode()
    assert 'title="Times are on this clock"' in home and ("CET" in home or "CEST" in home)


def test_a_handoffs_messages_name_the_sending_units_zone(db, ward):
    ward.time_zone = "Europe/Paris"
    ward.save()
    handoff = Handoff(patient=PatientFactory(unit=ward), from_unit=ward, to_unit=ward)
    assert handoff.local_time(AFTER) == "Sun 29 Mar, 03:30 CEST"
