"""Settings read from the environment: a value that is not one stops start-up with a sentence that
names the variable (README, "Configuration"), never a bare traceback about `int()`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def settings_loaded_with(**variables) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": "sqlite:///:memory:",
        "CELERY_BROKER_URL": "memory://",
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_defaults_load():
    result = settings_loaded_with()
    assert result.returncode == 0, result.stderr


def test_a_bad_boolean_names_its_variable():
    result = settings_loaded_with(DJANGO_BEHIND_PROXY="maybe")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_BEHIND_PROXY must be true or false, not 'maybe'" in result.stderr


@pytest.mark.parametrize(
    "name",
    [
        "SESSION_IDLE_MINUTES",
        "REMINDER_BATCH_SIZE",
        "PAGE_CACHE_SECONDS",
        "DATABASE_CONN_MAX_AGE",
        "DJANGO_HSTS_SECONDS",
    ],
)
def test_a_number_that_is_not_one_names_its_variable(name):
    # "15m" for 15 minutes is the typo an operator makes.
    result = settings_loaded_with(**{name: "15m"})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name} must be a whole number" in result.stderr, result.stderr[-500:]
    assert "'15m'" in result.stderr


def test_a_number_below_its_minimum_names_its_variable():
    result = settings_loaded_with(SESSION_IDLE_MINUTES="0")
    assert "ImproperlyConfigured: SESSION_IDLE_MINUTES must be a whole number of at least 1, not 0" in result.stderr
    negative = settings_loaded_with(DATABASE_CONN_MAX_AGE="-1")
    assert "ImproperlyConfigured: DATABASE_CONN_MAX_AGE must be a whole number of at least 0, not -1" in negative.stderr
