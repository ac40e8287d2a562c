"""The plan page reads the plan check it keeps by generation (lint_data.current) and reads no step for it; when the
check is not kept (the first view in a process, a write elsewhere) the page loads and checks the plan and shows the
same bytes; either way the query count does not grow with the plan."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changeplans import lint_data
from changeplans.models import Risk, RollbackAction, Step
from tests.factories import PartyFactory, PlanFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
CSRF = re.compile(r"\b[A-Za-z0-9]{64}\b")  # a masked CSRF token differs each time


def plan_of(author, size):
    plan = PlanFactory(author=author)
    party = PartyFactory()
    steps = Step.objects.bulk_create(
        Step(
            plan=plan,
            position=n,
            name=f"Шаг {n}",
            executor=party,
            planned_date=datetime.date(2025, 3, 20),
            planned_time=datetime.time(20, n % 60) if n % 3 else None,
            duration_text="5 мин",
            duration_min=5,
            duration_max=5,
        )
        for n in range(1, size + 1)
    )
    Risk.objects.bulk_create(Risk(step=step, number=1, description="Риск") for step in steps[::2])
    RollbackAction.objects.bulk_create(RollbackAction(step=step, text="Откат") for step in steps[::3])
    return plan


def page(client, plan):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
    assert response.status_code == 200
    return CSRF.sub("", response.content.decode()), len(queries)


def test_a_page_whose_check_is_not_kept_is_the_page_whose_check_is(author_client, author):
    counts = set()
    for size in (3, 40, 160):  # 160: more than the page's first part
        plan = plan_of(author, size)
        lint_data.forget()
        not_kept, not_kept_queries = page(author_client, plan)
        kept, kept_queries = page(author_client, plan)
        assert not_kept == kept
        # the check's three light queries and the generation read again before the check is kept, and the rows
        # (read once: the second look takes them from the cache under the plan's rows token)
        assert not_kept_queries == kept_queries + 4 + 1
        counts.add((not_kept_queries, kept_queries))
        Step.objects.filter(plan=plan, position=2).update(duration_min=50, duration_max=50)  # behind the back
        changed, changed_queries = page(author_client, plan)
        assert changed_queries == not_kept_queries  # a new generation: loaded and checked again
        lint_data.forget()
        assert page(author_client, plan)[0] == changed  # the check it kept is the check of the plan as it is
    assert len(counts) == 1, counts
