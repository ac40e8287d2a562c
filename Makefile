# Okno: `make run` starts the demo on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests run against PostgreSQL; a developer without it may point DATABASE_URL elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/okno
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test install install-test system-deps system-deps-test messages bench bench-scheduler clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: system-deps $(VENV)/.installed
install-test: system-deps-test $(VENV)/.installed-test

system-deps:
	@bash scripts/system-deps.sh runtime

system-deps-test:
	@bash scripts/system-deps.sh test

messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l ru --no-location --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py compilemessages -l ru --ignore '.venv/*'

run: install
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo ""
	@echo "Okno: http://$(HOST):$(PORT)/   (Ctrl+C stops it; e-mails land in http://$(HOST):$(PORT)/mailbox/, log in as admin)"
	@# A Celery worker with its beat (the scheduler) runs beside the web server and stops with it. Without
	@# Redis its broker is a folder (var/celery-queue); with REDIS_URL set it is Redis.
	@# A second worker takes the "automation" queue (runbook runs may last hours) in threads.
	$(PY) -m celery -A config worker --beat --pool=solo --loglevel=WARNING \
		--schedule=var/celerybeat-schedule & worker=$$!; \
		$(PY) -m celery -A config worker -Q automation -n automation@%h --pool=threads --concurrency=4 --loglevel=WARNING & automation=$$!; \
		trap 'kill $$worker $$automation 2>/dev/null; wait $$worker $$automation 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py runserver $(HOST):$(PORT)

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

clean:
	rm -rf $(VENV) var
