# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make run`: an embedded default (SQLite, a filesystem broker, email files under var/).
RUN_ENV := DJANGO_DEBUG=1 DEMO_PASSWORD=$${DEMO_PASSWORD:-demo-Care-2026} EMAIL_URL=$${EMAIL_URL:-filemail:///$(CURDIR)/var/mail}

# `make test`: real PostgreSQL and Redis, overridable from the environment.
TEST_ENV := DJANGO_SECRET_KEY=test-only-secret-key-not-for-production DJANGO_DEBUG=0 DJANGO_STATIC_MANIFEST=0 \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/care_tracker} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/14} \
	CACHE_URL=$${TEST_CACHE_URL:-redis://127.0.0.1:6379/15} \
	EMAIL_URL=consolemail:// DEMO_PASSWORD=test-Demo-pass-1

.PHONY: install run test lint bench audit clean

$(STAMP): requirements.txt requirements-dev.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

var:
	mkdir -p var/mail var/broker/processed

run: $(STAMP) var
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	@echo
	@echo "  Care Coordination Tracker: http://127.0.0.1:8000/"
	@echo "  Demo logins: nurse, nurse2, pharmacist, oncologist, casemanager, coordinator, homenurse, outsider, admin"
	@echo "  Password: $${DEMO_PASSWORD:-demo-Care-2026}  (set DEMO_PASSWORD to choose another)"
	@echo
	trap 'kill 0' EXIT INT TERM; \
	$(RUN_ENV) $(BIN)/celery -A config worker --loglevel=INFO --concurrency=1 & \
	$(RUN_ENV) $(BIN)/celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule & \
	$(RUN_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000 --noreload

test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var staticfiles .pytest_cache

# Known vulnerabilities in the pinned dependencies.
audit: $(STAMP)
	$(BIN)/pip-audit --requirement requirements.txt --disable-pip --no-deps --progress-spinner off
