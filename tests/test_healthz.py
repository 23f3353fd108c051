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


def filesystem_broker(settings, folder):
    """`make run`'s broker: kombu's filesystem transport, in `folder`."""
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
    }


def test_healthz_is_200_on_make_runs_filesystem_broker(client, settings, tmp_path):
    (tmp_path / "control").mkdir()
    filesystem_broker(settings, tmp_path)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


def test_healthz_names_a_filesystem_broker_whose_folder_is_gone(client, settings, tmp_path):
    # kombu "connects" to its filesystem transport without looking at the folders: a removed
    # var/broker was found only when the next message could not be written.
    filesystem_broker(settings, tmp_path / "removed")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}


def test_healthz_names_a_filesystem_broker_with_no_folder_configured(client, settings):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    assert client.get("/healthz").json()["broker"] == "unavailable"


def test_healthz_names_a_filesystem_broker_whose_exchange_table_folder_is_gone(client, settings, tmp_path):
    filesystem_broker(settings, tmp_path)  # the in and out folder is there, its control/ is not
    assert client.get("/healthz").json()["broker"] == "unavailable"
