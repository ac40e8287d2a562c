"""The runner service (okno_runner): a run holds no keys of Okno's, and the service keeps its promises
(streaming, cancel on disconnect, files in a private work dir, stale socket, unreachable runner, TCP token).

The runner is the real service of the session (tests/runbooks/conftest.py), started by scripts/runner.sh."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from runbooks import runners
from runbooks.runners.base import RunContext
from runbooks.runners.process import run_process
from tests.conftest import IN_CI
from tests.waiting import wait_until

from .runner_service import ROOT, RunnerService, start_runner, stop_runner
from .test_process import processes_with, wait_gone

# The job of the isolation tests: looks for the given values (NAME=value arguments) in its parent's
# environment, in every /proc/<pid>/environ it can read and in the project's var/, and prints what it found
# by name only.
SCAN_SCRIPT = r"""
import os, sys
needles = {arg.split("=", 1)[0]: arg.split("=", 1)[1].encode() for arg in sys.argv[2:]}
var = sys.argv[1]
def scan(where, data):
    for name, value in needles.items():
        if value and value in data:
            print(f"FOUND {name} in {where}", flush=True)
ppid = os.getppid()
try:
    with open(f"/proc/{ppid}/environ", "rb") as handle:
        scan(f"the parent's environment (/proc/{ppid}/environ)", handle.read())
    print("parent environment: readable", flush=True)
except OSError as exc:
    print(f"parent environment: {exc.strerror}", flush=True)
readable = 0
for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) == os.getpid():
        continue
    try:
        with open(f"/proc/{entry}/environ", "rb") as handle:
            data = handle.read()
    except OSError:
        continue
    readable += 1
    scan(f"/proc/{entry}/environ", data)
print(f"other environments readable: {readable}", flush=True)
files = 0
for top, dirs, names in os.walk(var, onerror=lambda exc: print(f"var: {exc.strerror}: {exc.filename}", flush=True)):
    for name in names:
        try:
            with open(os.path.join(top, name), "rb") as handle:
                scan(os.path.join(top, name), handle.read(64 * 1024 * 1024))
            files += 1
        except OSError:
            pass
