"""Redis holds sessions and kept pages, but the wards' pages do not stop when it does."""

import pytest
from django.urls import reverse

from .factories import TEST_PASSWORD


@pytest.fixture
def redis_down(settings):
    """The configured cache, pointed at a port where nothing listens."""
    cache = settings.CACHES["default"]
    if not cache["BACKEND"].startswith("django_redis."):
        pytest.skip("the cache is not Redis (CACHE_URL)")
    settings.CACHES = {"default": {**cache, "LOCATION": "redis://127.0.0.1:1/0"}}


def test_signing_in_and_my_work_go_on_while_redis_is_down(client, nurse, redis_down):
    response = client.post(reverse("login"), {"username": "nurse", "password": TEST_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    page = client.get(reverse("home"))
    assert page.status_code == 200 and "My work" in page.content.decode()
    assert client.get(reverse("home")).status_code == 200  # and again: nothing was kept, nothing failed
