"""The API's plan list on 1,000 plans against its floor (issue 17; docs/BENCHMARKS.md, "API: the plan list").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno .venv/bin/python bench/api_list.py
    .venv/bin/python bench/api_list.py --plans 1000 --runs 40 --keep-db

Builds 1,000 plans (every status, 1–3 services and 3 steps each, 20 authors) in a throwaway database
("okno_bench_api", dropped at the end), then times GET /api/v1/plans/ through the test Client, interleaved (ABBA)
with its floor: the same bytes from bench/urls.py's bare login_required view. Entries: the first page (50 rows),
a filtered page (status and service), a search, the first page of 200 rows, and the first page asked with a
Bearer token instead of the session (the floor still pays the session's lookup). The query count of each is
taken on the first 100 plans and again on all of them; a count that grows exits 1. Results: bench/results/
api_list.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import zoneinfo
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "api_list.json"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TZ = zoneinfo.ZoneInfo("Asia/Novosibirsk")
FIRST_BATCH = 100  # plans present when the query counts are first taken


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=1000, help="plans in the list (default 1000)")
    parser.add_argument("--runs", type=int, default=40, help="timed requests of each entry (default 40)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database at the end")
    return parser.parse_args(argv)


def build_plans(start: int, count: int, authors: list[Any], services: list[Any]) -> None:
    """`count` plans numbered from `start`: statuses in turn, windows a day apart, 1–3 services, 3 steps each."""
    from changeplans.choices import PlanStatus
    from changeplans.models import Plan, PlanService, Step

    statuses = list(PlanStatus.values)
    first = datetime.datetime(2024, 1, 1, 20, 0, tzinfo=TZ)
    plans = Plan.objects.bulk_create(
        Plan(
            title=f"Обновление узлов кластера, работы {n}",
            goal="Обновить kubelet и kubeadm на рабочих узлах, по одному узлу",
            time_zone="Asia/Novosibirsk",
            window_start=first + datetime.timedelta(days=n),
            window_end=first + datetime.timedelta(days=n, hours=3),
            author=authors[n % len(authors)],
        )
        for n in range(start, start + count)
    )
    for status in statuses:  # the status is protected (django-fsm): set in bulk, as the data loaders do
        ids = [plan.pk for index, plan in enumerate(plans) if statuses[(start + index) % len(statuses)] == status]
        Plan.objects.filter(pk__in=ids).update(status=status)
    PlanService.objects.bulk_create(
        PlanService(plan=plan, service=services[(index + offset) % len(services)])
        for index, plan in enumerate(plans)
        for offset in range(1 + index % 3)
    )
    Step.objects.bulk_create(
        Step(plan=plan, position=position, name=f"Шаг {position}: drain, обновление, uncordon")
        for plan in plans
        for position in (1, 2, 3)
    )


def make_authors(count: int) -> list[Any]:
    from django.contrib.auth import get_user_model

    from changeplans.choices import Role
    from changeplans.roles import ensure_role_groups

    group = ensure_role_groups()[Role.AUTHOR]
    users = [
        get_user_model().objects.create_user(f"author{n}", last_name=f"Автор{n}", first_name="А.А.")
        for n in range(count)
    ]
    group.user_set.add(*users)
    return users


def query_counts(client: Any, urls: dict[str, str]) -> dict[str, int]:
    from bench.lists import _queries

    counts = {}
    for name, url in urls.items():
        client.get(url)  # warm: a token's last use is written at most once a minute
        counts[name] = _queries(lambda url=url: client.get(url))
    return counts


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| request | median | floor | ratio | p95 | queries (100 → all plans) | bytes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, entry in results["entries"].items():
        lines.append(
            f"| {name} | {entry['subject']['median_ms']:.1f} ms | {entry['floor']['median_ms']:.2f} ms "
            f"| {entry['ratio']}× | {entry['subject']['p95_ms']:.1f} ms "
            f"| {entry['queries_small']} → {entry['queries']} | {entry['bytes']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.pop("REDIS_URL", None)  # the in-process cache, as bench/run.py by default
    os.environ.setdefault("OKNO_BENCH_DB_NAME", "okno_bench_api")
    from bench.run import drop_database, machine_info, prepare_database

    started = time.perf_counter()
    db_kind, db_details = prepare_database()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from urllib.parse import urlencode

    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from api.choices import TokenScope
    from api.tokens import issue_token
    from bench.lists import ListBenchError, measure_page
    from changeplans.models import Plan, Service

    failures: list[str] = []
    results: dict[str, Any] = {"database": f"{db_kind} (throwaway)", "plans": args.plans, "runs": args.runs}
    try:
        print(f"Migrating the {db_kind} benchmark database…", file=sys.stderr)
        call_command("migrate", verbosity=0, interactive=False)
        results["machine"] = machine_info(db_kind)
        authors = make_authors(20)
        services = [Service.objects.create(name=f"svc{n}.example.org", display_name=f"Сервис {n}") for n in range(10)]
        reader = authors[0]
        session = Client()
        session.force_login(reader)
        _token, plaintext = issue_token(reader, name="bench", scope=TokenScope.READ, expires_at=None)
        bearer = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        bearer.force_login(reader)  # for the floor view only: the API takes the token first

        base = reverse("api:plan_list")
        urls = {
            "first page (50)": base,
            "filtered: status + service": f"{base}?{urlencode({'status': 'approved', 'service': services[0].pk})}",
            "search «узлов»": f"{base}?{urlencode({'q': 'узлов'})}",
            "first page (200)": f"{base}?page_size=200",
        }
        print(f"Building {FIRST_BATCH} plans, then {args.plans - FIRST_BATCH} more…", file=sys.stderr)
        build_plans(0, FIRST_BATCH, authors, services)
        small = query_counts(session, urls)
        small["first page, Bearer token"] = query_counts(bearer, {"token": base})["token"]
        build_plans(FIRST_BATCH, args.plans - FIRST_BATCH, authors, services)
        results["plans_in_database"] = Plan.objects.count()

        print("Timing against the floor…", file=sys.stderr)
        entries: dict[str, Any] = {}
        for name, url in urls.items():
            entries[name] = measure_page(session, url, runs=args.runs, must_contain=b'"results"')
        entries["first page, Bearer token"] = measure_page(bearer, base, runs=args.runs, must_contain=b'"results"')
        for name, entry in entries.items():
            entry["queries_small"] = small[name]
            if entry["queries"] != small[name]:
                failures.append(f"{name}: {small[name]} queries on {FIRST_BATCH} plans, {entry['queries']} on all")
        results["entries"] = entries
    except ListBenchError as exc:
        failures.append(str(exc))
    finally:
        if not args.keep_db:
            drop_database(db_kind, db_details)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    results["failures"] = failures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    if "entries" in results:
        print(markdown(results))
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
