"""The bell: its count, the notifications page, marking them read."""

from django.urls import reverse

from coordination.models import Notification


def test_the_bell_counts_unread_notifications(client, nurse):
    Notification.objects.create(recipient=nurse, title="Weight due in 2 hours")
    client.force_login(nurse)
    assert '1<span class="visually-hidden"> unread' in client.get(reverse("notification_bell")).content.decode()
    client.post(reverse("notifications_read"))
    assert "unread" not in client.get(reverse("notification_bell")).content.decode()
