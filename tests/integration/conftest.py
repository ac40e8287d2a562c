"""Real parts for the scheduler's integration and fault tests.

- `smtp`: an aiosmtpd server in this process that records what arrives and when (and can stall a
  conversation to let a test kill the worker in the middle of a send);
- `celery`: Celery worker and beat processes (`python -m celery -A config …`) on the test database
  (committed data: these tests use `transactional_db`), the broker of the test settings (Redis) or a
  Redis of their own (`own_redis`, which a test may restart).
"""

import asyncio
import email
import email.policy
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller

from tests.runbooks.runner_service import okno_runner  # noqa: F401  (the runner service workers send commands to)

ROOT = Path(__file__).resolve().parents[2]
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


class Sink:
    """An SMTP handler: every accepted message with the time it arrived."""

    def __init__(self):
        self.messages = []  # (arrived_at epoch, rcpt_tos, email.message.EmailMessage)
        self.lock = threading.Lock()
        self.stall_rcpt = None  # an address whose RCPT waits until `release` is set
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.stall_rcpt and address == self.stall_rcpt and not self.release.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((time.time(), list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address):
        with self.lock:
            return [(at, message) for at, rcpts, message in self.messages if address in rcpts]

    def count(self):
        with self.lock:
            return len(self.messages)


@pytest.fixture
def smtp():
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    try:
        yield sink
    finally:
        sink.release.set()
        controller.stop()


class OwnRedis:
    """A redis-server of the test's own on a free port, so a test can restart it."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), 10, message="redis-server to start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self, down_for=0.0):
        self.stop()
        time.sleep(down_for)
        self.start()


def _pings(client):
    try:
        return client.ping()
    except redis.RedisError:
        return False


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Celery:
    """Worker and beat processes of the project, each in its own process group, logs in tmp files."""

    def __init__(self, tmp_path, env):
        self.tmp = tmp_path
        self.env = env
        self.processes = {}

    def _start(self, name, args, env=None):
        log = open(self.tmp / f"{name}.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def worker(self, name="w1", *, concurrency=2, env=None, wait=True, queues="celery,automation"):
        process = self._start(
            name,
            [
                "worker",
                "-n",
                f"{name}@%h",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-Q",
                queues,
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            env,
        )
        if wait:
            wait_for(
                lambda: "ready." in self.log(name) or process.poll() is not None,
                60,
                message=f"worker {name} to be ready",
            )
            assert process.poll() is None, self.log(name)
        return process

    def beat(self, name="beat", *, env=None):
        return self._start(name, ["beat", "-l", "INFO", "-s", str(self.tmp / f"{name}-schedule")], env)

    def log(self, name):
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name, sig=signal.SIGKILL):
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(30)

    def stop_all(self):
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
            self.processes.pop(name)


def database_url():
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_env(smtp, tmp_path, okno_runner):  # noqa: F811
    """The environment of worker and beat: test database, SMTP sink, fast sweeps and short timeouts."""
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "OKNO_USE_WORKER": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_TIMEOUT": "30",
        "OKNO_DISPATCH_INTERVAL": "1",
        "OKNO_SWEEP_INTERVAL": "1",
        "OKNO_EMAIL_SENDING_TIMEOUT_SECONDS": "4",
        "OKNO_SCHEDULER_CLAIM_TIMEOUT_SECONDS": "5",
        "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "beat-schedule"),
        "PYTHONUNBUFFERED": "1",
        "OKNO_RUNNER_SOCKET": okno_runner.socket,
    }


@pytest.fixture
def celery(transactional_db, celery_env, tmp_path, request):
    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("redis"):
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    procs = Celery(tmp_path, celery_env)
    yield procs
    procs.stop_all()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        for path in sorted(tmp_path.glob("*.log")):
            print(f"--- {path.name} ---\n{path.read_text(errors='replace')[-5000:]}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
