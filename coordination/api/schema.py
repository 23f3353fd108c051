"""The schema's words for what the code cannot say by itself: the two ways to sign in
(drf-spectacular extensions, registered by importing this module from the API's URLs) and the
problem-details answers of every operation (settings: DEFAULT_SCHEMA_CLASS)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal token made on the Security page: `Authorization: Bearer cct_…`.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.SessionWithSecondStepAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


# The errors every operation may answer, as problem details (coordination.api.errors).
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details: `detail` is the sentence the page shows; `errors` maps fields "
    "(`actions.0.due_at` when nested) to their messages.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["type", "title", "status", "detail"],
}
ERRORS = {
    "400": "The request has errors: malformed JSON, an unknown field, a wrong type, a refused value.",
    "401": "No credentials, or a token that is unknown, revoked or expired.",
    "403": "Not allowed: the policy's reason in `detail`; for a change, also a read-only token (`code` "
    "`read_only_token`).",
    "404": "No such record, or not yours to see.",
    "405": "The method is not allowed here.",
    "406": "Answers are JSON only.",
    "409": "Somebody acted first, or the record's state refuses the action: `detail` says which.",
    "413": "The body is too large (over 1 MB).",
    "415": "Send JSON (`Content-Type: application/json`).",
}


class ProblemAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with the problem-details answers every operation may give."""

    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        component = ResolvedComponent(name="Problem", type=ResolvedComponent.SCHEMA, object="Problem", schema=PROBLEM)
        self.registry.register_on_missing(component)
        problem = {"application/problem+json": {"schema": component.ref}}
        for status_code, description in ERRORS.items():
            bodies.setdefault(status_code, {"content": problem, "description": description})
        return bodies


# DRF's CharField refuses a NUL character (PostgreSQL's text cannot hold one) with a 400: the
# schema's strings say so, so that a client's validator, and the schema test, know it.
NO_NUL_CHARACTER = "^[^\\u0000]*$"


def closed_request_bodies(result, generator, request, public):
    """POSTPROCESSING_HOOKS: a request body takes no field it does not list (`Body` answers an
    unknown field with a 400), and no NUL character in its text; the schema says both."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
            for field in component.get("properties", {}).values():
                if field.get("type") == "string" and not ({"format", "enum", "pattern"} & field.keys()):
                    field["pattern"] = NO_NUL_CHARACTER
    return result


def no_empty_query_parameters(result, generator, request, public):
    """POSTPROCESSING_HOOKS: a list's query parameter given empty is a 400 (`filters.KnownParameters`):
    a text parameter (`cursor`, `mrn`) says it takes one character at least. Numbers, booleans and
    choices cannot be empty in the schema already."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()) if isinstance(operation, dict) else ():
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "string" and "enum" not in schema:
                    schema.setdefault("minLength", 1)
    return result
