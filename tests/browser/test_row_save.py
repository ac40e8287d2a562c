"""A save swaps the rows it changed, not the table (issue 13): other rows stay the same DOM elements, a row
re-rendered because its derived start moved keeps an editor open in it with what was typed.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from changeplans.models import Step
from tests.browser.conftest import login
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def author_user(transactional_db):
    return UserFactory(username="rows", first_name="Роза", last_name="Строкова", roles=["author"])


@pytest.fixture
def plan(author_user):
    """Step 1 at 20:00 for 30 min; step 2 without a time of its own (follows step 1); step 3 at 22:00."""
    plan = PlanFactory(author=author_user, title="Строки по отдельности")
    StepFactory(
        plan=plan,
        position=1,
        name="Первый",
        planned_time=datetime.time(20, 0),
        duration_text="30 мин",
        duration_min=30,
        duration_max=30,
    )
    StepFactory(plan=plan, position=2, name="Второй", planned_time=None, planned_date=None)
    StepFactory(plan=plan, position=3, name="Третий", planned_time=datetime.time(22, 0))
    return plan


def settled(cell):
    """Click the cell; its editor, once htmx has settled it (the keyboard grid finishes opening it then)."""
    cell.click()
    expect(cell.locator(".okno-cell-form [name=value]")).to_be_visible()
    expect(cell).not_to_have_class(re.compile(r"\bhtmx-settling\b"))
    return cell.locator(".okno-cell-form [name=value]")


def test_a_save_swaps_only_the_rows_it_changes_and_keeps_an_editor_open_in_them(page, plan, author_user):
    first, second, third = Step.objects.filter(plan=plan).order_by("position")
    login(page, author_user)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#steps-body")).to_be_visible()
    expect(page.locator(f"#cell-{second.pk}-planned_time")).to_have_text("≈20:30")
    # Markers on the DOM elements: a row that is replaced loses its marker.
    page.evaluate(
        "ids => ids.forEach(id => { document.getElementById('step-' + id).__okno_kept = true; })",
        [first.pk, second.pk, third.pk],
    )
    # An editor open on step 2's name with text not saved yet.
    typed = settled(page.locator(f"#cell-{second.pk}-name"))
    typed.fill("Второй, ещё не сохранён")

    # Step 1 takes an hour: step 2 now starts at 21:00 (its row comes out of band), step 3 keeps 22:00.
    duration = settled(page.locator(f"#cell-{first.pk}-duration_text"))
    duration.fill("1 ч")
    duration.press("Enter")

    expect(page.locator(f"#cell-{first.pk}-duration_text")).to_have_text("1 ч")
    expect(page.locator(f"#cell-{second.pk}-planned_time")).to_have_text("≈21:00")
    kept = page.evaluate(
        "ids => ids.map(id => document.getElementById('step-' + id).__okno_kept === true)",
        [first.pk, second.pk, third.pk],
    )
    assert kept == [False, False, True], "only the saved row and the row whose start moved are swapped"
    # The editor in the re-rendered row is still open with its text, and saves.
    editor = page.locator(f"#cell-{second.pk}-name .okno-cell-form [name=value]")
    expect(editor).to_have_value("Второй, ещё не сохранён")
    expect(page.locator("#history tbody tr")).to_have_count(1)  # the save's entry, appended
    editor.press("Enter")
    expect(page.locator(f"#cell-{second.pk}-name")).to_have_text("Второй, ещё не сохранён")
    expect(page.locator(".okno-conflict")).to_have_count(0)
    expect(page.locator("#history tbody tr")).to_have_count(2)
    # One risks panel row under each step: a row swap neither drops nor doubles it.
    expect(page.locator("#steps-body tr.okno-risks-row")).to_have_count(3)
    second.refresh_from_db()
    assert second.name == "Второй, ещё не сохранён"
