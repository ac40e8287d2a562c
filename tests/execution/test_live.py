"""Live updates (execution/live.py): replay from Last-Event-ID, permissions, delivery of new events
to an open stream by Redis pub/sub and by polling, under WSGI (sync generator) and ASGI (async generator)."""

import asyncio
import json
import logging
import socket
import threading
import time

import pytest
from asgiref.sync import ThreadSensitiveContext
from django.db import transaction
from django.test import AsyncClient, Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from changeplans import history
from changeplans.choices import EventKind, StepStatus
from changeplans.history import record_event
from changeplans.models import Plan, Step
from changeplans.models import PlanEvent as PlanEventModel
from execution import live
from execution.transitions import start_step
from tests.factories import PlanFactory, StepFactory, UserFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.postgres


def run_async(coro):
    """asyncio.run in a thread of its own: Playwright's session fixture may leave a loop running in this one."""
    box = {}

    def target():
        from django.db import connection

        try:
            box["result"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the test's thread)
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)  # bounds a hang only
    if "error" in box:
        raise box["error"]
    return box["result"]


def translated(msgid):
    with translation.override("ru"):
        return gettext(msgid)


def parse(text):
    """SSE text → list of (id, event, data) for the plan events in it."""
    out = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if line and not line.startswith(":") and ":" in line:
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
        if fields.get("event") == "plan":
            out.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return out


def read_all(response):
    return b"".join(response.streaming_content).decode()


def edit(plan, actor, label="x"):
    with transaction.atomic():
        return record_event(plan, actor=actor, kind=EventKind.EDITED, changes={"title": label})


@pytest.fixture
def watcher(db):
    return UserFactory(username="watcher")


@pytest.fixture
def short_streams(settings):
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 0.3  # the stream ends by itself: read_all() returns


