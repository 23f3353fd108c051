"""The bell: its count, the notifications page, marking them read."""

from django.urls import reverse

from coordination.models import Notification


def test_the_bell_counts_unread_notifications(client, nurse):
    Notification.objects.create(recipient=nurse, title="Weight due in 2 hours")
    client.force_login(nurse)
    assert '1<span class="visually-hidden"> unread' in client.get(reverse("notification_bell")).content.decode()
    client.post(reverse("notifications_read"))
    assert "unread" not in client.get(reverse("notification_bell")).content.decode()


def test_the_notifications_page_takes_as_many_queries_for_50_notifications_as_for_1(
    client, nurse, ward, django_assert_max_num_queries
):
    from tests.factories import CareTeamMemberFactory, PatientFactory

    client.force_login(nurse)
    client.get(reverse("notifications"))  # what a first page of the session reads once
    counted = []
    for count in (1, 50):
        Notification.objects.all().delete()
        for n in range(count):
            patient = PatientFactory(unit=ward)
            CareTeamMemberFactory(patient=patient, user=nurse, role=nurse.role)
            Notification.objects.create(recipient=nurse, title=f"Due soon {n}", patient=patient, link="/")
        with django_assert_max_num_queries(100) as queries:
            assert client.get(reverse("notifications")).status_code == 200
        counted.append(len(queries))
    assert counted[0] == counted[1]


def test_a_failed_hard_stop_is_told_to_the_coordinator_when_the_teams_oncologist_is_deactivated(
    patient, oncologist, pharmacist, coordinator
):
    """A deactivated oncologist cannot sign in to override the gate or change the plan: the bell
    must ring for someone who can act, never only for them."""
    from accounts.services import user_deactivate
    from coordination.reminders.policy import hard_stop_recipients

    user_deactivate(user=oncologist, actor=None)
    assert hard_stop_recipients(patient, pharmacist) == [coordinator.pk]
