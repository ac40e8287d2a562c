"""How late scheduled actions fire: 200 actions due over one minute through the durable scheduler.

    make bench-scheduler
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/scheduler.py

Starts a real Celery worker (prefork, 2 processes) and beat on PostgreSQL (database "okno_bench_sched",
dropped and recreated) and Redis, then schedules, interleaved over the same minute:
- subject: 200 `notifications.email` actions as Okno schedules them (a row; beat's dispatch every
  second; an ETA of at most the look-ahead; `execute` in the worker);
- floor: 200 identical rows handed straight to Celery with an ETA of their due time when created
  (the naive way, which the design forbids for hours-ahead work: it is only the precision floor).
Lateness = fired_at − due_at from the rows. Prints a Markdown table, writes bench/results/scheduler.json.
Exit status 1 if an action did not fire exactly once or the subject's p99 exceeds 1 s.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "scheduler.json"
sys.path.insert(0, str(ROOT))
from bench.common import setup_with_worker, start_celery, stats, stop, wait_for_worker  # noqa: E402

DB_NAME = "okno_bench_sched"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=200, help="actions of each kind (default 200)")
    parser.add_argument("--over", type=float, default=60.0, help="seconds the due times spread over (default 60)")
    return parser.parse_args()


def main():
    options = parse_args()
    setup_with_worker(DB_NAME, "bench/scheduler.py", "redis://127.0.0.1:6379/14")
    from django.utils import timezone

    from notifications.actions import schedule_email
    from notifications.choices import ScheduleState
    from notifications.models import ScheduledAction
    from notifications.tasks import execute

    tmp = Path(tempfile.mkdtemp(prefix="okno-bench-"))
    env = {
        **os.environ,
        "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp / "beat"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    worker = start_celery(
        ["worker", "-P", "prefork", "-c", "2", "-l", "INFO", "--without-gossip", "--without-mingle"],
        env,
        tmp / "celery.log",
    )
    beat = start_celery(["beat", "-l", "INFO", "-s", str(tmp / "beat")], env, tmp / "celery.log")
    try:
        wait_for_worker(tmp / "celery.log")
        first = timezone.now() + timedelta(seconds=5)
        n = options.actions
        for i in range(n):
            due = first + timedelta(seconds=options.over * i / max(n - 1, 1))
            schedule_email(f"bench:{i}", due, to=f"s{i}@example.org", subject="bench", text="x")
            row = schedule_email(f"floor:{i}", due, to=f"f{i}@example.org", subject="bench", text="x")
            ScheduledAction.objects.filter(pk=row.pk).update(state=ScheduleState.QUEUED, claimed_at=due)
            execute.apply_async((row.pk,), eta=due)
        total = 2 * n
        deadline = time.monotonic() + options.over + 60
        while ScheduledAction.objects.filter(state=ScheduleState.DONE).count() < total:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(2)
    finally:
        stop(beat)
        stop(worker)
    rows = list(ScheduledAction.objects.values_list("key", "state", "attempts", "due_at", "fired_at"))
    subject = [
        (fired - due).total_seconds() for key, state, _a, due, fired in rows if key.startswith("email:bench:") and fired
    ]
    floor = [
        (fired - due).total_seconds() for key, state, _a, due, fired in rows if key.startswith("email:floor:") and fired
    ]
    once = all(state == ScheduleState.DONE and attempts == 1 for _k, state, attempts, _d, _f in rows)
    result = {
        "subject": stats(subject, 0.99),
        "floor": stats(floor, 0.99),
        "actions": n,
        "over_seconds": options.over,
        "exactly_once": once and len(rows) == 2 * n,
        "samples": {"subject": subject, "floor": floor},
    }
    s, f = result["subject"], result["floor"]
    print(f"\n| {n} actions due over {options.over:.0f} s | p50 | p99 | max |\n| --- | --- | --- | --- |")
    print(
        "| Okno scheduler (row → beat dispatch → ETA ≤ look-ahead → worker) "
        f"| {s['p50'] * 1000:.0f} ms | {s['p99'] * 1000:.0f} ms | {s['max'] * 1000:.0f} ms |"
    )
    print(
        "| floor: Celery ETA set when created "
        f"| {f['p50'] * 1000:.0f} ms | {f['p99'] * 1000:.0f} ms | {f['max'] * 1000:.0f} ms |"
    )
    print(
        f"| ratio | {s['p50'] / max(f['p50'], 1e-6):.1f}× | {s['p99'] / max(f['p99'], 1e-6):.1f}× "
        f"| {s['max'] / max(f['max'], 1e-6):.1f}× |"
    )
    print(f"\nexactly once: {result['exactly_once']}; goal p99 ≤ 1 s: {'met' if s['p99'] <= 1 else 'MISSED'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    return 0 if result["exactly_once"] and s["p99"] <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
