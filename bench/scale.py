"""Okno at the size of a real organisation (issue 16): pages on 50,000 plans, each against a floor of the same run.

    make bench-scale
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno .venv/bin/python bench/scale.py
    .venv/bin/python bench/scale.py --plans 2000 --events 20000 --runs 5 --skip-pdf   # a quick look

Builds the scale data set (bench/scale_data.py) into "okno_bench_scale", and the same data set at 200 plans into
"okno_bench_scale_small"; counts each page's queries on both and times every page on the full one, interleaved
with its floor (the same bytes from a bare view, bench/urls.py). Prints Markdown tables and writes
bench/results/scale.json with every sample. Exit status 1 when a page's query count grows with the data (small →
full, 100 → 2,000 steps) or a check fails. --keep-db keeps both databases; --reuse-db measures on kept ones.
"""

import argparse
import datetime
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "scale.json"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scale_data  # noqa: E402 - after the path is set

SMALL_DB = scale_data.DB_NAME + "_small"
SMALL_PLANS = 200
SEARCH_WORD = "узел"
CELL_FIELD = "duration_text"


def cell_value(turn):
    """Save `turn`'s duration: a new text every time (a plan check seen before could come from a cache), its worst
    case alternately ending right at the next step (the long plans' steps are 20 min apart: "no slack") and not."""
    if turn % 2 == 0:
        return f"{5 + turn // 2 % 15}-20 мин"
    return f"{5 + turn // 2 % 10} мин"


NOT_AVAILABLE = "not available yet"
PDF_FUNCTIONS = ("measure_stored_pdf", "measure_pages_during_renders")  # bench/pdf_archive.py's entry points
LIST_FUNCTIONS = ("measure_lists",)  # bench/lists.py's


class BenchError(Exception):
    pass


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=scale_data.PLANS, help="plans (default 50,000)")
    parser.add_argument("--events", type=int, default=scale_data.EVENTS, help="history events (default 500,000)")
    parser.add_argument("--small-plans", type=int, default=SMALL_PLANS, help="plans of the small data set (200)")
    parser.add_argument("--runs", type=int, default=20, help="timed requests of each kind (default 20)")
    parser.add_argument("--skip-pdf", action="store_true", help="leave out the PDF measurements")
    parser.add_argument(
        "--pdf-processes",
        type=int,
        default=1,
        help="processes of the PDF worker (default 1, as docker-compose's pdf-worker; 2: the cores the pages use)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep both databases at the end")
    parser.add_argument("--reuse-db", action="store_true", help="measure on databases kept by an earlier --keep-db")
    return parser.parse_args(argv)


# --- timing -----------------------------------------------------------------------------------------------


def percentile(samples, fraction):
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(samples):
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "max_ms": round(max(samples), 3),
        "samples_ms": [round(sample, 3) for sample in samples],
    }


def measure_pair(subject, floor, *, runs, warmup=2):
    """subject() and floor() alternately, ABBA, so that the machine's drift hits both alike; milliseconds."""
    for _ in range(warmup):
        subject()
        floor()
    gc.collect()
    wall = {"subject": [], "floor": []}
    for index in range(runs):
        for name in ("subject", "floor") if index % 2 == 0 else ("floor", "subject"):
            started = time.perf_counter()
            (subject if name == "subject" else floor)()
            wall[name].append((time.perf_counter() - started) * 1000)
    return summary(wall["subject"]), summary(wall["floor"])


def count_queries(function):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured)


def check_query_growth(small, full):
    """Names whose query count on the full data set is larger than on the small one: ["what: a → b", …].

    A count missing on either side (a page not measured) is not compared."""
    grown = []
    for name, before in small.items():
        after = full.get(name)
        if before is not None and after is not None and after > before:
            grown.append(f"{name}: {before} → {after} queries")
    return grown


# --- what is measured -------------------------------------------------------------------------------------


