"""Helpers shared by the benchmarks that start real processes (bench/scheduler.py, bench/live.py)."""

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def stats(samples, *fractions):
    """{"n", "p50", "p<NN>" for each fraction, "max"}."""
    result = {"n": len(samples), "p50": statistics.median(samples), "max": max(samples)}
    for fraction in fractions:
        result[f"p{round(fraction * 100)}"] = percentile(samples, fraction)
    return result


def fresh_database(name, script):
    """Drop and create PostgreSQL database `name` on the server of DATABASE_URL; return its URL."""
    import dj_database_url
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit(f"{script} needs PostgreSQL: set DATABASE_URL=postgres://…")
    config = dj_database_url.parse(url)
    with psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def start_celery(args, env, log_path):
    """`celery -A config <args>` in its own process group, output to log_path."""
    log = open(log_path, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_worker(log_path, seconds=60):
    deadline = time.monotonic() + seconds
    while "ready." not in Path(log_path).read_text(errors="replace"):
        if time.monotonic() > deadline:
            sys.exit("the worker did not start:\n" + Path(log_path).read_text(errors="replace")[-3000:])
        time.sleep(0.1)


def stop(process):
    """SIGTERM to the process group, SIGKILL after 20 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def setup_with_worker(db_name, script, default_redis_url):
    """A fresh migrated database `db_name`, Django set up on it, Redis (REDIS_URL or the default) flushed and
    used as the broker with OKNO_USE_WORKER on. Returns the Redis URL."""
    redis_url = os.environ.get("REDIS_URL") or default_redis_url
    url = fresh_database(db_name, script)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "OKNO_USE_WORKER": "1",
        }
    )
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(process, port, log_name, seconds=30):
    """Wait until a server started as `process` accepts connections on `port`; exit with its log's name if not."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                stop(process)
                sys.exit(f"the server did not start; see {log_name}")
            time.sleep(0.1)
