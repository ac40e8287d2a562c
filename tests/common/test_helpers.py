"""The helpers several apps share (common/): one home each for a rule that used to be written three or four times."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from common import workers
from common.htmx import forbidden, toast
from common.links import absolute_url
from common.retry import backoff
from common.text import clean_text, normalize_newlines


class FakeTask:
    def __init__(self):
        self.queued = []

    def delay(self, *args):
        self.queued.append(args)


FAKE_TASK = FakeTask()


def test_backoff_doubles_from_the_first_wait():
    waits = [backoff(60, attempts) for attempts in (0, 1, 2, 3, 5)]
    assert waits == [timedelta(seconds=seconds) for seconds in (60, 60, 120, 240, 960)]


def test_text_gets_lf_line_breaks_and_loses_surrounding_blanks():
    assert normalize_newlines("a\r\nb\rc\n") == "a\nb\nc\n"
    assert normalize_newlines(None) == ""
    assert clean_text("  Диск заполнен\r\n ") == "Диск заполнен"
    assert clean_text(None) == ""


def test_toast_is_an_hx_trigger_event_and_keeps_other_events():
    response = HttpResponse()
    response["HX-Trigger"] = json.dumps({"okno:refresh": {}})
    toast(response, "Сохранено")
    events = json.loads(response["HX-Trigger"])
    assert events == {"okno:refresh": {}, "okno:toast": {"text": "Сохранено", "level": "success"}}


def test_forbidden_is_a_toast_for_htmx_and_the_error_page_otherwise():
    request = RequestFactory().post("/")
    request.htmx = True
    response = forbidden(request, "Нельзя")
    assert response.status_code == 403 and response["HX-Reswap"] == "none"
    assert json.loads(response["HX-Trigger"])["okno:toast"] == {"text": "Нельзя", "level": "danger"}
    request.htmx = False
    with pytest.raises(PermissionDenied, match="Нельзя"):
        forbidden(request, "Нельзя")


def test_hand_over_queues_the_task_with_a_worker_and_runs_here_without_one(settings):
    ran = []
    FAKE_TASK.queued.clear()
    # Given a worker
    settings.OKNO_USE_WORKER = True
    workers.hand_over("tests.common.test_helpers.FAKE_TASK", ran.append, 7)
    # then the task is queued, nothing runs here
    assert FAKE_TASK.queued == [(7,)] and ran == []
    # Given no worker
    settings.OKNO_USE_WORKER = False
    workers.hand_over("tests.common.test_helpers.FAKE_TASK", ran.append, 8)
    # then this process does it
    assert FAKE_TASK.queued == [(7,)] and ran == [8]


def test_absolute_url_starts_with_the_base_url(settings):
    settings.OKNO_BASE_URL = "https://okno.example.org/"
    assert absolute_url("/plans/1/") == "https://okno.example.org/plans/1/"
