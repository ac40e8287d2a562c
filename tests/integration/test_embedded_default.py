"""The embedded default (`make run`: SQLite, no Redis, a folder as the broker) keeps firing actions.

Issue 11, finding 9: a worker of `make run` died after 2.5 minutes with "Unrecoverable error:
JSONDecodeError('Expecting value: line 1 column 1 (char 0)')" in kombu's filesystem transport, and a
`kill -9` of the `worker --beat` process left its beat running, so a restart ran two beats.

Real processes throughout: kombu publishers and consumers on one folder, and `make run` itself in a
copy of the project. The long version, `scripts/soak.sh`, leaves `make run` alone for 30 minutes.
"""

import http.cookiejar
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from io import StringIO
from pathlib import Path

import pytest

from demo.change_calendar import DEMO_CALENDAR_PLANS
from tests.integration.conftest import ROOT, free_port, wait_for

MESSAGES = 3000

# One process of Okno (it imports config.celery, as the web, beat and workers do) on a broker folder.
BROKER_PROCESS = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, {root!r})
    import config.celery  # noqa: F401  (the broker as every Okno process has it)
    from kombu import Connection

    role, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    options = {{"data_folder_in": folder, "data_folder_out": folder, "control_folder": folder + "/control",
               "polling_interval": 0.001}}
    with Connection("filesystem://", transport_options=options) as connection:
        queue = connection.SimpleQueue("celery")
        if role == "publish":
            for number in range(count):
                queue.put({{"n": number}})
                time.sleep(0.002)  # slow enough that the consumers find the queue empty between messages
            sys.exit(0)
        got, unreadable, stop_at = [], 0, None
        while True:
            try:
                message = queue.get(timeout=0.2)
            except queue.Empty:
                if stop_at is not None and time.monotonic() > stop_at:
                    break
                if stop_at is None and os.path.exists(folder + "/done"):
                    stop_at = time.monotonic() + 2  # the publisher is done: drain what is left, then stop
                continue
            except ValueError:  # the stock transport: a message file taken before it was written
                unreadable += 1
                continue
            got.append(message.payload["n"])
            message.ack()
        print(json.dumps({{"got": got, "unreadable": unreadable}}))
""")


def test_several_processes_share_the_broker_folder_without_losing_or_breaking_a_message(tmp_path):
    # Given a publisher and two consumers of one queue, each a separate process, on one folder,
    # with the queue empty most of the time (as in `make run`, where the worker waits for beat)
    folder = tmp_path / "queue"
    folder.mkdir()
    script = tmp_path / "broker_process.py"
    script.write_text(BROKER_PROCESS.format(root=str(ROOT)))
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    consumers = [
        subprocess.Popen(
            [sys.executable, str(script), "consume", str(folder), "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        # When 3000 messages are published one by one
        publisher = subprocess.run(
            [sys.executable, str(script), "publish", str(folder), str(MESSAGES)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert publisher.returncode == 0, publisher.stderr
        (folder / "done").write_text("yes")
        results = [json.loads(consumer.communicate(timeout=120)[0]) for consumer in consumers]
    finally:
        for consumer in consumers:
            if consumer.poll() is None:
                consumer.kill()
    # Then every message arrived exactly once, whole, and both consumers took part
    got = sorted(n for result in results for n in result["got"])
    print(f"consumers took {[len(r['got']) for r in results]}, unreadable {[r['unreadable'] for r in results]}")
    assert [r["unreadable"] for r in results] == [0, 0], "a consumer read a message file before it was written"
    assert got == list(range(MESSAGES))
    assert all(result["got"] for result in results)


# --- make run ---------------------------------------------------------------------------------------


def _copy_project(into):
    subprocess.run(
        [
            "rsync",
            "-a",
            "--exclude",
            "/.venv",
            "--exclude",
            "/var",
            "--exclude",
            "/.git",
            "--exclude",
            "__pycache__",
            "--exclude",
            "/bench/results",
            f"{ROOT}/",
            f"{into}/",
        ],
        check=True,
    )


def _processes_of(copy):
    """{pid: command line} of the processes working in the copy (beat, workers, web, runner)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            environ = (entry / "environ").read_bytes().split(b"\0")
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if (cwd == str(copy) or f"PYTHONPATH={copy}".encode() in environ) and not args.startswith(
            ("/bin/sh", "sh ", "make")
        ):
            found[int(entry.name)] = args
    return found


