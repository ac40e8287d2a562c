# Okno: `make run` starts the demo on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests run against PostgreSQL; a developer without it may point DATABASE_URL elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/okno
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

# The lock files pin every package, transitive ones too, with hashes; `make lock` regenerates them from
# pyproject.toml (keeping the current pins; LOCK_ARGS=--upgrade or LOCK_ARGS="-P django" to move them).
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
PIP_TOOLS ?= pip-tools==7.7.0
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile -q --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: run demo-reset test check lock install install-test system-deps system-deps-test messages bench bench-scheduler clean

# Links in e-mails and in the demo's summary point where `make run` serves, unless OKNO_BASE_URL says otherwise
# (0.0.0.0 listens on every interface, 127.0.0.1 among them; an IPv6 address goes in brackets).
RUN_URL_HOST = $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(if $(filter ::,$(HOST)),[::1],$(if $(findstring :,$(HOST)),[$(HOST)],$(HOST))))
run: export OKNO_BASE_URL ?= http://$(RUN_URL_HOST):$(PORT)

$(VENV)/.installed: $(LOCK) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(TEST_LOCK)
	$(PY) -m pip install -q -r $(TEST_LOCK)
	touch $@

# The test lock is solved under the runtime lock (-c), so the two never disagree on a version.
lock:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(PIP_TOOLS)
	$(PIP_COMPILE) -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) --extra test -c $(LOCK) -o $(TEST_LOCK) pyproject.toml

# Static checks (CI runs them before the tests): lint, formatting, import contracts, types. All run; any failure fails.
check: install-test
	@status=0; \
	for cmd in "ruff check ." "ruff format --check ." "lint-imports" "mypy"; do \
		echo "check: $$cmd"; \
		$(VENV)/bin/$$cmd || status=1; \
	done; \
	exit $$status

install: system-deps $(VENV)/.installed
install-test: system-deps-test $(VENV)/.installed-test sso-test-deps ics-test-deps

# The real OpenID Connect provider the SSO tests start (node-oidc-provider, pinned by its package-lock.json;
# docs/sso.md). Needs Node.js >= 18.12 with npm; without them the OIDC tests skip (and fail with CI=true).
SSO_PROVIDER := tests/sso/oidc_provider
.PHONY: sso-test-deps
sso-test-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "sso-test-deps: npm is missing: the OpenID Connect tests will skip (install Node.js >= 18.12 with npm)" >&2; \
	elif [ ! -f $(SSO_PROVIDER)/node_modules/.installed ] || [ $(SSO_PROVIDER)/package-lock.json -nt $(SSO_PROVIDER)/node_modules/.installed ]; then \
		npm ci --prefix $(SSO_PROVIDER) --no-audit --no-fund --loglevel=error && touch $(SSO_PROVIDER)/node_modules/.installed; \
	fi

# Mozilla's ical.js (Thunderbird's iCalendar parser), which the ICS tests run on every generated file (pinned by
# its package-lock.json; docs/calendar.md). Without npm the ICS tests skip (and fail with CI=true).
ICS_VALIDATOR := tests/ics_validator
.PHONY: ics-test-deps
ics-test-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "ics-test-deps: npm is missing: the ICS validation tests will skip (install Node.js >= 18.12 with npm)" >&2; \
	elif [ ! -f $(ICS_VALIDATOR)/node_modules/.installed ] || [ $(ICS_VALIDATOR)/package-lock.json -nt $(ICS_VALIDATOR)/node_modules/.installed ]; then \
		npm ci --prefix $(ICS_VALIDATOR) --no-audit --no-fund --loglevel=error && touch $(ICS_VALIDATOR)/node_modules/.installed; \
	fi

system-deps:
	@bash scripts/system-deps.sh runtime

system-deps-test:
	@bash scripts/system-deps.sh test

messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l ru --no-location --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py compilemessages -l ru --ignore '.venv/*'

run: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput -v0
	@# The logins and addresses are printed last (scripts/run_summary.py), once everything is up.
	$(PY) manage.py load_demo > var/demo-summary.txt
	@echo "Okno: $$OKNO_BASE_URL/   (Ctrl+C stops it; e-mails land in $$OKNO_BASE_URL/mailbox/, log in as admin)" \
		>> var/demo-summary.txt
	@# Beside the web server: Celery beat (the scheduler) as its own process, one worker for the default
	@# queue and one for "automation" (runbook runs may last hours, so they never hold up e-mails and
	@# banners), and the automation runner service. Without Redis the broker is a folder (var/celery-queue,
	@# config/fsbroker.py). The beat's pidfile refuses a second beat; OKNO_EXIT_WITH_PARENT makes every
	@# child die with this shell, even on SIGKILL. --quiet: no start-up banners. docs/scheduler.md,
	@# "The embedded default".
	@export OKNO_EXIT_WITH_PARENT=1; \
		$(PY) -m celery -A config --quiet beat --loglevel=WARNING --schedule=var/celerybeat-schedule \
			--pidfile=var/celerybeat.pid & beat=$$!; \
		$(PY) -m celery -A config --quiet worker -Q celery -n default@%h --pool=solo --loglevel=WARNING \
			--without-gossip --without-mingle --without-heartbeat --pidfile=var/celery-worker.pid & worker=$$!; \
		$(PY) -m celery -A config --quiet worker -Q automation -n automation@%h --pool=threads --concurrency=4 \
			--loglevel=WARNING --without-gossip --without-mingle --without-heartbeat --pidfile=var/celery-automation.pid \
			& automation=$$!; \
		bash scripts/runner.sh & runner=$$!; \
		$(PY) scripts/run_summary.py $(HOST) $(PORT) var/demo-summary.txt \
			var/celerybeat.pid var/celery-worker.pid var/celery-automation.pid & summary=$$!; \
		trap 'kill $$beat $$worker $$automation $$runner $$summary 2>/dev/null; \
			wait $$beat $$worker $$automation $$runner $$summary 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py runserver $(HOST):$(PORT)

# The demo back to its first state, without reinstalling: stop `make run`, `make demo-reset`, `make run`. It removes
# the SQLite database in var/ (plans, sign-offs, mailbox, history); the next `make run` loads the demo afresh.
demo-reset:
	@bash scripts/demo-reset.sh

test: install-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(PY) -m pytest $(PYTEST_ARGS)

bench: install-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) bench/run.py

bench-scheduler: install-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/14} $(PY) bench/scheduler.py

.PHONY: bench-automation
bench-automation: install-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/12} $(PY) bench/automation.py

.PHONY: bench-live
bench-live: install-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/13} $(PY) bench/live.py

# The seed's 7 steps typed into an empty draft in Chromium, keyboard only: actions per cell (docs/BENCHMARKS.md).
.PHONY: bench-drafting
bench-drafting: install-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) bench/drafting.py

# A cell save on a 100-step plan in Chromium, against a bare view answering the same bytes (docs/BENCHMARKS.md).
.PHONY: bench-cell
bench-cell: install-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(PY) bench/cell_save.py

# Import of a 100-step .docx against python-docx opening it and reading every cell; no database (docs/BENCHMARKS.md).
.PHONY: bench-import
bench-import: install-test
	$(PY) bench/import_docx.py

# Pages at 50,000 plans and 500,000 history events against their floors; fails when a query count grows (issue 16).
.PHONY: bench-scale
bench-scale: install-test
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/11} $(PY) bench/scale.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
