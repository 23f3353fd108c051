from django.db import OperationalError


def test_healthz_is_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_healthz_names_the_broker_when_it_is_down(client, settings):
    # A port nothing listens on: the real Redis client fails to connect.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}


class DownDatabase:
    def cursor(self):
        raise OperationalError("could not connect to server")


def test_healthz_names_the_database_when_it_is_down(client, monkeypatch):
    # Only the health check's connection fails, so the test database can still be torn down.
    monkeypatch.setattr("config.health.connection", DownDatabase())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "broker": "ok"}