def _beats(copy):
    # `celery beat` (this layout) and `celery worker --beat` with its forked beat (the old one) alike
    return sorted(pid for pid, args in _processes_of(copy).items() if "beat" in args.split())


def _pid(path):
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


class MakeRun:
    """`make run` in a copy of the project, in a session of its own (its process group)."""

    def __init__(self, copy, run_dir):
        self.copy, self.port = copy, free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in {
                "DATABASE_URL",
                "REDIS_URL",
                "CELERY_BROKER_URL",
                "DJANGO_SETTINGS_MODULE",
                "CI",
                "OKNO_USE_WORKER",
                "EMAIL_BACKEND",
                "OKNO_RUNNER_SOCKET",
                "OKNO_BASE_URL",
            }
        }
        env["OKNO_RUNNER_RUN_DIR"] = str(run_dir)
        self.log = open(copy / f"run-{self.port}.log", "w")
        self.process = subprocess.Popen(
            ["make", "-o", "install", "run", f"VENV={ROOT / '.venv'}", f"PORT={self.port}"],
            cwd=copy,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self):
        def ready():
            assert self.process.poll() is None, f"make run ended: {(self.copy / self.log.name).read_text()[-3000:]}"
            pids = [
                _pid(self.copy / "var" / name)
                for name in ("celerybeat.pid", "celery-worker.pid", "celery-automation.pid")
            ]
            if not all(pids):
                return None
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as response:
                    return pids if response.status == 200 else None
            except OSError:
                return None

        return wait_for(ready, timeout=240, interval=0.5, message="make run to come up")

    def recipe_shell(self):
        """The shell of the `run` recipe: the parent of beat, the workers and the web server."""
        beat = _pid(self.copy / "var" / "celerybeat.pid")
        return int(Path(f"/proc/{beat}/stat").read_text().split(") ")[1].split()[1])

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture
def project_copy():
    copy = Path(tempfile.mkdtemp(prefix="okno-embedded-"))
    run_dir = Path(tempfile.gettempdir()) / f"okno-embedded-run-{uuid.uuid4().hex[:8]}"  # the runner's socket folder
    _copy_project(copy)
    runs = []
    yield copy, run_dir, runs
    for run in runs:
        run.stop()
    # nothing of the copy may outlive the test; end what is left (by pid) so it cannot disturb others
    for pid in _processes_of(copy):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(copy, ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)


def test_a_killed_worker_leaves_one_beat_and_a_killed_make_run_leaves_nothing(project_copy):
    copy, run_dir, runs = project_copy
    # Given `make run`, up
    runs.append(first := MakeRun(copy, run_dir))
    beat, worker, automation = first.wait_ready()
    assert _beats(copy) == [beat]

    # When its worker is killed with SIGKILL
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: not _alive(worker), timeout=30, message="the worker to die")
    # Then the one beat is still the one `make run` started, and it still has a worker to feed
    assert _beats(copy) == [beat]
    assert _alive(automation)

    # When the shell of `make run` itself is killed with SIGKILL (a crashed terminal, an OOM kill)
    shell = first.recipe_shell()
    os.kill(shell, signal.SIGKILL)
    # Then beat, the workers, the web server and the runner go with it: no orphan, above all no beat
    wait_for(lambda: not _processes_of(copy), timeout=60, message=f"no process left: {_processes_of(copy)}")

    # When `make run` starts again
    first.stop()
    runs.append(second := MakeRun(copy, run_dir))
    new_beat, _, _ = second.wait_ready()
    # Then exactly one beat runs: the new one
    assert new_beat != beat
    assert _beats(copy) == [new_beat]


def test_a_second_beat_refuses_to_start_while_one_lives(project_copy):
    copy, run_dir, runs = project_copy
    runs.append(run := MakeRun(copy, run_dir))
    beat, _, _ = run.wait_ready()
    # When someone starts another beat in the same project (a second terminal, a leftover script)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CI"}
    }
    second = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "celery",
            "-A",
            "config",
            "beat",
            "--schedule=var/celerybeat-schedule",
            "--pidfile=var/celerybeat.pid",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it refuses, and the first one is the only beat
    assert second.returncode != 0
    assert "already exists" in second.stderr + second.stdout
    assert _beats(copy) == [beat]


