"""Helpers shared by the benchmarks that start real processes (bench/scheduler.py, bench/live.py)."""

import os
import statistics
import sys


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
    with psycopg.connect(host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name
