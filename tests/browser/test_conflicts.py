"""Conflicting plans in a real browser (changecalendar.extension_conflicts): the author moves the window in the
header and the plan check shows the other plan at once; an approver sees it beside the sign-off matrix.
"""

import datetime
import zoneinfo

import pytest
from playwright.sync_api import expect

from changeplans.choices import PlanStatus
from changeplans.models import Plan, PlanService
from tests.approvals.factories import plan_with_matrix
from tests.browser.conftest import login, shot
from tests.factories import PlanFactory, ServiceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")


@pytest.fixture
def two_plans(transactional_db):
    """The author's draft on 20.03 and another author's plan on the same service the next evening."""
    service = ServiceFactory(name="ib.example.org", display_name="Интернет-банк")
    draft, author, approvers, _duty = plan_with_matrix(1)
    Plan.objects.filter(pk=draft.pk).update(title="Обновление СУБД")
    PlanService.objects.create(plan=draft, service=service)
    other = PlanFactory(
        title="Перенос стойки",
        author=UserFactory(username="other", roles=["author"]),
        window_start=datetime.datetime(2025, 3, 21, 20, 0, tzinfo=NSK),
        window_end=datetime.datetime(2025, 3, 21, 22, 0, tzinfo=NSK),
    )
    PlanService.objects.create(plan=other, service=service)
    return draft, author, approvers[0], other


def test_moving_the_window_onto_another_plan_shows_the_conflict(page, two_plans):
    draft, author, _approver, other = two_plans
    login(page, author)
    page.goto(f"/plans/{draft.pk}/")
    expect(page.locator("#lint-panel")).to_be_visible()
    # The calendar's part of the panel comes after the page (a placeholder htmx fills): wait for it, then none.
    expect(page.locator('#calendar-checks[data-loaded="1"]')).to_have_count(1)
    expect(page.locator("#conflicts-check")).to_have_count(0)

    page.locator("#plan-header").get_by_role("button", name="Изменить шапку").click()
    page.fill("#id_window_start", "2025-03-21T21:00")
    page.fill("#id_window_end", "2025-03-21T23:30")
    page.locator("#plan-header button[type=submit]").click()
    expect(page.locator("#plan-header")).to_contain_text("21:00 21.03.2025")

    conflict = page.locator("#conflicts-check li")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("Перенос стойки")
    expect(conflict).to_contain_text("общий сервис Интернет-банк")
    expect(conflict).to_contain_text("20:00")  # the other plan's window
    shot(page.locator("#lint-panel"), "conflicts-check.png")

    # The other plan's page names this one back.
    with page.expect_navigation():
        conflict.get_by_role("link").click()
    assert page.url.endswith(f"/plans/{other.pk}/")
    expect(page.locator("#conflicts-check li")).to_contain_text("Обновление СУБД")

    # Moving the window away again clears it.
    page.goto(f"/plans/{draft.pk}/")
    page.locator("#plan-header").get_by_role("button", name="Изменить шапку").click()
    page.fill("#id_window_start", "2025-03-21T22:00")
    page.fill("#id_window_end", "2025-03-21T23:30")
    page.locator("#plan-header button[type=submit]").click()
    expect(page.locator("#plan-header")).to_contain_text("22:00 21.03.2025")
    expect(page.locator('#calendar-checks[data-loaded="1"]')).to_have_count(1)
    expect(page.locator("#conflicts-check")).to_have_count(0)


@pytest.mark.parametrize("width", [1400, 390])
def test_an_approver_sees_the_conflict_beside_the_matrix(new_context, two_plans, width):
    draft, _author, approver, other = two_plans
    Plan.objects.filter(pk=draft.pk).update(
        status=PlanStatus.IN_REVIEW,
        window_start=datetime.datetime(2025, 3, 21, 21, 0, tzinfo=NSK),
        window_end=datetime.datetime(2025, 3, 21, 23, 0, tzinfo=NSK),
    )
    page = new_context(viewport={"width": width, "height": 900}).new_page()
    login(page, approver)
    page.goto(f"/plans/{draft.pk}/")
    matrix, side = page.locator("#approval-matrix"), page.locator("#conflicts-side")
    expect(matrix).to_be_visible()
    expect(side).to_contain_text("Перенос стойки")
    # Both calendar parts have come (each moves what is below it when it does): then the layout holds still.
    expect(page.locator('#calendar-checks[data-loaded="1"], #calendar-side[data-loaded="1"]')).to_have_count(2)
    expect(side.get_by_role("link", name="Перенос стойки")).to_have_attribute("href", f"/plans/{other.pk}/")
    # Right under the matrix, in the same column.
    box, matrix_box = side.bounding_box(), matrix.bounding_box()
    assert (
        box
        and matrix_box
        and abs(box["x"] - matrix_box["x"]) < 2
        and box["y"] >= matrix_box["y"] + matrix_box["height"]
    )
    assert box["x"] + box["width"] <= width  # nothing runs off a phone's screen
    shot(side, f"conflicts-side-{width}.png")
