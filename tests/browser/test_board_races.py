"""Board refreshes racing the user's own clicks (issue 11, finding 10: "the board loses clicks").

A live refresh (someone else's change → GET ?part=steps) can land at any moment between two actions of
the user, and on a slow network answers land in any order. These tests make each race certain instead
of likely: Playwright's route() holds a request until the test lets it go. The live stream is cut
(as on a flaky network) so that only the refreshes the test fires happen.
"""

import pytest
from django.test import Client
from playwright.sync_api import expect

from changeplans.choices import StepStatus
from changeplans.models import Step
from execution import transitions
from tests.browser.conftest import login
from tests.browser.test_board import card, seed_like_plan
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

SOMEONE_ELSES_CHANGE = "document.dispatchEvent(new CustomEvent('okno:plan-event', {detail: {id: 0}}))"
# Resolves with the outcome of the board's next refresh answer (board.js: okno:board-refresh).
NEXT_REFRESH = """() => { window.__oknoNextRefresh = Promise.race([
    new Promise(r => document.addEventListener('okno:board-refresh', e => r(e.detail.outcome), {once: true})),
    new Promise(r => setTimeout(() => r('no okno:board-refresh event'), 10000))]); }"""


class Held:
    """Requests matching a route, held until the test releases them."""

    def __init__(self, page, pattern, method=None):
        self.page, self.routes, self.method = page, [], method
        page.route(pattern, self._hold)

    def _hold(self, route):
        if self.method and route.request.method != self.method:
            route.continue_()
            return
        self.routes.append(route)

    def wait(self, count=1):
        """The count-th held request. Playwright runs the route handler while it dispatches the page's
        events, so poll for the condition (as expect() does), up to a deadline."""
        for _ in range(500):
            if len(self.routes) >= count:
                return self.routes[count - 1]
            self.page.wait_for_timeout(20)
        raise AssertionError(f"the board sent no request to hold (held {len(self.routes)} of {count})")


@pytest.fixture
def duty(transactional_db):
    return UserFactory(username="duty", last_name="Иванов", first_name="П.С.", roles=["duty_officer"])


@pytest.fixture
def started(author, page, duty):
    """The duty officer's board of a started plan, step 1 in progress, with the live stream cut."""
    plan, cni, action = seed_like_plan(author)
    first = Step.objects.get(plan=plan, position=1)
    second = Step.objects.get(plan=plan, position=2)
    transitions.start_plan(plan.pk, actor=duty)
    transitions.tick(first.pk, "start", actor=duty, expected_status=StepStatus.PENDING)
    page.route("**/events/**", lambda route: route.abort())  # a flaky network: no live stream
    login(page, duty)
    page.goto(f"/plans/{plan.pk}/board/")
    expect(card(page, first)).to_have_attribute("data-status", "in_progress")
    return plan, first, second


def test_the_answer_to_a_click_is_shown_when_a_refresh_landed_while_it_was_on_its_way(page, started):
    plan, first, second = started
    operator = UserFactory(username="operator", roles=["operator"])
    # Given the duty officer who has written why step 1 failed
    card(page, first).locator("summary.text-danger").click()
    card(page, first).locator("textarea[name=comment]").fill("Поды calico-node в CrashLoopBackOff")
    # When they press «Неудача» and the request is slow
    post = Held(page, "**/board/steps/*/tick/", method="POST")
    card(page, first).locator("button[value=failed]").click()
    held = post.wait()
    # And meanwhile someone else's change refreshes the board
    transitions.tick(second.pk, "start", actor=operator, expected_status=StepStatus.PENDING)
    page.evaluate(SOMEONE_ELSES_CHANGE)
    expect(card(page, second)).to_have_attribute("data-status", "in_progress")
    # And then the answer to the click arrives
    held.continue_()
    # Then the step shows as failed, with the reason
    expect(card(page, first)).to_have_attribute("data-status", "failed")
    expect(card(page, first).locator(".okno-step-comment")).to_contain_text("CrashLoopBackOff")


