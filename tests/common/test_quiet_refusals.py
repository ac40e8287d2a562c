"""A 403 is a refusal, not a fault: `django.request` logs it at INFO without a traceback (issue 15, item 10)."""

import logging
import sys

import pytest

from config.log_filters import QuietRefusals
from tests.factories import UserFactory

pytestmark = pytest.mark.postgres


def test_a_refusal_is_logged_quietly(client, caplog, db):
    # Given an approver (who may not create plans)
    client.force_login(UserFactory(roles=["approver"]))
    # When they open «New plan»
    with caplog.at_level(logging.DEBUG, logger="django.request"):
        response = client.get("/plans/new/")
    # Then the page refuses them, and the log says so in one quiet line
    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelno, r.exc_info, r.exc_text) for r in records] == [(logging.INFO, None, None)]
    assert "/plans/new/" in records[0].getMessage()


def test_a_server_error_keeps_its_traceback():
    # A 500 still logs as an error with its traceback: the filter touches 403 only.
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Server Error", (), sys.exc_info())
    record.status_code = 500
    assert QuietRefusals().filter(record) and record.levelno == logging.ERROR and record.exc_info is not None
