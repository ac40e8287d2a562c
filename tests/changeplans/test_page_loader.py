"""The plan page's one-pass loader (rows.load_page_steps, for a page whose plan check is not kept) reads what
rows.load_rows and lint_data.load_lint_steps read, in three queries whatever the size: ties and gaps in the
positions, parts of a long plan, risks, rollback actions with their risks' numbers, executors, who did a step."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changeplans import lint_data, rows
from changeplans.choices import StepStatus
from changeplans.models import Risk, RollbackAction, Step
from tests.factories import PartyFactory, PlanFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
CSRF = re.compile(r"\b[A-Za-z0-9]{64}\b")


def row_of(step):
    return (
        tuple(getattr(step, name) for name in rows.RowStep.__slots__ if name not in ("risks", "rollback_actions")),
        [(risk.number, risk.description) for risk in step.risks.all()],
        [(action.text, action.numbers) for action in step.rollback_actions.all()],
    )


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author)
    party, doer = PartyFactory(name="ООО «ПрофСофт»"), UserFactory(username="doer", last_name="Иванов")
    # positions with a gap and a tie (two steps at 5)
    positions = [1, 2, 3, 5, 5, 6, 9, 10, 11, 12]
    steps = Step.objects.bulk_create(
        Step(
            plan=plan,
            position=position,
            name=f"Шаг {n}",
            description=f"Описание {n}",
            executor=party if n % 2 else None,
            done_by=doer if n == 3 else None,
            status=StepStatus.DONE if n == 3 else StepStatus.PENDING,
            planned_date=datetime.date(2025, 3, 20),
            planned_time=datetime.time(20, n) if n % 3 else None,
            duration_text="2-3 часа",
            duration_min=120,
            duration_max=180 + n,
            planned_downtime_max_minutes=n,
            risk_mitigation="М" if n % 4 else "",
        )
        for n, position in enumerate(positions)
    )
    for step in steps[::2]:
        first = Risk.objects.create(step=step, number=1, description=f"Риск {step.name}", mitigation="")
        second = Risk.objects.create(step=step, number=2, description="Второй", mitigation="Есть")
        action = RollbackAction.objects.create(step=step, text="Откатить\nвсё", position=1)
        action.risks.set([second, first])
        RollbackAction.objects.create(step=step, text="Без рисков", position=2)
    return plan


@pytest.mark.parametrize(("after", "limit"), [(0, 150), (0, 3), (0, 4), (0, 5), (3, 2), (5, 3), (10, 5), (12, 5)])
def test_the_one_pass_loader_reads_what_the_two_loaders_read(plan, after, limit):
    with CaptureQueriesContext(connection) as queries:
        shown, light = rows.load_page_steps(plan.pk, after=after, limit=limit)
    assert len(queries) == 3
    assert [row_of(step) for step in shown] == [
        row_of(step) for step in rows.load_rows(plan.pk, after=after, limit=limit)
    ]
    assert [step.key() for step in light] == [step.key() for step in lint_data.load_lint_steps(plan.pk)]


def test_a_page_whose_check_is_not_kept_is_the_page_whose_check_is(author_client, plan):
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    lint_data.forget()
    with CaptureQueriesContext(connection) as not_kept:
        first = author_client.get(url).content.decode()
    with CaptureQueriesContext(connection) as kept:
        second = author_client.get(url).content.decode()
    assert CSRF.sub("", first) == CSRF.sub("", second)  # a masked CSRF token differs each time
    # one query more (the generation, read again before the check is kept), the loader's three instead of the rows'
    assert len(not_kept) == len(kept) + 1
