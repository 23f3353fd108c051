"""Two people (or one double click) moving the same handoff at the same moment: one outcome, and
the other is told what happened. Real PostgreSQL row locks, threads with their own connections."""

import threading

import pytest
from django.db import transaction

from coordination.handoffs import services as svc
from coordination.handoffs.policy import HandoffConflict
from coordination.models import Handoff, HandoffActivity
from patients.models import AccessGrant
from patients.services import event_cancel

from ...database_helpers import race
from ..handoff_helpers import (
    SYNTHESIS,
    complete_checklist,
    draft_handoff,
    make_discharge,
    make_home_nurse,
    publish_transition_template,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def home_nurses(agency):
    return make_home_nurse(agency, "homenurse"), make_home_nurse(agency, "homenurse2")


@pytest.fixture
def handoff(patient, nurse, nurse2, case_manager, agency):
    publish_transition_template()
    event = make_discharge(patient)
    complete_checklist(event, workers={"nurse": nurse, "case_manager": case_manager}, verifier=nurse2)
    return draft_handoff(event, case_manager, agency)


def one_winner(outcomes):
    won = [o for o in outcomes if isinstance(o, Handoff)]
    lost = [o for o in outcomes if isinstance(o, HandoffConflict)]
    assert len(won) == 1 and len(lost) == len(outcomes) - 1, outcomes
    return won[0], lost


@pytest.mark.parametrize("round_", range(3))
def test_two_receivers_acknowledging_at_once_give_one_acknowledgement(handoff, case_manager, home_nurses, round_):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    first, second = home_nurses
    outcomes = race(
        lambda: svc.handoff_acknowledge(handoff=handoff, actor=first),
        lambda: svc.handoff_acknowledge(handoff=handoff, actor=second),
    )
    winner, (conflict,) = one_winner(outcomes)
    assert f"Already acknowledged by {winner.acknowledged_by} at" in str(conflict)
    stored = Handoff.objects.get(pk=handoff.pk)
    assert stored.status == "acknowledged" and stored.acknowledged_by == winner.acknowledged_by
    assert HandoffActivity.objects.filter(handoff=handoff, action="acknowledge").count() == 1


def test_two_acceptances_at_once_take_the_actions_over_once(handoff, case_manager, home_nurses):
    svc.handoff_send(handoff=handoff, actor=case_manager)
    first, second = home_nurses
    svc.handoff_acknowledge(handoff=handoff, actor=first)
    outcomes = race(
        lambda: svc.handoff_accept(handoff=handoff, actor=first, synthesis=SYNTHESIS + " (first)"),
        lambda: svc.handoff_accept(handoff=handoff, actor=second, synthesis=SYNTHESIS + " (second)"),
    )
    winner, (conflict,) = one_winner(outcomes)
    assert "Already accepted by" in str(conflict)
    stored = Handoff.objects.get(pk=handoff.pk)
    assert stored.synthesis == winner.synthesis and stored.accepted_by == winner.accepted_by
    assert HandoffActivity.objects.filter(handoff=handoff, action="accept").count() == 1
    assert set(stored.actions.values_list("status", flat=True)) == {"open"}


def test_a_double_click_on_send_sends_once_and_opens_one_grant(handoff, case_manager):
    outcomes = race(
        lambda: svc.handoff_send(handoff=handoff, actor=case_manager),
        lambda: svc.handoff_send(handoff=handoff, actor=case_manager),
    )
    # The second click waits for the first, finds the handoff sent by the same person and is
    # answered as the first was (a retry), sending nothing more.
    assert all(isinstance(outcome, Handoff) for outcome in outcomes), outcomes
    assert {outcome.status for outcome in outcomes} == {"sent"}
    assert AccessGrant.objects.filter(patient=handoff.patient).count() == 1
    assert HandoffActivity.objects.filter(handoff=handoff, action="send").count() == 1


def test_an_acceptance_and_a_cancel_at_once_give_one_outcome(handoff, case_manager, home_nurses):
    receiver = home_nurses[0]
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=receiver)
    outcomes = race(
        lambda: svc.handoff_accept(handoff=handoff, actor=receiver, synthesis=SYNTHESIS),
        lambda: svc.handoff_cancel(handoff=handoff, actor=case_manager, reason="Discharge postponed"),
    )
    winner, (conflict,) = one_winner(outcomes)
    stored = Handoff.objects.get(pk=handoff.pk)
    assert stored.status == winner.status
    if stored.status == "accepted":
        assert "Already accepted" in str(conflict) and stored.access_grant.revoked_at is None
    else:
        assert stored.status == "cancelled" and "Cancelled by" in str(conflict)
        assert stored.access_grant.revoked_at is not None
        assert set(stored.actions.values_list("status", flat=True)) == {"proposed"}


def test_an_action_done_while_the_handoff_is_withdrawn_waits_for_it_and_is_refused(handoff, case_manager, home_nurses):
    """The tracker withdraws an accepted handoff (its discharge called off) and, before it commits,
    a home nurse marks one of its actions done: she waits for the withdrawal and is told of it,
    instead of marking done an action of a handoff that no longer happens."""
    receiver = home_nurses[0]
    svc.handoff_send(handoff=handoff, actor=case_manager)
    svc.handoff_acknowledge(handoff=handoff, actor=receiver)
    svc.handoff_accept(handoff=handoff, actor=receiver, synthesis=SYNTHESIS)
    visit = handoff.actions.get(role="nurse")
    withdrawing, finished = threading.Event(), threading.Event()

    def withdraw():
        with transaction.atomic():
            event_cancel(event=handoff.event, reason="Stays in hospital: fever")
            withdrawing.set()
            finished.wait(timeout=2)  # an action done meanwhile finds the handoff locked until now
        return Handoff.objects.get(pk=handoff.pk)

    def mark_done():
        withdrawing.wait(timeout=10)
        try:
            return svc.handoff_action_complete(action=visit, actor=receiver)
        finally:
            finished.set()

    withdrawn, outcome = race(withdraw, mark_done)
    assert isinstance(withdrawn, Handoff) and withdrawn.status == "cancelled"
    assert isinstance(outcome, HandoffConflict), outcome
    assert "Cancelled by the tracker" in str(outcome) and "Stays in hospital" in str(outcome)
    visit.refresh_from_db()
    assert visit.status == "open" and visit.done_by is None
