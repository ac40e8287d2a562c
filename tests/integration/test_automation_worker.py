"""Automation through a real Celery worker: real processes, output streamed line by line, timeout and
cancel ending the whole process tree, and injection attempts through parameters staying inert."""

import json
import os
import uuid
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.utils import translation

from changeplans.choices import StepStatus
from changeplans.models import Step
from runbooks import runs
from runbooks.choices import RunStatus
from runbooks.models import AutomationRun
from tests.runbooks import runner_service
from tests.runbooks.automation_fixtures import automate
from tests.waiting import wait_until

from .conftest import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
runner_writable_dir = runner_service.runner_writable_dir  # the fixture: a folder the runner's jobs may write to


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def processes_with(marker):
    """Command lines of live processes that mention `marker` (read from /proc: no tools needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state != "Z" and str(os.getpid()) != entry.name:
            found.append(cmdline)
    return found


# A parent that starts a child (which would outlive a naive kill of the parent) and waits.
PARENT = (
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', sys.argv[1]])\n"
    "print('child started', flush=True)\n"
    "time.sleep(300)\n"
)


def request(step_id, actor):
    with override_settings(OKNO_USE_WORKER=True):
        return runs.request_run(step_id, actor=actor)


def ended(run_id, timeout=60):
    def done():
        run = AutomationRun.objects.get(pk=run_id)
        return run if run.ended else None

    return wait_for(done, timeout, message=f"run {run_id} to end")


def test_a_command_runs_on_the_worker_and_its_lines_stream_as_they_come(
    celery, running_plan, operator, runner_writable_dir
):
    """The program prints "one", then waits until the test has read it from the run's stream (the test creates
    a file when the line arrives) before printing "two". Output held back until the program ends would never
    let it finish: the run would time out instead of succeeding."""
    celery.worker(concurrency=2)
    step = Step.objects.get(plan=running_plan, position=1)
    go = runner_writable_dir / "one-arrived"
    script = (
        "import os, sys, time\n"
        "print('one', flush=True)\n"
        "while not os.path.exists(sys.argv[2]): time.sleep(0.01)\n"
        "print('two', flush=True)"
    )
    automate(step, ["python3", "-c", script, "{{ node }}", str(go)], params={"node": "worker-1"})
    client = Client()
    client.force_login(operator)
    run = request(step.pk, operator)
    response = client.get(f"/automation/runs/{run.pk}/stream/")
    assert response["Content-Type"].startswith("text/event-stream")
    arrived, end = [], None
    for chunk in response.streaming_content:
        for block in chunk.decode().split("\n\n"):
            if "event: line" in block:
                arrived.append(json.loads(block.split("data: ", 1)[1])["text"])
                if arrived[-1] == "one":
                    go.touch()  # 'one' reached the reader while the process was still running
            elif "event: end" in block:
                end = json.loads(block.split("data: ", 1)[1])
        if end:
            break
    assert end["status"] == RunStatus.SUCCEEDED, (end, arrived)
    assert arrived == ["one", "two"]
    step.refresh_from_db()
    assert step.status == StepStatus.DONE and step.done_by == operator


def test_cancel_ends_the_whole_process_tree(celery, running_plan, operator):
    celery.worker(concurrency=2)
    marker = f"okno-cancel-{uuid.uuid4().hex}"
    step = Step.objects.get(plan=running_plan, position=1)
    # The command starts a child that would outlive a naive kill of the parent.
    automate(step, ["python3", "-c", PARENT, marker], timeout=600)
    run = request(step.pk, operator)
    wait_for(
        lambda: AutomationRun.objects.get(pk=run.pk).lines.filter(text__startswith="child started").exists(),
        30,
        message="the child to start",
    )
    assert processes_with(marker), "the child process should be running"
    runs.cancel_run(run.pk, actor=operator)
    # (30 s bounds a failure: the program itself would run for 300 s, the run's timeout is 600 s)
    run = ended(run.pk, 30)
    # Then it ended as cancelled by SIGTERM (-15: the program did not have to be killed after the grace, -9),
    # and nothing of its tree is left
    assert run.status == RunStatus.CANCELLED and run.summary.startswith("Отменил:")
    assert run.exit_code == -15, (run.exit_code, run.summary)
    wait_until(lambda: not processes_with(marker), message="no process of the run left")
    step.refresh_from_db()
    assert step.status == StepStatus.PENDING  # a deliberate cancel is not a failure


def test_timeout_ends_the_whole_process_tree(celery, running_plan, operator):
    celery.worker(concurrency=2)
    marker = f"okno-timeout-{uuid.uuid4().hex}"
    step = Step.objects.get(plan=running_plan, position=2)
    automate(step, ["python3", "-c", PARENT, marker], timeout=2)
    run = request(step.pk, operator)
    run = ended(run.pk, 30)
    # Then the run's timeout ended it with SIGTERM (-15), not the program's own end after 300 s, nor the
    # worker's backstop (no exit code), nor SIGKILL after the grace (-9); nothing of its tree is left
    assert run.status == RunStatus.TIMED_OUT
    assert run.exit_code == -15, (run.exit_code, run.summary)
    wait_until(lambda: not processes_with(marker), message="no process of the run left")


def test_injection_attempts_through_parameters_stay_inert(celery, running_plan, operator, tmp_path):
    celery.worker(concurrency=2)
    canary = tmp_path / "canary"
    canary.write_text("still here")
    marker = tmp_path / "pwned"
    payloads = [f"; rm -rf {canary}", f"$(touch {marker})", f"`touch {marker}`", f"| touch {marker}"]
    steps = list(Step.objects.filter(plan=running_plan).order_by("position"))
    automate(steps[0], ["printf", "%s\\n", "{{ value }}"], params={"value": payloads})
    automate(steps[1], ["ls", "{{ node }}"], params={"node": "--server=http://127.0.0.1:1"})
    first = ended(request(steps[0].pk, operator).pk)
    assert first.status == RunStatus.SUCCEEDED and first.log.splitlines() == payloads
    second = ended(request(steps[1].pk, operator).pk)
    assert second.status == RunStatus.REFUSED and "было бы прочитано как опция" in second.summary
    assert canary.read_text() == "still here" and not marker.exists()