class Subjects:
    """The requests measured, as (name → function) for counting, with what each needs."""

    def __init__(self, found):
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        User = get_user_model()
        self.author = User.objects.get(pk=found.bench_author)
        self.approver = User.objects.get(pk=found.busy_approver)
        self.author_client = Client()
        self.author_client.force_login(self.author)
        self.approver_client = Client()
        self.approver_client.force_login(self.approver)
        self.htmx_client = Client(HTTP_HX_REQUEST="true")
        self.htmx_client.force_login(self.author)
        self.urls = {
            "plan list, first page": reverse("changeplans:plan_list"),
            f"plan list, search «{SEARCH_WORD}»": reverse("changeplans:plan_list") + f"?q={SEARCH_WORD}",
            "approvals inbox (busy approver)": reverse("approvals:inbox"),
        }
        self.plans = dict(sorted(found.long_plans.items()))
        for n_steps, plan_id in self.plans.items():
            self.urls[f"plan page, {n_steps} steps"] = reverse("changeplans:plan_detail", args=[plan_id])
        self.cells = {n: Cell(plan_id) for n, plan_id in self.plans.items()}
        self.badge_name, self.badge = badge_function(self.approver)

    def client_for(self, name):
        return self.approver_client if "inbox" in name else self.author_client

    def get(self, name):
        response = self.client_for(name).get(self.urls[name])
        if response.status_code != 200:
            raise BenchError(f"GET {self.urls[name]} answered {response.status_code}")
        return response

    def counts(self):
        counts = {}
        for name in self.urls:
            self.get(name)  # warm: the first request fills caches a steady page does not pay for
            counts[name] = count_queries(lambda name=name: self.get(name))
        counts["navigation badge"] = count_queries(self.badge)
        for n_steps, cell in self.cells.items():
            cell.save(self.htmx_client)
            counts[f"cell save, {n_steps} steps"] = count_queries(lambda cell=cell: cell.save(self.htmx_client))
        return counts


