"""The plan check in a browser (issue 13, item 7): a finding is a link to its cell; clicking it scrolls to the
cell and selects it (td.okno-cell.okno-selected, the grid's selection). The kind cell is a select."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from changeplans.models import Step
from tests.browser.conftest import login, shot
from tests.factories import PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def author_user(transactional_db):
    return UserFactory(username="checker", first_name="Анна", last_name="Проверкина", roles=["author"])


@pytest.fixture
def long_plan(author_user):
    """Twelve 5-minute steps every 5 minutes from 20:00; step 12 starts at 20:52, before step 11 ends (20:55)."""
    plan = PlanFactory(author=author_user, title="Перенос кластера")
    for position in range(1, 13):
        minute = 52 if position == 12 else (position - 1) * 5
        StepFactory(
            plan=plan,
            position=position,
            name=f"Шаг номер {position}",
            description="Длинное описание работ\n" * 4,
            planned_time=datetime.time(20, minute),
        )
    risky = Step.objects.get(plan=plan, position=3)
    Step.objects.filter(pk=risky.pk).update(no_rollback_needed=False)
    RiskFactory(step=risky, number=1, description="Риск 1", mitigation="Проверить")
    RollbackActionFactory(step=risky, text="по ситуации")
    return plan


def finding(page, code):
    return page.locator(f'#lint-panel li[data-code="{code}"] a')


def test_a_finding_link_scrolls_to_its_cell_and_selects_it(page, long_plan, author_user):
    last = Step.objects.get(plan=long_plan, position=12)
    risky = Step.objects.get(plan=long_plan, position=3)
    login(page, author_user)
    page.set_viewport_size({"width": 1440, "height": 700})
    page.goto(f"/plans/{long_plan.pk}/")

    # Given the finding about step 12, which is far below the panel
    link = finding(page, "step_starts_before_previous_ends")
    expect(link).to_have_attribute("href", f"#cell-{last.pk}-planned_time")
    expect(link).to_contain_text("Шаг 12 начинается в 20.03.2025 20:52, до окончания шага 11")
    cell = page.locator(f"#cell-{last.pk}-planned_time")
    expect(cell).not_to_be_in_viewport()

    # When the author clicks it
    link.click()

    # Then the cell is in view and is the one selected cell of the grid
    expect(cell).to_be_in_viewport()
    expect(cell).to_have_class(_has("okno-selected"))
    expect(page.locator("td.okno-selected")).to_have_count(1)
    shot(page, "lint-link-selects-cell.png")

    # And a finding about the rollback selects the rollback cell, leaving the other one
    page.evaluate("window.scrollTo(0, 0)")
    finding(page, "rollback_says_nothing").click()
    rollback = page.locator(f"#cell-{risky.pk}-rollback")
    expect(rollback).to_be_in_viewport()
    expect(rollback).to_have_class(_has("okno-selected"))
    expect(page.locator("td.okno-selected")).to_have_count(1)


def test_the_links_work_after_the_panel_is_refreshed_by_a_save(page, long_plan, author_user):
    last = Step.objects.get(plan=long_plan, position=12)
    login(page, author_user)
    page.goto(f"/plans/{long_plan.pk}/")

    # When the author types step 12's time with a typo that still overlaps, the panel is re-rendered
    cell = page.locator(f"#cell-{last.pk}-planned_time")
    cell.click()
    cell.locator(".okno-cell-form [name=value]").fill("20-53")
    cell.locator(".okno-cell-form [name=value]").press("Enter")
    link = finding(page, "step_starts_before_previous_ends")
    expect(link).to_contain_text("20:53")

    # Then its link still selects the cell
    page.evaluate("window.scrollTo(0, 0)")
    link.click()
    expect(page.locator(f"#cell-{last.pk}-planned_time")).to_have_class(_has("okno-selected"))


def test_the_kind_cell_is_chosen_from_a_list_and_saved_with_enter(page, long_plan, author_user):
    step = Step.objects.get(plan=long_plan, position=2)
    login(page, author_user)
    page.goto(f"/plans/{long_plan.pk}/")
    expect(page.locator("#steps-table thead th").nth(1)).to_have_text("Вид")

    cell = page.locator(f"#cell-{step.pk}-kind")
    expect(cell).to_have_text("Работы")
    cell.click()
    select = cell.locator(".okno-cell-form select[name=value]")
    select.select_option(label="Установка баннера")
    select.press("Enter")

    expect(page.locator(f"#cell-{step.pk}-kind")).to_have_text("Установка баннера")
    assert Step.objects.get(pk=step.pk).kind == "banner_on"


def _has(css_class):
    return re.compile(rf"(^|\s){css_class}(\s|$)")
