"""The real runner service for tests, started exactly as `scripts/runner.sh` starts it (as the okno-runner
user when the tests run as root, as CI does), on a socket of its own for the test session."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
RUNNER_USER = "okno-runner"


@dataclass
class RunnerService:
    socket: str
    process: subprocess.Popen
    log_path: Path

    @property
    def user(self):
        return RUNNER_USER if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def answers(self):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            probe.close()


def start_runner(socket_path, log_path):
    """`bash scripts/runner.sh` on `socket_path`; returns once the service accepts connections."""
    log = open(log_path, "ab")
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "runner.sh")],
        env={**os.environ, "OKNO_RUNNER_SOCKET": str(socket_path)},
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    service = RunnerService(str(socket_path), process, Path(log_path))
    deadline = time.monotonic() + 60
    while not service.answers():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_runner(service)
            raise RuntimeError(f"the runner service did not start:\n{service.log()}")
        time.sleep(0.05)
    return service


def stop_runner(service):
    if service.process.poll() is None:
        try:
            os.killpg(service.process.pid, signal.SIGTERM)
            service.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait(10)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def okno_runner():
    """The session's runner service; OKNO_RUNNER_SOCKET points at it (settings and the environment that
    worker processes of tests/integration inherit)."""
    directory = tempfile.mkdtemp(prefix="okno-runner-test-")  # runner.sh hands it to the runner's user
    service = start_runner(os.path.join(directory, "okno-runner.sock"), Path(directory + ".log"))
    override = override_settings(OKNO_RUNNER_SOCKET=service.socket)
    override.enable()
    try:
        yield service
    finally:
        override.disable()
        stop_runner(service)
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory + ".log").unlink(missing_ok=True)


@pytest.fixture
def runner_writable_dir():
    """A directory the runner's jobs may write to (pytest's tmp_path is the test user's own, 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="okno-runner-out-"))
    if os.getuid() == 0:
        shutil.chown(directory, RUNNER_USER, RUNNER_USER)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
