"""How the schema names the two ways to sign in (drf-spectacular extensions); imported by the
API's URLs, so that they are registered before the schema is made."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
