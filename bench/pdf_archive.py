"""Benchmarks of the stored archive PDF (issue 16, docs/pdf.md), for the scale harness and for a quick look.

- `measure_stored_pdf(client, plan_id)`: the stored PDF through `/plans/<id>/pdf/` against `/bench/floor-file/`, a
  bare FileResponse of the same bytes (bench/urls.py), ABBA order; also the view's query count and that nothing
  was rendered while measuring.
- `measure_pages_during_renders(client, page_url, plan_ids, viewer)`: a plain page's p95 alone, then while four
  renders run in a real worker (the caller starts it, OKNO_USE_WORKER on).

    DATABASE_URL=postgres://… .venv/bin/python bench/pdf_archive.py --steps 100   # a quick look, about 3 min

(it recreates the database okno_bench_pdf and leaves it for a look: `dropdb okno_bench_pdf` afterwards)

Django must be set up on bench.settings (ROOT_URLCONF bench.urls) before calling the functions.
"""

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import stats

DB_NAME = "okno_bench_pdf"


def _get(client, url):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def _wait_ready(plan_id, key=None, seconds=600):
    from changeplans.models import PlanPdf

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = PlanPdf.objects.defer("data").filter(plan_id=plan_id, status__in=["ready", "failed"])
        row = rows.filter(key=key).first() if key else rows.order_by("-finished_at").first()
        if row is not None:
            if row.status == "failed":
                raise RuntimeError(f"the PDF failed: {row.error}")
            return row
        time.sleep(0.2)
    raise RuntimeError("the PDF was not made in time")


def measure_stored_pdf(client, plan_id, *, runs=20, warmup=3):
    """Milliseconds (wall and CPU) of downloading the stored PDF vs the bare-file floor; `client` is logged in."""
    from django.db import connection

    from bench import urls
    from changeplans.models import PlanPdf

    url = f"/plans/{plan_id}/pdf/"
    response, body = _get(client, url)
    deadline = time.monotonic() + 600
    # Made by the worker: ask again until it is served (a copy left queued by an earlier run is revived by asking).
    while response.get("Content-Type") != "application/pdf" and time.monotonic() < deadline:
        _wait_ready(plan_id)
        time.sleep(0.2)
        response, body = _get(client, url)
    if not body.startswith(b"%PDF"):
        raise RuntimeError("the stored copy is not a PDF")
    urls.FLOOR_FILE["pdf"] = body
    copies = PlanPdf.objects.filter(plan_id=plan_id).count()
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        _get(client, url)

    def subject():
        _get(client, url)

    def floor():
        _get(client, "/bench/floor-file/")

    for _ in range(warmup):
        subject()
        floor()
    gc.collect()
    samples = {"subject": ([], []), "floor": ([], [])}
    for index in range(runs):
        for name in ("subject", "floor") if index % 2 == 0 else ("floor", "subject"):
            wall, cpu = time.perf_counter(), time.process_time()
            (subject if name == "subject" else floor)()
            samples[name][0].append((time.perf_counter() - wall) * 1000)
            samples[name][1].append((time.process_time() - cpu) * 1000)
    result = {name: {"wall_ms": stats(w, 0.95), "cpu_ms": stats(c, 0.95)} for name, (w, c) in samples.items()}
    result.update(
        bytes=len(body),
        queries=len(queries),
        ratio_p50=result["subject"]["wall_ms"]["p50"] / result["floor"]["wall_ms"]["p50"],
        rendered_while_measuring=PlanPdf.objects.filter(plan_id=plan_id).count() - copies,
    )
    return result


def _page_ms(client, page_url):
    started = time.perf_counter()
    response = client.get(page_url)
    if response.status_code != 200:
        raise RuntimeError(f"{page_url} answered {response.status_code}")
    return (time.perf_counter() - started) * 1000


def measure_pages_during_renders(client, page_url, plan_ids, viewer, *, renders=4, quiet_samples=30, max_seconds=600):
    """p95 of `page_url` alone, then while `renders` PDFs (new versions of `plan_ids`, languages and history
    variants so that each is a render of its own) are made in the worker. Needs a running worker."""
    from django.conf import settings

    from changeplans import pdf_archive
    from changeplans.models import Plan, PlanPdf

    if not settings.OKNO_USE_WORKER:
        raise RuntimeError("OKNO_USE_WORKER must be on and a worker running: the renders are the worker's")
    for _ in range(3):
        _page_ms(client, page_url)
    quiet = [_page_ms(client, page_url) for _ in range(quiet_samples)]
    variants = [(lang, full) for full in (False, True) for lang in ("ru", "en")]
    PlanPdf.objects.filter(plan_id__in=plan_ids, archived=False).delete()
    started = time.monotonic()
    copies = []
    for index in range(renders):
        plan = Plan.objects.get(pk=plan_ids[index % len(plan_ids)])
        language, full = variants[(index // len(plan_ids)) % len(variants)]
        copies.append(pdf_archive.obtain(plan, viewer=viewer, language=language, full_history=full).pk)
    busy = []
    while time.monotonic() - started < max_seconds:
        busy.append(_page_ms(client, page_url))
        if not PlanPdf.objects.filter(pk__in=copies).exclude(status__in=["ready", "failed"]).exists():
            break
    done = PlanPdf.objects.defer("data").filter(pk__in=copies)
    return {
        "quiet_ms": stats(quiet, 0.95),
        "during_renders_ms": stats(busy, 0.95),
        "p95_ratio": stats(busy, 0.95)["p95"] / stats(quiet, 0.95)["p95"],
        "renders": renders,
        "renders_ready": done.filter(status="ready").count(),
        "render_seconds": [
            round((row.html_seconds or 0) + (row.layout_seconds or 0) + (row.write_seconds or 0), 1) for row in done
        ],
        "all_made_in_s": round(time.monotonic() - started, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args()

    import django
    import redis

    from bench.common import fresh_database, start_celery, stop, wait_for_worker

    url = fresh_database(DB_NAME, "bench/pdf_archive.py")
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"
    os.environ.update(
        {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",  # bench.urls: the floor views
            "OKNO_BENCH_DB_NAME": DB_NAME,
            "OKNO_USE_WORKER": "1",
        }
    )
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(redis_url).flushdb()
    from django.test import Client

    from bench.data import create_plan

    plans = [create_plan(args.steps, label=f"pdf {n}") for n in range(2)]
    author = get_user_model().objects.get(username="khasanov")
    client = Client()
    client.force_login(author)
    log = Path(f"/tmp/{DB_NAME}-worker.log")
    worker = start_celery(
        [
            "worker",
            "-n",
            "pdfbench@%h",
            "-P",
            "prefork",
            "-c",
            str(args.concurrency),
            "-Q",
            "celery",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        log,
    )
    try:
        wait_for_worker(log, seconds=300)
        result = {
            "stored_pdf": measure_stored_pdf(client, plans[0].pk, runs=args.runs),
            "pages_during_renders": measure_pages_during_renders(client, "/plans/", [p.pk for p in plans], author),
        }
    finally:
        stop(worker)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
