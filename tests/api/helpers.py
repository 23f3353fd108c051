"""Calling the API in tests: a token for a user, and the `Authorization` header that carries it."""

from accounts.services import token_create


def token_for(user, *, name: str = "Test client", days: int = 90, second_step: bool = True) -> str:
    """A new personal token's secret, made as the Security page makes it."""
    _, secret = token_create(user=user, name=name, days=days, second_step_passed=second_step, actor=user)
    return secret


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
