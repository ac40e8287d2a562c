"""Rollback mode in Chromium: skip the remaining rollback actions with one reason, then end the work; the
header then shows the outcome, not the mode, and a rolled back step is not counted as done (issue 15, item 5)."""

import pytest
from playwright.sync_api import expect

from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import Plan, RollbackAction, Step
from execution import transitions
from tests.browser.conftest import login, shot
from tests.execution.test_board_views import make_plan
from tests.factories import RollbackActionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("width", [1440, 390], ids=["desktop", "phone"])
def test_duty_officer_skips_the_remaining_rollback_actions_then_ends_the_work(
    page, new_context, transactional_db, author, width
):
    duty = UserFactory(username="duty", last_name="Иванов", first_name="П.С.", roles=["duty_officer"])
    plan = make_plan(author)
    transitions.start_plan(plan.pk, actor=duty)
    failed = Step.objects.get(plan=plan, position=2)
    for n in range(2, 11):  # ten rollback actions in all
        RollbackActionFactory(step=failed, position=n, text=f"Действие отката {n}")
    transitions.tick(failed.pk, "start", actor=duty)
    transitions.tick(failed.pk, "failed", actor=duty, comment="Поды в CrashLoopBackOff")
    transitions.enter_rollback(plan.pk, actor=duty, reason="Возвращаем как было")
    if width == 1440:
        page.set_viewport_size({"width": 1440, "height": 900})
    else:
        page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()

    # Given the duty officer on the board in rollback mode
    login(page, duty)
    page.goto(f"/plans/{plan.pk}/board/")
    expect(page.locator("#rollback-banner")).to_be_visible()
    skip = page.locator("#skip-rollback-details")
    expect(skip.locator("summary")).to_contain_text("Пропустить оставшиеся действия отката (10)")

    # When they skip the remaining actions with one reason
    skip.locator("summary").click()
    skip.locator("input[name=reason]").fill("Сервис восстановлен перезапуском")
    shot(page, f"board-rollback-skip-{width}.png", full_page=True)
    skip.locator("#skip-rollback").click()

    # Then every action is skipped with that reason, the step is rolled back, and the offer is gone
    card = page.locator(f"#board-step-{failed.pk}")
    expect(card).to_have_attribute("data-status", StepStatus.ROLLED_BACK)
    expect(card.locator(".okno-rollback-list li[data-status=skipped]")).to_have_count(10)
    expect(page.locator("#skip-rollback-details")).to_have_count(0)
    assert set(RollbackAction.objects.filter(step=failed).values_list("comment", flat=True)) == {
        "Сервис восстановлен перезапуском"
    }

    # When they end the work as completed with rollback
    page.locator("#finish-details summary").click()
    page.locator("#finish-rollback").click()

    # Then the header shows the outcome: no rollback-mode banner, and the rolled back step is not "done"
    expect(page.locator("#board-plan-status .okno-status")).to_have_attribute(
        "data-status", PlanStatus.COMPLETED_WITH_ROLLBACK
    )
    expect(page.locator("#rollback-banner")).to_have_count(0)
    expect(page.locator("#board-progress")).to_have_text("0/3")
    expect(page.locator("#board-progress-other")).to_have_text("(откачено: 1)")
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.COMPLETED_WITH_ROLLBACK
    page.reload()
    expect(page.locator("#rollback-banner")).to_have_count(0)
    expect(page.locator("#board-progress")).to_have_text("0/3")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= page.viewport_size["width"], f"the board is {scroll}px wide at {width}px"
    shot(page, f"board-rollback-ended-{width}.png", full_page=True)
