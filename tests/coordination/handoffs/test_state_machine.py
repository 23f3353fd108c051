"""Whatever anyone does to a handoff, in any order, as time passes: it only moves along the legal
flow (never completed without acceptance), each step only by its side, and the receiving unit
sees the patient exactly while it should.

A hypothesis state machine against the real services: each rule tries one step as one person;
a model of the flow (written from the issue, not from the service's code) says whether it must
succeed, and the invariants are read back from the database.
"""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from accounts.models import Role, User
from coordination.handoffs import services as svc
from coordination.handoffs.policy import HandoffConflict
from coordination.models import Handoff, HandoffAction
from patients.models import Patient

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

S = Handoff.Status
REFUSALS = (ValidationError, PermissionDenied, HandoffConflict)

# The flow of the issue: (status, step) → the status it leads to.
LEGAL = {
    (S.DRAFT, "send"): S.SENT,
    (S.DRAFT, "edit"): S.DRAFT,
    (S.RETURNED, "edit"): S.DRAFT,
    (S.SENT, "acknowledge"): S.ACKNOWLEDGED,
    (S.ACKNOWLEDGED, "accept"): S.ACCEPTED,
    (S.SENT, "return"): S.RETURNED,
    (S.ACKNOWLEDGED, "return"): S.RETURNED,
    (S.ACCEPTED, "complete"): S.COMPLETED,
    **{(status, "cancel"): S.CANCELLED for status in (S.DRAFT, S.SENT, S.ACKNOWLEDGED, S.RETURNED)},
}
SIDE = {
    "send": "sender",
    "edit": "sender",
    "cancel": "sender",
    "acknowledge": "receiver",
    "accept": "receiver",
    "return": "receiver",
    "complete": "receiver",
    "visit": "receiver",  # the first home visit's action marked done
}
# Steps of one role on its side: the first home visit is a nurse's to make, and to record.
NURSES_ONLY = {"complete", "visit"}
# Steps with bad input: always refused, whoever tries them.
BAD_INPUT = {"accept without synthesis", "return without reason", "cancel without reason", "edit to own unit"}
STEPS = sorted(SIDE) + sorted(BAD_INPUT)
PEOPLE = {
    "case_manager": "sender",
    "nurse": "sender",
    "home_nurse": "receiver",
    "agency_case_manager": "receiver",
    "pharmacist": None,  # on the care team, but does not send handoffs
    "coordinator": None,  # the ward's: reviews, neither sends nor receives
    "outsider": None,
}
ACCESS_AFTER = dt.timedelta(hours=72)


@pytest.fixture
def cast(patient, ward, nurse, nurse2, pharmacist, case_manager, coordinator, outsider):
    agency = make_agency(ward)
    publish_transition_template()
    event = make_discharge(patient, hours_ahead=2)
    complete_checklist(event, workers={"nurse": nurse, "case_manager": case_manager}, verifier=nurse2)
    people = {
        "case_manager": case_manager,
        "nurse": nurse,
        "home_nurse": make_home_nurse(agency),
        "agency_case_manager": make_home_nurse(agency, "agencycm", Role.CASE_MANAGER),
        "pharmacist": pharmacist,
        "coordinator": coordinator,
        "outsider": outsider,
    }
    return {"event": event, "agency": agency, "ward": ward, "patient": patient, "people": people}


