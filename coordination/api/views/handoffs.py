"""Handoffs: the list, one handoff, a new draft and its edit, and its steps (send, cancel; acknowledge, accept,
return, complete), each its service in coordination.handoffs.services."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from checklists.selectors import get_event_for_user

from ...handoffs import services
from ...handoffs.models import Handoff
from ...handoffs.selectors import handoffs_visible_to, receiving_member, receiving_units_for, with_relations
from .. import serializers
from ..filters import filters_for
from .base import PatientData, act

NOT_A_RECEIVING_UNIT = "Choose one of the units that receive this patient's handoffs."
MOVED_TO_ANOTHER_EVENT = "A handoff stays with its event: cancel this one and make a new one for the other event."


class HandoffViewSet(PatientData):
    """Handoffs the caller sees: the sending side's, and those addressed to their unit."""

    serializer_class = serializers.HandoffOut
    audit_type = "coordination.handoff"
    filterset_class = filters_for(
        Handoff, ids={"patient": "patient", "to_unit": "to_unit", "from_unit": "from_unit"}, fields=("status",)
    )

    def visible(self, user):
        return with_relations(handoffs_visible_to(user)).prefetch_related("actions")

    @extend_schema(request=serializers.HandoffIn, responses={201: serializers.HandoffOut})
    def create(self, request):
        """A draft handoff for an event of a patient on the caller's care team."""
        data = self._body(request)
        event = get_event_for_user(request.user, data.pop("event"))
        handoff = services.handoff_create(event=event, content=self._content(data, event), actor=request.user)
        return Response(self.get_serializer(handoff).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.HandoffIn,
        responses={200: serializers.HandoffOut},
        summary="Replace a draft (or a returned handoff, which becomes a draft again): the whole body, as "
        "for a new one, its actions included; the event stays the handoff's own.",
    )
    def update(self, request, pk=None):
        """The whole draft replaced, as the page's edit form does: what the body leaves out takes its
        default (no actions, no receiving person), so that a caller that sends what it read gets
        back what it sent."""
        handoff = self.get_object()
        data = self._body(request)
        if data.pop("event") != handoff.event_id:
            raise ValidationError({"event": [MOVED_TO_ANOTHER_EVENT]})
        content = self._content(data, handoff.event)
        handoff = services.handoff_update(handoff=handoff, content=content, actor=request.user)
        return Response(self.get_serializer(handoff).data)

    @staticmethod
    def _body(request) -> dict:
        body = serializers.HandoffIn(data=request.data)
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)

    @staticmethod
    def _content(data: dict, event) -> services.HandoffContent:
        # The unit among those that may receive this patient's handoffs, and the person among its
        # active members only: any other id, whether it exists or not, gets the same answer, so
        # that no answer tells whether, or where, a unit or a person of another organisation is.
        to_unit = receiving_units_for(event.patient).filter(pk=data.pop("to_unit")).first()
        if to_unit is None:
            raise ValidationError({"to_unit": [NOT_A_RECEIVING_UNIT]})
        to_person = data.pop("to_person", None)
        if to_person is not None:
            to_person = receiving_member(to_unit, to_person)
            if to_person is None:
                raise ValidationError({"to_person": [services.NOT_A_RECEIVING_MEMBER]})
        return services.HandoffContent(
            kind=data.pop("kind"),
            to_unit=to_unit,
            to_person=to_person,
            actions=[services.ActionSpec(**spec) for spec in data.pop("actions", [])],
            **data,
        )

    send = act("send", services.handoff_send, argument="handoff", summary="Send the draft to the receiving unit.")
    cancel = act(
        "cancel", services.handoff_cancel, serializers.Reason, argument="handoff", summary="Cancel, with the reason."
    )
    acknowledge = act(
        "acknowledge", services.handoff_acknowledge, argument="handoff", summary="Confirm receipt (receiving unit)."
    )
    accept = act(
        "accept",
        services.handoff_accept,
        serializers.Synthesis,
        argument="handoff",
        summary="Take over, with your synthesis: the actions become your unit's tasks.",
    )
    return_ = act(
        "return_",
        services.handoff_return,
        serializers.Reason,
        argument="handoff",
        url_path="return",
        summary="Send it back to the sender, with the reason.",
    )
    complete = act(
        "complete",
        services.handoff_complete,
        serializers.FirstVisit,
        argument="handoff",
        summary="The first home visit is done.",
    )
