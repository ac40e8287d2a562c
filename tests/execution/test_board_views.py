"""The execution board's pages and endpoints: who sees what, htmx answers, refusals (403/409/422), query count."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import Plan, PlanEvent, Step
from execution import transitions
from tests.factories import PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def make_plan(author, steps=3, status=PlanStatus.APPROVED):
    start = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0)
    plan = PlanFactory(author=author, window_start=start, window_end=start + timedelta(hours=3))
    Plan.objects.filter(pk=plan.pk).update(status=status)
    local = start.astimezone(plan.tz)
    for n in range(1, steps + 1):
        # Steps 1 and 2 start together (parallel lanes); the rest follow each other
        at = local + timedelta(minutes=10 * max(0, n - 2))
        step = StepFactory(
            plan=plan,
            position=n,
            name=f"Шаг {n}",
            planned_date=at.date(),
            planned_time=at.time(),
            executor=PartyFactory(),
        )
        risk = RiskFactory(step=step, number=5, description=f"Риск шага {n}")
        action = RollbackActionFactory(step=step, text=f"Откат шага {n}")
        action.risks.set([risk])
    plan.refresh_from_db()
    return plan


@pytest.fixture
def plan(author):
    return make_plan(author)


def toast(response):
    return json.loads(response["HX-Trigger"])["okno:toast"]["text"]


def board_url(plan, part=None):
    return reverse("execution:plan_board", args=[plan.pk]) + (f"?part={part}" if part else "")


def tick_url(step):
    return reverse("execution:board_tick", args=[step.pk])


def test_board_page_for_any_signed_in_user(client, plan, engineer):
    client.force_login(engineer)
    response = client.get(board_url(plan))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="board" data-plan-id="{plan.pk}" data-board-url="{board_url(plan)}"' in html
    assert "Шаг 1" in html and "Шаг 3" in html and "okno/board.js" in html
    assert "In parallel" in html  # steps 1 and 2 start together
    # Not a board role: no start button, no tick forms
    assert 'id="start-plan"' not in html and 'name="action"' not in html
    assert "{# timeline" not in html


def test_anonymous_is_sent_to_login(client, plan):
    response = client.get(board_url(plan))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_plan_page_links_to_the_board(client, plan, duty):
    client.force_login(duty)
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert f'href="{board_url(plan)}" id="board-link"' in html


def test_parts(client, plan, duty):
    client.force_login(duty)
    steps = client.get(board_url(plan, "steps"), **HTMX)
    assert steps.status_code == 200
    assert steps.content.decode().lstrip().startswith('<section id="board-steps"')
    # the header and the timeline come along out of band: one request refreshes the whole board
    assert '<section id="board-header" class="card mb-3" hx-swap-oob="true">' in steps.content.decode()
    assert '<section id="board-timeline" class="card mb-3" hx-swap-oob="true">' in steps.content.decode()
    timeline = client.get(board_url(plan, "timeline"))
    assert (
        timeline.content.decode().lstrip().startswith('<section id="board-timeline"')
        and "<svg" in timeline.content.decode()
    )
    assert "hx-swap-oob" not in timeline.content.decode()
    header = client.get(board_url(plan, "header"))
    assert (
        header.content.decode().lstrip().startswith('<section id="board-header"')
        and 'id="start-plan"' in header.content.decode()
    )
    assert client.get(board_url(plan, "nonsense")).status_code == 404


def test_duty_officer_runs_the_board(client, plan, duty):
    client.force_login(duty)
    # Given an approved plan whose window has come, the duty officer starts it
    response = client.post(reverse("execution:board_start", args=[plan.pk]), **HTMX)
    assert response.status_code == 200
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_PROGRESS
    html = response.content.decode()
    assert 'id="board-header" class="card mb-3" hx-swap-oob="true"' in html
    assert "The work has started." in toast(response)
    # Ticks: start, done with a comment
    step = Step.objects.get(plan=plan, position=1)
    client.post(tick_url(step), {"action": "start", "expected_status": "pending"}, **HTMX)
    response = client.post(
        tick_url(step), {"action": "done", "comment": "Бэкап готов", "expected_status": "in_progress"}, **HTMX
    )
    assert response.status_code == 200
    step.refresh_from_db()
    assert step.status == StepStatus.DONE and step.done_by == duty
    html = response.content.decode()
    assert "Бэкап готов" in html and "Иванов П.С." in html


def test_running_step_has_a_timer(client, plan, duty):
    transitions.start_plan(plan.pk, actor=duty)
    step = Step.objects.get(plan=plan, position=1)
    transitions.tick(step.pk, "start", actor=duty)
    client.force_login(duty)
    html = client.get(board_url(plan, "steps")).content.decode()
    assert 'class="okno-timer ms-1" data-started="' in html and 'data-max-minutes="5"' in html


def test_double_tick_answers_409_with_who_and_keeps_the_comment(client, plan, duty, author):
    operator = UserFactory(username="operator", roles=["operator"])
    transitions.start_plan(plan.pk, actor=duty)
    step = Step.objects.get(plan=plan, position=1)
    transitions.tick(step.pk, "start", actor=duty)
    transitions.tick(step.pk, "done", actor=duty)
    client.force_login(operator)
    # The operator saw the step in progress and presses "done" with a comment
    response = client.post(
        tick_url(step), {"action": "done", "comment": "мой текст", "expected_status": "in_progress"}, **HTMX
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "The step is already marked “DONE” by Иванов П.С. at" in html
    assert "мой текст" in html  # what the user typed is shown back
    assert "Иванов П.С." in toast(response)
    assert PlanEvent.objects.filter(object_type="step", object_id=step.pk, to_status=StepStatus.DONE).count() == 1


def test_refusals(client, plan, duty, engineer):
    step = Step.objects.get(plan=plan, position=1)
    # Not started yet: bad state (422, nothing swapped)
    client.force_login(duty)
    response = client.post(tick_url(step), {"action": "start"}, **HTMX)
    assert response.status_code == 422 and response["HX-Reswap"] == "none"
    assert "in progress" in toast(response)
    transitions.start_plan(plan.pk, actor=duty)
    # Failed without a reason: 422 with the reason in the toast
    transitions.tick(step.pk, "start", actor=duty)
    response = client.post(
        tick_url(step), {"action": "failed", "comment": "", "expected_status": "in_progress"}, **HTMX
    )
    assert response.status_code == 422 and "Give a reason" in toast(response)
    # Someone without a role: 403
    client.force_login(engineer)
    response = client.post(tick_url(step), {"action": "done", "expected_status": "in_progress"}, **HTMX)
    assert response.status_code == 403 and response["HX-Reswap"] == "none"
    response = client.post(
        reverse("execution:board_finish", args=[plan.pk]), {"outcome": "failed", "comment": "x"}, **HTMX
    )
    assert response.status_code == 403
    assert Step.objects.get(pk=step.pk).status == StepStatus.IN_PROGRESS
    # GET on an action is not allowed
    assert client.get(tick_url(step)).status_code == 405


def test_plain_post_without_htmx_redirects_with_a_message(client, plan, duty):
    client.force_login(duty)
    response = client.post(reverse("execution:board_start", args=[plan.pk]), follow=True)
    assert response.redirect_chain[-1][0] == board_url(plan)
    assert "The work has started." in response.content.decode()


def test_failed_step_shows_its_rollback_actions_and_rollback_mode(client, plan, duty):
    transitions.start_plan(plan.pk, actor=duty)
    step = Step.objects.get(plan=plan, position=2)
    transitions.tick(step.pk, "start", actor=duty)
    transitions.tick(step.pk, "failed", actor=duty, comment="Сбой")
    client.force_login(duty)
    html = client.get(board_url(plan)).content.decode()
    assert f'id="rollback-{step.pk}"' in html and "Откат шага 2" in html and "Риск шага 2" in html
    assert '<strong class="okno-risk-label">5</strong>' in html
    assert "Откат шага 1" not in html  # only failed steps show their rollback
    action = step.rollback_actions.get()
    assert reverse("execution:board_tick_rollback", args=[action.pk]) not in html  # not in rollback mode yet
    response = client.post(reverse("execution:board_rollback", args=[plan.pk]), {"reason": "Откатываем"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="rollback-banner"' in html and reverse("execution:board_tick_rollback", args=[action.pk]) in html
    response = client.post(
        reverse("execution:board_tick_rollback", args=[action.pk]),
        {"action": "start", "expected_status": "pending"},
        **HTMX,
    )
    assert response.status_code == 200
    client.post(
        reverse("execution:board_tick_rollback", args=[action.pk]),
        {"action": "done", "comment": "Вернули", "expected_status": "in_progress"},
        **HTMX,
    )
    response = client.post(
        reverse("execution:board_finish", args=[plan.pk]), {"outcome": "completed_with_rollback"}, **HTMX
    )
    assert response.status_code == 200
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.COMPLETED_WITH_ROLLBACK
    assert Step.objects.get(pk=step.pk).status == StepStatus.ROLLED_BACK


def _count_queries(client, plan):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(board_url(plan))
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_steps(client, author, duty):
    small = make_plan(author, steps=3)
    large = make_plan(author, steps=30)
    for plan in (small, large):
        transitions.start_plan(plan.pk, actor=duty)
        first = plan.steps.order_by("position").first()
        transitions.tick(first.pk, "start", actor=duty)
        transitions.tick(first.pk, "failed", actor=duty, comment="Сбой")
    client.force_login(duty)
    _count_queries(client, small)  # warm caches (session, roles)
    small_count, large_count = _count_queries(client, small), _count_queries(client, large)
    print("board queries:", small_count, large_count)
    assert small_count == large_count


def test_starting_twice_answers_409_and_early_start_asks_for_a_reason(client, author, duty):
    early = make_plan(author)
    Plan.objects.filter(pk=early.pk).update(
        window_start=timezone.now() + timedelta(hours=1), window_end=timezone.now() + timedelta(hours=4)
    )
    client.force_login(duty)
    html = client.get(board_url(early, "header")).content.decode()
    assert 'name="override_reason" required' in html
    start = reverse("execution:board_start", args=[early.pk])
    response = client.post(start, {"override_reason": ""}, **HTMX)
    assert response.status_code == 422 and "give a reason" in toast(response)
    assert client.post(start, {"override_reason": "Согласовано с куратором"}, **HTMX).status_code == 200
    response = client.post(start, {"override_reason": "ещё раз"}, **HTMX)
    assert response.status_code == 409 and "Иванов П.С." in toast(response)
    assert PlanEvent.objects.filter(plan=early, object_type="plan", to_status=PlanStatus.IN_PROGRESS).count() == 1
