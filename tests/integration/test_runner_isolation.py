"""A run through a real Celery worker holds none of the worker's keys: the command runs in the runner
service (docs/runner.md), not as the worker's child, so neither its parent's environment, nor any other
process's, nor the project's var/ gives it SECRET_KEY, OKNO_SECRETS_KEYS or DATABASE_URL."""

import os
import uuid

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from changeplans.models import Step
from runbooks import runs
from runbooks.choices import RunStatus
from runbooks.models import AutomationRun
from tests.conftest import IN_CI
from tests.runbooks.automation_fixtures import automate
from tests.runbooks.test_runner_service import scan_argv

from .conftest import wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.getuid() != 0 and not IN_CI,
        reason="the full boundary needs root: runner.sh then runs the runner as its own user (in CI this is a failure)",
    ),
]


def test_a_run_on_the_worker_finds_none_of_its_keys(celery, celery_env, running_plan, operator):
    # Given a worker holding its keys in its environment, as in production
    keys = {
        "SECRET_KEY": f"worker-secret-{uuid.uuid4().hex}",
        "OKNO_SECRETS_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": celery_env["DATABASE_URL"],
    }
    celery.worker(concurrency=2, env=keys)
    # When a shell run looks for them in its parent's and every process's environment and in var/
    step = Step.objects.get(plan=running_plan, position=1)
    automate(step, scan_argv(keys), timeout=120)
    with override_settings(OKNO_USE_WORKER=True):
        run = runs.request_run(step.pk, actor=operator)

    def ended():
        current = AutomationRun.objects.get(pk=run.pk)
        return current if current.ended else None

    run = wait_for(ended, 90, message="the run to end")
    # Then it finished its scan on the worker and found none of them
    lines = run.log.splitlines()
    assert run.status == RunStatus.SUCCEEDED, run.log
    assert "scan done" in lines
    assert [line for line in lines if line.startswith("FOUND")] == []
