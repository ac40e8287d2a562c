"""How fast a step's automation output reaches the board: a command printing 50 lines, 20 ms apart.

    make bench-automation
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/automation.py

Starts a real Celery worker on the `automation` queue (threads, as `make run` and docker-compose do) on
PostgreSQL (database "okno_bench_auto", dropped and recreated) and Redis. Interleaved, `--runs` times:
- subject: the operator's ▶ (`runs.request_run`) → queue → worker → runner → process, each line
  stored as a RunLine and read back through the board's stream (`runbooks.stream`, the generator the
  SSE endpoint returns under runserver; it looks at the table every 0.25 s);
- floor: the same command started by `subprocess.Popen` in this process, its stdout read directly.
Each line carries the wall-clock time it was printed. Line latency = seen − printed; start = ▶ (or
Popen) → first line seen; end = ▶ → the stream's `end` event (floor: → the process's exit).
Prints a Markdown table, writes bench/results/automation.json. Exit status 1 if a run lost a line or
did not succeed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "automation.json"
sys.path.insert(0, str(ROOT))
from bench.common import setup_with_worker, start_celery, stats, stop, wait_for_worker  # noqa: E402

DB_NAME = "okno_bench_auto"
LINES, GAP = 50, 0.02
SCRIPT = (
    f"import time\nfor i in range({LINES}):\n"
    "    print(f'line {i} t={time.time():.6f}', flush=True)\n"
    f"    time.sleep({GAP})\n"
)
COMMAND = ["python3", "-c", SCRIPT]  # python3 of the PATH: the runner's user may not reach this interpreter


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs of each kind (default 10)")
    return parser.parse_args()


def printed_at(text):
    return float(text.rsplit("t=", 1)[1])


def floor_run():
    asked = time.time()
    process = subprocess.Popen(COMMAND, stdout=subprocess.PIPE, text=True, start_new_session=True)
    latencies, first = [], None
    for line in process.stdout:
        seen = time.time()
        first = first or seen
        latencies.append(seen - printed_at(line.strip()))
    process.wait()
    return {
        "lines": len(latencies),
        "latencies": latencies,
        "start": first - asked,
        "end": time.time() - asked,
        "ok": process.returncode == 0,
    }


def subject_run(step, operator):
    from runbooks import runs, stream
    from runbooks.choices import RunStatus

    asked = time.time()
    run = runs.request_run(step.pk, actor=operator)
    latencies, first, end = [], None, None
    for chunk in stream._sync_stream(run.pk, 0):
        seen = time.time()
        for event in chunk.strip().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in event.split("\n") if ": " in line)
            if fields.get("event") == "line":
                first = first or seen
                latencies.append(seen - printed_at(json.loads(fields["data"])["text"]))
            elif fields.get("event") == "end":
                end = json.loads(fields["data"])
    return {
        "lines": len(latencies),
        "latencies": latencies,
        "start": (first or asked) - asked,
        "end": time.time() - asked,
        "ok": bool(end) and end["status"] == RunStatus.SUCCEEDED,
    }


def make_steps(count):
    """The automation demo's approved plan, started, with `count` more steps running the command."""
    from django.contrib.auth import get_user_model

    from changeplans.choices import StepKind
    from changeplans.models import Step
    from demo.runbooks import load_automation_demo
    from execution import transitions
    from runbooks.models import StepAutomation

    plan = load_automation_demo()
    operator = get_user_model().objects.get(username="operator")
    transitions.start_plan(plan.pk, actor=operator)
    template = plan.steps.get(position=1)
    steps = []
    for n in range(count):
        step = Step(
            plan=plan,
            position=100 + n,
            kind=StepKind.WORK,
            name=f"Замер {n + 1}",
            executor=template.executor,
            planned_date=template.planned_date,
            planned_time=template.planned_time,
            no_rollback_needed=True,
        )
        step.set_duration("1 мин.")
        step.save()
        StepAutomation.objects.create(step=step, kind="shell", spec={"argv": COMMAND}, timeout_seconds=120)
        steps.append(step)
    # Four eyes: the measured steps count as signed with the plan (its signers approve their content).
    from approvals.models import ApprovalRow
    from runbooks import four_eyes

    four_eyes.record_sign_off(
        plan, None, list(ApprovalRow.objects.filter(plan=plan).select_related("decided_by")), operator
    )
    return steps, operator


