"""The handoff policy: what the handoff page offers (policy.handoff_offers, the same functions that
the services enforce) is exactly what the services accept, for each side and at each step of the
flow; and a refusal says who or what stands in the way."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from coordination.handoffs import policy
from coordination.handoffs import services as svc
from coordination.handoffs.models import Handoff
from coordination.handoffs.policy import HandoffConflict

from ..handoff_helpers import (
    SYNTHESIS,
    at_home,
    complete_checklist,
    content,
    draft_handoff,
    make_agency,
    make_discharge,
    make_home_nurse,
    publish_transition_template,
)

# Each action of the page, as its service is called with good input.
CALLS = {
    "edit": lambda h, user, agency: svc.handoff_update(handoff=h, content=content(agency), actor=user),
    "send": lambda h, user, agency: svc.handoff_send(handoff=h, actor=user),
    "cancel": lambda h, user, agency: svc.handoff_cancel(handoff=h, actor=user, reason="Discharge postponed"),
    "acknowledge": lambda h, user, agency: svc.handoff_acknowledge(handoff=h, actor=user),
    "accept": lambda h, user, agency: svc.handoff_accept(handoff=h, actor=user, synthesis=SYNTHESIS),
    "return": lambda h, user, agency: svc.handoff_return(handoff=h, actor=user, reason="Pump not stated"),
    "complete": lambda h, user, agency: svc.handoff_complete(handoff=h, actor=user),
    "comment": lambda h, user, agency: svc.handoff_comment(handoff=h, actor=user, text="On time."),
    "flag": lambda h, user, agency: svc.handoff_flag(handoff=h, actor=user, flagged=True, reason="Check the pump"),
    "unflag": lambda h, user, agency: svc.handoff_flag(handoff=h, actor=user, flagged=False),
    "sign_off": lambda h, user, agency: svc.handoff_sign_off(handoff=h, actor=user),
}


class Rollback(Exception):
    pass


def _trace(handoff: Handoff) -> tuple:
    """What a step leaves behind: the handoff's row, its actions, comments and history."""
    return (
        Handoff.objects.filter(pk=handoff.pk).values().get(),
        list(handoff.actions.order_by("pk").values()),
        handoff.comments.count(),
        handoff.activities.count(),
    )


def accepted_by_the_service(call, handoff: Handoff, before: tuple | None = None) -> bool:
    """Whether the service takes the step (then undone); a refusal of the person or of the moment is
    False, and so is a step answered as a retry of the caller's own (nothing changes: the page does
    not offer it again, the service answers a second click as the first). `before`: the handoff's
    `_trace` as the step finds it, when the caller has it already."""
    before = before or _trace(handoff)
    try:
        with transaction.atomic():
            call()
            acted = _trace(handoff) != before
            raise Rollback
    except Rollback:
        return acted
    except (PermissionDenied, HandoffConflict):
        return False


@pytest.fixture
def cast(patient, ward, nurse, nurse2, pharmacist, case_manager, coordinator, outsider):
    agency = make_agency(ward)
    publish_transition_template()
    people = {
        "case_manager": case_manager,
        "nurse": nurse,
        "pharmacist": pharmacist,
        "coordinator": coordinator,
        "outsider": outsider,
        "home_nurse": make_home_nurse(agency),
        "agency_case_manager": make_home_nurse(agency, "agencycm", Role.CASE_MANAGER),
    }

    def ready_handoff():
        event = make_discharge(patient)
        complete_checklist(event, workers={"nurse": nurse, "case_manager": case_manager}, verifier=nurse2)
        return draft_handoff(event, case_manager, agency)

    return {"agency": agency, "people": people, "ready_handoff": ready_handoff}