def events_url(plan, **query):
    url = reverse("execution:plan_events", args=[plan.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.django_db
def test_replays_events_after_last_event_id(client, watcher, short_streams, settings):
    # Given a plan with three history entries
    settings.REDIS_URL = ""
    plan = PlanFactory()
    first, second, third = (edit(plan, plan.author, str(i)) for i in range(3))
    other_plan = PlanFactory()
    edit(other_plan, other_plan.author)
    client.force_login(watcher)
    # When a client reconnects having seen the first one
    response = client.get(events_url(plan), HTTP_LAST_EVENT_ID=str(first.pk))
    # Then it gets the two after it, in order, with the stream's headers, and nothing of the other plan
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
    text = read_all(response)
    assert text.startswith("retry: ")
    events = parse(text)
    assert [e[0] for e in events] == [second.pk, third.pk]
    data = events[0][2]
    assert data["kind"] == "edited" and data["object_type"] == "plan" and data["object_id"] == plan.pk
    assert data["actor"] and data["label"] == str(plan) and data["at"]
    # ?after= is the same cursor (the page's last event); Last-Event-ID wins over it
    assert [e[0] for e in parse(read_all(client.get(events_url(plan, after=second.pk))))] == [third.pk]
    assert [
        e[0] for e in parse(read_all(client.get(events_url(plan, after=0), HTTP_LAST_EVENT_ID=str(second.pk))))
    ] == [third.pk]
    # A fresh watcher with no cursor starts at "now"
    assert parse(read_all(client.get(events_url(plan)))) == []


@pytest.mark.django_db
def test_event_text_is_russian_with_status_labels(client, watcher, short_streams, settings):
    settings.REDIS_URL = ""
    step = StepFactory()
    client.force_login(watcher)
    with transaction.atomic():
        start_step(Step.objects.get(pk=step.pk), actor=watcher)
    ((_id, _kind, data),) = parse(read_all(client.get(events_url(step.plan, after=0))))
    assert data["object_type"] == "step" and data["object_id"] == step.pk
    assert data["from_status"] == StepStatus.PENDING and data["to_status"] == StepStatus.IN_PROGRESS
    assert data["to_label"] == str(StepStatus.IN_PROGRESS.label) and data["to_label"] != "in_progress"
    assert data["text"].startswith(data["actor"] + ": ") and data["to_label"] in data["text"]


@pytest.mark.django_db
def test_anonymous_and_users_who_may_not_view_get_403(client, watcher, short_streams):
    plan = PlanFactory()
    response = client.get(events_url(plan))
    # (the Russian text arrives with the locale; the message is the translated msgid either way)
    assert response.status_code == 403 and response.content.decode() == translated("Sign in to watch the plan.")
    # can_view_plan refuses inactive accounts: a session of a user deactivated meanwhile is refused
    client.force_login(watcher)
    watcher.is_active = False
    watcher.save()
    assert client.get(events_url(plan)).status_code == 403


@pytest.mark.django_db
def test_bad_cursor_and_unknown_plan(client, watcher, short_streams):
    plan = PlanFactory()
    client.force_login(watcher)
    response = client.get(events_url(plan), HTTP_LAST_EVENT_ID="abc")
    assert response.status_code == 400 and response.content.decode() == translated(
        "The last event id must be a whole number."
    )
    assert client.get(events_url(plan, after=-1)).status_code == 400
    assert client.get(reverse("execution:plan_events", args=[plan.pk + 1000])).status_code == 404


class Looks:
    """Every look a stream (or an ASGI hub) took at the history table: in the order they started, the event
    ids each one found."""

    def __init__(self):
        self.lock = threading.Lock()
        self.found = {}  # number of the look (1-based, in the order they started) -> event ids it found

    def count(self):
        """How many looks have started."""
        with self.lock:
            return len(self.found)

    def delivering(self, event_id):
        """The number of the first look that found `event_id`."""
        with self.lock:
            return min(n for n, ids in self.found.items() if ids is not None and event_id in ids)


@pytest.fixture
def looks(monkeypatch):
    record, original = Looks(), live.Cursor.fetch_events

    def counted(cursor):
        with record.lock:
            number = len(record.found) + 1
            record.found[number] = None  # running
        events = original(cursor)
        with record.lock:
            record.found[number] = [event.pk for event in events]
        return events

    monkeypatch.setattr(live.Cursor, "fetch_events", counted)
    return record


def assert_found_by_a_look_after_the_commit(looks, box):
    """ "Within a poll or two" as events rather than a clock: the looks started once the commit (and its
    publish) had landed see the event, so one of the next two finds it (two: under ASGI the hub's first
    look starts "now" and leaves a fresh watcher's backlog to the watcher's own look)."""
    assert looks.delivering(box["event_id"]) <= box["looks_after_commit"] + 2, (box, looks.found)


def _record_later(plan_id, actor_id, started, box, looks=None):
    """In another thread (its own connection and transaction): an edit, with the time of its commit and the
    number of looks the streams had taken by then."""
    from django.db import connection

    try:
        started.wait(5)
        plan = Plan.objects.get(pk=plan_id)
        with transaction.atomic():
            event = record_event(plan, actor=plan.author, kind=EventKind.EDITED, changes={"title": "live"})
            box["committing"] = time.monotonic()
        box["looks_after_commit"] = looks.count() if looks else None  # after the publish too (on_commit)
        box["event_id"] = event.pk
    finally:
        connection.close()


def _watch_sync(client, plan, after, timeout=3.0, looks=None):
    """Open the stream (WSGI path), start the writer thread, read chunks until its event arrives."""
    started, box = threading.Event(), {}
    thread = threading.Thread(target=_record_later, args=(plan.pk, None, started, box, looks))
    response = client.get(events_url(plan, after=after))
    assert response.status_code == 200
    chunks = iter(response.streaming_content)
    assert next(chunks).decode().startswith("retry:")
    thread.start()
    started.set()
    received = []
    deadline = time.monotonic() + timeout
    for chunk in chunks:
        received += parse(chunk.decode())
        if received or time.monotonic() > deadline:
            break
    arrived = time.monotonic()
    response.close()
    thread.join(5)
    return received, box, arrived - box["committing"]


@pytest.mark.django_db(transaction=True)
def test_polling_delivers_an_event_committed_in_another_thread(client, watcher, settings, looks):
    # Given the embedded default (no Redis) and an open stream
    settings.REDIS_URL = ""
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 30
    plan = PlanFactory()
    client.force_login(watcher)
    # When another thread commits an edit, then the stream delivers it within a poll or two
    received, box, delay = _watch_sync(client, plan, after=0, timeout=20, looks=looks)
    print(f"\npolling: {delay * 1000:.0f} ms")
    assert [e[0] for e in received] == [box["event_id"]]
    assert_found_by_a_look_after_the_commit(looks, box)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_redis_wakes_the_stream_at_once(client, watcher, settings, monkeypatch, looks):
    # Given Redis and a safety poll far longer than the assertion: only the publish can be in time
    assert settings.REDIS_URL
    # Without the wake-up the stream would look again only after 30 s (its safety poll and its probe)
    monkeypatch.setattr(live, "SAFETY_POLL_SECONDS", 30.0)
    monkeypatch.setattr(live, "SYNC_PROBE_SECONDS", 30.0)
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 30.0)
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 60
    plan = PlanFactory()
    client.force_login(watcher)
    received, box, delay = _watch_sync(client, plan, after=0, timeout=20, looks=looks)
    print(f"\nredis (sync): {delay * 1000:.0f} ms")
    assert [e[0] for e in received] == [box["event_id"]]
    # Then it arrived long before any timed look (a bound on a failure, 10 s under the 30 s),
    # at the look right after the commit
    assert delay < 20
    assert_found_by_a_look_after_the_commit(looks, box)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_publish_goes_to_the_plan_channel_after_commit(settings):
    import redis

    plan = PlanFactory()
    pubsub = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(live.CHANNEL.format(plan.pk))
    try:
        with transaction.atomic():
            event = record_event(plan, actor=plan.author, kind=EventKind.EDITED)
            assert pubsub.get_message(timeout=0.2) is None  # not before the commit
        message = pubsub.get_message(timeout=2)
        assert message and message["channel"].decode() == f"okno:plan:{plan.pk}" and int(message["data"]) == event.pk
    finally:
        pubsub.close()


@pytest.mark.django_db
def test_publish_without_redis_does_nothing(settings, monkeypatch, django_capture_on_commit_callbacks):
    """Without REDIS_URL the streams poll the table: publishing makes no Redis client and raises nothing.

    Break it by hand: in execution/live.py `publish`, delete `if not settings.REDIS_URL: return`. redis-py
    then raises ValueError for the empty URL (not a RedisError, so nothing catches it) and the test fails.
    """
    monkeypatch.setattr(live, "_redis_client", None)  # restored afterwards: no client of this test outlives it
    settings.REDIS_URL = ""
    plan = PlanFactory()
    # Given the board's stream listening to the history (ExecutionConfig.ready registers it)
    assert live.publish in history.on_event_recorded
    # When an event is recorded and committed, and when publish is called directly (a listener's error is
    # only logged by on_commit(robust=True); a direct call lets it surface)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record_event(plan, actor=plan.author, kind=EventKind.EDITED)
    live.publish(plan.pk, 2)
    # Then publish ran and returned without making a Redis client
    assert len(callbacks) == len(history.on_event_recorded)
    assert live._redis_client is None


@pytest.mark.django_db
def test_publish_to_an_unreachable_redis_logs_and_returns(settings, monkeypatch, caplog):
    """A Redis that is down costs the streams a safety poll, never the transition that recorded the event.

    Break it by hand: in `publish`, change `except redis.RedisError` to `except ValueError`: the
    ConnectionError then reaches the caller and the test fails.
    """
    with socket.socket() as closed:  # a port bound but not listening: connecting is refused at once
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setattr(live, "_redis_client", None)
        settings.REDIS_URL = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
        with caplog.at_level(logging.WARNING, logger=live.log.name):
            assert live.publish(7, 8) is None
    assert "could not publish event 8 of plan 7" in caplog.text


async def _watch_async(plan, cookies, looks):
    """ASGI path: AsyncClient → ASGIRequest → the async generator."""
    # Django's ASGI handler runs each request in its own ThreadSensitiveContext; AsyncClient does not.
    async with ThreadSensitiveContext():
        return await _watch_async_request(plan, cookies, looks)


async def _watch_async_request(plan, cookies, looks):
    client = AsyncClient()
    client.cookies = cookies
    response = await client.get(events_url(plan, after=0))
    assert response.status_code == 200
    chunks = aiter(response)  # as Django's ASGI handler reads it (aclose() reaches the generator)
    first = await anext(chunks)
    assert (first.decode() if isinstance(first, bytes) else first).startswith("retry:")
    started, box = threading.Event(), {}
    # A plain thread: asyncio.to_thread would copy this context and with it Django's connection.
    writer = threading.Thread(target=_record_later, args=(plan.pk, None, started, box, looks))
    writer.start()
    started.set()
    received = []
    while not received:
        chunk = await asyncio.wait_for(anext(chunks), 25)  # bounds a failure only
        received += parse(chunk.decode() if isinstance(chunk, bytes) else chunk)
    arrived = time.monotonic()
    writer.join(5)
    await chunks.aclose()
    return received, box, arrived - box["committing"]


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "polling"])
@pytest.mark.django_db(transaction=True)
def test_asgi_stream_delivers_an_event_committed_in_another_thread(watcher, settings, monkeypatch, with_redis, looks):
    if with_redis:
        assert settings.REDIS_URL
        monkeypatch.setattr(live, "SAFETY_POLL_SECONDS", 30.0)  # without the wake-up: the next look in 30 s
    else:
        settings.REDIS_URL = ""
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 60
    plan = PlanFactory()
    client = Client()
    client.force_login(watcher)  # here, not in asgiref's thread (whose connection would outlive the test)
    received, box, delay = run_async(_watch_async(plan, client.cookies, looks))
    print(f"\nasgi {'redis' if with_redis else 'polling'}: {delay * 1000:.0f} ms")
    assert [e[0] for e in received] == [box["event_id"]]
    assert_found_by_a_look_after_the_commit(looks, box)
    if with_redis:
        assert delay < 20  # woken by the publish: long before the 30 s safety poll (a bound on a failure)