def test_typing_goes_on_in_an_open_form_while_a_refresh_lands(page, started):
    plan, first, second = started
    operator = UserFactory(username="operator", roles=["operator"])
    # Given the duty officer typing why step 1 failed
    card(page, first).locator("summary.text-danger").click()
    reason = card(page, first).locator("textarea[name=comment]")
    reason.click()
    page.keyboard.type("Поды calico-node")
    # When someone else's change refreshes the board
    transitions.tick(second.pk, "start", actor=operator, expected_status=StepStatus.PENDING)
    page.evaluate(SOMEONE_ELSES_CHANGE)
    expect(card(page, second)).to_have_attribute("data-status", "in_progress")
    # Then the keys pressed after it still go into the open form, and the click after them lands
    page.keyboard.type(" в CrashLoopBackOff")
    expect(reason).to_have_value("Поды calico-node в CrashLoopBackOff")
    expect(reason).to_be_focused()
    card(page, first).locator("button[value=failed]").click()
    expect(card(page, first)).to_have_attribute("data-status", "failed")


def test_the_finish_form_opened_by_the_user_stays_open_through_refreshes(page, started, duty):
    plan, first, second = started
    operator = UserFactory(username="operator", roles=["operator"])
    # Given the duty officer who opened the finish form and typed a comment, then looked elsewhere
    page.locator("#finish-details summary").click()
    page.locator("#finish-details input[name=comment]").fill("Работы перенесены")
    page.locator("#board-header h1").click()
    # When two refreshes land in a row
    for step in (second, first):
        transitions.tick(step.pk, "done" if step == first else "start", actor=operator, expected_status=None)
        page.evaluate(NEXT_REFRESH)
        page.evaluate(SOMEONE_ELSES_CHANGE)
        assert page.evaluate("window.__oknoNextRefresh") in ("applied", "partial")
    expect(card(page, first)).to_have_attribute("data-status", "done")
    # Then the form is still open with the comment, and its button is there to press
    expect(page.locator("#finish-details input[name=comment]")).to_have_value("Работы перенесены")
    expect(page.locator("#finish-details button[value=failed]")).to_be_visible()
    # And the board offers to show everything now; doing so keeps the open form and the comment
    expect(page.locator("#board-pending")).to_be_visible()
    page.evaluate(NEXT_REFRESH)
    page.locator("#board-pending").click()
    assert page.evaluate("window.__oknoNextRefresh") == "applied"
    expect(page.locator("#board-pending")).to_be_hidden()
    expect(page.locator("#finish-details input[name=comment]")).to_have_value("Работы перенесены")
    expect(page.locator("#finish-details button[value=failed]")).to_be_visible()


def test_a_refresh_sent_before_a_click_never_replaces_the_clicks_answer(page, started, duty):
    """Even when it carries a higher event id: another person's change can commit (and be counted) while
    the user's own is still being written, so the id alone does not prove the render is newer."""
    plan, first, second = started
    # Given a refresh on its way when the user clicks
    refresh = Held(page, "**/board/?part=steps")
    page.evaluate(SOMEONE_ELSES_CHANGE)
    held = refresh.wait()
    client = Client()
    client.force_login(duty)
    rendered = client.get(f"/plans/{plan.pk}/board/?part=steps").content.decode()  # step 1 still in progress
    stale = rendered.replace('data-last-event="', 'data-last-event="9999999', 1)
    card(page, first).locator("button[value=done]").click()
    expect(card(page, first)).to_have_attribute("data-status", "done")
    # When the refresh's answer lands after the click's answer
    page.evaluate(NEXT_REFRESH)
    held.fulfill(status=200, content_type="text/html; charset=utf-8", body=stale)
    outcome = page.evaluate("window.__oknoNextRefresh")
    # Then it is not shown: the step stays done
    assert outcome == "stale"
    expect(card(page, first)).to_have_attribute("data-status", "done")
