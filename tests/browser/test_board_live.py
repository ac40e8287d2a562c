"""Two people on the execution board: the duty officer (A) clicks "Начать" on a step, the operator (B)
sees the step change on their own board without reloading (live.js → okno:plan-event → board refresh)."""

import time

import pytest
from playwright.sync_api import expect

from changeplans.models import PlanEvent, Step
from execution import transitions
from tests.browser.conftest import login
from tests.browser.test_board import card, seed_like_plan
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
# How long B's board may take to show A's change before the test fails: it bounds a failure (a change that
# never arrives), it is not the speed the board promises (bench/live.py measures that).
LIVE_DEADLINE_MS = 15_000


def board(new_context, user, plan):
    page = new_context().new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, user)
    page.goto(f"/plans/{plan.pk}/board/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    return page, errors


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "polling"])
def test_a_tick_on_a_board_reaches_the_other_board_without_reload(
    new_context, transactional_db, author, settings, with_redis
):
    if not with_redis:
        settings.REDIS_URL = ""  # the embedded default: the stream polls the history table
    duty = UserFactory(username="duty", last_name="Иванов", first_name="П.С.", roles=["duty_officer"])
    operator = UserFactory(username="operator", last_name="Петров", first_name="С.А.", roles=["operator"])
    plan, _cni, _action = seed_like_plan(author)
    first = Step.objects.get(plan=plan, position=1)
    page_a, errors_a = board(new_context, duty, plan)
    page_b, errors_b = board(new_context, operator, plan)
    page_b.evaluate("window.__okno_marker = 1")  # gone if B's page reloads

    # When A starts the work and then starts step 1 on A's board
    page_a.locator("#start-plan").click()
    expect(page_b.locator("#board-plan-status .okno-status")).to_have_attribute(
        "data-status", "in_progress", timeout=LIVE_DEADLINE_MS
    )
    clicked = time.monotonic()
    card(page_a, first).locator("button[value=start]").click()

    # Then B's board shows step 1 in progress, who started it, and its timer, without a reload
    expect(card(page_b, first)).to_have_attribute("data-status", "in_progress", timeout=LIVE_DEADLINE_MS)
    seen = time.monotonic()
    expect(card(page_b, first)).to_contain_text("Иванов П.С.")
    expect(card(page_b, first).locator(".okno-timer")).to_contain_text(":")
    assert page_b.evaluate("window.__okno_marker") == 1
    started = PlanEvent.objects.filter(plan=plan, object_type="step", object_id=first.pk, to_status="in_progress").get()
    assert started.actor == duty
    # A measurement for the log, not an assertion: the speed is bench/live.py's question (docs/BENCHMARKS.md).
    print(
        f"\n[board live, {'Redis' if with_redis else 'polling'}] A clicked 'Начать' → B's board showed it after "
        f"{seen - clicked:.2f} s (click, POST, commit, stream, board refresh)"
    )
    assert errors_a == errors_b == []


def test_a_later_change_in_the_users_own_name_still_refreshes_their_board(new_context, transactional_db, author):
    """An automation run ends a moment after the operator pressed ▶, recorded by the worker in the operator's
    name: their board must show it. Only the events its own POST's answer already showed are skipped."""
    operator = UserFactory(
        username="operator", last_name="Петров", first_name="С.А.", roles=["duty_officer", "operator"]
    )
    plan, _cni, _action = seed_like_plan(author)
    first = Step.objects.get(plan=plan, position=1)
    page, errors = board(new_context, operator, plan)
    page.evaluate("window.__okno_marker = 1")
    page.locator("#start-plan").click()
    expect(page.locator("#board-plan-status .okno-status")).to_have_attribute(
        "data-status", "in_progress", timeout=LIVE_DEADLINE_MS
    )
    card(page, first).locator("button[value=start]").click()
    expect(card(page, first)).to_have_attribute("data-status", "in_progress", timeout=LIVE_DEADLINE_MS)

    # Like the automation worker, in another thread, right after the user's own click:
    transitions.tick(first.pk, "done", actor=operator, comment="Автоматизация: код возврата 0.")

    expect(card(page, first)).to_have_attribute("data-status", "done", timeout=LIVE_DEADLINE_MS)
    assert page.evaluate("window.__okno_marker") == 1
    assert errors == []


def test_a_refresh_answer_older_than_the_board_shown_is_not_swapped_in(new_context, transactional_db, author):
    """Answers may land out of order (a refresh started before the user's POST committed): the board
    keeps the newer render instead of going back to the step's old status."""
    duty = UserFactory(username="duty", last_name="Иванов", first_name="П.С.", roles=["duty_officer"])
    plan, _cni, _action = seed_like_plan(author)
    first = Step.objects.get(plan=plan, position=1)
    page, errors = board(new_context, duty, plan)
    page.locator("#start-plan").click()
    expect(page.locator("#board-plan-status .okno-status")).to_have_attribute(
        "data-status", "in_progress", timeout=LIVE_DEADLINE_MS
    )
    stale = page.evaluate("fetch(location.pathname + '?part=steps').then(r => r.text())")
    card(page, first).locator("button[value=start]").click()
    expect(card(page, first)).to_have_attribute("data-status", "in_progress", timeout=LIVE_DEADLINE_MS)
    served = []

    def old_answer(route):
        served.append(route.request.url)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=stale)

    page.route("**/board/?part=steps", old_answer)
    page.evaluate("""() => {
        window.__outcomes = [];
        document.addEventListener('okno:board-refresh', e => window.__outcomes.push(e.detail.outcome));
        document.dispatchEvent(new CustomEvent('okno:plan-event', {detail: {id: 0}}));  // someone else's change
    }""")
    # Then the old answer (only it can be older) is dropped when it lands
    page.wait_for_function("() => window.__outcomes.includes('older')")
    assert served, "the board should have asked for a refresh"
    expect(card(page, first)).to_have_attribute("data-status", "in_progress")
    assert errors == []
