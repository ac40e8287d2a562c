"""The demo's runbooks are rehearsed through the real runner service, like the runbook tests."""

import pytest

from tests.runbooks.runner_service import okno_runner, runner_writable_dir  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True, scope="session")
def _runner_for_the_session(okno_runner):  # noqa: F811
    return okno_runner
