"""A save costs what it changes (issue 13): a cell save, a risks save and an editor's Cancel answer with the
saved step's row and the rows whose derived start or warnings the save changed, never the whole table, in a
number of queries that does not grow with the plan.
"""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changeplans.models import Step
from tests.factories import PlanFactory, RiskFactory, RollbackActionFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


def plan_with_steps(author, count):
    """Steps five minutes apart from 20:00, each with two risks and a rollback action, names unique."""
    plan = PlanFactory(author=author, window_end=PlanFactory.window_start.replace(hour=23, minute=59))
    for position in range(1, count + 1):
        minutes = (position - 1) % 45 * 5
        planned_time = datetime.time(20 + minutes // 60, minutes % 60)
        step = StepFactory(plan=plan, position=position, name=f"Мероприятие-{position:03d}", planned_time=planned_time)
        RiskFactory(step=step, number=1)
        RiskFactory(step=step, number=2)
        RollbackActionFactory(step=step).risks.set(step.risks.all())
    return plan


def middle(plan):
    steps = list(plan.steps.order_by("position"))
    return steps[len(steps) // 2]


def save_cell(client, step, field, value):
    step.refresh_from_db()
    url = reverse("changeplans:step_cell", args=[step.pk, field])
    return client.post(url, {"value": value, "revision": step.revision}, **HX)


def risks_data(step, description):
    step.refresh_from_db()
    return {
        "revision": step.revision,
        "risk_mitigation": "",
        "risk-TOTAL_FORMS": 1,
        "risk-INITIAL_FORMS": 0,
        "risk-0-number": 1,
        "risk-0-description": description,
        "action-TOTAL_FORMS": 1,
        "action-INITIAL_FORMS": 0,
        "action-0-risk_numbers": "1",
        "action-0-text": "Вернуть как было",
    }


def row_ids(html):
    """Ids of the step rows in an answer: (main rows, out-of-band rows)."""
    main, oob = [], []
    for tag in re.findall(r'<tr id="step-\d+"[^>]*>', html):
        pk = int(re.search(r'id="step-(\d+)"', tag)[1])
        (oob if 'hx-swap-oob="true"' in tag else main).append(pk)
    return main, oob


def count_queries(request):
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert response.status_code == 200, response.content.decode()[:500]
    return len(queries)


@pytest.mark.parametrize("kind", ["cell", "risks", "cancel"])
def test_query_count_does_not_grow_with_the_plan(author_client, author, django_assert_num_queries, kind):
    small, large = plan_with_steps(author, 3), plan_with_steps(author, 100)

    def request(plan, text):
        """The request, prepared (its own queries are not counted)."""
        step = middle(plan)
        step.refresh_from_db()
        if kind == "cell":
            url, data = (
                reverse("changeplans:step_cell", args=[step.pk, "name"]),
                {"value": text, "revision": step.revision},
            )
            return lambda: author_client.post(url, data, **HX)
        if kind == "risks":
            url, data = reverse("changeplans:step_risks", args=[step.pk]), risks_data(step, text)
            return lambda: author_client.post(url, data, **HX)
        url = reverse("changeplans:step_row", args=[step.pk])
        return lambda: author_client.get(url, **HX)

    count_queries(request(small, "Прогрев"))  # the first request of a session reads what later ones cache
    count_queries(request(large, "Прогрев"))  # a plan's first save checks it anew, later ones update the kept check
    few = count_queries(request(small, "Другое имя"))
    large_request = request(large, "Другое имя")
    with django_assert_num_queries(few):
        response = large_request()
    assert response.status_code == 200


def test_a_cell_save_answers_with_its_row_not_the_table(author_client, author):
    plan = plan_with_steps(author, 100)
    step = middle(plan)

    response = save_cell(author_client, step, "name", "Переименованный шаг")

    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#step-{step.pk}" and response["HX-Reswap"] == "outerHTML"
    html = response.content.decode()
    assert row_ids(html) == ([step.pk], [])  # a new name moves no other row's start or warnings
    assert "Переименованный шаг" in html and 'id="steps-body"' not in html
    rows = html[: html.index("<template>")]  # before the out-of-band parts (the history names the old name)
    assert "Переименованный шаг" in rows and not re.search(r"Мероприятие-\d{3}", rows), "another step came along"
    # The risks panel row under the step is left in place (not sent, so not doubled).
    assert f'id="risks-{step.pk}"' not in html
    # A new name changes neither the plan check nor the total: they are not sent. The new history entry is
    # appended (the entries before it are not sent again).
    assert 'id="lint-panel"' not in html and 'id="plan-total"' not in html
    history = re.findall(r'<tbody hx-swap-oob="beforeend:#history tbody">(.*?)</tbody>', html, re.S)
    assert len(history) == 1 and history[0].count("<tr>") == 1 and "Переименованный шаг" in history[0]
    assert Step.objects.get(pk=step.pk).name == "Переименованный шаг"


def test_rows_whose_derived_start_or_warnings_change_come_along(author_client, author):
    """Steps 2 and 3 have no start time of their own and follow step 1; step 4 starts at 22:30 by itself."""
    plan = PlanFactory(author=author)  # window 20:00–23:05
    first = StepFactory(plan=plan, position=1, planned_time=datetime.time(20, 0), duration_text="30 мин")
    second = StepFactory(plan=plan, position=2, planned_time=None, planned_date=None)
    third = StepFactory(plan=plan, position=3, planned_time=None, planned_date=None)
    fourth = StepFactory(plan=plan, position=4, planned_time=datetime.time(22, 30))

    html = save_cell(author_client, first, "duration_text", "1 ч").content.decode()

    main, oob = row_ids(html)
    assert main == [first.pk] and sorted(oob) == sorted([second.pk, third.pk])
    assert "≈21:00" in html and "≈21:05" in html  # their new derived starts
    # Out of band, each in a <template> (htmx parses it alone): the plan check (its count and the findings that
    # changed, changeplans/lint_panel.py) and the total, which changed.
    for part in ("lint-count", "plan-total"):
        assert re.search(rf'<template>\s*<[a-z]+ [^>]*id="{part}"[^>]*hx-swap-oob="true"', html), part

    assert f'id="step-{fourth.pk}"' not in html  # its own start, no new warning

    # Three hours: steps 2 and 3 move to 23:00 and 23:05, after step 4 (22:30), which now starts out of
    # order: its start does not change, its warning does (the row is highlighted).
    html = save_cell(author_client, first, "duration_text", "3 ч").content.decode()
    main, oob = row_ids(html)
    assert main == [first.pk] and sorted(oob) == sorted([second.pk, third.pk, fourth.pk])
    assert "okno-has-warning" in re.search(rf'<tr id="step-{fourth.pk}"[^>]*>', html)[0]

    # Back to 30 minutes: the same rows change back, step 4 loses its highlight.
    html = save_cell(author_client, first, "duration_text", "30 мин").content.decode()
    assert sorted(row_ids(html)[1]) == sorted([second.pk, third.pk, fourth.pk])
    assert "okno-has-warning" not in re.search(rf'<tr id="step-{fourth.pk}"[^>]*>', html)[0]
    assert "≈20:30" in html and "≈20:35" in html


def test_the_move_buttons_of_the_first_and_last_rows_stay_disabled(author_client, author):
    plan = plan_with_steps(author, 3)
    first, _, last = plan.steps.order_by("position")

    first_html = save_cell(author_client, first, "jira_key", "OPS-1").content.decode()
    last_html = save_cell(author_client, last, "jira_key", "OPS-3").content.decode()

    assert re.search(r'okno-move-up"[^>]*disabled', first_html) and not re.search(
        r'okno-move-down"[^>]*disabled', first_html
    )
    assert re.search(r'okno-move-down"[^>]*disabled', last_html) and not re.search(
        r'okno-move-up"[^>]*disabled', last_html
    )


def test_a_risks_save_answers_with_the_row_and_closes_its_panel(author_client, author):
    plan = plan_with_steps(author, 20)
    step = middle(plan)

    response = author_client.post(
        reverse("changeplans:step_risks", args=[step.pk]), risks_data(step, "Падение узла при drain"), **HX
    )

    assert response.status_code == 200 and response["HX-Retarget"] == f"#step-{step.pk}"
    html = response.content.decode()
    assert row_ids(html)[0] == [step.pk] and "Падение узла при drain" in html
    assert f'<template><td id="risks-{step.pk}" hx-swap-oob="innerHTML"></td></template>' in html  # the panel closes
    assert "HX-Trigger" in response  # the toast
    assert list(Step.objects.get(pk=step.pk).risks.values_list("description", flat=True)) == ["Падение узла при drain"]


def test_cancel_answers_with_the_row_as_it_is(author_client, author):
    plan = plan_with_steps(author, 10)
    step = middle(plan)

    response = author_client.get(reverse("changeplans:step_row", args=[step.pk]), **HX)

    assert response.status_code == 200 and response["HX-Retarget"] == f"#step-{step.pk}"
    html = response.content.decode()
    assert row_ids(html) == ([step.pk], []) and step.name in html
    assert "lint-panel" not in html and "<template>" not in html  # nothing changed: nothing else is sent


def test_after_a_confirmed_reset_the_answer_is_the_row(client):
    """A material edit of an approved plan asks first (409 at the cell); the confirmed save answers with the row."""
    from approvals import services as approvals
    from approvals.models import ApprovalRow
    from tests.approvals.factories import plan_with_matrix

    plan, author, approvers, duty = plan_with_matrix(2)
    approvals.submit_plan(plan.pk, actor=author)
    for row, user in zip(ApprovalRow.objects.filter(plan=plan).order_by("position"), [*approvers, duty], strict=True):
        if user is duty:
            approvals.acknowledge_row(row.pk, actor=duty, version=1)
        else:
            approvals.approve_row(row.pk, actor=user, version=1)
    client.force_login(author)
    step = plan.steps.get()
    url = reverse("changeplans:step_cell", args=[step.pk, "name"])
    data = {"value": "Перезагрузить сервер", "revision": step.revision, "original": step.name}

    asked = client.post(url, data, **HX)
    assert asked.status_code == 409 and asked["HX-Retarget"] == f"#cell-{step.pk}-name"
    assert f'hx-target="#step-{step.pk}"' in asked.content.decode()  # where the confirmed answer goes

    response = client.post(url, {**data, "confirm_reset": "1"}, **HX)
    assert response.status_code == 200 and response["HX-Retarget"] == f"#step-{step.pk}"
    html = response.content.decode()
    assert row_ids(html) == ([step.pk], []) and "Перезагрузить сервер" in html
    assert Step.objects.get(pk=step.pk).name == "Перезагрузить сервер"
