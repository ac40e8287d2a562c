"""The change calendar's month with 2,000 plans against its floor (issue 18; docs/BENCHMARKS.md, "Calendar: the month").
Not bench/calendar.py: run as a script, that name would hide the standard library's `calendar` module.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno .venv/bin/python bench/change_calendar.py
    .venv/bin/python bench/change_calendar.py --plans 2000 --runs 30 --keep-db

Builds a month (March 2026) of plans in a throwaway database ("okno_bench_calendar", dropped at the end): every
status and change type in turn, 1–3 of 10 services and 3 steps each, 20 authors, windows from 08:00 to 23:00 of
1–5 hours (some across midnight), so the plans of a service overlap and the conflict marks have work to do; a
global freeze, a service freeze and a service's maintenance windows; VACUUM ANALYZE after each load (as
bench/scale.py). Then it times GET /calendar/ through the test Client, interleaved (ABBA) with its floor: the same
bytes from bench/urls.py's bare login_required view. Entries: the month, the month filtered by a service (its
maintenance windows drawn), and a week. Each is measured with the first 200 plans and again with all of them (time
and query count); a query count that grows exits 1, and so does a month above 20× its floor with all the plans.
Results: bench/results/calendar.json.
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
RESULTS = ROOT / "bench" / "results" / "calendar.json"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TZ = zoneinfo.ZoneInfo("Asia/Novosibirsk")
FIRST_BATCH = 200  # plans present when the first measurement is taken
TARGET = 20.0  # the month with all the plans: at most this many times its floor
MONTH = datetime.date(2026, 3, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=2000, help="plans in the month (default 2000)")
    parser.add_argument("--runs", type=int, default=30, help="timed requests of each entry (default 30)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database at the end")
    return parser.parse_args(argv)


def build_plans(start: int, count: int, authors: list[Any], services: list[Any]) -> None:
    """`count` plans numbered from `start`, spread over the 31 days of MONTH."""
    from changeplans.choices import PlanKind, PlanStatus
    from changeplans.models import Plan, PlanService, Step

    statuses = list(PlanStatus.values)
    kinds = [PlanKind.NORMAL, PlanKind.NORMAL, PlanKind.NORMAL, PlanKind.STANDARD, PlanKind.EMERGENCY]
    first = datetime.datetime.combine(MONTH, datetime.time(8), tzinfo=TZ)

    def window(n: int) -> tuple[datetime.datetime, datetime.datetime]:
        begin = first + datetime.timedelta(days=n % 31, hours=(n * 7) % 16)
        return begin, begin + datetime.timedelta(hours=1 + n % 5)

    plans = Plan.objects.bulk_create(
        Plan(
            title=f"Обновление узлов кластера, работы {n}",
            goal="Обновить kubelet и kubeadm на рабочих узлах, по одному узлу",
            time_zone="Asia/Novosibirsk" if n % 4 else "Europe/Moscow",
            window_start=window(n)[0],
            window_end=window(n)[1],
            kind=kinds[n % len(kinds)],
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


def build_backdrop(services: list[Any], owner: Any) -> None:
    from changecalendar.choices import FreezeScope
    from changecalendar.models import Freeze, MaintenanceWindow

    Freeze.objects.create(
        title="Мораторий на время отчётности",
        reason="Квартальная отчётность",
        starts_at=datetime.datetime(2026, 3, 27, tzinfo=TZ),
        ends_at=datetime.datetime(2026, 4, 1, tzinfo=TZ),
        owner=owner,
    )
    Freeze.objects.create(
        title="Мораторий банка",
        reason="Миграция",
        starts_at=datetime.datetime(2026, 3, 10, 18, tzinfo=TZ),
        ends_at=datetime.datetime(2026, 3, 12, 6, tzinfo=TZ),
        scope=FreezeScope.SERVICE,
        service=services[0],
        owner=owner,
    )
    MaintenanceWindow.objects.create(
        service=services[0],
        weekdays=[2, 4],
        starts=datetime.time(20),
        ends=datetime.time(2),
        time_zone="Asia/Novosibirsk",
    )


def settle() -> None:
    """VACUUM ANALYZE after a bulk load, as bench/scale.py: autovacuum would within a minute in service; without
    statistics the planner guesses (a nested loop over every step of a thousand plans, 8 ms instead of 0.1)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


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


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| request | plans | median | floor | ratio | p95 | queries | bytes |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, sizes in results["entries"].items():
        for size, entry in sizes.items():
            lines.append(
                f"| {name} | {size} | {entry['subject']['median_ms']:.1f} ms | {entry['floor']['median_ms']:.2f} ms "
                f"| {entry['ratio']}× | {entry['subject']['p95_ms']:.1f} ms | {entry['queries']} | {entry['bytes']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.pop("REDIS_URL", None)  # the in-process cache, as bench/run.py by default
    os.environ.setdefault("OKNO_BENCH_DB_NAME", "okno_bench_calendar")
    from bench.run import drop_database, machine_info, prepare_database

    started = time.perf_counter()
    db_kind, db_details = prepare_database()
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from urllib.parse import urlencode

    from django.core.management import call_command
    from django.test import Client

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
        build_backdrop(services, authors[0])
        session = Client()
        session.force_login(authors[0])

        base = "/calendar/"
        urls = {
            "month": f"{base}?{urlencode({'date': MONTH.isoformat()})}",
            "month, one service": f"{base}?{urlencode({'date': MONTH.isoformat(), 'service': services[0].pk})}",
            "week": f"{base}?{urlencode({'view': 'week', 'date': '2026-03-09'})}",
        }
        entries: dict[str, dict[int, Any]] = {name: {} for name in urls}

        def measure_all(size: int) -> None:
            print(f"Timing {size} plans against the floor…", file=sys.stderr)
            for name, url in urls.items():
                entries[name][size] = measure_page(session, url, runs=args.runs, must_contain=b'id="calendar-body"')

        print(f"Building {FIRST_BATCH} plans…", file=sys.stderr)
        build_plans(0, FIRST_BATCH, authors, services)
        settle()
        measure_all(FIRST_BATCH)
        print(f"Building {args.plans - FIRST_BATCH} more…", file=sys.stderr)
        build_plans(FIRST_BATCH, args.plans - FIRST_BATCH, authors, services)
        settle()
        results["plans_in_database"] = Plan.objects.count()
        measure_all(args.plans)
        for name, sizes in entries.items():
            if sizes[args.plans]["queries"] != sizes[FIRST_BATCH]["queries"]:
                failures.append(
                    f"{name}: {sizes[FIRST_BATCH]['queries']} queries on {FIRST_BATCH} plans, "
                    f"{sizes[args.plans]['queries']} on {args.plans}"
                )
        month = entries["month"][args.plans]
        if month["ratio"] > TARGET:
            failures.append(f"the month with {args.plans} plans is {month['ratio']}× its floor (target ≤ {TARGET}×)")
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
