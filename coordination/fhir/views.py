"""The FHIR endpoints: the CapabilityStatement, read, search and a patient's `$everything`.

DRF views on the project's default authentication (a session, or a personal token), answering
application/fhir+json (application/json to a client that asks for it). Every error is an
OperationOutcome with its status: 400 for a search the server cannot run, 401/403 for a caller
not signed in, 404 for an unknown id or a patient that the caller may not see (its existence
must not leak) and for an address that is no endpoint, 405 for a write, 406 for a format other than
JSON (`_format`, or the Accept header). Every answer that shows
patient data writes one audit row naming the patients it shows.
"""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.utils import timezone
from django.utils.cache import get_conditional_response
from rest_framework import exceptions
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import APISettings
from rest_framework.views import APIView

from accounts.audit import audit_record
from accounts.models import AuditEvent
from patients.selectors import sees_only_through_grant

from . import resources as fhir
from . import versions
from .capability import capability_statement
from .catalogue import CATALOGUE, served_through_grant, visible_patients
from .search import Search, SearchError, check_format, page_of, parse, run, run_page

# A resource id as FHIR defines it (R4 §2.1.28.0.1 `id`): anything else names nothing here, and
# is refused before any lookup.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


class FhirNegotiation(DefaultContentNegotiation):
    """FHIR's `_format` (json or application/fhir+json: FHIR's JSON; application/json: the same as
    plain JSON; anything else, XML included, a 406), else the Accept header. DRF's own `?format=`
    is no FHIR parameter: left to the views, a search refuses it as any unknown parameter."""

    settings = APISettings({"URL_FORMAT_OVERRIDE": None})

    def select_renderer(self, request, renderers, format_suffix=None):
        formats = check_format(request.query_params.getlist("_format"))
        if not formats:
            return super().select_renderer(request, renderers)
        media_type = "application/json" if formats[-1] == "application/json" else FhirJSONRenderer.media_type
        return next(renderer for renderer in renderers if renderer.media_type == media_type), media_type


def operation_outcome(code: str, message: str, *, severity: str = "error") -> dict:
    return fhir.validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": message}],
        }
    )


ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
}


class FhirView(APIView):
    renderer_classes = [FhirJSONRenderer, JSONRenderer]
    content_negotiation_class = FhirNegotiation
    # The API's default permissions (settings.REST_FRAMEWORK): signed in, within the token's scope.
    # Every FHIR interaction here reads; another method is a 405 whatever the token.
    # Out of the REST API's OpenAPI schema: FHIR describes itself (the CapabilityStatement).
    schema = None

    @classmethod
    def as_view(cls, **initkwargs):
        # The caller signs in through DRF's authentication (a token needs no session), and an
        # anonymous caller gets a 401/403 OperationOutcome, not the sign-in page.
        return login_not_required(super().as_view(**initkwargs))

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Patient data: no cache keeps it, whoever signed in (a token caller has no session for
        # NoStoreMiddleware to see).
        response["Cache-Control"] = "no-store"
        return response

    def handle_exception(self, exc):
        if isinstance(exc, SearchError):
            return Response(operation_outcome(exc.code, str(exc)), status=exc.status)
        response = super().handle_exception(exc)
        message = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        if isinstance(exc, Http404 | exceptions.NotFound):
            message = str(exc) or "No such resource, or not one that you may see."
        response.data = operation_outcome(ISSUE_CODES.get(response.status_code, "processing"), str(message))
        response.content_type = None  # FHIR's own media type (the renderer's), not the REST API's problem+json
        return response

    # --- helpers ---------------------------------------------------------------------------

    def takes_no_parameters(self, what: str, *, but: tuple[str, ...] = ("_format",)) -> None:
        """A read or an operation takes `_format` alone (`but`: those it takes): anything else is
        refused, not ignored, so that a client never mistakes what it did not ask for for what it
        asked."""
        unknown = sorted(name for name in self.request.query_params if name not in but)
        if unknown:
            raise SearchError(f"{what} takes no parameter here but {', '.join(but)} ({', '.join(unknown)}).")

    def kind(self, resource_type: str):
        if resource_type not in CATALOGUE:
            raise Http404(f"This server does not serve {resource_type[:60]} resources.")
        return CATALOGUE[resource_type]

    def log_read(self, *, what: str, object_id: str = "", patient_ids, patient_id=None, **detail) -> None:
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type=f"fhir.{what}",
            object_id=object_id,
            patient_id=patient_id,
            detail={"patients": sorted(set(patient_ids)), **detail},
            actor=self.request.user,
            request=self.request._request,
        )

    def refuse(self, *, what: str, object_id: str):
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type=f"fhir.{what}",
            object_id=object_id,  # cut to fit by audit_record
            outcome=AuditEvent.Outcome.DENIED,
            actor=self.request.user,
            request=self.request._request,
        )
        raise Http404(f"{what}/{object_id[:64]} is not known, or not one that you may see.")

    def bundle(self, matches, *, total: int, links: list[dict], serve=None) -> dict:
        """A searchset Bundle of (patient id, resource) pairs, each resource with its meta
        (versions.stamp; `serve` as there)."""
        base = self.request.build_absolute_uri("/fhir/R4/")
        items = versions.stamp([item for _patient_id, item in matches], serve=serve)
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "timestamp": fhir.instant(timezone.now()),
            "total": total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}{item['resourceType']}/{item['id']}",
                    "resource": fhir.validate(item),
                    "search": {"mode": "match"},
                }
                for item in items
            ],
        }

    def page_url(self, offset: int) -> str:
        query = self.request.query_params.copy()
        query["_offset"] = str(offset)
        return self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")

    def page_links(self, *, offset: int, count: int, total: int) -> list[dict]:
        links = [{"relation": "self", "url": self.request.build_absolute_uri()}]
        if offset + count < total and count:
            links.append({"relation": "next", "url": self.page_url(offset + count)})
        if offset:
            links.append({"relation": "previous", "url": self.page_url(max(0, offset - count))})
        return links


