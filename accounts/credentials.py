"""Credentials that higher apps issue to a user (their calendar links, say), ended together with
the user's API tokens when the account leaves or may be in other hands.

accounts cannot import them (the layers), so they register here, in their AppConfig.ready, a
function that ends the user's credentials of their kind; the account services call every one.
"""

from collections.abc import Callable

_REVOKERS: list[Callable[..., None]] = []


def register_credentials_revoker(revoke: Callable[..., None]) -> None:
    """`revoke(user=, actor=)` ends every credential of its kind that the user holds."""
    if revoke not in _REVOKERS:
        _REVOKERS.append(revoke)


def credentials_revoke(*, user, actor) -> None:
    for revoke in _REVOKERS:
        revoke(user=user, actor=actor)
