"""The board in Chromium, item 14 of issue 15: a rollback tick logs no htmx error, toasts do not pile up."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import Plan, Step
from execution import transitions
from tests.browser.conftest import login, shot, slow_network
from tests.factories import PlanFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
MAX_TOASTS = 3


def rollback_plan(author, duty, other, actions=6):
    """A plan in rollback mode: step 1 failed with `actions` rollback actions to tick."""
    start = (timezone.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    plan = PlanFactory(author=author, window_start=start, window_end=start + timedelta(hours=3))
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    local = start.astimezone(plan.tz)
    step = StepFactory(
        plan=plan, position=1, name="Обновление ядра", planned_date=local.date(), planned_time=local.time()
    )
    check = StepFactory(
        plan=plan, position=2, name="Проверка", planned_date=local.date(), planned_time=local.time(), duration_max=20
    )
    items = [RollbackActionFactory(step=step, text=f"Действие отката {n}") for n in range(1, actions + 1)]
    transitions.start_plan(plan.pk, actor=duty)
    transitions.tick(step.pk, "start", actor=duty, expected_status=StepStatus.PENDING)
    transitions.tick(check.pk, "start", actor=other, expected_status=StepStatus.PENDING)
    transitions.tick(step.pk, "failed", actor=duty, comment="Не загрузился", expected_status=StepStatus.IN_PROGRESS)
    transitions.enter_rollback(plan.pk, actor=duty, reason="Откатываем")
    return plan, step, items


def console_errors(page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def test_rollback_ticks_log_nothing_and_toasts_stay_few(page, transactional_db, author):
    duty = UserFactory(username="duty14", roles=["duty_officer"])
    other = UserFactory(username="other14", roles=["duty_officer"])
    plan, step, actions = rollback_plan(author, duty, other)
    errors = console_errors(page)
    login(page, duty)
    page.goto(f"/plans/{plan.pk}/board/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    # When the duty officer ticks the rollback actions one by one
    for action in actions[:2]:
        row = page.locator(f"#rollback-action-{action.pk}")
        row.locator("button[value=start]").click()
        expect(row).to_have_attribute("data-status", "in_progress")
        row.locator("button[value=done]").click()
        expect(row).to_have_attribute("data-status", "done")
    # And, on a slow link, starts the next ones without waiting for each answer (the first answer
    # re-renders the card that holds the other clicks on their way)
    slow_network(page, 400)
    rest = actions[2:]
    for action in rest:
        page.locator(f"#rollback-action-{action.pk} button[value=start]").click()
    for action in rest:
        expect(page.locator(f"#rollback-action-{action.pk}")).to_have_attribute("data-status", "in_progress")
    for action in rest:
        row = page.locator(f"#rollback-action-{action.pk}")
        row.locator("button[value=done]").click()
        expect(row).to_have_attribute("data-status", "done")
    expect(page.locator(f"#board-step-{step.pk}")).to_have_attribute("data-status", "rolled_back")
    # And someone else's change arrives live, with its toast
    second = Step.objects.get(plan=plan, position=2)
    transitions.tick(second.pk, "done", actor=other, expected_status=StepStatus.IN_PROGRESS)
    expect(page.locator(f"#board-step-{second.pk}")).to_have_attribute("data-status", "done")
    expect(page.locator("#okno-toasts .toast, #board-toasts .toast").last).to_contain_text("Проверка")

    # Then no htmx error was logged on the way
    assert not [e for e in errors if "htmx" in e.lower() or "oob" in e.lower()], errors
    assert page.locator("#board-pending").is_hidden()
    # And at most a few toasts are shown, docked in the bar above the board: none covers a part of it
    page.evaluate("window.scrollTo(0, 0)")
    rects = page.evaluate(RECTS)
    assert 1 <= len(rects["toasts"]) <= MAX_TOASTS, f"{len(rects['toasts'])} toasts on the page"
    shot(page, "board-toasts.png")
    for name, part in rects["parts"].items():
        for box in rects["toasts"]:
            assert not overlap(box, part), f"a toast covers {name}: {box} {part}"
    # The bar with the toasts stays at the top while the board scrolls
    page.mouse.wheel(0, 600)
    page.wait_for_function("window.scrollY > 0")
    top = page.evaluate("document.getElementById('board-toasts').getBoundingClientRect().top")
    assert 0 <= top < 60, top


RECTS = """() => {
  const rect = (el) => {
    const r = el.getBoundingClientRect();
    return {x: r.x, y: r.y, width: r.width, height: r.height};
  };
  const toasts = [...document.querySelectorAll("#okno-toasts .toast, #board-toasts .toast")]
    .filter((el) => el.offsetParent !== null).map(rect);
  const parts = {};
  for (const id of ["board-header", "board-timeline", "board-steps"]) parts[id] = rect(document.getElementById(id));
  return {toasts, parts};
}"""


def overlap(box, part):
    return (
        box["x"] < part["x"] + part["width"]
        and part["x"] < box["x"] + box["width"]
        and box["y"] < part["y"] + part["height"]
        and part["y"] < box["y"] + box["height"]
    )


DETACHED_TICK = """([url, token]) => {
  // A tick form outside the board, aimed at its steps, that leaves the page while its request is on its way.
  const form = document.createElement("form");
  form.setAttribute("hx-post", url);
  form.setAttribute("hx-target", "#board-steps");
  form.setAttribute("hx-swap", "outerHTML");
  form.innerHTML = `<input type="hidden" name="csrfmiddlewaretoken" value="${token}">`
    + `<input type="hidden" name="expected_status" value="pending"><button name="action" value="start">go</button>`;
  document.body.appendChild(form);
  htmx.process(form);
  document.body.addEventListener("htmx:beforeSend", () => form.remove(), {once: true});
  form.querySelector("button").click();
}"""


def test_an_answer_whose_form_left_the_page_is_shown_by_the_board(page, transactional_db, author):
    duty = UserFactory(username="duty14b", roles=["duty_officer"])
    other = UserFactory(username="other14b", roles=["duty_officer"])
    plan, step, actions = rollback_plan(author, duty, other, actions=2)
    errors = console_errors(page)
    login(page, duty)
    page.goto(f"/plans/{plan.pk}/board/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    steps_section = page.evaluate_handle("document.getElementById('board-steps')")
    slow_network(page, 300)

    # When a rollback tick is sent from a form that leaves the page before its answer comes
    token = page.locator("#board input[name=csrfmiddlewaretoken]").first.input_value()
    page.evaluate(DETACHED_TICK, [reverse("execution:board_tick_rollback", args=[actions[0].pk]), token])

    # Then the board shows the answer in its parts, as for its own forms, and htmx logs no error
    expect(page.locator(f"#rollback-action-{actions[0].pk}")).to_have_attribute("data-status", "in_progress")
    assert page.evaluate("(el) => el.isConnected", steps_section), "the steps section was swapped by htmx itself"
    assert not [e for e in errors if "htmx" in e.lower() or "oob" in e.lower()], errors
