"""What runbooks adds to the plan page through changeplans.extensions: the automation badge under a step's status,
the ⚙ editor link among an editor's row actions, and the rehearsal panel, in queries that do not grow with the steps."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changeplans.choices import PlanStatus
from tests.factories import StepFactory
from tests.runbooks.automation_fixtures import automate, make_plan

pytestmark = pytest.mark.django_db


def plan_page(client, plan):
    response = client.get(f"/plans/{plan.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def badges(html):
    return re.findall(r'okno-automation-badge" href="/plans/\d+/steps/(\d+)/automation/"[^>]*>⚙ (\w+)</a>', html)


def test_the_badge_shows_each_automated_step_and_editors_get_the_editor_link(client, author, duty):
    plan = make_plan(author, status=PlanStatus.DRAFT)
    first, second, manual = (StepFactory(plan=plan, position=n) for n in (1, 2, 3))
    automate(first, ["true"])
    automate(second, kind="http", spec={"url": "https://status.example.org/", "method": "GET"})

    client.force_login(author)
    html = plan_page(client, plan)
    assert badges(html) == [(str(first.pk), "shell"), (str(second.pk), "http")]
    editor_links = re.findall(r'okno-automation" href="/plans/\d+/steps/(\d+)/automation/"', html)
    assert editor_links == [str(first.pk), str(second.pk), str(manual.pk)]
    assert html.count('id="rehearsal"') == 1

    client.force_login(duty)
    html = plan_page(client, plan)
    assert badges(html) == [(str(first.pk), "shell"), (str(second.pk), "http")]
    assert 'class="btn btn-sm btn-outline-secondary okno-automation"' not in html


def test_plan_page_queries_do_not_grow_with_automated_steps(client, author):
    plan = make_plan(author, status=PlanStatus.DRAFT)
    client.force_login(author)

    def count():
        plan_page(client, plan)  # warm caches (sessions, content types)
        with CaptureQueriesContext(connection) as queries:
            plan_page(client, plan)
        return len(queries)

    StepFactory(plan=plan, position=1)
    automate(plan.steps.get(position=1), ["true"])
    one = count()
    for position in range(2, 7):
        automate(StepFactory(plan=plan, position=position), ["true"])
    assert count() == one