print(f"var files readable: {files}", flush=True)
print("scan done", flush=True)
"""


def scan_argv(needles):
    return ["python3", "-c", SCAN_SCRIPT, str(ROOT / "var"), *(f"{name}={value}" for name, value in needles.items())]


def worker_keys():
    """What this process (the worker here) holds that a run must not see."""
    keys = {"SECRET_KEY": django_settings.SECRET_KEY, "DATABASE_URL": os.environ.get("DATABASE_URL", "")}
    for index, key in enumerate(django_settings.OKNO_SECRETS_KEYS):
        keys[f"OKNO_SECRETS_KEYS[{index}]"] = key
    return {name: value for name, value in keys.items() if value}


def make_ctx(tmp_path, **kwargs):
    lines = []
    kwargs.setdefault("stop_reason", lambda: None)
    return RunContext(workdir=tmp_path, output=lines.append, **kwargs), lines


needs_root = pytest.mark.skipif(
    os.getuid() != 0 and not IN_CI,
    reason="the full boundary needs root: runner.sh then runs the runner as its own user (in CI this is a failure)",
)


@needs_root
def test_a_run_sees_none_of_the_workers_keys(tmp_path):
    # Given a worker (this process) holding a database URL in its environment and a secret key
    keys = worker_keys()
    assert "DATABASE_URL" in keys, "run the tests with DATABASE_URL in the environment"
    # When a shell run looks for them in its parent's and every process's environment and in var/
    ctx, lines = make_ctx(tmp_path)
    outcome = runners.get("shell").run({"argv": scan_argv(keys)}, ctx)
    # Then it finished its scan and found none of them
    assert outcome.status == "succeeded", lines
    assert "scan done" in lines, lines
    assert [line for line in lines if line.startswith("FOUND")] == []


def test_the_job_gets_exactly_its_environment_and_files_in_a_private_dir(tmp_path):
    ctx, lines = make_ctx(tmp_path, env={"FROM_CTX": "ctx"})
    script = (
        "import os, stat\n"
        "print(sorted(os.environ))\n"
        "print(os.environ['CONF'] == os.path.join(os.getcwd(), 'sub', 'conf.yaml'), "
        "os.environ['HOME'] == os.getcwd())\n"
        "print(oct(stat.S_IMODE(os.stat('.').st_mode)), oct(stat.S_IMODE(os.stat('sub/conf.yaml').st_mode)), "
        "open('sub/conf.yaml').read())\n"
        "print(os.getcwd())\n"
    )
    outcome = run_process(
        ["python3", "-c", script],
        ctx,
        env={"FROM_ARG": "arg"},
        files={"sub/conf.yaml": "key: value"},
        env_paths={"CONF": "sub/conf.yaml", "HOME": ""},
    )
    assert outcome.status == "succeeded", lines
    assert lines[0] == str(["CONF", "FROM_ARG", "FROM_CTX", "HOME", "LANG", "LC_ALL", "OKNO_RUNNER_JOB", "PATH"])
    assert lines[1:3] == ["True True", "0o700 0o600 key: value"]
    workdir = Path(lines[3])
    assert workdir != tmp_path
    assert not workdir.exists()  # removed after the job


def test_disconnecting_the_client_ends_the_whole_tree(okno_runner):
    # Given a job whose command leaves a background child and waits
    sleep = ["sleep", f"300.{uuid.uuid4().int % 10**8:08d}"]
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(okno_runner.socket)
    job = {"type": "job", "argv": ["sh", "-c", f"{' '.join(sleep)} & echo started; wait"], "timeout": 600, "grace": 2}
    client.sendall((json.dumps(job) + "\n").encode())
    reader = client.makefile("rb")
    assert json.loads(reader.readline())["type"] == "started"
    assert json.loads(reader.readline()) == {"type": "line", "text": "started"}
    # "started" can be printed before the background child has become `sleep` (fork, then exec)
    wait_until(lambda: processes_with(*sleep), message="the background sleep")
    # When the client goes away (a worker killed mid-run)
    reader.close()
    client.close()
    # Then the runner ends everything the job started
    assert wait_gone(sleep) == []


def test_a_process_that_left_the_session_ends_with_the_job(tmp_path, settings):
    settings.OKNO_AUTOMATION_KILL_GRACE_SECONDS = 1
    escaped = ["sleep", f"300.{uuid.uuid4().int % 10**8:08d}"]
    ctx, lines = make_ctx(tmp_path)
    outcome = run_process(["sh", "-c", f"setsid -f {' '.join(escaped)} >/dev/null 2>&1; echo detached"], ctx)
    assert (outcome.status, lines) == ("succeeded", ["detached"])
    assert wait_gone(escaped) == []


def test_malformed_jobs_are_refused_with_a_reason(okno_runner):
    for job, reason in (
        ({"type": "job", "argv": ["true"], "files": [{"path": "../escape", "content": "x"}]}, "plain relative path"),
        ({"type": "job", "argv": ["true"], "files": [{"path": "/etc/passwd", "content": "x"}]}, "plain relative path"),
        ({"type": "job", "argv": "true"}, "argv"),
        ({"type": "job", "argv": ["true"], "env": {"BAD NAME": "x"}}, "env"),
        ({"type": "hello"}, "first line must be a job"),
    ):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(okno_runner.socket)
        client.sendall((json.dumps(job) + "\n").encode())
        answer = json.loads(client.makefile("rb").readline())
        client.close()
        assert answer["type"] == "error" and reason in answer["message"], answer


def test_an_unreachable_runner_fails_the_run_with_a_clear_reason(tmp_path, settings):
    # Given no runner listening (a socket path nothing serves)
    settings.OKNO_RUNNER_SOCKET = str(tmp_path / "nobody.sock")
    ctx, lines = make_ctx(tmp_path)
    marker = tmp_path / "ran"
    # When a command is run
    with translation.override("ru"):
        outcome = runners.get("shell").run({"argv": ["touch", str(marker)]}, ctx)
    # Then it fails, says why in the user's language, and nothing ran here instead
    assert outcome.status == "failed"
    assert "Сервис запуска недоступен" in outcome.summary and str(tmp_path / "nobody.sock") in outcome.summary
    assert lines == [outcome.summary]
    assert not marker.exists()


def test_a_stale_socket_is_replaced_and_a_live_one_is_kept(tmp_path):
    # Given a socket file left by a runner that died (nobody listens on it)
    directory = Path(tempfile.mkdtemp(prefix="okno-runner-stale-"))  # runner.sh hands it to the runner's user
    path = directory / "okno-runner.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    # When runner.sh starts on it, then a second one on the same path
    service = start_runner(path, tmp_path / "runner.log")
    try:
        second = subprocess.run(
            ["bash", str(ROOT / "scripts" / "runner.sh")],
            env={**os.environ, "OKNO_RUNNER_SOCKET": str(path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        # Then the first serves, and the second refuses to take over the live socket
        assert service.answers()
        assert second.returncode != 0 and "another runner already listens" in second.stderr
        assert service.answers()
    finally:
        stop_runner(service)
    assert not path.exists()  # a stopped runner removes its socket
    shutil.rmtree(directory, ignore_errors=True)


def test_tcp_needs_the_shared_token(tmp_path, settings):
    # Given a runner listening on TCP with a token (docker-compose may use this instead of a socket)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = uuid.uuid4().hex
    log = open(tmp_path / "tcp.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "okno_runner", "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "OKNO_RUNNER_TOKEN": token},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    service = RunnerService(f"tcp://127.0.0.1:{port}", process, tmp_path / "tcp.log")
    try:
        wait_until(lambda: "listening" in service.log() or process.poll() is not None, message="the runner to listen")
        assert process.poll() is None, service.log()
        settings.OKNO_RUNNER_SOCKET = service.socket
        # When a client sends a wrong token, then the right one
        settings.OKNO_RUNNER_TOKEN = "wrong"
        ctx, lines = make_ctx(tmp_path)
        refused = run_process(["echo", "hi"], ctx)
        settings.OKNO_RUNNER_TOKEN = token
        ctx, accepted_lines = make_ctx(tmp_path)
        accepted = run_process(["echo", "hi"], ctx)
        # Then only the right token runs the job
        assert refused.status == "failed" and "wrong or missing token" in refused.summary
        assert (accepted.status, accepted_lines) == ("succeeded", ["hi"])
    finally:
        process.terminate()
        process.wait(10)
