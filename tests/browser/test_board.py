"""The execution board in Chromium: start, tick with a comment, fail with a reason, roll back, finish."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import Plan, PlanEvent, Step
from execution import transitions
from tests.browser.conftest import login, shot, slow_network
from tests.factories import PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
PHONE = {"width": 390, "height": 844}


def seed_like_plan(author):
    """An approved plan whose window opened a few minutes ago: two steps in parallel, then the CNI swap."""
    start = (timezone.now() - timedelta(minutes=3)).replace(second=0, microsecond=0)
    plan = PlanFactory(
        author=author,
        title="Установка Calico вместо Flannel",
        window_start=start,
        window_end=start + timedelta(hours=3),
    )
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    local = start.astimezone(plan.tz)
    at = {"planned_date": local.date(), "planned_time": local.time()}
    later = local + timedelta(minutes=30)
    StepFactory(plan=plan, position=1, name="Бэкап etcd", executor=PartyFactory(name="Дежурный ООФИС"), **at)
    StepFactory(plan=plan, position=2, name="Оповещение в чат", **at)
    cni = StepFactory(
        plan=plan,
        position=3,
        name="Установка Calico",
        executor=PartyFactory(name="ООО «ПрофСофт»"),
        planned_date=later.date(),
        planned_time=later.time(),
        duration_text="2-3 часа",
        duration_min=120,
        duration_max=180,
    )
    risks = [RiskFactory(step=cni, number=n, description=f"Риск {n}: поды не стартуют") for n in (5, 6, 7, 8)]
    action = RollbackActionFactory(step=cni, text="Устранить причину, при невозможности вернуть Flannel")
    action.risks.set(risks)
    return plan, cni, action


def card(page, step):
    return page.locator(f"#board-step-{step.pk}")


@pytest.mark.parametrize("latency", [0, 400], ids=["fast", "slow-network"])
def test_duty_officer_runs_the_plan_through_a_rollback(page, new_context, transactional_db, author, latency):
    if latency:
        slow_network(page, latency)  # answers and live refreshes land between the user's actions (issue 11)
    duty = UserFactory(username="duty", last_name="Иванов", first_name="П.С.", roles=["duty_officer"])
    plan, cni, action = seed_like_plan(author)
    first = Step.objects.get(plan=plan, position=1)
    second = Step.objects.get(plan=plan, position=2)
    operator = UserFactory(username="operator", roles=["operator"])

    # Given the duty officer on the plan page, who opens the board
    login(page, duty)
    page.goto(f"/plans/{plan.pk}/")
    page.locator("#board-link").click()
    expect(page.locator("#board")).to_have_attribute("data-plan-id", str(plan.pk))
    expect(page.locator(".okno-lane-label")).to_have_count(1)  # steps 1 and 2 in parallel

    # When they start the work
    page.locator("#start-plan").click()
    expect(page.locator("#board-plan-status .okno-status")).to_have_attribute("data-status", "in_progress")
    expect(page.locator("#start-plan")).to_have_count(0)

    # And tick step 1: start, then done with a comment
    card(page, first).locator("button[value=start]").click()
    expect(card(page, first)).to_have_attribute("data-status", "in_progress")
    expect(card(page, first).locator(".okno-timer")).to_contain_text(":")
    card(page, first).locator("input[name=comment]").fill("Снапшот etcd 1.2 ГБ")
    # Meanwhile an operator starts step 2; live.js announces such changes with an okno:plan-event
    transitions.tick(second.pk, "start", actor=operator, expected_status=StepStatus.PENDING)
    page.evaluate("document.dispatchEvent(new CustomEvent('okno:plan-event', {detail: {id: 0}}))")
    expect(card(page, second)).to_have_attribute("data-status", "in_progress")
    # The comment being typed survived the refresh of the steps
    expect(card(page, first).locator("input[name=comment]")).to_have_value("Снапшот etcd 1.2 ГБ")
    card(page, first).locator("button[value=done]").click()
    expect(card(page, first)).to_have_attribute("data-status", "done")
    expect(card(page, first).locator(".okno-step-comment")).to_contain_text("Снапшот etcd 1.2 ГБ")
    expect(card(page, first)).to_contain_text("Иванов П.С.")

    # And step 3 fails with a reason
    card(page, cni).locator("button[value=start]").click()
    expect(card(page, cni)).to_have_attribute("data-status", "in_progress")
    card(page, cni).locator("summary.text-danger").click()
    card(page, cni).locator("textarea[name=comment]").fill("Поды calico-node в CrashLoopBackOff")
    card(page, cni).locator("button[value=failed]").click()
    expect(card(page, cni)).to_have_attribute("data-status", "failed")
    # Then its rollback action shows with the risks it answers
    rollback = page.locator(f"#rollback-action-{action.pk}")
    expect(rollback.locator(".okno-risk-label")).to_have_text("5/6/7/8")
    expect(rollback).to_contain_text("Риск 5: поды не стартуют")

    # When they switch to rollback mode (the form is open because a step failed)
    page.locator("#rollback-details input[name=reason]").fill("Calico не поднялся, возвращаем Flannel")
    page.locator("#enter-rollback").click()
    expect(page.locator("#rollback-banner")).to_be_visible()
    # And tick the rollback action
    rollback.locator("button[value=start]").click()
    expect(rollback).to_have_attribute("data-status", "in_progress")
    rollback.locator("input[name=comment]").fill("Flannel вернули")
    rollback.locator("button[value=done]").click()
    expect(rollback).to_have_attribute("data-status", "done")
    expect(card(page, cni)).to_have_attribute("data-status", "rolled_back")
    expect(card(page, cni).locator(".okno-step-comment")).to_contain_text(
        "CrashLoopBackOff"
    )  # the failure reason stays

    # The phone view, for a human to look at
    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    login(phone, duty)
    phone.goto(f"/plans/{plan.pk}/board/")
    expect(phone.locator("#board-header")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the board is {width}px wide on a {PHONE['width']}px phone"
    shot(phone, "board-phone.png", full_page=True)
    shot(page, "board-desktop.png", full_page=True)

    # When they finish the work as completed with rollback
    page.locator("#finish-details summary").click()
    page.locator("#finish-details input[name=comment]").fill("Работы перенесены")
    page.locator("#finish-rollback").click()
    # Then it is refused while step 2 still runs, and the toast says so
    expect(page.locator("#board-toasts .toast.text-bg-warning")).to_be_visible()  # docked in the board's bar
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_PROGRESS
    expect(page.locator("#finish-details input[name=comment]")).to_have_value("Работы перенесены")
    # In rollback mode a running step can still be ended
    card(page, second).locator("button[value=done]").click()
    expect(card(page, second)).to_have_attribute("data-status", "done")
    expect(card(page, second).locator("button[value=start]")).to_have_count(0)
    page.locator("#finish-rollback").click()
    expect(page.locator("#board-plan-status .okno-status")).to_have_attribute("data-status", "completed_with_rollback")
    # Then the history has every transition, all by the duty officer but the operator's one
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED_WITH_ROLLBACK and plan.finished_at and plan.rollback_started_at
    assert Step.objects.get(pk=first.pk).done_by == duty
    events = PlanEvent.objects.filter(plan=plan, kind="transition").order_by("id")
    assert [(e.object_type, e.to_status) for e in events] == [
        ("plan", PlanStatus.IN_PROGRESS),
        ("step", StepStatus.IN_PROGRESS),
        ("step", StepStatus.IN_PROGRESS),
        ("step", StepStatus.DONE),
        ("step", StepStatus.IN_PROGRESS),
        ("step", StepStatus.FAILED),
        ("plan_mode", "rollback"),
        ("rollbackaction", StepStatus.IN_PROGRESS),
        ("rollbackaction", StepStatus.DONE),
        ("step", StepStatus.ROLLED_BACK),
        ("step", StepStatus.DONE),
        ("plan", PlanStatus.COMPLETED_WITH_ROLLBACK),
    ]
    assert [e.actor for e in events].count(operator) == 1 and {e.actor for e in events} == {duty, operator}
