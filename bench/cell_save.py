"""A cell save on plans of 100 and 2,000 steps against a bare view with the same answer, and in a real browser
(issues 13 and 16).

    make bench-cell
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno .venv/bin/python bench/cell_save.py

Drops and recreates the PostgreSQL database "okno_bench_cell" (--db-name), builds the demo data and plans of
100 and 2,000 steps (bench/data.py; --sizes), then:

1. Server side (Django's test Client, no socket): POST a cell save of the middle step's duration on each plan,
   against a bare login_required view returning the same bytes and headers (the floor). The duration alternates
   between a worst case that ends right when the next step starts (a "no slack" finding) and a shorter one, with
   a new text every time: the plan check changes on every save and its result after a save is never one seen
   before (the check of the state before a save is kept by the plan's generation and updated for the edited
   step: changeplans/lint_data.py, lint.recheck_step; the warm-up saves make it kept, as the page's first save
   does in a real session).
   Prints each size's ratio to its floor and the largest size's time against the smallest's; query counts must
   be equal for every size (exit status 1 otherwise).
2. Browser (Debian's chromium via Playwright, uvicorn with config.asgi as in production, one worker): on the
   100-step plan the author clicks the cell, types the new duration, presses Enter and waits until the cell
   shows it and the lint panel shows the plan check of the new state. The floor is the same round trip in
   the same page with the cell's editor and the save answered by a bare view with the same bytes (captured
   from the real views). Interleaved ABBA, --runs of each. Timings are taken in the page
   (performance.now): click → editor ready, plus Enter → cell and lint panel updated; typing is not counted.

Prints Markdown tables and writes bench/results/cell_save.json (every sample).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "cell_save.json"
sys.path.insert(0, str(ROOT))

from bench.common import free_port, wait_for_port  # noqa: E402

DB_NAME = "okno_bench_cell"
SIZES = (100, 2000)
FIELD = "duration_text"
VALUES = ("2-3 часа", "2 часа")  # no slack to the next step (a finding) / an hour of slack: the plan check changes


def server_value(turn):
    """The server side's value of save `turn`: as VALUES, each text new (bench plans' steps are 3 hours apart)."""
    if turn % 2 == 0:
        return f"{60 + turn // 2 % 100}-180 мин"  # the worst case ends right at the next step: no slack
    return f"{121 + turn // 2 % 50} мин"


CHROMIUM = os.environ.get("OKNO_CHROMIUM", "/usr/bin/chromium")
FLOOR_DIR_ENV = "OKNO_BENCH_CELL_FLOOR_DIR"

# --- the floor views (this module is also the urlconf of the server it starts) ----------------------------

FLOOR = {}  # kind → (bytes, headers); filled in this process, or read from FLOOR_DIR_ENV in the server


def _floor(kind):
    if kind not in FLOOR:
        directory = Path(os.environ[FLOOR_DIR_ENV])
        FLOOR[kind] = ((directory / f"{kind}.html").read_bytes(), json.loads((directory / f"{kind}.json").read_text()))
    return FLOOR[kind]


def _floor_view(request, kind):
    from django.http import HttpResponse

    body, headers = _floor(kind)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    return response


def _urlpatterns():
    from django.contrib.auth.decorators import login_required
    from django.urls import include, path

    return [
        path("bench/cell-floor/<slug:kind>/", login_required(_floor_view), name="bench_cell_floor"),
        path("", include("bench.urls")),
    ]


def __getattr__(name):  # the urlconf's urlpatterns, built on first use (Django is set up by then)
    if name != "urlpatterns":
        raise AttributeError(name)
    globals()["urlpatterns"] = patterns = _urlpatterns()
    return patterns


def asgi_app():
    """uvicorn --factory bench.cell_save:asgi_app: the production ASGI app with this module as the urlconf."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("OKNO_PROCESS", "web")  # as config/asgi.py: the web process's connection pool
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.cell_save"
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from config.asgi import application

    # Static files as runserver serves them (production: WhiteNoise); only the page load asks for them.
    return ASGIStaticFilesHandler(application)


# --- helpers --------------------------------------------------------------------------------------------


