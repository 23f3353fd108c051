"""What every resource of the API shares: reads of patient data that are logged as page reads
are, and actions that call one service on one object."""

from operator import attrgetter

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.audit import get_or_404_audited, record_read, shows

from ..serializers import Empty

MAX_ID_DIGITS = 18  # as FHIR's ids (coordination.fhir.catalogue)


class ListLogged:
    """A list of patient data whose every page answered 200 writes one VIEW row of the audit log,
    as a page does: `api.<basename>`, naming the patients it shows (`patients=[…]`, from each
    row's `patient_of`; a row about nobody names nobody)."""

    patient_of = attrgetter("patient_id")  # the patient of a row

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        patients = {type(self).patient_of(row) for row in page} - {None}
        shows(request._request, patients=sorted(patients))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.action == "list":
            record_read(request._request, response, f"api.{self.basename}")
        return response


class PatientData(ListLogged, viewsets.ReadOnlyModelViewSet):
    """A list and a detail of patient data, from the querysets of the access policy (`visible`).

    Every read answered 200 writes one VIEW row of the audit log, as a page does: a detail names
    its object (`audit_type`, the id) and patient; a page of a list names the patients it shows
    (`ListLogged`). An id the caller may not see answers 404 and is logged as a denied look
    (`get_or_404_audited`), so that its existence does not leak.
    """

    audit_type = ""  # the object type of a detail's row: "checklists.task"
    # A list whose reader has thousands of rows (a nurse's tasks): its page is found by the keys
    # of its order alone (an index-only scan), then its rows are read by id; one query more, but
    # no read and sort of every row of every patient to return fifty (docs/performance.md).
    page_by_keys = False

    def visible(self, user):
        raise NotImplementedError

    def get_queryset(self):
        return self.visible(self.request.user)

    def get_object(self):
        pk = self.kwargs["pk"]
        # Not an id ("²" is a digit, not a decimal one; more than 18 digits is no bigint of ours):
        # nothing to find, nor to log.
        if not pk.isdecimal() or len(pk) > MAX_ID_DIGITS:
            raise NotFound()
        return get_or_404_audited(self.get_queryset(), pk, object_type=self.audit_type)

    def paginate_queryset(self, queryset):
        if not self.page_by_keys:
            return super().paginate_queryset(queryset)
        ordering = self.paginator.get_ordering(self.request, queryset, self)
        keys = queryset.prefetch_related(None).values("pk", *(name.lstrip("-") for name in ordering))
        page = super().paginate_queryset(keys)  # dicts: the cursor reads its position from them
        rows = queryset.order_by().in_bulk([key["pk"] for key in page])
        return [rows[key["pk"]] for key in page if key["pk"] in rows]  # (one gone meanwhile: left out)

    def retrieve(self, request, *args, **kwargs):
        row = self.get_object()
        shows(request._request, patient_id=type(self).patient_of(row))
        return Response(self.get_serializer(row).data)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.action == "retrieve":
            record_read(request._request, response, self.audit_type, object_id=self.kwargs.get("pk", ""))
        return response


def act(name: str, service, body=Empty, *, argument: str, summary: str, url_path: str = ""):
    """A POST action on one object of the viewset: `service(<argument>=object, actor=caller,
    **body)`, answered with the object as the service left it. The body reads the object as
    `context["target"]` (a task's answer is read by the task's kind). The object comes through the
    viewset's `get_object` (404 when not the caller's to see); refusals are the service's, worded
    by the policy, answered as problem details (coordination.api.errors)."""

    def run(self, request, pk=None):
        target = self.get_object()
        data = body(data=request.data, context={"request": request, "target": target})
        data.is_valid(raise_exception=True)
        done = service(**{argument: target}, actor=request.user, **data.validated_data)
        return Response(self.get_serializer(done).data)

    run.__name__ = name  # DRF routes the action to the attribute of this name
    run.__doc__ = summary
    path = url_path or name.replace("_", "-")
    run = action(detail=True, methods=["post"], url_path=path, url_name=path)(run)
    return extend_schema(request=None if body is Empty else body, summary=summary)(run)
