"""A 2,000-step plan in the browser (issue 16): the page opens with its first rows, the rest arrive in parts
(changeplans/rows.py), and a row that arrived late is edited from the keyboard like any other."""

import datetime

import pytest
from playwright.sync_api import expect

from changeplans.models import Risk, Step
from tests.browser.conftest import login
from tests.browser.keyboard import Keyboard
from tests.factories import PartyFactory, PlanFactory, UserFactory
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
SIZE = 2000


@pytest.fixture(autouse=True)
def patient(new_context):
    """2,000 rows take a loaded machine a while to arrive (assertions wait for events, they do not time)."""
    expect.set_options(timeout=120_000)


@pytest.fixture
def author(transactional_db):
    return UserFactory(username="long-author", first_name="Анна", last_name="Длинная", roles=["author"])


@pytest.fixture
def long_plan(author):
    plan = PlanFactory(author=author, title="Две тысячи шагов", window_end=PlanFactory.window_start.replace(year=2026))
    party = PartyFactory()
    steps = Step.objects.bulk_create(
        Step(plan=plan, position=n, name=f"Шаг-{n:04d}", executor=party, planned_date=datetime.date(2025, 3, 20))
        for n in range(1, SIZE + 1)
    )
    Risk.objects.bulk_create(Risk(step=step, number=1, description="Риск", mitigation="М") for step in steps)
    return plan, steps


def test_a_2000_step_plan_opens_with_its_first_rows_and_the_rest_arrive(page, author, long_plan):
    plan, steps = long_plan
    login(page, author)
    # the navigation's own timeout is the context's 15 s: a loaded machine may need longer for this page
    page.goto(f"/plans/{plan.pk}/", wait_until="domcontentloaded", timeout=120_000)
    first = page.locator(f"#cell-{steps[0].pk}-name")
    expect(first).to_be_visible()
    expect(first).to_have_text("Шаг-0001")

    # the last row arrives, and with it the end of the parts
    last = page.locator(f"#step-{steps[-1].pk}")
    expect(last).to_be_attached()
    expect(page.locator("#steps-more")).to_have_count(0)
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(SIZE)
    expect(last.locator(".okno-move-down")).to_be_disabled()

    # a late row: select a cell, type over it from the keyboard, Enter saves
    late = steps[1900]
    cell = page.locator(f"#cell-{late.pk}-name")
    cell.scroll_into_view_if_needed()
    cell.click()
    editor = cell.locator(".okno-cell-form [name=value]")
    expect(editor).to_be_visible()
    editor.fill("")
    Keyboard(page).text("Поздняя строка")
    editor.press("Enter")
    expect(page.locator(f"#cell-{late.pk}-name")).to_have_text("Поздняя строка")
    wait_until(lambda: Step.objects.get(pk=late.pk).name == "Поздняя строка", message="the late row's edit saved")
    # the rows after it are still there (the save answered with its row, not the table)
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(SIZE)
