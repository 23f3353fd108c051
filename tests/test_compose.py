"""No Docker engine runs here: check that docker-compose.yml is valid and wires the stack."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def load():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_defines_the_production_shaped_stack():
    services = load()["services"]
    assert {"db", "redis", "web", "worker", "beat", "mailpit"} <= set(services)
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]


def test_web_worker_and_beat_reuse_one_app_definition():
    services = load()["services"]
    app = {key: services["web"][key] for key in ("image", "build", "environment")}
    for name in ("worker", "beat"):
        assert {key: services[name][key] for key in app} == app
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_the_app_gets_its_contract_settings_from_the_environment():
    env = load()["services"]["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379")
    assert env["EMAIL_URL"].startswith("smtp://mailpit")
    for name in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS"):
        assert name in env


def test_the_web_service_waits_for_healthy_services_and_checks_healthz():
    web = load()["services"]["web"]
    assert web["depends_on"] == {"db": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"}}
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