class MetadataView(FhirView):
    """The CapabilityStatement: open to any signed-in caller, as it holds no patient data."""

    def get(self, request):
        return Response(capability_statement(request.build_absolute_uri("/fhir/R4")))


class SearchView(FhirView):
    def get(self, request, resource_type: str):
        kind = self.kind(resource_type)
        search = parse(kind, request.query_params)
        total, page = run_page(request.user, search)
        links = self.page_links(offset=search.offset, count=search.count, total=total)
        body = self.bundle(page, total=total, links=links)
        self.log_read(what=kind.name, patient_ids=[pk for pk, _ in page], query=request.GET.urlencode()[:500])
        return Response(body)


class ReadView(FhirView):
    """A resource, with its version as `meta`, ETag and Last-Modified; a client that sends the
    current ETag in If-None-Match gets a 304 without a body (the read is logged all the same: the
    caller learns that their copy is current). If-Modified-Since is not answered with a 304: a
    date to the second cannot tell two changes in one second apart, the ETag can."""

    def get(self, request, resource_type: str, resource_id: str):
        kind = self.kind(resource_type)
        self.takes_no_parameters("A read")
        if not FHIR_ID.fullmatch(resource_id):
            self.refuse(what=kind.name, object_id=resource_id)
        matches = run(request.user, Search(kind, ids={resource_id}))
        if len(matches) != 1:
            self.refuse(what=kind.name, object_id=resource_id)
        patient_id, item = matches[0]
        (body,) = versions.stamp([fhir.validate(item)])
        self.log_read(what=kind.name, object_id=resource_id, patient_id=patient_id, patient_ids=[patient_id])
        etag = versions.etag_of(body)
        response = Response(body, headers={"ETag": etag, "Last-Modified": versions.last_modified_of(body)})
        return get_conditional_response(request, etag=etag, response=response)


class EverythingView(FhirView):
    """Patient/{id}/$everything: the patient and every resource about them, paged as a search is
    (`_count`, `_offset`, and the `next` link), in a Bundle whose references all resolve inside
    the pages. A page builds only its own resources (search.page_of)."""

    def get(self, request, resource_id: str):
        self.takes_no_parameters("$everything", but=("_format", "_count", "_offset"))
        is_pk = resource_id.isdecimal() and len(resource_id) <= 18  # a Patient's id is its pk, a bigint
        patient = visible_patients(request.user).filter(pk=resource_id).first() if is_pk else None
        if patient is None:
            self.refuse(what="Patient", object_id=resource_id)
        paging = parse(CATALOGUE["Patient"], request.query_params)  # `_count` and `_offset` alone here
        patients = visible_patients(request.user).filter(pk=patient.pk)
        parts = [
            (source, source.queryset(request.user, patients, None))
            for kind in CATALOGUE.values()
            for source in kind.sources
        ]
        total, page = page_of(parts, offset=paging.offset, count=paging.count)
        serve = None
        if sees_only_through_grant(request.user, patient):
            # Their Bundle leaves out the record (catalogue.Source.through_grant); what its
            # resources point to there (the course, the discharge's Encounter) is cut, so that
            # every reference resolves inside the Bundle's pages.
            def serve(item):
                return fhir.without_references_outside(item, served_through_grant)

        links = self.page_links(offset=paging.offset, count=paging.count, total=total)
        body = self.bundle(page, total=total, links=links, serve=serve)
        self.log_read(
            what="Patient",
            object_id=resource_id,
            patient_id=patient.pk,
            patient_ids=[patient.pk],
            operation="everything",
        )
        return Response(body)


class NotFoundView(FhirView):
    """What no route of the FHIR server matches (`/fhir/R4/`, `Patient/`, `Patient/1/_history`): a
    404 OperationOutcome, to anyone (it names no data), not the site's HTML page."""

    permission_classes = [AllowAny]

    def initial(self, request, *args, **kwargs):
        raise NotFound("No such address on this FHIR server: see /fhir/R4/metadata for what it serves.")
