"""How fast a tick reaches the people watching a plan: 50 SSE clients, 40 step ticks.

    make bench-live
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/live.py

Starts uvicorn (config.asgi, 2 worker processes) on a free port, on PostgreSQL (database
"okno_bench_live", dropped and recreated) and Redis, opens 50 EventSource-like clients (raw HTTP on
asyncio) on one plan's /plans/<id>/events/, and ticks 40 times through execution.transitions in this
process (start / finish of 20 steps, one PlanEvent each, 0.25 s apart).
Delay = the moment a client has read the event − the moment just before the tick's COMMIT.
Rows:
- subject: Redis (production): commit → PUBLISH → each process's Hub looks at the table once → its streams;
- polling (no Redis; uvicorn restarted without REDIS_URL): each process's Hub looks every 0.25 s;
- floor: a bare Redis PUBLISH → 50 asyncio subscribers in this process (no Django, no HTTP).
Prints a Markdown table, writes bench/results/live.json. Exit status 1 if a client missed an event
or a p95 exceeds 1 s.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "live.json"
sys.path.insert(0, str(ROOT))
from bench.common import free_port, fresh_database, stats, stop, wait_for_port  # noqa: E402

DB_NAME = "okno_bench_live"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=40, help="ticks (PlanEvents); start+finish per step")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between ticks")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    return parser.parse_args()


def start_server(port, workers, redis_url, log):
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        # All the bench's watchers are one user: lift the per-user stream limit (docs/realtime.md, Limits).
        "OKNO_LIVE_MAX_STREAMS_PER_USER": "100000",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return wait_for_port(process, port, log.name, seconds=30)


class Watcher:
    """One browser tab: GET the stream (HTTP/1.0: no chunking, the body ends with the connection)."""

    def __init__(self, port, path, cookie):
        self.port, self.path, self.cookie = port, path, cookie
        self.received = {}  # event id -> time.time() when read
        self.ready = asyncio.Event()
        self.error = None

    async def run(self):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write(
                (
                    f"GET {self.path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                    f"Cookie: sessionid={self.cookie}\r\n\r\n"
                ).encode()
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(status.decode(errors="replace").strip())
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line.startswith(b"retry:"):
                    self.ready.set()
                elif line.startswith(b"id: "):
                    self.received[int(line[4:])] = time.time()
        except asyncio.CancelledError:
            writer.close()
            raise
        except Exception as exc:  # noqa: BLE001
            self.error = exc
            self.ready.set()


def tick_all(plan_id, actor_id, ticks, interval, committing):
    """In a thread: start/finish steps through the service layer; note the time just before each COMMIT."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from changeplans.models import PlanEvent, Step
    from execution.transitions import finish_step, lock_step, start_step

    actor = get_user_model().objects.get(pk=actor_id)
    steps = list(Step.objects.filter(plan_id=plan_id).order_by("position").values_list("pk", flat=True))
    try:
        for i in range(ticks):
            with transaction.atomic():
                step = lock_step(steps[i // 2])
                (start_step if i % 2 == 0 else finish_step)(step, actor=actor)
                event_id = (
                    PlanEvent.objects.filter(plan_id=plan_id).order_by("-id").values_list("id", flat=True).first()
                )
                committing[event_id] = time.time()
            time.sleep(interval)
    finally:
        connection.close()


async def run_watchers(port, plan_id, cookie, options, last_id):
    path = f"/plans/{plan_id}/events/?after={last_id}"
    watchers = [Watcher(port, path, cookie) for _ in range(options.clients)]
    tasks = [asyncio.create_task(w.run()) for w in watchers]
    await asyncio.wait_for(asyncio.gather(*(w.ready.wait() for w in watchers)), 30)
    errors = [w.error for w in watchers if w.error]
    if errors:
        raise SystemExit(f"{len(errors)} clients failed: {errors[0]}")
    committing = {}
    await asyncio.to_thread(tick_all, plan_id, options.user_id, options.ticks, options.interval, committing)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(set(committing) <= set(w.received) for w in watchers):
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays = [w.received[eid] - at for w in watchers for eid, at in committing.items() if eid in w.received]
    missed = sum(1 for w in watchers for eid in committing if eid not in w.received)
    return delays, missed, max(committing)


async def redis_floor(redis_url, clients, n, interval):
    """PUBLISH → `clients` subscribers, the bare transport: the same number of messages as ticks."""
    import redis.asyncio

    publisher = redis.asyncio.Redis.from_url(redis_url)
    subscribers, received = [], [{} for _ in range(clients)]
    for _ in range(clients):
        client = redis.asyncio.Redis.from_url(redis_url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe("okno:bench:floor")
        subscribers.append((client, pubsub))

    async def listen(pubsub, box):
        async for message in pubsub.listen():
            if message["type"] == "message":
                box[int(message["data"])] = time.time()

    tasks = [asyncio.create_task(listen(p, box)) for (_c, p), box in zip(subscribers, received, strict=True)]
    sent = {}
    for i in range(n):
        sent[i] = time.time()
        await publisher.publish("okno:bench:floor", str(i))
        await asyncio.sleep(interval)
    await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client, pubsub in subscribers:
        await pubsub.aclose()
        await client.aclose()
    await publisher.aclose()
    return [box[i] - at for box in received for i, at in sent.items() if i in box]


def main():
    options = parse_args()
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"
    url = fresh_database(DB_NAME, "bench/live.py")
    os.environ.update({"DATABASE_URL": url, "REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "config.settings.test"})
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from changeplans.models import PlanEvent
    from tests.factories import PlanFactory, StepFactory, UserFactory

    call_command("migrate", verbosity=0)
    user = UserFactory(username="bench_operator", roles=["operator"])
    options.user_id = user.pk
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    tmp = Path(tempfile.mkdtemp(prefix="okno-bench-live-"))
    result = {
        "clients": options.clients,
        "ticks": options.ticks,
        "interval_seconds": options.interval,
        "workers": options.workers,
        "runs": {},
    }
    for mode, server_redis in (("redis", redis_url), ("polling", "")):
        plan = PlanFactory(title=f"bench live {mode}")
        for position in range(1, options.ticks // 2 + 2):
            StepFactory(plan=plan, position=position)
        last = PlanEvent.objects.filter(plan=plan).order_by("-id").values_list("id", flat=True).first() or 0
        # This process publishes only when the server listens to Redis.
        settings.REDIS_URL = server_redis
        log = open(tmp / f"uvicorn-{mode}.log", "ab")
        port = free_port()
        server = start_server(port, options.workers, server_redis, log)
        try:
            delays, missed, _last = asyncio.run(run_watchers(port, plan.pk, cookie, options, last))
        finally:
            stop(server)
        result["runs"][mode] = {**stats(delays, 0.95), "missed": missed, "samples": delays}
    floor = asyncio.run(redis_floor(redis_url, options.clients, options.ticks, options.interval))
    result["floor"] = {**stats(floor, 0.95), "samples": floor}

    r, p, f = result["runs"]["redis"], result["runs"]["polling"], result["floor"]
    ms = lambda v: f"{v * 1000:.0f} ms" if v >= 0.01 else f"{v * 1000:.1f} ms"  # noqa: E731
    print(
        f"\n| {options.clients} clients × {options.ticks} ticks, uvicorn × {options.workers} "
        "| p50 | p95 | max | missed |"
    )
    print("| --- | --- | --- | --- | --- |")
    print(
        "| Okno with Redis: commit → PUBLISH → one look at the history per process → 50 streams "
        f"| {ms(r['p50'])} | {ms(r['p95'])} | {ms(r['max'])} | {r['missed']} |"
    )
    print(
        "| Okno without Redis: one poll of the history per process every 0.25 s "
        f"| {ms(p['p50'])} | {ms(p['p95'])} | {ms(p['max'])} | {p['missed']} |"
    )
    print(
        f"| floor: bare Redis PUBLISH → {options.clients} subscribers "
        f"| {ms(f['p50'])} | {ms(f['p95'])} | {ms(f['max'])} | — |"
    )
    print(
        f"| ratio Redis / floor | {r['p50'] / max(f['p50'], 1e-6):.1f}× | {r['p95'] / max(f['p95'], 1e-6):.1f}× "
        f"| {r['max'] / max(f['max'], 1e-6):.1f}× | |"
    )
    ok = r["missed"] == 0 and p["missed"] == 0 and r["p95"] <= 1 and p["p95"] <= 1
    print(
        f"\nevery client got every event: {r['missed'] == 0 and p['missed'] == 0}; "
        f"goal p95 ≤ 1 s: {'met' if ok else 'MISSED'}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
