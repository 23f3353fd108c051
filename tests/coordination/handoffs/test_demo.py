"""seed_demo's handoffs: every state, homenurse on the receiving side, idempotent."""

from django.utils import timezone

from accounts.models import User
from coordination.demo import seed_demo
from coordination.handoffs.selectors import handoff_actions_for, handoffs_visible_to
from coordination.models import Handoff, HandoffAction, HandoffComment, Notification
from patients.models import AccessGrant, Patient

from ...factories import TEST_PASSWORD


def counts():
    return {model.__name__: model.objects.count() for model in (Handoff, HandoffAction, HandoffComment, AccessGrant)}


def test_the_demo_holds_handoffs_in_every_state_for_homenurse(db):
    seed_demo(password=TEST_PASSWORD)
    homenurse = User.objects.get(username="homenurse")
    by_status = {handoff.patient.mrn: handoff.status for handoff in Handoff.objects.select_related("patient")}
    assert set(by_status.values()) >= {"draft", "sent", "acknowledged", "accepted", "returned", "completed"}
    assert set(Handoff.objects.values_list("to_person__username", flat=True)) == {"homenurse"}

    seen = {h.patient.mrn for h in handoffs_visible_to(homenurse).select_related("patient")}
    assert seen == {mrn for mrn, status in by_status.items() if status in ("sent", "acknowledged", "accepted")}
    visible = set(Patient.objects.visible_to(homenurse).values_list("mrn", flat=True))
    assert visible == seen  # the returned, draft and long-completed ones are closed to the agency
    assert handoff_actions_for(homenurse)  # the accepted handoff's tasks wait for her
    assert Notification.objects.filter(recipient=homenurse, link__startswith="/handoffs/").exists()

    sent = Handoff.objects.get(status="sent")
    assert sent.acknowledgement_overdue(timezone.now())  # the board has something to show
    assert Handoff.objects.filter(status="completed", signed_off_at__isnull=False).count() == 1


def test_seeding_twice_adds_no_handoff(db):
    seed_demo(password=TEST_PASSWORD)
    first = counts()
    seed_demo(password=TEST_PASSWORD)
    assert counts() == first
