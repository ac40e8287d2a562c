"""Live-stream limits (execution/live_limits.py, issue 11 finding 3): a bounded number of streams per
user and per process, a refusal that says when to retry, slots that come back when streams end; the
run log's stream counts against the same limits. The whole burst against uvicorn and PostgreSQL is
tests/integration/test_stream_burst.py."""

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from execution import live_limits
from runbooks.models import AutomationRun
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
def limits(settings, monkeypatch):
    settings.REDIS_URL = ""
    settings.OKNO_LIVE_MAX_STREAMS_PER_USER = 2
    settings.OKNO_LIVE_MAX_STREAMS_PER_PROCESS = 3
    # A count of its own: a stream another test left unread (and not yet collected) must not count here.
    monkeypatch.setattr(live_limits, "streams", live_limits.StreamCounter())
    return settings


def events_url(plan):
    return reverse("execution:plan_events", args=[plan.pk])


def login(user):
    client = Client()
    client.force_login(user)
    return client


def hang_up(response):
    """End a stream as the server does when its client has gone: close the response. (As Django's test
    client does, without request_finished closing the test's own connection inside its transaction.)"""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def translated(msgid, language="ru"):
    with translation.override(language):
        return gettext(msgid)


@pytest.mark.django_db
def test_a_user_beyond_the_limit_is_refused_with_retry_after_and_the_slot_comes_back(limits):
    # Given a user with two open streams (the limit)
    plan = PlanFactory()
    alice = login(UserFactory(username="alice"))
    open_ = [alice.get(events_url(plan)) for _ in range(2)]
    assert [r.status_code for r in open_] == [200, 200]
    assert live_limits.streams.open_streams() == 2
    # When they open a third
    refused = alice.get(events_url(plan))
    # Then it is refused at once with 429, Retry-After and a message in their language
    assert refused.status_code == 429 and not refused.streaming
    assert int(refused["Retry-After"]) > 0
    assert refused.content.decode().startswith(
        translated(
            "Too many live connections are open for your account (other tabs or windows). "
            "Close some; the page reconnects by itself."
        )
    )
    # and another user is not affected
    bob_stream = login(UserFactory(username="bob")).get(events_url(plan))
    assert bob_stream.status_code == 200
    # When one of the streams ends (the server closes the response after the client went)
    hang_up(open_[0])
    # Then its slot is free again
    again = alice.get(events_url(plan))
    assert again.status_code == 200
    for response in (open_[1], bob_stream, again):
        hang_up(response)
    assert live_limits.streams.open_streams() == 0


@pytest.mark.django_db
def test_a_full_process_answers_503_with_retry_after_in_english_for_english_users(limits):
    plan = PlanFactory()
    responses = [login(UserFactory()).get(events_url(plan)) for _ in range(3)]
    assert [r.status_code for r in responses] == [200] * 3
    client = login(UserFactory())
    client.cookies["django_language"] = "en"
    refused = client.get(events_url(plan))
    assert refused.status_code == 503 and int(refused["Retry-After"]) > 0
    assert (
        refused.content.decode()
        == "The server has too many live connections open. The page reconnects by itself shortly."
    )
    for response in responses:
        hang_up(response)
    assert live_limits.streams.open_streams() == 0


@pytest.mark.django_db
def test_a_refused_or_forbidden_request_takes_no_slot(limits, client):
    plan = PlanFactory()
    assert client.get(events_url(plan)).status_code == 403  # anonymous
    assert login(UserFactory()).get(reverse("execution:plan_events", args=[plan.pk + 1000])).status_code == 404
    assert live_limits.streams.open_streams() == 0


@pytest.mark.django_db
def test_run_log_streams_count_against_the_same_limits(limits):
    # Given a user with one plan stream and one run-log stream open
    step = StepFactory()
    run = AutomationRun.objects.create(
        plan=step.plan, step=step, kind="shell", timeout_seconds=60, command="echo hi", status="running"
    )
    user = UserFactory(roles=["operator"])
    client = login(user)
    plan_stream = client.get(events_url(step.plan))
    run_url = reverse("automation:run_stream", args=[run.pk])
    run_stream = client.get(run_url)
    assert (plan_stream.status_code, run_stream.status_code) == (200, 200), run_stream.content[:300]
    # When they open another run-log stream, it is refused like a plan stream
    refused = client.get(run_url)
    assert refused.status_code == 429 and refused["Retry-After"]
    hang_up(plan_stream)
    hang_up(run_stream)
    assert live_limits.streams.open_streams() == 0


def test_a_slot_is_released_once_however_the_stream_ends(settings):
    settings.OKNO_LIVE_MAX_STREAMS_PER_USER = 1
    counter = live_limits.StreamCounter()
    slot = counter.acquire(7)
    assert isinstance(slot, live_limits.Slot)
    assert counter.acquire(7).status_code == 429
    slot.release()
    slot.release()  # the generator's finally, then the response's close: counted once
    assert counter.open_streams() == 0 and counter.open_streams(7) == 0

    def stream():
        yield "x"

    # A stream dropped before it ever ran (the client left before the first chunk) frees its slot too
    slot = counter.acquire(7)
    body = stream()
    slot.bind(type("Response", (), {"_resource_closers": []})(), body)
    del body
    assert counter.open_streams(7) == 0


async def _first_chunk_then_connection_state(url, cookies):
    from asgiref.sync import ThreadSensitiveContext, sync_to_async
    from django.db import connection
    from django.test import AsyncClient

    # As Django's ASGI handler does: the request's sync parts run in one thread of this context.
    async with ThreadSensitiveContext():
        client = AsyncClient()
        client.cookies = cookies
        response = await client.get(url)
        assert response.status_code == 200
        chunks = aiter(response)
        await anext(chunks)  # the preamble: the stream is about to wait
        # The thread that authenticated the request and looked up the plan: does it still hold a connection?
        holds = await sync_to_async(lambda: connection.connection is not None)()
        await chunks.aclose()
        return holds


@pytest.mark.django_db(transaction=True)
def test_an_asgi_stream_gives_back_its_requests_connection_before_it_waits(limits):
    import asyncio
    import threading

    plan = PlanFactory()
    client = login(UserFactory())
    box = {}

    def target():  # a loop of its own (a session fixture may keep one running in this thread)
        try:
            box["holds"] = asyncio.run(_first_chunk_then_connection_state(events_url(plan), client.cookies))
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if "error" in box:
        raise box["error"]
    assert box["holds"] is False
    assert live_limits.streams.open_streams() == 0  # aclose() freed the slot
