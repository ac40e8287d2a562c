"""Finding 3 of issue 11: a burst of live streams must not starve PostgreSQL.

What every open board does after a web restart (all EventSources reconnect at once), against the
production shape: uvicorn with two worker processes (config/asgi.py), PostgreSQL (this server's
max_connections is 100), Redis. Real HTTP clients on raw sockets, 127.0.0.1 only.

Done when (issue 11): 500 streams opened at once → no 500 (a refusal is 429/503 with Retry-After),
other users' pages and /healthz answer meanwhile, the web holds ≤ 10 database connections, and
10 s after the clients go no connection is held for them (docs/realtime.md, "Limits").
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from django.test import Client

from tests.factories import PlanFactory, UserFactory
from tests.integration.conftest import database_url, free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
STREAMS = 500
WEB_CONNECTIONS_MAX = 10  # the done-when bound for both web processes together
WORKERS = 2
POOL_MAX_SIZE = 4  # DB_POOL_MAX_SIZE's default (config/settings/base.py): 2 × 4 ≤ 10

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


class Uvicorn:
    """`uvicorn config.asgi:application --workers 2` on a free port of 127.0.0.1, test database."""

    def __init__(self, tmp_path, env):
        self.port = free_port()
        self.log_path = tmp_path / "uvicorn.log"
        self.env = env

    def start(self):
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(WORKERS),
                "--no-access-log",
                "--log-level",
                "warning",
                "--timeout-graceful-shutdown",
                "3",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: self.process.poll() is not None or run_async(get(self.port, "/healthz", None, 5))[0] == 200,
            60,
            interval=0.2,
            message="uvicorn to answer /healthz",
        )
        assert self.process.poll() is None, self.tail()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)

    def tail(self, lines=40):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Loop:
    """An event loop in a thread of its own (a session fixture may keep a loop running in the test's
    thread); the clients' sockets live in it from the burst until they hang up."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout=300):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def run_async(coro):
    """One coroutine on a loop of its own."""
    loop = Loop()
    try:
        return loop.run(coro)
    finally:
        loop.close()


def _request(path, session):
    cookie = f"Cookie: sessionid={session}\r\n" if session else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}Accept: text/event-stream, text/html\r\n\r\n".encode()


def _parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ", 2)[1]), headers


async def get(port, path, session, timeout):
    """One plain request with Connection: close → (status, headers)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except OSError:
        return None, {}
    try:
        writer.write(_request(path, session).replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status, headers = _parse_head(head)
        await asyncio.wait_for(reader.read(), timeout)
        return status, headers
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        return f"{type(exc).__name__}: {exc}", {}
    finally:
        writer.close()


async def open_stream(port, path, session, timeout=90):
    """Open one event stream → (status, headers, writer or None). A 200 is read up to the stream's preamble."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    writer.write(_request(path, session))
    await writer.drain()
    status, headers = _parse_head(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout))
    if status == 200:
        await asyncio.wait_for(reader.readuntil(b"okno"), timeout)  # the generator runs ("retry: …\n: okno live")
        return status, headers, writer
    writer.close()
    return status, headers, None


