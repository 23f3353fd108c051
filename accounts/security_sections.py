"""Sections that higher apps add to the user's Security page (their calendar links, say).

accounts cannot import them (the layers), so they register here, in their AppConfig.ready, a
function that takes the request and returns the section's HTML ("" to show nothing).
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

_SECTIONS: list[Callable[[HttpRequest], str]] = []


def register_security_section(render: Callable[[HttpRequest], str]) -> None:
    if render not in _SECTIONS:
        _SECTIONS.append(render)


def security_sections(request: HttpRequest) -> list[SafeString]:
    """The registered sections, rendered for this request (their templates escape what they show)."""
    return [mark_safe(html) for html in (render(request) for render in _SECTIONS) if html]  # noqa: S308