def main():
    options = parse_args()
    setup_with_worker(DB_NAME, "bench/automation.py", "redis://127.0.0.1:6379/12")
    steps, operator = make_steps(options.runs)
    tmp = Path(tempfile.mkdtemp(prefix="okno-bench-"))
    # The real runner service (scripts/runner.sh), as make run and production have it: the subject's path.
    from tests.runbooks.runner_service import start_runner, stop_runner

    runner_dir = tempfile.mkdtemp(prefix="okno-bench-runner-")
    runner = start_runner(os.path.join(runner_dir, "okno-runner.sock"), tmp / "runner.log")
    os.environ["OKNO_RUNNER_SOCKET"] = runner.socket
    from django.conf import settings

    settings.OKNO_RUNNER_SOCKET = runner.socket
    worker = start_celery(
        [
            "worker",
            "-Q",
            "automation",
            "--pool=threads",
            "-c",
            "4",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        dict(os.environ),
        tmp / "celery.log",
    )
    runs = {"subject": [], "floor": []}
    try:
        wait_for_worker(tmp / "celery.log")
        for step in steps:
            runs["floor"].append(floor_run())
            runs["subject"].append(subject_run(step, operator))
    finally:
        stop(worker)
        stop_runner(runner)
    result = {"runs": options.runs, "lines": LINES, "gap_seconds": GAP}
    for kind, samples in runs.items():
        result[kind] = {
            "line": stats([x for run in samples for x in run["latencies"]], 0.95, 0.99),
            "start": stats([run["start"] for run in samples], 0.95),
            "end": stats([run["end"] for run in samples], 0.95),
            "complete": all(run["ok"] and run["lines"] == LINES for run in samples),
        }
    s, f = result["subject"], result["floor"]
    ms = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
    print(
        f"\n| {options.runs} runs × {LINES} lines, {GAP * 1000:.0f} ms apart | p50 | p95 | max |\n"
        "| --- | --- | --- | --- |"
    )
    for label, key, p in (
        ("line printed → seen", "line", "p95"),
        ("▶ → first line seen", "start", "p95"),
        ("▶ → run ended (stream's end)", "end", "p95"),
    ):
        print(
            f"| {label}: Okno (queue, worker, RunLine, board stream) "
            f"| {ms(s[key]['p50'])} | {ms(s[key][p])} | {ms(s[key]['max'])} |"
        )
        print(
            f"| {label}: floor (Popen, stdout read directly) "
            f"| {ms(f[key]['p50'])} | {ms(f[key][p])} | {ms(f[key]['max'])} |"
        )
        if key == "line":  # the floor is a pipe read (~0 ms): a ratio against it says nothing, the difference does
            print(
                f"| Okno − floor | +{ms(s[key]['p50'] - f[key]['p50'])} | +{ms(s[key][p] - f[key][p])} "
                f"| +{ms(s[key]['max'] - f[key]['max'])} |"
            )
        else:
            print(
                f"| ratio | {s[key]['p50'] / max(f[key]['p50'], 1e-6):.1f}× | {s[key][p] / max(f[key][p], 1e-6):.1f}× "
                f"| {s[key]['max'] / max(f[key]['max'], 1e-6):.1f}× |"
            )
    print(f"\nevery run succeeded with all {LINES} lines: Okno {s['complete']}, floor {f['complete']}")
    result["samples"] = runs
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    return 0 if s["complete"] and f["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
