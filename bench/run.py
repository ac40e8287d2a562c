"""Okno benchmarks: each figure is a ratio against a floor measured in the same run (docs/BENCHMARKS.md).

    make bench                                   # PostgreSQL from DATABASE_URL (the Makefile's default)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py                # no DATABASE_URL: SQLite in a temporary directory

The database "okno_bench" (PostgreSQL) is dropped, recreated, migrated, filled and dropped again at
the end (--keep-db keeps it). Prints Markdown tables and writes bench/results/latest.json. Django's cache is the
in-process locmem one; --redis uses REDIS_URL's Redis, as production does.
Exit status 1 when the plan page's query count grows with the number of steps or a check fails.
"""

import argparse
import datetime
import gc
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
sys.path.insert(0, str(ROOT))

STEP_COUNTS = (1, 10, 100, 300, 2000)
PDF_FUNCTIONS = ("render_plan_html", "html_to_pdf", "render_plan_pdf")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page-runs", type=int, default=40, help="timed requests per plan size (default 40)")
    parser.add_argument(
        "--page-steps",
        default=",".join(str(n) for n in STEP_COUNTS),
        help="plan sizes for the plan page, comma-separated (default %(default)s; 100 is always built)",
    )
    parser.add_argument("--pdf-runs", type=int, default=5, help="timed PDF renders of each kind (default 5)")
    parser.add_argument("--lint-runs", type=int, default=200, help="timed lint runs (default 200)")
    parser.add_argument("--skip-pdf", action="store_true", help="leave out the PDF benchmark")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database at the end")
    parser.add_argument(
        "--redis",
        action="store_true",
        help="use REDIS_URL for Django's cache, as production does (default: the in-process locmem cache)",
    )
    return parser.parse_args()


# --- database -----------------------------------------------------------------------------------


def _postgres_admin(config):
    import psycopg

    return psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
        connect_timeout=5,
    )


def prepare_database():
    """Point the settings at a fresh throwaway database; returns ("PostgreSQL" | "SQLite", details)."""
    import dj_database_url

    url = os.environ.get("DATABASE_URL") or ""
    config = dj_database_url.parse(url) if url else None
    if config and "postgresql" in config["ENGINE"]:
        name = os.environ.setdefault("OKNO_BENCH_DB_NAME", "okno_bench")
        with _postgres_admin(config) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        return "PostgreSQL", {"config": config, "name": name}
    if url:
        print(
            f"DATABASE_URL is not PostgreSQL ({config['ENGINE']}): using SQLite in a temporary directory",
            file=sys.stderr,
        )
    else:
        print("DATABASE_URL is unset: using SQLite in a temporary directory", file=sys.stderr)
    directory = tempfile.mkdtemp(prefix="okno-bench-")
    os.environ["OKNO_BENCH_SQLITE"] = str(Path(directory) / "bench.sqlite3")
    os.environ["DATABASE_URL"] = ""
    return "SQLite", {"path": os.environ["OKNO_BENCH_SQLITE"]}


def drop_database(kind, details):
    from django.db import connections

    connections.close_all()
    if kind == "PostgreSQL":
        with _postgres_admin(details["config"]) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{details["name"]}" WITH (FORCE)')
    else:
        path = Path(details["path"])
        path.unlink(missing_ok=True)
        path.parent.rmdir()


# --- timing -------------------------------------------------------------------------------------


def percentile(samples, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(samples, cpu_samples):
    """Wall-clock figures, plus this process's CPU time (not PostgreSQL's), which other load disturbs less."""
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "min_ms": round(min(samples), 3),
        "max_ms": round(max(samples), 3),
        "cpu_median_ms": round(statistics.median(cpu_samples), 3),
        "samples_ms": [round(sample, 3) for sample in samples],
    }


def ratios(subject, floor, digits=1):
    return {
        "ratio": round(subject["median_ms"] / floor["median_ms"], digits),
        "cpu_ratio": round(subject["cpu_median_ms"] / max(floor["cpu_median_ms"], 1e-6), digits),
    }


def _timed(function, wall, cpu):
    started, started_cpu = time.perf_counter(), time.process_time()
    function()
    cpu.append((time.process_time() - started_cpu) * 1000)
    wall.append((time.perf_counter() - started) * 1000)