def assert_offers_match_the_services(handoff: Handoff, cast) -> None:
    # Every step below is tried and rolled back, so each finds the handoff as it is now: traced
    # once here rather than before each of the hundred steps.
    before = _trace(handoff)
    for who, user in cast["people"].items():
        page = Handoff.objects.get(pk=handoff.pk)
        offers = policy.handoff_offers(user, page)
        for name, call in CALLS.items():
            accepted = accepted_by_the_service(lambda: call(page, user, cast["agency"]), page, before)  # noqa: B023
            assert bool(offers[name]) == accepted, f"{who} {name} on a {page.status} handoff"
        for action in page.actions.all():
            offered = policy.can_mark_action_done(user, action)
            complete = lambda: svc.handoff_action_complete(action=action, actor=user)  # noqa: B023, E731
            accepted = accepted_by_the_service(complete, page, before)
            assert bool(offered) == accepted, f"{who} marks {action} done on a {page.status} handoff"


def test_the_page_offers_exactly_what_the_services_accept_along_the_flow(cast):
    people = cast["people"]
    handoff = cast["ready_handoff"]()
    with at_home(handoff):  # once the patient is home, the receiving side's actions can be done
        _walk_the_flow(handoff, people, cast)


def _walk_the_flow(handoff, people, cast):
    for step in (
        None,
        lambda h: svc.handoff_send(handoff=h, actor=people["nurse"]),
        lambda h: svc.handoff_acknowledge(handoff=h, actor=people["home_nurse"]),
        lambda h: svc.handoff_flag(handoff=h, actor=people["coordinator"], flagged=True, reason="Check the pump"),
        lambda h: svc.handoff_accept(handoff=h, actor=people["agency_case_manager"], synthesis=SYNTHESIS),
        lambda h: svc.handoff_action_complete(action=h.actions.get(role=Role.NURSE), actor=people["home_nurse"]),
        lambda h: svc.handoff_complete(handoff=h, actor=people["home_nurse"]),
        lambda h: svc.handoff_sign_off(handoff=h, actor=people["coordinator"]),
    ):
        if step:
            step(handoff)
        assert_offers_match_the_services(handoff, cast)


def test_the_page_offers_exactly_what_the_services_accept_after_a_return_and_a_cancel(cast):
    people = cast["people"]
    handoff = cast["ready_handoff"]()
    svc.handoff_send(handoff=handoff, actor=people["case_manager"])
    svc.handoff_return(handoff=handoff, actor=people["home_nurse"], reason="No line site given")
    assert_offers_match_the_services(handoff, cast)
    svc.handoff_cancel(handoff=handoff, actor=people["case_manager"], reason="Discharge postponed")
    assert_offers_match_the_services(handoff, cast)


def test_a_refusal_says_who_may_or_who_moved_it_first(cast):
    people = cast["people"]
    handoff = cast["ready_handoff"]()
    refused = policy.can_send(people["pharmacist"], handoff)
    assert not refused and not isinstance(refused, policy.Conflict)
    assert refused.reason == "Only a case manager, nurse or oncologist on this patient's care team may do this."
    with pytest.raises(PermissionDenied, match="care team"):
        refused.enforce()

    now = timezone.now()
    svc.handoff_send(handoff=handoff, actor=people["nurse"], now=now)
    sent = Handoff.objects.get(pk=handoff.pk)
    when = timezone.localtime(now, sent.from_unit.zone).strftime("%a %-d %b, %H:%M %Z")
    assert (
        policy.can_send(people["nurse"], sent).reason == f"Already sent by you at {when}; it waits for acknowledgement."
    )
    assert policy.can_cancel(people["home_nurse"], sent).reason == (
        "Only a case manager, nurse or oncologist on this patient's care team may do this."
    )
    late = policy.can_send(people["case_manager"], sent)
    assert isinstance(late, policy.Conflict) and late.reason.startswith(f"Already sent by {people['nurse']} at")
    with pytest.raises(HandoffConflict):
        late.enforce()
    assert policy.can_accept(people["home_nurse"], sent).reason == "Acknowledge receipt before accepting the handoff."
    assert (
        policy.can_comment(people["home_nurse"], sent).reason
        == f"Only a coordinator of {sent.from_unit} may review this handoff."
    )


def test_each_status_is_where_one_step_of_the_table_leads():
    assert set(policy.LEADS_TO) == set(Handoff.Status.values)
    for step in policy.STEPS:
        assert step.sources <= set(Handoff.Status.values)
        for name in (step.by, step.at, step.why):
            assert not name or Handoff._meta.get_field(name)