def percentile(samples, fraction):
    import math

    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(samples):
    return {
        "runs": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "max_ms": round(max(samples), 2),
        "samples_ms": [round(sample, 2) for sample in samples],
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=120, help="browser round trips of each kind (default 120)")
    parser.add_argument("--server-runs", type=int, default=40, help="server-side saves per plan size (default 40)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--db-name", default=DB_NAME, help=f"the throwaway database (default {DB_NAME})")
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="plan sizes for the server side (default 100,2000)"
    )
    parser.add_argument("--skip-browser", action="store_true", help="the server side only")
    parser.add_argument(
        "--profile", action="store_true", help="then profile 20 saves in Chromium and print where its time goes"
    )
    return parser.parse_args()


class Cell:
    """The edited cell of one plan: its step, URLs and the form data of the next save."""

    def __init__(self, plan):
        from django.urls import reverse

        self.step = plan.steps.order_by("position")[plan.steps.count() // 2]  # a step in the middle
        self.url = reverse("changeplans:step_cell", args=[self.step.pk, FIELD])
        self.dom_id = f"cell-{self.step.pk}-{FIELD}"
        self.turn = 0

    def next_data(self, value=None):
        self.step.refresh_from_db()
        value = value or server_value(self.turn)
        self.turn += 1
        return {"value": value, "revision": self.step.revision, "original": getattr(self.step, FIELD)}


def set_floor(kind, answer):
    """The floor's answer in the urlconf module (bench.cell_save, not this __main__)."""
    from bench import cell_save

    cell_save.FLOOR[kind] = answer


def drop_database():
    import dj_database_url
    import psycopg
    from django.db import connections

    connections.close_all()
    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    with psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{os.environ["OKNO_BENCH_DB_NAME"]}" WITH (FORCE)')


def captured(response):
    return response.content, {name: response[name] for name in ("HX-Retarget", "HX-Reswap") if name in response}


# --- 1. server side -------------------------------------------------------------------------------------


def bench_server(plans, author, runs):
    import gc

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(author)
    results = {}
    for size, plan in plans.items():
        cell = Cell(plan)
        for _ in range(3):  # warm-up
            assert client.post(cell.url, cell.next_data()).status_code == 200
        data = cell.next_data()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(cell.url, data)
        query_count = len(queries)
        set_floor("server", captured(response))
        floor_url = "/bench/cell-floor/server/"
        floor_response = client.post(floor_url)
        if floor_response.content != response.content:
            raise SystemExit("the floor view did not return the save's bytes")
        with CaptureQueriesContext(connection) as queries:
            client.post(floor_url)
        floor_queries = len(queries)
        rows = len(re.findall(rb'<tr id="step-\d+"', response.content))
        gc.collect()
        wall = {"save": [], "floor": []}
        for index in range(runs):
            for name in ("save", "floor") if index % 2 == 0 else ("floor", "save"):
                data = cell.next_data() if name == "save" else None
                started = time.perf_counter()
                answer = client.post(cell.url, data) if name == "save" else client.post(floor_url)
                wall[name].append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200
        save, floor = summary(wall["save"]), summary(wall["floor"])
        results[size] = {
            "bytes": len(response.content),
            "rows_in_answer": rows,
            "queries": query_count,
            "floor_queries": floor_queries,
            "save": save,
            "floor": floor,
            "ratio": round(save["p50_ms"] / floor["p50_ms"], 1),
        }
        print(
            f"  server, {size} steps: {save['p50_ms']:.1f} ms (p95 {save['p95_ms']:.1f}) vs floor "
            f"{floor['p50_ms']:.2f} ms, {query_count} queries, {len(response.content) // 1024} KiB, {rows} rows",
            file=sys.stderr,
        )
    return results


def scaling(server):
    """The largest plan's save against the smallest's: time (p50) and ratio to its floor."""
    small, large = min(server), max(server)
    if small == large:
        return None
    return {
        "small": small,
        "large": large,
        "time": round(server[large]["save"]["p50_ms"] / server[small]["save"]["p50_ms"], 2),
        "ratio_to_floor": round(server[large]["ratio"] / server[small]["ratio"], 2),
    }


# --- 2. browser -----------------------------------------------------------------------------------------

HARNESS = """
(() => {
  // One round trip: click (capture) → the cell's editor field exists; Enter (capture) → the cell shows the
  // value without an editor and the lint panel's count reads the expected text. Timed with performance.now.
  const b = window.__bench = {};
  b.arm = (cellId, value, lint) => {
    b.t = {}; b.cellId = cellId; b.value = value; b.lint = lint; b.phase = "open";
    b.opened = new Promise(resolve => { b.resolveOpened = resolve; });
    b.done = new Promise(resolve => { b.resolve = resolve; });
  };
  function cell() { return document.getElementById(b.cellId); }
  function check() {
    const now = performance.now();
    if (b.phase === "open" && b.t.click !== undefined) {
      const c = cell();
      if (c && c.querySelector(".okno-cell-form [name=value]")) { b.t.open = now; b.phase = "edit"; b.resolveOpened(); }
    } else if (b.phase === "save") {
      const c = cell(), count = document.getElementById("lint-count");
      if (c && !c.querySelector("form") && c.textContent.trim() === b.value
          && count && count.textContent.trim() === b.lint) {
        b.t.done = now; b.phase = "idle"; b.resolve(b.t);
      }
    }
  }
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
  // On window, capturing: before any handler of the page (the keyboard grid captures keys on document).
  window.addEventListener("click", e => {
    if (b.phase === "open" && b.t.click === undefined) b.t.click = e.timeStamp;
  }, true);
  // The save's request: sent (htmx:beforeSend) and its answer arrived (htmx:beforeOnLoad, before the swap).
  document.addEventListener("htmx:beforeSend", () => { if (b.phase === "save") b.t.sent = performance.now(); });
  document.addEventListener("htmx:beforeOnLoad", () => { if (b.phase === "save") b.t.loaded = performance.now(); });
  window.addEventListener("keydown", e => {
    if (e.key === "Enter" && b.phase === "edit") { b.t.enter = e.timeStamp; b.phase = "save"; }
  }, true);
})();
"""


def start_server(port, env, log):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.cell_save:asgi_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
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


def capture_floor(plan, author, directory):
    """The real answers of the 100-step plan's cell, as the browser will get them: the editor, two saves."""
    from django.test import Client

    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(author)
    cell = Cell(plan)
    lints = {}
    client.post(cell.url, cell.next_data(VALUES[0]))  # from VALUES[0]: each captured save changes the plan check
    for kind, value in (("save-b", VALUES[1]), ("save-a", VALUES[0])):  # ends with VALUES[0] saved
        data = cell.next_data(value)
        response = client.post(cell.url, data)
        assert response.status_code == 200 and data["value"] == value, (response.status_code, data)
        body, headers = captured(response)
        lints[value] = re.search(r'id="lint-count"[^>]*>([^<]*)<', body.decode())[1].strip()
        (directory / f"{kind}.html").write_bytes(body)
        (directory / f"{kind}.json").write_text(json.dumps(headers))
    editor = client.get(cell.url).content.decode()
    for kind in ("a", "b"):
        floor_editor = editor.replace(f'hx-post="{cell.url}"', f'hx-post="/bench/cell-floor/save-{kind}/"')
        assert floor_editor != editor, "the editor's hx-post was not found"
        (directory / f"editor-{kind}.html").write_text(floor_editor)
        (directory / f"editor-{kind}.json").write_text("{}")
    if lints[VALUES[0]] == lints[VALUES[1]]:
        raise SystemExit(f"the two values leave the same plan check ({lints}): pick values that change it")
    return cell, lints, len(body)


def print_profile(profile, top=25):
    """Self time by function from a Chromium CPU profile (Profiler.stop), largest first."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    deltas = profile["timeDeltas"]
    spent = {}
    for sample, delta in zip(profile["samples"], deltas, strict=False):
        frame = nodes[sample]["callFrame"]
        name = f"{frame['functionName'] or '(anonymous)'} {frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber'] + 1}"
        spent[name] = spent.get(name, 0) + delta / 1000
    total = sum(spent.values())
    print(f"\nChromium CPU profile of 20 saves (self time, ms; total {total:.0f} ms incl. idle):", file=sys.stderr)
    for name, ms in sorted(spent.items(), key=lambda item: -item[1])[:top]:
        print(f"  {ms:8.1f}  {name}", file=sys.stderr)


def bench_browser(plan, cell, lints, port, runs, profile=False):
    from playwright.sync_api import sync_playwright

    from demo.plans import DEMO_PASSWORD

    base = f"http://127.0.0.1:{port}"
    samples = {"save": [], "floor": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-sync"]
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="ru-RU")
        page.set_default_timeout(20_000)
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/login/")
        page.fill("#id_username", "khasanov")
        page.fill("#id_password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        page.goto(f"{base}/plans/{plan.pk}/")
        page.evaluate(HARNESS.strip().rstrip(";"))  # (a script tag would break the Content-Security-Policy)
        turn = {"save": 0, "floor": 0}

        def wait(name):
            """Await window.__bench[name] (a promise), 20 s at most; on a timeout, say what the page shows."""
            outcome = page.evaluate(
                "name => Promise.race([window.__bench[name],"
                " new Promise(resolve => setTimeout(() => resolve('timeout'), 20000))])",
                name,
            )
            if outcome == "timeout":
                state = page.evaluate(
                    "id => ({phase: window.__bench.phase, t: window.__bench.t,"
                    " cell: (document.getElementById(id) || {}).outerHTML,"
                    " lint: (document.getElementById('lint-count') || {}).textContent})",
                    cell.dom_id,
                )
                raise SystemExit(f"the page did not get to {name!r} in 20 s: {state}")
            return outcome

        def round_trip(kind):
            value = VALUES[turn[kind] % 2]
            turn[kind] += 1
            if kind == "floor":  # the cell asks the bare view for the editor, whose form posts to the bare view
                page.evaluate(
                    "([id, url]) => { const c = document.getElementById(id); c.setAttribute('hx-get', url);"
                    " htmx.process(c); }",
                    [cell.dom_id, f"/bench/cell-floor/editor-{'a' if value == VALUES[0] else 'b'}/"],
                )
            page.evaluate(
                "([id, value, lint]) => window.__bench.arm(id, value, lint)", [cell.dom_id, value, lints[value]]
            )
            page.locator(f"#{cell.dom_id}").click(position={"x": 5, "y": 5})
            wait("opened")  # (page.wait_for_function would need eval: the page's policy forbids it)
            page.locator(f"#{cell.dom_id} .okno-cell-form [name=value]").fill(value)  # typing: not timed
            page.keyboard.press("Enter")
            t = wait("done")
            samples[kind].append(
                {
                    "open": t["open"] - t["click"],
                    "save": t["done"] - t["enter"],
                    "send": t["sent"] - t["enter"],
                    "wait": t["loaded"] - t["sent"],
                    "swap": t["done"] - t["loaded"],
                }
            )

        for _ in range(6):  # warm-up: both kinds, both values
            round_trip("save")
            round_trip("floor")
        samples = {"save": [], "floor": []}
        for index in range(runs):
            for kind in ("save", "floor") if index % 2 == 0 else ("floor", "save"):
                round_trip(kind)
        measured = {kind: list(rows) for kind, rows in samples.items()}  # not the profiled saves below
        if profile:
            session = page.context.new_cdp_session(page)
            session.send("Profiler.enable")
            session.send("Profiler.setSamplingInterval", {"interval": 200})
            session.send("Profiler.start")
            for _ in range(20):
                round_trip("save")
            print_profile(session.send("Profiler.stop")["profile"])
        browser.close()
        if errors:
            raise SystemExit(f"JavaScript errors on the page: {errors}")
    result = {}
    for kind, rows in measured.items():
        result[kind] = {
            "round_trip": summary([row["open"] + row["save"] for row in rows]),
            "open": summary([row["open"] for row in rows]),
            "save": summary([row["save"] for row in rows]),
            **{part: summary([row[part] for row in rows]) for part in ("send", "wait", "swap")},
        }
    for part in ("round_trip", "open", "save", "send", "wait", "swap"):
        result[f"ratio_{part}"] = round(result["save"][part]["p50_ms"] / result["floor"][part]["p50_ms"], 2)
    return result


# --- main -----------------------------------------------------------------------------------------------


def markdown(results):
    lines = [
        f"Cell save benchmark, {results['date']}: {os.cpu_count()} CPUs, commit {results['commit']}, "
        f"load average at start {results['load_start']}, at end {results.get('load_end')}.",
        "",
        "| server side (test Client) | p50 ms | p95 ms | floor p50 ms | floor p95 ms | ratio (p50) | queries "
        "| answer |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for size, row in results["server"].items():
        lines.append(
            f"| cell save, {size} steps | {row['save']['p50_ms']:.1f} | {row['save']['p95_ms']:.1f} "
            f"| {row['floor']['p50_ms']:.2f} | {row['floor']['p95_ms']:.2f} | {row['ratio']}× | {row['queries']} "
            f"| {row['bytes'] // 1024} KiB, {row['rows_in_answer']} rows |"
        )
    scale = results.get("scaling")
    if scale:
        lines += [
            "",
            f"A save on {scale['large']} steps takes {scale['time']}× the time of one on {scale['small']} steps "
            f"(p50); its ratio to its floor is {scale['ratio_to_floor']}× the smaller plan's.",
        ]
    browser = results.get("browser")
    if browser:
        lines += [
            "",
            f"| browser, {results['browser_steps']} steps, {browser['save']['round_trip']['runs']} runs each "
            "| p50 ms | p95 ms | max ms | floor p50 ms | floor p95 ms | ratio (p50) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        names = {
            "round_trip": "round trip (click → editor + Enter → cell and lint panel)",
            "open": "click → editor ready",
            "save": "Enter → cell and lint panel updated",
            "send": "… of which Enter → request sent",
            "wait": "… request sent → answer arrived (network, server)",
            "swap": "… answer arrived → cell and lint panel updated (htmx swap, page scripts)",
        }
        for part, name in names.items():
            s, f = browser["save"][part], browser["floor"][part]
            lines.append(
                f"| {name} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['max_ms']:.1f} | {f['p50_ms']:.1f} "
                f"| {f['p95_ms']:.1f} | {browser[f'ratio_{part}']}× |"
            )
    lines.append(f"Total time of the run: {results['elapsed_s']:.0f} s.")
    return "\n".join(lines)


def main():
    args = parse_args()
    started = time.perf_counter()
    from bench.common import fresh_database

    url = fresh_database(args.db_name, "bench/cell_save.py")
    os.environ.update(
        {"DATABASE_URL": url, "OKNO_BENCH_DB_NAME": args.db_name, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    )
    os.environ.pop("REDIS_URL", None)  # as bench/run.py: the pages must not depend on a cache server
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop here
    import django
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench.cell_save"
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bench.data import create_plan

    results = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "load_start": [round(x, 2) for x in os.getloadavg()],
    }
    failed = []
    server = None
    try:
        print("Migrating and building the plans…", file=sys.stderr)
        call_command("migrate", verbosity=0, interactive=False)
        sizes = sorted({int(size) for size in args.sizes.split(",")} | ({100} if not args.skip_browser else set()))
        plans = {size: create_plan(size, label=f"{size} шагов") for size in sizes}
        author = get_user_model().objects.get(username="khasanov")
        print("Server side…", file=sys.stderr)
        results["server"] = bench_server(plans, author, args.server_runs)
        results["scaling"] = scaling(results["server"])
        if len({row["queries"] for row in results["server"].values()}) != 1:
            failed.append("the cell save's query count grows with the number of steps")
        if args.skip_browser:
            pass
        elif not os.path.exists(CHROMIUM):
            failed.append(f"{CHROMIUM} is missing: the browser part is skipped")
        else:
            print("Browser…", file=sys.stderr)
            directory = Path(tempfile.mkdtemp(prefix="okno-bench-cell-"))
            cell, lints, size = capture_floor(plans[100], author, directory)
            results["browser_steps"], results["browser_answer_bytes"] = 100, size
            port = free_port()
            log = open(directory / "uvicorn.log", "ab")
            env = {**os.environ, FLOOR_DIR_ENV: str(directory)}
            server = start_server(port, env, log)
            results["browser"] = bench_browser(plans[100], cell, lints, port, args.runs, args.profile)
    finally:
        if server is not None:
            from bench.common import stop

            stop(server)
        if not args.keep_db:
            drop_database()
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    results["load_end"] = [round(x, 2) for x in os.getloadavg()]
    results["failures"] = failed
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n")
    print(markdown(results))
    print(f"\nResults: {RESULTS.relative_to(ROOT)}")
    for failure in failed:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
