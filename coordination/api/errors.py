"""Every refusal of the API as RFC 9457 problem details (`application/problem+json`):

    {"type": "about:blank", "title": "Conflict", "status": 409, "code": "conflict",
     "detail": "Already completed by Nurse Ann at 10:42.", "instance": "/api/v1/tasks/7/complete/",
     "errors": {"value": ["Enter a number with the digits 0–9, for example 65.5."]}}

`detail` is the sentence the page shows for the same refusal (the policy's reason, the service's
message); `errors` (field → messages) is there when fields were wrong. The domain's refusals map as
the pages treat them: PermissionDenied → 403, a conflict (somebody else acted first, the task or
handoff has moved on) → 409, a ValidationError → 400 with its fields.
"""

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from checklists.policy import TaskConflict

from ..handoffs.policy import HandoffConflict

PROBLEM_CONTENT_TYPE = "application/problem+json"
CONFLICTS = (TaskConflict, HandoffConflict)
INVALID = "The request has errors: see `errors`."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Somebody changed this first."
    default_code = "conflict"


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."
    default_code = "too_large"


def problem(status_code: int, detail: str, *, code: str = "", errors: dict | None = None, request=None) -> Response:
    """One problem-details answer; the one shape that every error of the API takes."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
    }
    if code:
        body["code"] = code
    if request is not None:
        body["instance"] = request.get_full_path()
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _field_messages(detail) -> dict[str, list[str]]:
    """DRF's nested error detail as field → flat list of messages ("actions.0.text" for nesting)."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, inner in enumerate(value):
                walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            messages = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            if messages:
                flat.setdefault(prefix or "non_field_errors", []).extend(messages)

    walk("", detail)
    return flat


def as_api_exception(exc: Exception) -> Exception:
    """The domain's exceptions as DRF's, with their sentence."""
    if isinstance(exc, CONFLICTS):
        return Conflict(str(exc))
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        codes = {error.code for errors in getattr(exc, "error_dict", {}).values() for error in errors if error.code}
        invalid = exceptions.ValidationError(detail)
        invalid.default_code = next(iter(codes)) if len(codes) == 1 else "invalid"
        return invalid
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound("Not found, or not yours to see.")
    if isinstance(exc, RequestDataTooBig):
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; left to Django, that
        # was its HTML error page.
        return TooLarge(f"The body is too large: at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")
    return exc


def problem_handler(exc, context):
    """REST_FRAMEWORK's EXCEPTION_HANDLER: DRF's handling (headers such as WWW-Authenticate and
    Allow), answered as problem details. Anything else (a bug) is left to Django's 500."""
    exc = as_api_exception(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    code = getattr(exc, "default_code", "") or ""
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_messages(exc.detail)
        only = errors.get("non_field_errors") if list(errors) == ["non_field_errors"] else None
        answer = problem(
            response.status_code, " ".join(only) if only else INVALID, code=code, errors=errors, request=request
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        # A refusal that names its own code (a read-only token's) says it, for a program to tell it apart.
        code = getattr(detail, "code", None) or code
        answer = problem(response.status_code, str(detail), code=code, request=request)
    for header, value in response.headers.items():
        if header.lower() in {"www-authenticate", "allow", "retry-after"}:
            answer[header] = value
    return answer