def measure_pair(subject, floor, *, runs, warmup):
    """Time subject() and floor() alternately (ABBA order, so drift hits both alike); milliseconds."""
    for _ in range(warmup):
        subject()
        floor()
    gc.collect()
    wall = {"subject": [], "floor": []}
    cpu = {"subject": [], "floor": []}
    for index in range(runs):
        order = ("subject", "floor") if index % 2 == 0 else ("floor", "subject")
        for name in order:
            _timed(subject if name == "subject" else floor, wall[name], cpu[name])
    return summary(wall["subject"], cpu["subject"]), summary(wall["floor"], cpu["floor"])


def measure(function, *, runs, warmup):
    for _ in range(warmup):
        function()
    gc.collect()
    wall, cpu = [], []
    for _ in range(runs):
        _timed(function, wall, cpu)
    return summary(wall, cpu)


# --- machine ------------------------------------------------------------------------------------


def _load_average():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def machine_info(db_kind):
    import django
    from django.db import connection

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        if db_kind == "PostgreSQL":
            cursor.execute("SHOW server_version")
            db_version = "PostgreSQL " + cursor.fetchone()[0]
        else:
            cursor.execute("select sqlite_version()")
            db_version = "SQLite " + cursor.fetchone()[0]
    try:
        import weasyprint

        weasyprint_version = weasyprint.__version__
    except Exception as exc:  # noqa: BLE001 - a broken WeasyPrint install is reported, not fatal to the page benchmark
        weasyprint_version = f"unavailable ({exc.__class__.__name__})"
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        commit += " (+ uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "load_average_at_start": _load_average(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": db_version,
        "weasyprint": weasyprint_version,
        "platform": platform.platform(),
        "git_commit": commit,
    }


# --- benchmarks ---------------------------------------------------------------------------------


class BenchError(Exception):
    pass