@pytest.mark.django_db(transaction=True)
def test_a_late_commit_below_the_cursor_is_not_skipped(watcher, settings):
    # Given a stream that has sent event N+1 while event N's transaction was still open
    settings.REDIS_URL = ""
    plan = PlanFactory()
    cursor = live.Cursor(plan.pk, 0, "ru")
    assert cursor.fetch() == []
    slow_started, fast_done, box = threading.Event(), threading.Event(), {}

    def slow():
        from django.db import connection

        try:
            with transaction.atomic():
                box["slow"] = record_event(plan, actor=None, kind=EventKind.EDITED).pk
                slow_started.set()
                fast_done.wait(5)
        finally:
            connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    slow_started.wait(5)
    fast = edit(plan, plan.author)
    assert fast.pk > box["slow"]
    assert [parse(m)[0][0] for m in cursor.fetch()] == [fast.pk]
    # When the slow one commits, then the next look still delivers it, once
    fast_done.set()
    thread.join(5)
    assert [parse(m)[0][0] for m in cursor.fetch()] == [box["slow"]]
    assert cursor.fetch() == []


class AsgiWatcher:
    """A browser tab against Django's real ASGI handler: body chunks arrive in a queue; hang_up() sends
    http.disconnect as uvicorn does when the client goes away."""

    def __init__(self, path, cookie):
        from django.core.handlers.asgi import ASGIHandler

        self.chunks, self.gone = asyncio.Queue(), asyncio.Event()
        self.status = None
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path.split("?")[0],
            "query_string": path.partition("?")[2].encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        self.task = asyncio.create_task(ASGIHandler()(scope, self.receive, self.send))
        self.sent_request = False

    async def receive(self):
        if not self.sent_request:
            self.sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message.get("body"):
            await self.chunks.put(message["body"].decode())

    async def next_events(self, timeout=3):
        while True:
            got = parse(await asyncio.wait_for(self.chunks.get(), timeout))
            if got:
                return [e[0] for e in got]

    async def hang_up(self):
        self.gone.set()
        await asyncio.wait_for(self.task, 5)


