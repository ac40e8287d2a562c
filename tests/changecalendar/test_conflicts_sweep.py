"""The conflicts query (changecalendar.conflicts._pairs_sql: overlapping pairs by stretch, then the keys they share)
against every pair compared with overlaps(), and common.fast_rows against the ORM (docs/BENCHMARKS.md, "Calendar").

To break them by hand: in conflicts._pairs_sql compare `candidate.window_start <= mine.ends` (adjacent windows
conflict: the comparison fails, so do test_conflicts' adjacency tests) or drop `candidate.n = mine.n`'s stretch
numbering from _merged (windows of other stretches are missed); in fast_rows drop `tuple_expected=True` or the
`EmptyResultSet` branch (the rows test fails).
"""

import datetime
import random
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changecalendar.conflicts import ACTIVE_STATUSES, conflicts_for_plans, overlaps
from changecalendar.plan_keys import keys_for_plans
from changeplans.choices import PartyKind, PlanStatus
from changeplans.models import Plan, PlanService
from common.fast_rows import value_rows
from runbooks.models import Cluster, StepAutomation
from tests.factories import PartyFactory, PlanFactory, ServiceFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = datetime.UTC


def _brute_force(plans):
    """Every given active plan against every other active plan, pair by pair, as conflicts were first found."""
    everyone = [p for p in Plan.objects.all() if p.status in ACTIVE_STATUSES and p.window_end > p.window_start]
    keys = keys_for_plans([p.pk for p in everyone] + [p.pk for p in plans])
    found = {}
    for plan in plans:
        if plan.status not in ACTIVE_STATUSES or not plan.window_end.astimezone(UTC) > plan.window_start.astimezone(
            UTC
        ):
            found[plan.pk] = []
            continue
        mine = keys[plan.pk]
        rows = []
        for other in everyone:
            if other.pk == plan.pk:
                continue
            if not overlaps(plan.window_start, plan.window_end, other.window_start, other.window_end):
                continue
            theirs = keys[other.pk]
            shared = sorted(
                [("service", x) for x in mine.services & theirs.services]
                + [("cluster", x) for x in mine.clusters & theirs.clusters]
                + [("executor", x) for x in mine.executors & theirs.executors]
            )
            if shared:
                rows.append((other.window_start, other.pk, tuple(shared)))
        found[plan.pk] = [(pk, shared) for _start, pk, shared in sorted(rows)]
    return found


def _swept(plans):
    return {
        pk: [(c.other_id, tuple(sorted((r.kind, r.id) for r in c.reasons))) for c in conflicts]
        for pk, conflicts in conflicts_for_plans(plans).items()
    }


def test_the_query_finds_what_every_pair_finds():
    rng = random.Random(18)
    services = [ServiceFactory() for _ in range(3)]
    people = [PartyFactory(kind=PartyKind.PERSON) for _ in range(3)]
    cluster = Cluster.objects.create(name="prod-a")
    base = datetime.datetime(2026, 10, 24, 20, tzinfo=BERLIN)  # the autumn change is in the middle
    statuses = [PlanStatus.DRAFT, PlanStatus.APPROVED, PlanStatus.IN_REVIEW, PlanStatus.CANCELLED]
    plans = []
    for n in range(60):
        # On a half-hour grid: many windows start together or end exactly as another starts.
        start = base + datetime.timedelta(minutes=30 * rng.randrange(20))
        end = start + datetime.timedelta(minutes=30 * rng.randrange(0, 6))  # some empty
        plan = PlanFactory(window_start=start, window_end=end, time_zone="Europe/Berlin", responsible=None)
        for service in rng.sample(services, rng.randrange(0, 3)):
            PlanService.objects.create(plan=plan, service=service)
        if n % 4 == 0:
            StepFactory(plan=plan, executor=rng.choice(people))
        if n % 7 == 0:
            StepAutomation.objects.create(step=StepFactory(plan=plan, executor=None), kind="shell", cluster=cluster)
        Plan.objects.filter(pk=plan.pk).update(status=statuses[n % len(statuses)])
        plans.append(plan)
    plans = list(Plan.objects.filter(pk__in=[p.pk for p in plans]))
    # One window edited in memory across the change (02:30 the first time – 02:30 the second: one hour).
    plans[5].window_start = datetime.datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    plans[5].window_end = datetime.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)

    expected = _brute_force(plans)
    assert sum(len(found) for found in expected.values()) > 30  # enough to compare
    assert _swept(plans) == expected
    for some in (plans[:1], plans[3:9], plans[::5]):
        assert _swept(some) == {pk: expected[pk] for pk in _swept(some)}


def test_fast_rows_are_the_orm_rows_in_fewer_queries_not_more():
    PlanFactory(
        window_start=datetime.datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN),
        window_end=datetime.datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN),
        title="Ночь <перехода>",
    )
    PlanFactory(window_start=datetime.datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=UTC))
    queryset = Plan.objects.order_by("window_start", "id")
    fields = ("id", "title", "window_start", "window_end", "status")
    with CaptureQueriesContext(connection) as queries:
        rows = value_rows(queryset, *fields)
    assert len(queries) == 1
    assert rows == list(queryset.values_list(*fields))
    assert all(row[2].tzinfo is UTC and row[2].utcoffset() == datetime.timedelta(0) for row in rows)
    assert rows[0][2] == datetime.datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert rows[1][2].microsecond == 123456
    assert value_rows(queryset.filter(pk__in=[]), "id") == []
    # The ORM's own reads on the same connection still go through Django's loader.
    assert Plan.objects.order_by("id").values_list("window_start", flat=True)[0] == rows[0][2]
