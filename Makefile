# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# `make run`: an embedded default (SQLite, a filesystem broker, email files under var/).
RUN_ENV := PYTHONDONTWRITEBYTECODE= DJANGO_DEBUG=1 DEMO_PASSWORD=$${DEMO_PASSWORD:-demo-Care-2026} EMAIL_URL=$${EMAIL_URL:-filemail:///$(CURDIR)/var/mail}

# `make test`: real PostgreSQL and Redis, overridable from the environment. Bytecode is written
# (`PYTHONDONTWRITEBYTECODE=` empty), even where the machine's environment says not to: otherwise
# every process, and every worker and command that a test starts, compiles the project and
# pytest rewrites every test module again (collecting the suite: 13 s of CPU against 5 s).
TEST_ENV := PYTHONDONTWRITEBYTECODE= DJANGO_SECRET_KEY=test-only-secret-key-not-for-production DJANGO_DEBUG=0 DJANGO_STATIC_MANIFEST=0 \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/care_tracker} \
	CELERY_BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/14} \
	CACHE_URL=$${TEST_CACHE_URL:-redis://127.0.0.1:6379/15} \
	EMAIL_URL=consolemail:// DEMO_PASSWORD=test-Demo-pass-1

# `make test` runs the suite in TEST_WORKERS processes at once (pytest-xdist, work stealing; each
# worker has its own test database and Redis databases: tests/conftest.py) and, beside them, the
# tests that run in a process of their own (marker `service`: they start and kill their own Redis,
# Celery worker and beats, and mostly wait), on a test database and Redis databases of their own;
# their output is shown when the others are done (var/service-tests.log). It fails if either run
# fails, and when no test runs at all (pytest's exit 5); with PYTEST_ARGS naming some tests, one of
# the two runs may find none of its own.
# 2 workers (what -n auto gives on the 2-core machine) measured faster than 3 or 4 there.
TEST_WORKERS ?= 2
PYTEST := $(TEST_ENV) $(BIN)/python -m pytest

.PHONY: install run test test-quick lint bench audit clean var

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
	@echo "  Demo logins: nurse, nurse2, pharmacist, pharmacist2, oncologist, oncologist2, casemanager, coordinator, homenurse, outsider, admin, pharmacyadmin, oncologyadmin"
	@echo "  Password: $${DEMO_PASSWORD:-demo-Care-2026}  (set DEMO_PASSWORD to choose another)"
	@echo "  Ctrl-C stops the web server, the Celery worker and beat (config/run.py) together."
	@echo
	@$(RUN_ENV) $(BIN)/python config/run.py

test: $(STAMP) var
	parallel=0; service=0; \
	TEST_REDIS_SLOT=$(TEST_WORKERS) $(PYTEST) -n 0 -p no:cacheprovider --serial-tests=only $(PYTEST_ARGS) \
		> var/service-tests.log 2>&1 & service_pid=$$!; \
	$(PYTEST) -n $(TEST_WORKERS) --dist worksteal --serial-tests=without $(PYTEST_ARGS) || parallel=$$?; \
	wait $$service_pid || service=$$?; \
	echo "--- the service tests, run beside the others (var/service-tests.log) ---"; \
	cat var/service-tests.log; \
	echo "make test: parallel run exit $$parallel, service run exit $$service"; \
	if [ -n "$(strip $(PYTEST_ARGS))" ]; then \
		{ [ $$parallel = 5 ] && [ $$service = 0 ]; } && parallel=0; \
		{ [ $$service = 5 ] && [ $$parallel = 0 ]; } && service=0; \
	fi; \
	[ $$parallel = 0 ] && [ $$service = 0 ]

# The edit-test loop: everything but the browser (e2e) and service tests, in parallel (~4½ min
# on the shared machine at load 4; README.md, Development).
test-quick: $(STAMP)
	$(PYTEST) -n $(TEST_WORKERS) --dist worksteal --serial-tests=without -m "not e2e" $(PYTEST_ARGS)

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