class Cell:
    """The step in the middle of a plan, its duration saved to a new value each time (cell_value)."""

    def __init__(self, plan_id):
        from django.urls import reverse

        from changeplans.models import Step

        steps = Step.objects.filter(plan_id=plan_id).order_by("position")
        self.step = steps[steps.count() // 2]
        self.url = reverse("changeplans:step_cell", args=[self.step.pk, CELL_FIELD])
        self.revision, self.value, self.turn = self.step.revision, getattr(self.step, CELL_FIELD), 0

    def save(self, client):
        value = cell_value(self.turn)
        self.turn += 1
        response = client.post(self.url, {"value": value, "revision": self.revision, "original": self.value})
        if response.status_code != 200:
            raise BenchError(f"POST {self.url} answered {response.status_code}: {response.content[:300]!r}")
        self.revision, self.value = self.revision + 1, value
        return response


def _evaluate(context):
    for value in context.values():
        str(value() if callable(value) and not isinstance(value, type) else value)


def badge_function(user):
    """(name, function) of what every page runs for the navigation badge: the project's context processor that
    queries for it, or else the layout's template tag (approvals' inbox_nav)."""
    from django.conf import settings
    from django.test import RequestFactory
    from django.utils.module_loading import import_string

    request = RequestFactory().get("/")
    request.user = user
    for path in settings.TEMPLATES[0]["OPTIONS"].get("context_processors", []):
        if path.startswith("django."):
            continue
        processor = import_string(path)

        def run(processor=processor):
            return _evaluate(processor(request))

        if count_queries(run):
            return path, run
    from approvals.templatetags.signoff import nav_inbox

    return "approvals.templatetags.signoff.inbox_nav", lambda: nav_inbox({"user": user, "request": request})


def set_floor(body):
    from bench import urls as bench_urls

    bench_urls.FLOOR_BODY["html"] = body


def page_entry(subjects, name, runs):
    """A page through the test Client against the same bytes from bench/urls.py's bare view."""
    from django.urls import reverse

    client = subjects.client_for(name)
    body = subjects.get(name).content
    set_floor(body)
    floor_url = reverse("bench_floor")
    if client.get(floor_url).content != body:
        raise BenchError("the floor view did not return the page's bytes")
    page, floor = measure_pair(lambda: subjects.get(name), lambda: client.get(floor_url), runs=runs)
    return {"bytes": len(body), "subject": page, "floor": floor, "floor_name": "same bytes from a bare view"}


def cell_entry(subjects, n_steps, runs):
    """A cell save (HTMX POST) against a bare view answering the same fragment."""
    from django.urls import reverse

    cell, client = subjects.cells[n_steps], subjects.htmx_client
    body = cell.save(client).content
    set_floor(body)
    floor_url = reverse("bench_floor")
    if client.post(floor_url).content != body:
        raise BenchError("the floor view did not return the save's bytes")
    save, floor = measure_pair(lambda: cell.save(client), lambda: client.post(floor_url), runs=runs)
    return {"bytes": len(body), "subject": save, "floor": floor, "floor_name": "same fragment from a bare view"}


def badge_entry(subjects, runs):
    """The badge's query (through the function every page runs) against one indexed row lookup through the ORM."""
    from approvals.models import ApprovalRow

    row = ApprovalRow.objects.filter(user=subjects.approver).values_list("pk", flat=True).first()

    def floor():
        return ApprovalRow.objects.filter(pk=row).count()

    badge, floor_summary = measure_pair(subjects.badge, floor, runs=runs * 5)
    return {
        "bytes": None,
        "subject": badge,
        "floor": floor_summary,
        "floor_name": "one-row COUNT by primary key",
        "function": subjects.badge_name,
    }


def call_with(function, available):
    """Call another helper's function with the arguments it names out of `available`; a required one this
    script cannot give raises TypeError, reported as the reason (never a figure of ours in its place)."""
    import inspect

    parameters = inspect.signature(function).parameters
    kwargs = {name: value for name, value in available.items() if name in parameters}
    missing = [
        name
        for name, parameter in parameters.items()
        if name not in kwargs
        and parameter.default is inspect.Parameter.empty
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
    ]
    if missing:
        raise TypeError(f"{function.__name__} needs {', '.join(missing)}, which bench/scale.py does not have")
    return function(**kwargs)


def helper_functions(module_name, names=None):
    """({name: function} of another helper's bench module, None) or (None, the reason there is none yet)."""
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return None, f"{NOT_AVAILABLE} ({module_name}: {exc})"
    names = names or [name for name in dir(module) if name.startswith("measure_")]
    missing = [name for name in names if not callable(getattr(module, name, None))]
    if missing or not names:
        return None, f"{NOT_AVAILABLE} ({module_name} lacks {', '.join(missing) or 'measure_* functions'})"
    return {name: getattr(module, name) for name in names}, None


def run_helpers(module_name, available, names=None):
    functions, reason = helper_functions(module_name, names)
    if functions is None:
        return {module_name: reason}
    results = {}
    for name, function in functions.items():
        try:
            results[name] = call_with(function, available)
        except Exception as exc:  # noqa: BLE001 - another helper's function: its failure is reported, not ours
            results[name] = f"failed: {exc.__class__.__name__}: {exc}"
    return results


def pdf_phase(subjects, runs, broker, progress, processes=1):
    """bench/pdf_archive.py's measurements, with a real Celery worker on the full data set (started and stopped
    here; the renders are the worker's). Its figures are reported as it gives them."""
    functions, reason = helper_functions("bench.pdf_archive", PDF_FUNCTIONS)
    if functions is None:
        return {"PDF": reason}
    if not broker:
        return {"PDF": f"{NOT_AVAILABLE} (a real worker needs Redis: set REDIS_URL)"}
    import redis
    from django.db.models import Count
    from django.test.utils import override_settings

    from bench.common import start_celery, stop, wait_for_worker
    from changeplans.models import Plan

    smallest = subjects.plans[min(subjects.plans)]
    finished = (
        Plan.objects.filter(status="completed").annotate(n=Count("steps")).order_by("-n").values_list("pk", flat=True)
    )
    available = {
        "client": subjects.author_client,
        "plan_id": smallest,
        "plan_ids": [smallest, finished.first()],
        "page_url": subjects.urls["plan list, first page"],
        "viewer": subjects.author,
        "runs": runs,
    }
    redis.Redis.from_url(broker).flushdb()  # nothing queued by an earlier run reaches this worker
    log = RESULTS.parent / "scale-worker.log"
    log.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "OKNO_BENCH_DB_NAME": scale_data.DB_NAME,
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "OKNO_USE_WORKER": "1",
    }
    command = [
        "worker",
        "-P",
        "prefork",
        "-c",
        str(processes),
        "-Q",
        "celery",
        "-l",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    worker = start_celery(command, env, log)
    results = {}
    try:
        try:
            wait_for_worker(log)
        except SystemExit as exc:  # bench.common's way of saying so; this run goes on to report the rest
            return {"PDF": f"failed: {str(exc)[:300]}"}
        with override_settings(OKNO_USE_WORKER=True):
            for name, function in functions.items():
                progress(f"  {name}…")
                try:
                    results[name] = call_with(function, available)
                except Exception as exc:  # noqa: BLE001 - another helper's function: its failure is reported
                    results[name] = f"failed: {exc.__class__.__name__}: {exc}"
    finally:
        stop(worker)
    return results


def pdf_rows(results):
    """Table rows of bench/pdf_archive.py's results (its own shape: bench.common.stats of wall and CPU time)."""
    rows = []
    stored, during = results.get("measure_stored_pdf"), results.get("measure_pages_during_renders")
    if isinstance(stored, dict):
        subject, floor = stored["subject"]["wall_ms"], stored["floor"]["wall_ms"]
        rows.append(
            f"| stored PDF served | {subject['p50']:.1f} / {subject['p95']:.1f} | bare FileResponse of the same bytes "
            f"| {floor['p50']:.1f} / {floor['p95']:.1f} | **{stored['ratio_p50']:.1f}×** | {stored['queries']} "
            f"| {stored['bytes']:,} |"
        )
    if isinstance(during, dict):
        busy, quiet = during["during_renders_ms"], during["quiet_ms"]
        rows.append(
            f"| plan list during {during['renders']} PDF renders in the worker "
            f"({during.get('renders_ready', '?')} made while sampling) | {busy['p50']:.1f} / {busy['p95']:.1f} "
            f"| the same page, no renders | {quiet['p50']:.1f} / {quiet['p95']:.1f} "
            f"| **p95 {during['p95_ratio']:.2f}×** | — | — |"
        )
    for name, value in results.items():
        if not isinstance(value, dict):
            rows.append(f"| {name} | {str(value).replace('|', '/')} | | | | | |")
    return rows


def helper_arguments(subjects, runs):
    """What another helper's measurement may ask for, by parameter name."""
    smallest = subjects.plans[min(subjects.plans)]
    return {
        "runs": runs,
        "plan_id": smallest,
        "long_plans": subjects.plans,
        "plan_ids": list(subjects.plans.values()),
        "user": subjects.author,
        "author": subjects.author,
        "approver": subjects.approver,
        "client": subjects.author_client,
        "approver_client": subjects.approver_client,
        "search_word": SEARCH_WORD,
        "redis_url": os.environ.get("OKNO_BENCH_REDIS_URL", ""),
    }


# --- the run ----------------------------------------------------------------------------------------------


def located():
    """What the data set holds for the measurements, read back (for --reuse-db)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from changeplans.models import Plan

    User = get_user_model()
    result = scale_data.Result()
    result.bench_author = User.objects.get(username=scale_data.BENCH_AUTHOR).pk
    result.busy_approver = User.objects.get(username=scale_data.BUSY_APPROVER).pk
    plans = Plan.objects.filter(author_id=result.bench_author).annotate(n=Count("steps")).values_list("n", "pk")
    result.long_plans = {n: pk for n, pk in plans if n in scale_data.LONG_STEPS}
    result.plans = Plan.objects.count()
    return result


def vacuum():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def machine():
    load = [round(value, 2) for value in os.getloadavg()]
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "load_average_at_start": load,
        "git_commit": commit,
    }


def _ms(summary_):
    return f"{summary_['median_ms']:.1f} / {summary_['p95_ms']:.1f}"


def _row(name, entry, queries="—"):
    """A table row for a measurement shaped like ours ({"subject", "floor", "floor_name", "bytes"}), else its text."""
    subject, floor = (entry.get(key) if isinstance(entry, dict) else None for key in ("subject", "floor"))
    if not (isinstance(subject, dict) and isinstance(floor, dict) and "median_ms" in subject and "median_ms" in floor):
        text = entry if isinstance(entry, str) else json.dumps(entry, ensure_ascii=False, default=str)[:300]
        return f"| {name} | {text.replace('|', '/')} | | | | | |"
    ratio = subject["median_ms"] / floor["median_ms"]
    size = f"{entry['bytes']:,}" if entry.get("bytes") else "—"
    return (
        f"| {name} | {_ms(subject)} | {entry.get('floor_name', 'floor')} | {_ms(floor)} "
        f"| **{ratio:.1f}×** | {queries} | {size} |"
    )


def markdown(results):
    build, counts = results.get("build", {}), results["query_counts"]
    made = (
        f"built in {build['seconds']:.0f} s (+ {build['vacuum_analyze_seconds']:.0f} s VACUUM ANALYZE), "
        f"{build['events']:,} history events, {build['busy_approver_waiting_plans']} plans waiting for busy_approver"
        if build
        else "database reused"
    )
    lines = [
        f"Okno at scale, {results['machine']['date']}, commit {results['machine']['git_commit']}, "
        f"{results['machine']['nproc']} CPUs: {results['plans']:,} plans ({made}); "
        f"load average at start {results['machine']['load_average_at_start']}, "
        f"at end {results['machine'].get('load_average_at_end')}.",
        "",
        "| what | ms median / p95 | floor | floor ms median / p95 | ratio | queries (small → full) | bytes |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, entry in results["pages"].items():
        lines.append(_row(name, entry, f"{counts['small'].get(name, '—')} → {counts['full'].get(name, '—')}"))
    lines += pdf_rows(results.get("pdf", {}))
    for group in ("lists",):
        for name, value in results.get(group, {}).items():
            parts = value if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()) else None
            if parts and all("subject" in part for part in parts.values()):  # a function measuring several things
                for key, part in parts.items():
                    lines.append(_row(f"{group}: {key}", part, part.get("queries", "—")))
            else:
                lines.append(_row(name, value))
    lines.append("")
    lines.append(
        "Query counts constant." if not results["failures"] else "FAILED: " + "; ".join(results["failures"]) + "."
    )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    scale_data.postgres_config()
    started = time.perf_counter()
    results = {"plans": args.plans, "small_plans": args.small_plans, "failures": []}
    # The PDF's worker takes its tasks from Redis; the pages keep running without one (OKNO_USE_WORKER off).
    broker = os.environ.get("REDIS_URL", "")
    if broker and not args.skip_pdf:
        os.environ["CELERY_BROKER_URL"] = broker
    if args.reuse_db:
        missing = [name for name in (scale_data.DB_NAME, SMALL_DB) if not scale_data.database_exists(name)]
        if missing:
            sys.exit(f"--reuse-db: no database {', '.join(missing)}; run once with --keep-db")
        scale_data.setup_django(scale_data.DB_NAME)
    else:
        scale_data.recreate_database(scale_data.DB_NAME)
        scale_data.setup_django(scale_data.DB_NAME)
        print("Migrating…", file=sys.stderr)
        scale_data.migrate()
        scale_data.recreate_database(SMALL_DB, template=scale_data.DB_NAME)  # migrated and empty: a quick copy

    def progress(message):
        print(message, file=sys.stderr)

    results["machine"] = machine()
    try:
        scale_data.use_database(SMALL_DB)
        if not args.reuse_db:
            small_events = max(args.events * args.small_plans // max(args.plans, 1), args.small_plans * 2)
            progress(f"Small data set: {args.small_plans} plans, {small_events} events…")
            scale_data.build(plans=args.small_plans, events=small_events)
        small_counts = Subjects(located()).counts()

        scale_data.use_database(scale_data.DB_NAME)
        if not args.reuse_db:
            progress(f"Full data set: {args.plans:,} plans, {args.events:,} events…")
            built = scale_data.build(plans=args.plans, events=args.events, progress=progress)
            vacuum_started = time.perf_counter()
            vacuum()
            results["build"] = {
                "seconds": built.seconds,
                "vacuum_analyze_seconds": round(time.perf_counter() - vacuum_started, 1),
                "events": built.events,
                "rows": built.counts,
                "busy_approver_waiting_plans": built.busy_waiting_plans,
            }
            progress(f"  built in {built.seconds:.0f} s")
        found = located()
        results["plans"] = found.plans
        subjects = Subjects(found)
        full_counts = subjects.counts()
        results["query_counts"] = {"small": small_counts, "full": full_counts}
        results["failures"] += check_query_growth(small_counts, full_counts)
        sizes = sorted(subjects.plans)
        for kind in ("plan page", "cell save") if len(sizes) > 1 else ():
            name = f"{kind}, {sizes[0]} → {sizes[-1]} steps"
            fewer, more = (full_counts.get(f"{kind}, {n} steps") for n in (sizes[0], sizes[-1]))
            results["failures"] += check_query_growth({name: fewer}, {name: more})

        pages = results["pages"] = {}
        for name in subjects.urls:
            progress(f"{name}…")
            runs = args.runs if "2000" not in name else max(3, args.runs // 4)
            pages[name] = page_entry(subjects, name, runs)
        progress("navigation badge…")
        pages["navigation badge"] = badge_entry(subjects, args.runs)
        for n_steps in sizes:
            progress(f"cell save, {n_steps} steps…")
            pages[f"cell save, {n_steps} steps"] = cell_entry(subjects, n_steps, args.runs)
        available = helper_arguments(subjects, args.runs)
        if args.skip_pdf:
            results["pdf"] = {"PDF": "--skip-pdf"}
        else:
            progress("PDF (bench/pdf_archive.py, a real worker)…")
            results["pdf"] = pdf_phase(subjects, args.runs, broker, progress, args.pdf_processes)
        progress("lists (bench/lists.py)…")
        results["lists"] = run_helpers("bench.lists", available, LIST_FUNCTIONS)
    except BenchError as exc:
        results["failures"].append(str(exc))
    finally:
        if not (args.keep_db or args.reuse_db):
            scale_data.drop_database(SMALL_DB)
            scale_data.drop_database(scale_data.DB_NAME)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n")
    if "pages" in results:
        print(markdown(results))
    print(f"\nResults: {RESULTS.relative_to(ROOT)} ({results['elapsed_s']:.0f} s)")
    for failure in results["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
