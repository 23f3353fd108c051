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
    assert web["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert "/healthz" in " ".join(web["healthcheck"]["test"])


def test_the_migrations_run_as_the_owner_and_the_app_as_a_role_that_owns_nothing():
    services = load()["services"]
    owner = services["migrate"]["environment"]["DATABASE_OWNER_URL"]
    assert owner.startswith("postgres://care_owner:")
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://care_app:")
        assert "DATABASE_OWNER_URL" not in env  # only the migrations know the owner's password
    init = services["db"]["volumes"]
    assert "./config/postgres-roles.sh:/docker-entrypoint-initdb.d/10-roles.sh:ro" in init
    script = (ROOT / "config" / "postgres-roles.sh").read_text()
    assert "CREATE ROLE care_owner" in script and "CREATE ROLE care_app" in script


def test_the_audit_checkpoints_live_outside_the_database_on_the_sealers_volume():
    services = load()["services"]
    env = services["worker"]["environment"]
    assert env["AUDIT_CHECKPOINT_DIR"] == "/app/var/audit-checkpoints"
    assert env["AUDIT_SEAL_KEY"].startswith("${AUDIT_SEAL_KEY:?")
    assert "auditcheckpoints:/app/var/audit-checkpoints" in services["worker"]["volumes"]
    assert "auditcheckpoints" not in str(services["db"])


def test_the_app_is_given_demo_password_so_that_seed_demo_runs_in_the_stack():
    # README, "Production-shaped stack": `DEMO_PASSWORD=… docker compose run --rm web … seed_demo --force`.
    env = load()["services"]["web"]["environment"]
    assert env["DEMO_PASSWORD"].startswith("${DEMO_PASSWORD")