async def _three_watchers(plan, cookie):
    watchers = [AsgiWatcher(events_url(plan, after=0), cookie) for _ in range(3)]
    for watcher in watchers:
        assert (await asyncio.wait_for(watcher.chunks.get(), 5)).startswith("retry:")
    hubs = [key for key in live.Hub._hubs if key[1] == plan.pk]
    started, box = threading.Event(), {}
    writer = threading.Thread(target=_record_later, args=(plan.pk, None, started, box))
    writer.start()
    started.set()
    received = [await watcher.next_events() for watcher in watchers]
    writer.join(5)
    for watcher in watchers:
        await watcher.hang_up()
    left = [key for key in live.Hub._hubs if key[1] == plan.pk]
    return hubs, received, box, left


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_streams_of_one_plan_share_one_hub_in_a_process(watcher, settings, monkeypatch):
    # Given three watchers of one plan in one ASGI process (Django's own ASGI handler)
    monkeypatch.setattr(live, "SAFETY_POLL_SECONDS", 30.0)
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 10
    plan = PlanFactory()
    client = Client()
    client.force_login(watcher)
    hubs, received, box, left = run_async(_three_watchers(plan, client.cookies["sessionid"].value))
    # Then one hub serves them, each gets the event once, and the hub goes when the last one hangs up
    assert len(hubs) == 1
    assert received == [[box["event_id"]]] * 3
    assert left == []


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_event_is_not_published(settings):
    import redis

    plan = PlanFactory()
    pubsub = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(live.CHANNEL.format(plan.pk))
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event(plan, actor=plan.author, kind=EventKind.EDITED)
            raise RuntimeError("rolled back")
        committed = edit(plan, plan.author, "committed")  # a later commit is published: the channel works
        # Read until the committed event's message: one for the rolled-back event would have come first
        # (published earlier, same channel), so nothing can show up later that this does not see.
        messages = []

        def committed_arrived():
            message = pubsub.get_message(timeout=0.2)  # (the subscribe confirmation also reads as None)
            if message:
                messages.append(int(message["data"]))
            return committed.pk in messages

        wait_until(committed_arrived, message="the committed event's message")
        assert messages == [committed.pk] == [PlanEventModel.objects.get(plan=plan).pk]
    finally:
        pubsub.close()