def bench_page(plans, author, runs):
    """GET /plans/<pk>/ vs the same bytes from a bare login_required view, for each plan size."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from bench import urls as bench_urls
    from changeplans import lint_data, rows

    client = Client()
    client.force_login(author)
    floor_url = reverse("bench_floor")
    results = {}
    for n_steps, plan in plans.items():
        url = reverse("changeplans:plan_detail", args=[plan.pk])
        response = client.get(url)
        if response.status_code != 200:
            raise BenchError(f"GET {url} ({n_steps} steps) answered {response.status_code}")
        body = response.content
        # A long plan opens with its first rows; the rest come in parts (changeplans/rows.py): the whole table.
        table, parts = _all_parts(client, body)
        last = plan.steps.order_by("-position").first()
        if last is not None and (f'id="step-{last.pk}"'.encode() not in table or last.jira_key.encode() not in table):
            raise BenchError(f"GET {url} and its parts: step {last.position} is missing")

        # len() right away: the captured slice reads connection.queries, which the next request resets.
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        page_queries = len(captured)
        bench_urls.FLOOR_BODY["html"] = body
        floor_response = client.get(floor_url)
        if floor_response.status_code != 200 or floor_response.content != body:
            raise BenchError("the floor view did not return the page's bytes")
        with CaptureQueriesContext(connection) as captured:
            client.get(floor_url)
        floor_queries = len(captured)

        page, floor = measure_pair(lambda url=url: client.get(url), lambda: client.get(floor_url), runs=runs, warmup=3)

        # The plan's check not kept in this process (its first view after a restart or a write in another process):
        # the page loads every step as the check reads it and checks the plan. Rows come from the cache as above.
        def not_kept(url=url):
            lint_data.forget()
            return client.get(url)

        with CaptureQueriesContext(connection) as captured:
            not_kept()
        cold_queries = len(captured)
        cold, cold_floor = measure_pair(not_kept, lambda: client.get(floor_url), runs=max(5, runs // 2), warmup=1)

        # Its rows not in the cache (a first look after a change): read and rendered, then kept.
        def rows_not_cached(url=url):
            salt = uuid.uuid4().hex
            with mock.patch.object(rows, "_code_version", lambda: salt):
                return client.get(url)

        with CaptureQueriesContext(connection) as captured:
            rows_not_cached()
        fresh_queries = len(captured)
        fresh, fresh_floor = measure_pair(
            rows_not_cached, lambda: client.get(floor_url), runs=max(5, runs // 2), warmup=1
        )
        results[n_steps] = {
            "plan_id": plan.pk,
            "rows_not_cached": {
                "queries": fresh_queries,
                "page": fresh,
                "floor": fresh_floor,
                **ratios(fresh, fresh_floor),
            },
            "html_bytes": len(body),
            "queries": page_queries,
            "floor_queries": floor_queries,
            "page": page,
            "floor": floor,
            **ratios(page, floor),
            "not_kept": {"queries": cold_queries, "page": cold, "floor": cold_floor, **ratios(cold, cold_floor)},
        }
        if parts:
            # the page and then each part in turn, as the browser fetches them: until the last row has arrived
            whole = measure(
                lambda url=url: _all_parts(client, client.get(url).content), runs=max(3, runs // 10), warmup=1
            )
            results[n_steps].update(parts=parts, table_bytes=len(table), all_rows=whole)
        print(
            f"  page, {n_steps} steps: {page['median_ms']:.1f} ms vs floor {floor['median_ms']:.2f} ms, "
            f"{page_queries} queries; check not kept {cold['median_ms']:.1f} ms, {cold_queries} queries"
            + (f"; with its {parts} parts {results[n_steps]['all_rows']['median_ms']:.0f} ms" if parts else ""),
            file=sys.stderr,
        )
    return results


def _all_parts(client, body):
    """The page's HTML followed by every part of a long plan's table; returns (bytes, number of parts)."""
    import re

    html, parts = [body], 0
    while match := re.search(rb'<tr id="steps-more"[^>]*hx-get="([^"]+)"', html[-1]):
        response = client.get(match.group(1).decode().replace("&amp;", "&"), HTTP_HX_REQUEST="true")
        if response.status_code != 200:
            raise BenchError(f"a part of the step table answered {response.status_code}")
        html.append(response.content)
        parts += 1
    return b"".join(html), parts


def bench_data(plan, runs):
    """What the plan page spends on its history query (the plan check kept: no step is read for it; the rows from
    the cache under the plan's rows token: none read), and what it adds when they are not: the rows shown (a first
    look after a change) and every step light (the check not kept)."""
    from changeplans.lint_data import load_lint_steps
    from changeplans.rows import load_rows
    from changeplans.views import _recent_history

    result = measure(lambda: _recent_history(plan.pk), runs=runs, warmup=3)
    result["rows"] = measure(lambda: load_rows(plan.pk), runs=runs, warmup=3)
    result["lint_steps"] = measure(lambda: load_lint_steps(plan.pk), runs=runs, warmup=3)
    print(
        f"  data loading: history {result['median_ms']:.1f} ms (+ {result['rows']['median_ms']:.1f} ms for the rows"
        f" when they are not in the cache, + {result['lint_steps']['median_ms']:.1f} ms for the check's steps when"
        " it is not kept)",
        file=sys.stderr,
    )
    return result


def pdf_module_missing():
    try:
        from changeplans import pdf
    except Exception as exc:  # noqa: BLE001 - any import failure is reported as the reason to skip the PDF benchmark
        return f"changeplans.pdf does not import: {exc.__class__.__name__}: {exc}"
    missing = [name for name in PDF_FUNCTIONS if not callable(getattr(pdf, name, None))]
    return f"changeplans.pdf lacks {', '.join(missing)}" if missing else None


def bench_pdf(plan, runs):
    """render_plan_pdf(plan_id) vs html_to_pdf() of the same, pre-rendered HTML."""
    from changeplans.pdf import html_to_pdf, render_plan_html, render_plan_pdf

    html = render_plan_html(plan.pk)
    # The warm-up (WeasyPrint's first call loads fonts and its stylesheets) doubles as the sanity check.
    document = html_to_pdf(html)
    if not document.startswith(b"%PDF"):
        raise BenchError("html_to_pdf did not return a PDF")
    pages = None
    try:
        import io

        from pypdf import PdfReader

        pages = len(PdfReader(io.BytesIO(document)).pages)
    except ImportError:
        pass
    html_only = measure(lambda: render_plan_html(plan.pk), runs=max(10, runs), warmup=1)
    # A render takes seconds: no further warm-up, so that the run stays within its time budget.
    full, floor = measure_pair(lambda: render_plan_pdf(plan.pk), lambda: html_to_pdf(html), runs=runs, warmup=0)
    result = {
        "plan_id": plan.pk,
        "html_bytes": len(html.encode()),
        "pdf_bytes": len(document),
        "pdf_pages": pages,
        "render_plan_pdf": full,
        "html_to_pdf": floor,
        "render_plan_html": html_only,
        **ratios(full, floor, 2),
        # Our own part measured directly: the subtraction render_plan_pdf − html_to_pdf is within the noise.
        "own_share": round(html_only["median_ms"] / full["median_ms"], 4),
    }
    print(f"  pdf: {full['median_ms']:.0f} ms vs floor {floor['median_ms']:.0f} ms ({pages} pages)", file=sys.stderr)
    return result


def bench_lint(plan, runs):
    """lint_plan on prefetched steps vs a plain loop computing each step's start + duration."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from changeplans.lint import lint_plan
    from changeplans.selectors import load_plan

    plan = load_plan(plan.pk)
    steps = list(plan.steps.all())
    tz = plan.tz

    def floor():
        latest = None
        for step in steps:
            start = step.planned_start(tz)
            if start is None:
                continue
            end = start + datetime.timedelta(minutes=step.duration_max or 0)
            if latest is None or end > latest:
                latest = end
        return latest

    with CaptureQueriesContext(connection) as queries:
        report = lint_plan(plan, steps=steps)
    if queries:
        raise BenchError(f"lint_plan ran {len(queries)} queries on prefetched steps")
    if len(report.timings) != len(steps):
        raise BenchError(f"lint_plan timed {len(report.timings)} of {len(steps)} steps")
    lint, loop = measure_pair(lambda: lint_plan(plan, steps=steps), floor, runs=runs, warmup=5)
    result = {
        "steps": len(steps),
        "warnings": len(report.warnings),
        "lint_plan": lint,
        "floor_loop": loop,
        **ratios(lint, loop),
    }
    print(f"  lint: {lint['median_ms']:.2f} ms vs floor {loop['median_ms']:.3f} ms", file=sys.stderr)
    return result


