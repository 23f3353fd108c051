"""The caller's own notifications (the bell): list, and mark read."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.audit import audit_record
from accounts.models import AuditEvent

from ...reminders.models import Notification
from ...reminders.selectors import visible_notifications
from ...reminders.services import notifications_mark_read
from .. import serializers
from .base import ListLogged


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("unread", bool, description="Only the unread.")]))
class NotificationViewSet(ListLogged, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Newest first; `?unread=true` for those not read yet. Their titles name patients (name, MRN,
    a grade of CRS): a page of them is a read of those patients, logged (`ListLogged`), and so is
    the answer to marking one read (`read`)."""

    serializer_class = serializers.NotificationOut
    queryset = Notification.objects.all()
    query_parameters = ("unread",)  # read below (filters.KnownParameters refuses any other)

    def get_queryset(self):
        mine = visible_notifications(self.request.user)
        unread = self.request.query_params.get("unread")
        if unread is None or self.action != "list":
            return mine
        if unread not in {"true", "false"}:
            raise ValidationError({"unread": ["Say true or false."]})
        return mine.filter(read_at__isnull=True) if unread == "true" else mine

    @extend_schema(request=None, responses={200: serializers.NotificationOut})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark this notification read."""
        notification = self.get_object()
        notifications_mark_read(recipient=request.user, ids=[notification.pk])
        notification.refresh_from_db(fields=["read_at"])
        # The answer is the notification, whose title names its patient, as an action's answer is its
        # object; an action's change is logged by its table's trigger, but marking read changes the
        # caller's own bell (no trigger): the answer is a read of the patient, logged as a detail is.
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type="coordination.notification",
            object_id=notification.pk,
            patient_id=notification.patient_id,
        )
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=serializers.MarkRead, responses={200: serializers.MarkedRead}, operation_id="notifications_read_all"
    )
    @action(detail=False, methods=["post"], url_path="read", url_name="read-all")
    def read_all(self, request):
        """Mark these notifications (`ids`), or all of them, read."""
        body = serializers.MarkRead(data=request.data)
        body.is_valid(raise_exception=True)
        marked = notifications_mark_read(recipient=request.user, ids=body.validated_data.get("ids"), now=timezone.now())
        return Response({"marked": marked})