@pytest.mark.django_db
def test_a_quiet_stream_sends_keep_alive_comments(client, watcher, settings, monkeypatch):
    settings.REDIS_URL = ""
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 0.5
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.2)
    client.force_login(watcher)
    text = read_all(client.get(events_url(PlanFactory(), after=0)))
    assert text.count(": keep-alive\n\n") >= 1 and parse(text) == []


# --- Streams end with their client or their server (issue 11, finding 10: a stream thread of the test
# server went on querying after its test had ended, "Database access not allowed", and the run aborted).


def _stream_threads():
    # pytest-django's live server (Django's ThreadedWSGIServer) handles each request in such a thread.
    return {t for t in threading.enumerate() if "process_request_thread" in t.name}


def _open_raw_stream(live_server, plan, session):
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(live_server.url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    sock.sendall(
        (
            f"GET {events_url(plan, after=0)} HTTP/1.1\r\nHost: {address.netloc}\r\nCookie: sessionid={session}\r\n\r\n"
        ).encode()
    )
    received = b""
    while b"okno live" not in received:  # the stream's preamble: its thread is looking now
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return sock


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "polling"])
@pytest.mark.django_db(transaction=True)
def test_a_sync_stream_ends_soon_after_its_client_has_gone(live_server, watcher, settings, with_redis):
    # Given a stream served by a real threaded WSGI server (runserver, the browser tests' server)
    if not with_redis:
        settings.REDIS_URL = ""
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 600
    plan = PlanFactory()
    client = Client()
    client.force_login(watcher)
    before = _stream_threads()
    sock = _open_raw_stream(live_server, plan, client.cookies["sessionid"].value)
    serving = _stream_threads() - before
    assert serving
    # When the client hangs up
    sock.close()
    # Then the thread serving it stops looking and ends: well before the 15 s keep-alive (it used to
    # go on querying until a keep-alive write failed, past the end of its test)
    wait_until(
        lambda: not any(t.is_alive() for t in serving),
        timeout=5 * live.SYNC_PROBE_SECONDS + 2,
        message="the stream's thread to end",
    )


@pytest.mark.django_db(transaction=True)
def test_stop_sync_streams_ends_open_streams_before_the_test_database_goes(live_server, watcher, settings):
    # Given an open stream whose client is still connected
    settings.REDIS_URL = ""
    settings.OKNO_LIVE_MAX_AGE_SECONDS = 600
    plan = PlanFactory()
    client = Client()
    client.force_login(watcher)
    sock = _open_raw_stream(live_server, plan, client.cookies["sessionid"].value)
    try:
        # When the test (or the server) ends its streams
        assert live.stop_sync_streams(timeout=10) is True
        # Then none is looking any more and the client sees the response end
        assert live.sync_streams.looks == 0
        sock.settimeout(10)
        tail = b""
        while not tail.endswith(b"0\r\n\r\n"):  # the chunked body's last chunk
            chunk = sock.recv(4096)
            if not chunk:
                break
            tail += chunk
    finally:
        sock.close()
    # and a new stream is served as before
    sock = _open_raw_stream(live_server, plan, client.cookies["sessionid"].value)
    sock.close()