def _signed_in_get(base, path, username, password="okno"):
    """GET `path` as `username` (the demo's password), through the login form with its CSRF token."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = opener.open(f"{base}/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    request = urllib.request.Request(f"{base}/login/", data=data.encode(), headers={"Referer": f"{base}/login/"})
    opener.open(request, timeout=30).read()
    with opener.open(f"{base}{path}", timeout=60) as response:
        assert response.status == 200
        return response.read().decode()


def _make(copy, *args):
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        ["make", *args, f"VENV={ROOT / '.venv'}"], cwd=copy, env=env, capture_output=True, text=True, timeout=120
    )


def test_make_run_prints_the_logins_last_with_its_own_address_and_demo_reset_starts_over(project_copy):
    """Issue 15, items 2 and 12: the summary comes after every start-up line, its addresses (and the workers'
    e-mail links) carry the port `make run` was given, and `make demo-reset` gives the first state back."""
    copy, run_dir, runs = project_copy
    runs.append(run := MakeRun(copy, run_dir))
    base = f"http://127.0.0.1:{run.port}"
    log = copy / run.log.name

    # When `make run PORT=…` is up, its summary printed
    def summary_printed():
        assert run.process.poll() is None, f"make run ended: {log.read_text()[-3000:]}"
        text = log.read_text()
        return text if f"Okno: {base}/" in text else None

    text = wait_for(summary_printed, timeout=300, interval=0.5, message="the summary of make run")
    # Then the logins and full addresses come after the web server's and the workers' start-up lines
    summary_at = text.index("khasanov")
    assert summary_at > text.index("Starting development server")
    assert summary_at > text.rfind("celery"), text
    summary = text[summary_at:]
    for path in ("/plans/1/", "/runbooks/", "/plans/3/board/", "/plans/2/announcements/"):
        assert f"{base}{path}" in summary
    # and the start-up noise is gone: no banners, no per-process lines of axes or kombu
    for noise in ("-------------- [queues]", "celery beat v", "AXES: BEGIN", "No hostname was supplied"):
        assert noise not in text, noise
    # and the workers, which send the e-mails, write links to this port
    worker = _pid(copy / "var" / "celery-worker.pid")
    environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    assert f"OKNO_BASE_URL={base}".encode() in environ
    # and a signed-in person's plan page works on SQLite: the duty officer sees the matrix waiting for them
    page = _signed_in_get(base, "/plans/1/", "duty")
    assert "Calico" in page and "Ждут вашего решения" in page

    # When the demo is changed and `make demo-reset` is asked for while it runs, it refuses
    database = copy / "var" / "okno.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("UPDATE changeplans_plan SET title = 'changed' WHERE id = 1")
    refused = _make(copy, "demo-reset")
    assert refused.returncode != 0 and "Ctrl+C" in refused.stderr
    # When make run is stopped and the demo reset
    run.stop()
    wait_for(lambda: not _processes_of(copy), timeout=60, message="make run to end")
    reset = _make(copy, "demo-reset")
    assert reset.returncode == 0, reset.stderr
    assert not database.exists()
    # Then the next make run loads the demo in its first state
    runs.append(again := MakeRun(copy, run_dir))
    again.wait_ready()
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT title FROM changeplans_plan WHERE id = 1").fetchone()[0] != "changed"
        # the seed, the announcements and automation demos, and the calendar's three (demo/change_calendar.py)
        assert db.execute("SELECT count(*) FROM changeplans_plan").fetchone()[0] == 3 + len(DEMO_CALENDAR_PLANS)


# --- the soak's plan and its check (scripts/soak.sh) ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_soak_plan_schedules_one_email_a_minute_and_its_check_counts_them(settings):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from notifications import outbox, scheduler

    settings.EMAIL_BACKEND = "notifications.mailbox.MailboxBackend"
    settings.OKNO_USE_WORKER = False

    def report():
        out = StringIO()
        call_command("soak_plan", "--check", "--tag", "t1", stdout=out)
        return json.loads(out.getvalue())

    # Given a soak plan of three minutes
    out = StringIO()
    call_command("soak_plan", "--minutes", "3", "--tag", "t1", stdout=out)
    plan = json.loads(out.getvalue())
    assert report()["rows"] == 3 and report()["done"] == 0 and report()["missing_mails"]
    # When all three are due and run (here in-process; in the soak by beat and the worker), twice
    after = datetime.fromisoformat(plan["last_due"]) + timedelta(seconds=1)
    for _ in range(2):
        scheduler.run_due(now=after)
        outbox.deliver_due(now=timezone.now() + timedelta(hours=1))
    # Then the check sees three done rows and three e-mails, each once
    result = report()
    assert (result["done"], result["mails"], result["missing_mails"], result["duplicate_mails"]) == (3, 3, [], [])
