"""The keyboard grid (static/okno/grid.js) when the person chooses another cell while something is on its way.

Keys typed while a save, an editor or a risk panel is on its way wait in the grid's queue and are replayed
once it has settled. A cell chosen meanwhile (a click, the focus) waits there too, in its place among the
keys: the keys typed after it act on that cell, and the answer's move does not take the selection back.
These tests make each ordering certain instead of likely: Playwright's route() holds a request until the test
lets it go, and htmx's settle (a timer after the swap) is held until the test releases it.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from changeplans.models import Step
from tests.browser.keyboard import Keyboard
from tests.browser.test_board_races import Held
from tests.browser.test_grid_keyboard import after, cell, editor, expect_selected, open_plan, steps_of
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

# htmx settles a swap in a timer (htmx-2.js: swap → setTimeout(doSettle, settleDelay)). These hold the
# settles of the swaps from now on until the test releases them: keys can then come between a swap and its
# settle, as on a loaded machine (the CI flake of test_typing_on_the_risk_and_rollback_cells_fills_their_panel).
HOLD_SETTLES = """() => {
    const later = window.setTimeout.bind(window);
    window.__oknoSettles = [];
    window.setTimeout = (fn, ms, ...args) =>
        ms === 4321 ? window.__oknoSettles.push(() => fn(...args)) : later(fn, ms, ...args);
    htmx.config.defaultSettleDelay = 4321;
}"""
SETTLE_HELD = "() => window.__oknoSettles.length > 0"
RELEASE_SETTLES = """() => {
    htmx.config.defaultSettleDelay = 20;
    window.__oknoSettles.splice(0).forEach(settle => settle());
}"""


@pytest.fixture(autouse=True)
def patient(new_context):
    expect.set_options(timeout=30_000)


@pytest.fixture
def author(transactional_db):
    return UserFactory(username="grid-author", first_name="Анна", last_name="Клавишина", roles=["author"])


@pytest.fixture
def plan3(author):
    """A draft with three steps at 20:00, 20:05 and 20:10."""
    plan = PlanFactory(author=author, title="Клавиатура")
    for position, minute in enumerate((0, 5, 10), start=1):
        StepFactory(plan=plan, position=position, name=f"Шаг {position}", planned_time=datetime.time(20, minute))
    return plan


def test_a_cell_chosen_between_a_panel_saves_swap_and_its_settle_gets_the_keys_typed_on_it(page, author, plan3):
    _, s2, _ = steps_of(plan3)
    Step.objects.filter(pk=s2.pk).update(no_rollback_needed=False)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s2, "rollback").focus()
    kb.text("нет")
    expect(page.locator(f"#risks-{s2.pk} .okno-quick")).to_be_focused()  # the panel has settled
    # Ctrl+Enter saves the panel; its answer is swapped (the panel closes, the cell shows «нет»), not settled yet
    page.evaluate(HOLD_SETTLES)
    kb.press("Control+Enter")
    page.wait_for_function(SETTLE_HELD)
    expect(cell(page, s2, "rollback")).to_have_text("нет")
    expect_selected(page, s2, "rollback")
    # The person goes on on the risks cell before the settle
    cell(page, s2, "risks").focus()
    kb.text("нет")
    kb.press("Tab")
    page.evaluate(RELEASE_SETTLES)
    # The keys were the risks cell's: no risk, and Tab moved right from it (not from the rollback cell)
    expect_selected(page, s2, after(page, "risks"))
    expect(page.locator(".okno-risks-form")).to_have_count(0)
    second = Step.objects.get(pk=s2.pk)
    assert second.no_rollback_needed and not second.rollback_actions.exists() and not second.risks.exists()


def test_a_cell_chosen_while_a_save_is_on_its_way_gets_the_keys_typed_on_it(page, author, plan3):
    s1, s2, s3 = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    save = Held(page, f"**/plans/steps/{s1.pk}/cell/name/", method="POST")
    cell(page, s1, "name").focus()
    kb.text("Новое имя")
    kb.press("Enter")  # saves, and would move down to step 2
    held = save.wait()
    cell(page, s3, "duration_text").focus()  # meanwhile the person chooses another cell and types on it
    kb.text("15 мин")
    kb.press("Tab")
    held.continue_()
    expect(cell(page, s1, "name")).to_have_text("Новое имя")
    expect(cell(page, s3, "duration_text")).to_have_text("15 мин")
    expect_selected(page, s3, after(page, "duration_text"))
    assert Step.objects.get(pk=s2.pk).name == "Шаг 2"
    assert Step.objects.get(pk=s3.pk).duration_text == "15 мин"


def test_keys_typed_before_the_choice_stay_where_they_were_typed(page, author, plan3):
    s1, s2, s3 = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    save = Held(page, f"**/plans/steps/{s1.pk}/cell/name/", method="POST")
    cell(page, s1, "name").focus()
    kb.text("Новое имя")
    kb.press("Enter")
    held = save.wait()
    kb.text("Шаг")  # meant for step 2's name, where Enter moves
    cell(page, s3, "duration_text").focus()
    kb.text("15 мин")
    kb.press("Tab")
    held.continue_()
    expect_selected(page, s3, after(page, "duration_text"))
    expect(cell(page, s3, "duration_text")).to_have_text("15 мин")
    expect(editor(page, s2, "name")).to_have_value("Шаг")  # its editor stays open, as after a click elsewhere
    assert Step.objects.get(pk=s2.pk).name == "Шаг 2"
    assert Step.objects.get(pk=s3.pk).duration_text == "15 мин"


def test_a_cell_chosen_while_a_risk_panel_is_on_its_way_gets_the_keys_typed_on_it(page, author, plan3):
    s1, s2, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    panel = Held(page, re.compile(rf"/plans/steps/{s1.pk}/risks/"), method="GET")
    cell(page, s1, "risks").focus()
    kb.text("нет")  # opens the panel with what is typed
    held = panel.wait()
    cell(page, s2, "name").focus()
    kb.text("X")
    held.continue_()
    expect(editor(page, s2, "name")).to_have_value("X")
    expect(editor(page, s2, "name")).to_be_focused()
    expect(page.locator(f"#risks-{s1.pk} .okno-quick")).to_have_value("нет")  # the panel stays, unsaved
    assert not Step.objects.get(pk=s1.pk).risks.exists()
