"""Every URL pattern, walked anonymously, answers with the login page (or is public on purpose); the
REST API answers with a 401 in problem details instead, which says how to bring a token."""

import re

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver

# Public on purpose: signing in, and the health check that load balancers poll.
PUBLIC = {"login", "healthz"}
# Signed in by their own credentials, not the session's sign-in page: the FHIR server (a session or
# a token; an OperationOutcome 401/403 without one) and the calendar feeds (the secret in the URL).
OWN_CREDENTIALS = ("fhir/R4/", "feeds/<str:secret>/")
# The API's schema and its docs: no patient data, read by integrators before they have a token.
PUBLIC_API = {"schema", "docs"}


def walk(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def concrete(pattern: str) -> str:
    """A URL for a pattern: ids become 1, slugs 'x', regex anchors go."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "1", pattern)  # a regex's group first (the API's router)
    path = re.sub(r"<int:\w+>", "1", path)
    path = re.sub(r"<(?:slug|str|uuid|path):\w+>|<\w+>", "x", path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")


PATTERNS = sorted(set(walk(get_resolver())))


@pytest.mark.parametrize(("pattern", "name"), PATTERNS, ids=[p for p, _ in PATTERNS])
def test_every_page_asks_an_anonymous_visitor_to_sign_in(client, pattern, name):
    if name in PUBLIC:
        pytest.skip("public on purpose")
    url = concrete(pattern)
    response = client.get(url)
    if pattern.startswith(OWN_CREDENTIALS):
        assert response.status_code in (401, 403, 404) and "Location" not in response, url
        return
    if pattern.startswith("api/"):
        if name in PUBLIC_API:
            assert response.status_code == 200, url
            return
        # 401 with the way in; the catch-all for addresses that are no route answers 404 to all.
        assert response.status_code == (401 if name else 404), url
        assert response["Content-Type"] == "application/problem+json"
        if name:
            assert response["WWW-Authenticate"].startswith("Bearer")
        return
    if pattern.startswith(settings.ADMIN_URL):
        assert response.status_code in (302, 404), url  # the admin sends to its own login
        return
    assert response.status_code == 302, url
    assert response["Location"].startswith(resolve_url(settings.LOGIN_URL) + "?next=")
