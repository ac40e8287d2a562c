"""A save updates the plan check panel by the findings that changed (changeplans/lint_panel.py, issue 16): in
Chromium, after each save the panel reads exactly as the page freshly loaded shows it, with no htmx error."""

import datetime

import pytest
from playwright.sync_api import expect

from changeplans.models import Step
from tests.browser.conftest import login
from tests.factories import PlanFactory, RiskFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

UNSETTLED = ".htmx-settling, .htmx-swapping, .htmx-added, .htmx-request"
PANEL = """() => ({
  badge: document.getElementById("lint-count").textContent.trim(),
  summary: document.querySelector("#lint-panel .card-body > .mb-2").textContent.replace(/\\s+/g, " ").trim(),
  items: [...document.querySelectorAll("#lint-panel ul.okno-lint > li")].map(li => li.outerHTML),
})"""


@pytest.fixture
def author_user(transactional_db):
    return UserFactory(username="panel", first_name="Пётр", last_name="Панелев", roles=["author"])


@pytest.fixture
def plan(author_user):
    """Ten 10-minute steps every 10 minutes from 20:00, each with a risk: no slack after any of them."""
    plan = PlanFactory(author=author_user, title="Проверка по частям")
    for position in range(1, 11):
        step = StepFactory(
            plan=plan,
            position=position,
            name=f"Шаг {position}",
            planned_time=datetime.time(20 + (position - 1) // 6, (position - 1) % 6 * 10),
            duration_text="10 мин",
            duration_min=10,
            duration_max=10,
        )
        RiskFactory(step=step, number=1, mitigation="Проверить")
    return plan


def save(page, step, field, value):
    cell = page.locator(f"#cell-{step.pk}-{field}")
    cell.click()
    editor = cell.locator(".okno-cell-form [name=value]")
    editor.fill(value)
    editor.press("Enter")
    expect(cell.locator("form")).to_have_count(0)
    expect(cell).to_have_text(value)
    # htmx settles swapped parts after a tick (their classes come then): read the panel once all have settled
    page.wait_for_function(f"() => !document.querySelector('{UNSETTLED}')")


def test_the_panel_after_each_save_is_the_panel_of_the_page(page, plan, author_user):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    steps = list(Step.objects.filter(plan=plan).order_by("position"))
    login(page, author_user)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#lint-count")).to_be_visible()

    edits = [
        (steps[4], "duration_text", "5 мин"),  # its finding goes (slack now)
        (steps[4], "duration_text", "15 мин"),  # back, and the next step now starts before it ends: one more
        (steps[0], "executor", ""),  # a finding of the first step first in the list (inserted at the top)
        (steps[9], "planned_time", "23:30"),  # the end and the critical path move (the summary line)
        (steps[9], "planned_time", "21:30"),
        (steps[2], "duration_text", "10 мин"),  # nothing changes: no panel part at all
    ]
    for step, field, value in edits:
        page.evaluate('document.getElementById("lint-panel").__okno_kept = true')  # gone if the panel is replaced
        save(page, step, field, value)
        shown = page.evaluate(PANEL)
        assert page.evaluate('document.getElementById("lint-panel").__okno_kept === true'), "the panel came whole"
        page.reload()
        expect(page.locator("#lint-count")).to_be_visible()
        fresh = page.evaluate(PANEL)
        assert fresh == shown, (
            field,
            value,
            [(a, b) for a, b in zip(fresh["items"], shown["items"], strict=False) if a != b],
            len(fresh["items"]),
            len(shown["items"]),
        )
    assert errors == []
