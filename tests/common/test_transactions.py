"""common.transactions.after_commit: runs after commit, and a failing callback is logged by its name."""

import logging

import pytest
from django.db import transaction

from common.transactions import after_commit


@pytest.mark.django_db(transaction=True)
def test_after_commit_runs_after_commit_and_logs_a_failure_by_its_name(caplog):
    called = []

    def fails(plan_id):
        called.append(plan_id)
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"), transaction.atomic():
        after_commit(fails, 7)
        after_commit(called.append, 8)
        assert called == []

    # The failure does not stop the next callback nor escape from the commit (a partial's did: AttributeError).
    assert called == [7, 8]
    assert "Error calling test_after_commit_runs_after_commit_and_logs_a_failure_by_its_name.<locals>.fails" in (
        caplog.text
    )