class ConnectionWatch:
    """Samples pg_stat_activity of the test database (every connection but its own) in a thread."""

    def __init__(self, url, too_many=None):
        self.db = psycopg.connect(url, autocommit=True, application_name="okno-burst-monitor")
        self.peak = 0
        self.too_many = too_many  # (count, callback): stop a run that already failed before it starves the server
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def states(self):
        rows = self.db.execute(
            "SELECT coalesce(state, ''), count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            " GROUP BY 1"
        ).fetchall()
        return dict(rows)

    def count(self):
        return sum(self.states().values())

    def _run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.count())
            if self.too_many and self.peak > self.too_many[0]:
                self.too_many[1]()
                self.too_many = None
            self.stop.wait(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.db.close()


async def burst(port, plan_id, streamer, other):
    """Open STREAMS streams of one user at once; meanwhile another user loads pages and /healthz."""
    path = f"/plans/{plan_id}/events/"
    sent = asyncio.Event()
    started = 0

    async def one():
        nonlocal started
        started += 1
        if started >= STREAMS // 5:
            sent.set()
        try:
            return await open_stream(port, path, streamer)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            return f"{type(exc).__name__}: {exc}", {}, None

    async def others():
        await sent.wait()
        answers = []
        for _round in range(3):
            answers.append(("/plans/", (await get(port, "/plans/", other, 60))[0]))
            answers.append(("/healthz", (await get(port, "/healthz", None, 60))[0]))
            answers.append((path, (await get_stream_status(port, path, other))))
        return answers

    results, pages = await asyncio.gather(asyncio.gather(*(one() for _ in range(STREAMS))), others())
    # While the accepted streams stay open, the other user is still served.
    pages.append(("/plans/ after", (await get(port, "/plans/", other, 60))[0]))
    pages.append(("/healthz after", (await get(port, "/healthz", None, 60))[0]))
    return results, pages


async def get_stream_status(port, path, session):
    try:
        status, _headers, writer = await open_stream(port, path, session, timeout=60)
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if writer:
        writer.close()
    return status


async def hang_up(results):
    for _status, _headers, writer in results:
        if writer is not None:
            writer.close()
    await asyncio.sleep(0)


async def open_and_close(port, plan_id, session):
    return await get_stream_status(port, f"/plans/{plan_id}/events/", session)


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_streams_does_not_starve_the_database(tmp_path, settings):
    # Given two users with sessions, a plan, and uvicorn with two workers on the test database
    streamer, other = UserFactory(username="burster"), UserFactory(username="bystander")
    plan = PlanFactory()
    sessions = {}
    for user in (streamer, other):
        client = Client()
        client.force_login(user)
        sessions[user.username] = client.cookies["sessionid"].value
    from django.db import connection

    url = database_url()
    connection.close()  # from here on this process holds only the watch's connection
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "OKNO_USE_WORKER": "0",
        "PYTHONUNBUFFERED": "1",
    }
    server = Uvicorn(tmp_path, env)
    server.start()
    clients = Loop()
    try:
        # (A run that already holds 3× the bound has failed: it is stopped before it takes the whole
        # server's max_connections from everything else using this PostgreSQL.)
        with ConnectionWatch(url, too_many=(3 * WEB_CONNECTIONS_MAX, server.kill)) as watch:
            # When one user opens 500 streams at once
            results, pages = clients.run(burst(server.port, plan.pk, sessions["burster"], sessions["bystander"]))
            peak = watch.peak
            statuses = [status for status, _headers, _writer in results]
            summary = {status: statuses.count(status) for status in set(statuses)}
            # Then the web never held more than 10 database connections
            assert peak <= WEB_CONNECTIONS_MAX, f"peak {peak} connections\n{summary}"
            # and no request failed: each is a stream or a refusal that tells the client when to retry
            unexpected = [s for s in statuses if s not in (200, 429, 503)]
            assert not unexpected, f"{summary}\n{server.tail()}"
            assert all("retry-after" in headers for status, headers, _w in results if status != 200), summary
            assert 200 in summary, summary
            # the other user's pages, their own stream and /healthz answered during the burst
            assert all(status == 200 for _what, status in pages), f"{pages}\n{server.tail()}"
            # When every client hangs up
            clients.run(hang_up(results))
            # Then within 10 s the web holds no connection at all (the pools shrink to zero when idle)
            wait_for(
                lambda: watch.count() == 0,
                10,
                interval=0.1,
                message=f"the web to let go of its connections (now {watch.states()})",
            )
            # and the slots came back: the same user may open a stream again
            wait_for(
                lambda: run_async(open_and_close(server.port, plan.pk, sessions["burster"])) == 200,
                10,
                interval=0.2,
                message="a new stream of the same user to be accepted",
            )
            print(f"\nburst of {STREAMS}: {summary}; peak web connections {peak}")
    finally:
        clients.close()
        server.stop()