def make_machine(cast):
    class HandoffFlow(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self._atomic = transaction.atomic()
            self._atomic.__enter__()  # each run starts from the cast, and is rolled back
            self.people = cast["people"]
            self.handoff = draft_handoff(cast["event"], self.people["case_manager"], cast["agency"])
            # Sent, taken over and worked once the patient is home: the actions can be marked done.
            self._clock = time_machine.travel(cast["event"].planned_at + dt.timedelta(hours=6), tick=False)
            self.clock = self._clock.start()
            self.status = S.DRAFT  # the model's idea of the status
            self.path = [S.DRAFT]
            self.completed_at = None
            self.visited = False

        def teardown(self):
            self._clock.stop()
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

        def _try(self, step: str, who: str):
            actor, handoff = self.people[who], self.handoff
            calls = {
                "send": lambda: svc.handoff_send(handoff=handoff, actor=actor),
                "edit": lambda: svc.handoff_update(
                    handoff=handoff, content=content(cast["agency"], pump="CADD-Solis 10 mL/h"), actor=actor
                ),
                "cancel": lambda: svc.handoff_cancel(handoff=handoff, actor=actor, reason="Discharge postponed"),
                "acknowledge": lambda: svc.handoff_acknowledge(handoff=handoff, actor=actor),
                "accept": lambda: svc.handoff_accept(handoff=handoff, actor=actor, synthesis=SYNTHESIS),
                "return": lambda: svc.handoff_return(handoff=handoff, actor=actor, reason="Pump not stated"),
                "complete": lambda: svc.handoff_complete(handoff=handoff, actor=actor),
                "visit": lambda: svc.handoff_action_complete(action=handoff.first_visit_action(), actor=actor),
                "accept without synthesis": lambda: svc.handoff_accept(handoff=handoff, actor=actor, synthesis=" "),
                "return without reason": lambda: svc.handoff_return(handoff=handoff, actor=actor, reason=""),
                "cancel without reason": lambda: svc.handoff_cancel(handoff=handoff, actor=actor, reason=" "),
                "edit to own unit": lambda: svc.handoff_update(
                    handoff=handoff, content=content(cast["ward"]), actor=actor
                ),
            }
            before = self._trace()
            try:
                calls[step]()
            except REFUSALS:
                return False
            # A step the same person took already is answered as it was (a second click, a retried
            # request): it succeeds in nothing, and leaves no trace.
            return self._trace() != before

        def _trace(self) -> tuple:
            handoff = Handoff.objects.get(pk=self.handoff.pk)
            actions = list(handoff.actions.order_by("pk").values_list("status", flat=True))
            return handoff.status, handoff.updated_at, actions, handoff.activities.count()

        @rule(step=st.sampled_from(STEPS), who=st.sampled_from(sorted(PEOPLE)))
        def act(self, step, who):
            legal = (
                step not in BAD_INPUT
                and ((self.status, step) in LEGAL or (step == "visit" and self.status == S.ACCEPTED))
                and PEOPLE[who] == SIDE[step]
                and (step not in NURSES_ONLY or who == "home_nurse")
                and (step != "visit" or not self.visited)
                and (step != "complete" or self.visited)  # completing says the first visit is done
                and (SIDE[step] == "sender" or self.receiver_sees())
                and (step != "send" or self.actions_due_plausibly())  # a draft left for days: edit it first
            )
            before = Handoff.objects.get(pk=self.handoff.pk)
            succeeded = self._try(step, who)
            assert succeeded == legal, f"{who} {step} on a {self.status} handoff: succeeded={succeeded}"
            if succeeded and step == "visit":
                self.visited = True
            elif succeeded:
                self.status = LEGAL[(self.status, step)]
                self.path.append(self.status)
                if self.status == S.COMPLETED:
                    self.completed_at = timezone.now()
            else:
                after = Handoff.objects.get(pk=self.handoff.pk)
                assert (after.status, after.updated_at, after.synthesis) == (
                    before.status,
                    before.updated_at,
                    before.synthesis,
                ), "a refused step changed the handoff"

        @rule(hours=st.sampled_from([1, 5, 30, 73]))
        def time_passes(self, hours):
            self.clock.shift(dt.timedelta(hours=hours))

        def receiver_sees(self) -> bool:
            """When the receiving unit must see the patient, by the issue's rule."""
            if self.status in (S.SENT, S.ACKNOWLEDGED, S.ACCEPTED):
                return True
            if self.status != S.COMPLETED:
                return False
            # While its actions that someone there can do are open, and at the latest the hours
            # after the last one's due time (none is done after completion here).
            roles = User.objects.filter(unit_id=self.handoff.to_unit_id, is_active=True).values("role")
            open_dues = self.handoff.actions.filter(status=HandoffAction.Status.OPEN, role__in=roles)
            last = max([self.completed_at, *open_dues.values_list("due_at", flat=True)])
            return timezone.now() < last + ACCESS_AFTER

        def actions_due_plausibly(self) -> bool:
            """Every action due between a week ago and 120 days ahead, as sending checks again."""
            now = timezone.now()
            dues = self.handoff.actions.values_list("due_at", flat=True)
            return all(now - dt.timedelta(days=7) <= due <= now + dt.timedelta(days=120) for due in dues)

        @invariant()
        def the_status_is_the_models(self):
            stored = Handoff.objects.get(pk=self.handoff.pk)
            assert stored.status == self.status

        @invariant()
        def it_is_never_completed_without_acceptance(self):
            stored = Handoff.objects.get(pk=self.handoff.pk)
            if S.COMPLETED in self.path:
                assert self.path.index(S.ACCEPTED) < self.path.index(S.COMPLETED)
            if stored.status in (S.ACCEPTED, S.COMPLETED):
                assert stored.synthesis and stored.accepted_at and stored.accepted_by_id
                assert stored.sent_at <= stored.acknowledged_at <= stored.accepted_at
            if stored.status == S.COMPLETED:
                assert stored.completed_at >= stored.accepted_at
            statuses = set(stored.actions.values_list("status", flat=True))
            if S.ACCEPTED in self.path:
                assert HandoffAction.Status.PROPOSED not in statuses
            else:
                assert statuses == {HandoffAction.Status.PROPOSED}

        @invariant()
        def the_receiving_unit_sees_the_patient_exactly_while_it_should(self):
            patient = cast["patient"]
            for who in ("home_nurse", "agency_case_manager"):
                sees = Patient.objects.visible_to(self.people[who]).filter(pk=patient.pk).exists()
                assert sees == self.receiver_sees(), f"{who} sees={sees} on a {self.status} handoff"
            assert not Patient.objects.visible_to(self.people["outsider"]).filter(pk=patient.pk).exists()
            assert Patient.objects.visible_to(self.people["case_manager"]).filter(pk=patient.pk).exists()

    return HandoffFlow


def test_no_sequence_of_steps_leaves_the_flow_or_the_access_rule(cast):
    run_state_machine_as_test(
        lambda: make_machine(cast)(),
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


def test_the_model_is_not_vacuous_a_full_run_completes(cast):
    """Some sequence reaches completion: the property above can fail."""
    people, handoff = cast["people"], draft_handoff(cast["event"], cast["people"]["case_manager"], cast["agency"])
    with at_home(handoff):
        svc.handoff_send(handoff=handoff, actor=people["nurse"])
        svc.handoff_acknowledge(handoff=handoff, actor=people["agency_case_manager"])
        svc.handoff_accept(handoff=handoff, actor=people["home_nurse"], synthesis=SYNTHESIS)
        svc.handoff_action_complete(action=handoff.first_visit_action(), actor=people["home_nurse"])
        assert svc.handoff_complete(handoff=handoff, actor=people["home_nurse"]).status == S.COMPLETED
