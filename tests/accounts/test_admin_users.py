"""The admin's users: deactivated, never deleted (found by a review)."""

from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from coordination.models import Reminder
from patients.models import CareTeamMember

from .helpers import verified_login


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
