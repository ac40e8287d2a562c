"""The lists of issue 16, item 3, measured against their floors: for bench/scale.py (helper of the scale run).

    from bench.lists import measure_lists
    results = measure_lists(client, approver_client=approver, runs=20)

Or alone, on the data set bench/scale.py --keep-db left (nothing is built or changed; the query counts are taken
on the small data set too, and a count that grows exits 1):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno .venv/bin/python bench/lists.py --runs 20

Each page (the plan list's first page, a search for a common word, the inbox) is timed through the test Client
interleaved (ABBA) with its floor: the same bytes from bench/urls.py's bare login_required view. The badge (the
navigation's sign-off query every page runs) is timed against one indexed row lookup through the ORM. Each entry
has its query count, so that a caller can compare counts between a small and a full data set. Needs
ROOT_URLCONF = "bench.urls" (bench/settings.py).
"""

import gc
import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

SEARCH_WORD = "узел"  # in most plans of the scale data set (bench/scale.py searches it too): a "common word"


class ListBenchError(Exception):
    pass


def _summary(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)], 3),
        "max_ms": round(max(samples), 3),
    }


def _pair(subject: Callable[[], Any], floor: Callable[[], Any], runs: int, warmup: int = 2) -> tuple[dict, dict]:
    """subject() and floor() alternately (ABBA), milliseconds."""
    for _ in range(warmup):
        subject()
        floor()
    gc.collect()
    wall: dict[str, list[float]] = {"subject": [], "floor": []}
    for index in range(runs):
        for name in ("subject", "floor") if index % 2 == 0 else ("floor", "subject"):
            started = time.perf_counter()
            (subject if name == "subject" else floor)()
            wall[name].append((time.perf_counter() - started) * 1000)
    return _summary(wall["subject"]), _summary(wall["floor"])


def _queries(function: Callable[[], Any]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured)


def _entry(subject: dict, floor: dict, **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "subject": subject,
        "floor": floor,
        "ratio": round(subject["median_ms"] / max(floor["median_ms"], 1e-6), 1),
    }


def measure_page(client: Any, url: str, *, runs: int, must_contain: bytes = b"") -> dict[str, Any]:
    """GET `url` against the same bytes from the bare floor view; its bytes and both query counts."""
    from django.urls import reverse

    from bench import urls as bench_urls

    response = client.get(url)
    if response.status_code != 200:
        raise ListBenchError(f"GET {url} answered {response.status_code}")
    body = response.content
    if must_contain and must_contain not in body:
        raise ListBenchError(f"GET {url}: {must_contain!r} is not on the page")
    bench_urls.FLOOR_BODY["html"] = body
    floor_url = reverse("bench_floor")
    if client.get(floor_url).content != body:
        raise ListBenchError("the floor view did not return the page's bytes")
    queries = _queries(lambda: client.get(url))
    floor_queries = _queries(lambda: client.get(floor_url))
    page, floor = _pair(lambda: client.get(url), lambda: client.get(floor_url), runs)
    return _entry(
        page,
        floor,
        floor_name="same bytes from a bare view",
        url=url,
        bytes=len(body),
        queries=queries,
        floor_queries=floor_queries,
    )


def measure_badge(user: Any, *, runs: int) -> dict[str, Any]:
    """approvals.selectors.inbox_access (the navigation item and its count) against one indexed row lookup."""
    from approvals.models import ApprovalRow
    from approvals.selectors import inbox_access

    row = ApprovalRow.objects.filter(user=user).values_list("pk", flat=True).first() or 0

    def floor() -> int:
        return ApprovalRow.objects.filter(pk=row).count()

    queries = _queries(lambda: inbox_access(user))
    badge, floor_summary = _pair(lambda: inbox_access(user), floor, runs * 5)
    may, waiting = inbox_access(user)
    return _entry(
        badge,
        floor_summary,
        floor_name="one indexed row lookup",
        queries=queries,
        floor_queries=1,
        waiting=waiting,
        may_sign=may,
    )


def measure_lists(
    client: Any,
    *,
    approver_client: Any = None,
    approver: Any = None,
    runs: int = 20,
    search_word: str = SEARCH_WORD,
) -> dict[str, dict[str, Any]]:
    """{"plan_list", "plan_search", "inbox", "badge"}: each with its time, its floor's, the ratio and query counts.

    `client`: a logged-in test Client (any user sees every plan). `approver_client`/`approver`: someone with rows
    waiting (the inbox and the badge); left out when not given."""
    from urllib.parse import urlencode

    from django.urls import reverse

    plan_list = reverse("changeplans:plan_list")
    results = {
        "plan_list": measure_page(client, plan_list, runs=runs, must_contain=b"okno-pagination"),
        "plan_search": measure_page(
            client, f"{plan_list}?{urlencode({'q': search_word})}", runs=runs, must_contain=b"okno-pagination"
        ),
    }
    if approver_client is not None:
        results["inbox"] = measure_page(approver_client, reverse("approvals:inbox"), runs=runs)
    if approver is not None:
        results["badge"] = measure_badge(approver, runs=runs)
    return results


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The figures as a Markdown table (docs/BENCHMARKS.md)."""
    lines = [
        "| list | median | floor | ratio | p95 | queries (small → full) | bytes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, entry in results.items():
        entry.setdefault("queries_small", "—")
        lines.append(
            f"| {name} | {entry['subject']['median_ms']:.1f} ms | {entry['floor']['median_ms']:.2f} ms "
            f"| {entry['ratio']}× | {entry['subject']['p95_ms']:.1f} ms "
            f"| {entry['queries_small']} → {entry['queries']} "
            f"| {entry.get('bytes', '—')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from bench import scale_data

    parser = argparse.ArgumentParser(description="The lists at scale, on the data set bench/scale.py --keep-db left.")
    parser.add_argument("--runs", type=int, default=20, help="timed requests of each page (default 20)")
    parser.add_argument("--db", default=scale_data.DB_NAME, help=f"the full data set (default {scale_data.DB_NAME})")
    parser.add_argument("--small-db", default=scale_data.DB_NAME + "_small", help="the small one, for query counts")
    args = parser.parse_args(argv)
    scale_data.postgres_config()
    scale_data.setup_django(args.db)
    from django.contrib.auth import get_user_model
    from django.test import Client

    def clients() -> tuple[Any, Any, Any]:
        users = get_user_model().objects
        author, approver = (users.get(username=name) for name in (scale_data.BENCH_AUTHOR, scale_data.BUSY_APPROVER))
        author_client, approver_client = Client(), Client()
        author_client.force_login(author)
        approver_client.force_login(approver)
        return author_client, approver_client, approver

    scale_data.use_database(args.small_db)
    author_client, approver_client, approver = clients()
    small = measure_lists(author_client, approver_client=approver_client, approver=approver, runs=1)
    scale_data.use_database(args.db)
    author_client, approver_client, approver = clients()
    started = " ".join(f"{n:.2f}" for n in os.getloadavg())
    results = measure_lists(author_client, approver_client=approver_client, approver=approver, runs=args.runs)
    for name, entry in results.items():
        entry["queries_small"] = small[name]["queries"]
    print(markdown(results))
    print(f"load average {started} at the start")
    grown = [name for name, entry in results.items() if entry["queries"] > small[name]["queries"]]
    print("load average " + " ".join(f"{n:.2f}" for n in os.getloadavg()) + " at the end")
    for name in grown:
        print(
            f"FAILED: {name}: {small[name]['queries']} queries on the small data set, {results[name]['queries']} here"
        )
    return 1 if grown else 0


if __name__ == "__main__":
    raise SystemExit(main())