# --- report -------------------------------------------------------------------------------------


def _query_counts(pages):
    """The page's query counts, with its plan check kept and not, and its rows not in the cache: each must be the
    same at every size."""
    kept = {page["queries"] for page in pages.values()}
    not_kept = {page["not_kept"]["queries"] for page in pages.values()}
    fresh = {page["rows_not_cached"]["queries"] for page in pages.values()}
    return {(a, b, c) for a in kept for b in not_kept for c in fresh}


def _row(name, subject, floor_name, floor, result, fmt):
    return (
        f"| {name} | {subject['median_ms']:{fmt}} | {subject['p95_ms']:{fmt}} | {floor_name} "
        f"| {floor['median_ms']:{fmt}} | {floor['p95_ms']:{fmt}} | **{result['ratio']}×** | {result['cpu_ratio']}× |"
    )


def markdown(results):
    machine = results["machine"]
    lines = [
        f"Okno benchmarks, {machine['date']}: {machine['nproc']} CPUs ({machine['cpu'] or 'unknown CPU'}), "
        f"Python {machine['python']}, Django {machine['django']}, {machine['database']}, "
        f"WeasyPrint {machine['weasyprint']}, commit {machine['git_commit']}. Database: {results['database']}. "
        f"Cache: {results.get('cache', 'locmem (in-process)')}. "
        f"Load average (1/5/15 min) at start {machine['load_average_at_start']}, "
        f"at end {machine.get('load_average_at_end')}.",
        "",
        "| benchmark | median ms | p95 ms | floor | floor median ms | floor p95 ms | ratio (wall) | ratio (CPU) |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for n_steps, page in results["page"].items():
        name = f"plan page, {n_steps} step{'s' if int(n_steps) != 1 else ''} ({page['html_bytes'] // 1024} KiB)"
        lines.append(_row(name, page["page"], "same bytes from a bare view", page["floor"], page, ".1f"))
    for n_steps, page in results["page"].items():
        cold = page["not_kept"]
        name = f"plan page, {n_steps} step{'s' if int(n_steps) != 1 else ''}, its plan check not kept"
        lines.append(_row(name, cold["page"], "same bytes from a bare view", cold["floor"], cold, ".1f"))
    for n_steps, page in results["page"].items():
        fresh = page["rows_not_cached"]
        name = f"plan page, {n_steps} step{'s' if int(n_steps) != 1 else ''}, its rows not in the cache"
        lines.append(_row(name, fresh["page"], "same bytes from a bare view", fresh["floor"], fresh, ".1f"))
    for n_steps, page in results["page"].items():
        if page.get("parts"):
            whole = page["all_rows"]
            lines.append(
                f"| plan page, {n_steps} steps, with its {page['parts']} parts ({page['table_bytes'] // 1024} KiB) "
                f"| {whole['median_ms']:.0f} | {whole['p95_ms']:.0f} | — | | | | |"
            )
    pdf = results.get("pdf")
    if isinstance(pdf, dict):
        name = f"PDF, 100 steps ({pdf['pdf_pages']} pages)"
        lines.append(
            _row(name, pdf["render_plan_pdf"], "html_to_pdf of the pre-rendered HTML", pdf["html_to_pdf"], pdf, ".0f")
        )
    lint = results.get("lint")
    if isinstance(lint, dict):
        name = f"lint_plan, {lint['steps']} steps"
        lines.append(_row(name, lint["lint_plan"], "plain loop: start + duration", lint["floor_loop"], lint, ".2f"))
    lines += [
        "",
        "| steps | plan page queries | its check not kept | its rows not in the cache | floor queries |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for n_steps, page in results["page"].items():
        lines.append(
            f"| {n_steps} | {page['queries']} | {page['not_kept']['queries']} | "
            f"{page['rows_not_cached']['queries']} | {page['floor_queries']} |"
        )
    counts = _query_counts(results["page"])
    lines.append("")
    lines.append("Query count is constant." if len(counts) == 1 else "QUERY COUNT GROWS WITH THE NUMBER OF STEPS.")
    data, page = results.get("data_loading"), results["page"].get(100)
    if isinstance(lint, dict) and data and page:
        rest = page["page"]["median_ms"] - page["floor"]["median_ms"] - data["median_ms"]
        lines.append(
            f"Plan page, 100 steps, by medians: floor {page['floor']['median_ms']:.1f} ms "
            f"+ the history query {data['median_ms']:.1f} ms + the rest (the plan, the sign-off matrix, the other "
            f"queries, template rendering) ≈ {rest:.0f} ms ({rest / page['page']['median_ms'] * 100:.0f} % of "
            f"{page['page']['median_ms']:.0f} ms); the plan check is kept and the rows come from the cache. "
            f"A first look after a change also reads the rows ({data['rows']['median_ms']:.1f} ms) and renders them; "
            "when the check is not kept: + the check's light steps "
            f"{data['lint_steps']['median_ms']:.1f} ms + lint {lint['lint_plan']['median_ms']:.1f} ms."
        )
    if isinstance(pdf, dict):
        lines.append(
            "PDF: render_plan_html (our queries, lint and template) alone "
            f"{pdf['render_plan_html']['median_ms']:.0f} ms median, "
            f"{pdf['own_share'] * 100:.1f} % of render_plan_pdf; WeasyPrint's layout is the rest. "
            f"A PDF ratio away from 1.0 by more than that share is noise between the {pdf['html_to_pdf']['runs']} runs."
        )
    elif pdf:
        lines.append(f"PDF: skipped ({pdf}).")
    lines.append(f"Total time of the run: {results['elapsed_s']:.0f} s.")
    return "\n".join(lines)


def main():
    args = parse_args()
    if args.redis and not os.environ.get("REDIS_URL"):
        print("--redis needs REDIS_URL (e.g. redis://127.0.0.1:6379/15)", file=sys.stderr)
        return 2
    if not args.redis:
        os.environ.pop("REDIS_URL", None)  # the page must not depend on a cache server being up
    started = time.perf_counter()
    db_kind, db_details = prepare_database()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bench.data import create_plan

    failed = []
    results = {
        "database": f"{db_kind} ({db_details.get('name') or db_details.get('path')}, throwaway)",
        "cache": "Redis (REDIS_URL)" if args.redis else "locmem (in-process)",
    }
    try:
        print(f"Migrating the {db_kind} benchmark database…", file=sys.stderr)
        call_command("migrate", verbosity=0, interactive=False)
        results["machine"] = machine_info(db_kind)
        sizes = sorted({int(n) for n in args.page_steps.split(",") if n.strip()} | {100})
        plans = {n: create_plan(n, label=f"{n} шагов") for n in sizes}
        author = get_user_model().objects.get(username="khasanov")

        print("Plan page…", file=sys.stderr)
        results["page"] = bench_page(plans, author, args.page_runs)
        if len(_query_counts(results["page"])) != 1:
            failed.append("the plan page's query count grows with the number of steps")

        print("Lint and data loading…", file=sys.stderr)
        results["lint"] = bench_lint(plans[100], args.lint_runs)
        results["data_loading"] = bench_data(plans[100], args.page_runs)

        if args.skip_pdf:
            results["pdf"] = "--skip-pdf"
        elif missing := pdf_module_missing():
            results["pdf"] = missing
            failed.append(missing)
        else:
            print("PDF (takes a while)…", file=sys.stderr)
            results["pdf"] = bench_pdf(plans[100], args.pdf_runs)
    except BenchError as exc:
        failed.append(str(exc))
    finally:
        if not args.keep_db:
            drop_database(db_kind, db_details)

    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    if "machine" in results:
        results["machine"]["load_average_at_end"] = _load_average()
    results["failures"] = failed
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n")
    if "page" in results:
        print(markdown(results))
    print(f"\nResults: {RESULTS.relative_to(ROOT)}")
    for failure in failed:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
