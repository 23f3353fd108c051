"""Calling the API in tests: a token for a user, and the `Authorization` header that carries it."""

from accounts.models import PersonalToken
from accounts.services import token_create

READ, READ_WRITE = PersonalToken.Scope.READ, PersonalToken.Scope.READ_WRITE


def token_for(
    user, *, name: str = "Test client", days: int = 90, second_step: bool = True, scope: str = READ_WRITE
) -> str:
    """A new personal token's secret, made as the Security page makes it. Read and write unless
    asked: most tests act through the API (the page's default, read only, is tested on its own)."""
    _, secret = token_create(user=user, name=name, days=days, second_step_passed=second_step, actor=user, scope=scope)
    return secret


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
