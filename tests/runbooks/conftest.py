"""Runbook tests run commands through the real runner service (docs/runner.md), one for the session."""

import pytest

from .runner_service import okno_runner, runner_writable_dir  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True, scope="session")
def _runner_for_the_session(okno_runner):  # noqa: F811
    return okno_runner
