"""People pickers (issue 13): the curator chosen by typing a surname, an executor chosen from users from the
keyboard, and an executor typed as text offered as the user it names («Это пользователь Иванов П.С.?»)."""

import pytest
from playwright.sync_api import expect

from changeplans.models import Party, Plan, Step
from tests.browser.conftest import login, shot
from tests.factories import PartyFactory, PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def author(transactional_db):
    return UserFactory(username="editor", first_name="А.И.", last_name="Хасанов", roles=["author"])


@pytest.fixture
def colleagues(transactional_db):
    return {
        "kuzmina": UserFactory(username="kuzmina", first_name="О.В.", last_name="Кузьмина", roles=["approver"]),
        "kuznetsov": UserFactory(username="kuznetsov", first_name="Д.А.", last_name="Кузнецов", roles=["approver"]),
        "ivanov": UserFactory(username="ivanov", first_name="Пётр Сергеевич", last_name="Иванов", roles=["approver"]),
    }


def test_the_curator_is_chosen_by_typing_a_surname(page, author, colleagues):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    page.locator("#plan-header").get_by_role("button", name="Изменить шапку").click()
    curator = page.locator("#id_curator")
    expect(curator).to_have_attribute("role", "combobox")

    # When the author types the beginning of a surname in lower case
    curator.press_sequentially("куз")
    # Then the list under the field shows the two matching people, as the seed writes names
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option")).to_have_count(2)
    expect(listbox.get_by_role("option").first).to_contain_text("Кузнецов Д.А.")
    expect(curator).to_have_attribute("aria-expanded", "true")
    shot(page, "picker-curator.png")

    # When they go down twice and press Enter
    curator.press("ArrowDown")
    curator.press("ArrowDown")
    expect(curator).to_have_attribute("aria-activedescendant", "id_curator-list-1")
    curator.press("Enter")
    # Then the field shows the person and the hidden value names the user; the list is gone
    expect(curator).to_have_value("Кузьмина О.В.")
    expect(page.locator("#id_curator_pick")).to_have_value(f"user:{colleagues['kuzmina'].pk}")
    expect(page.get_by_role("listbox")).to_have_count(0)
    expect(curator).to_have_attribute("aria-expanded", "false")

    # When the header is saved
    page.locator("#plan-header button[type=submit]").click()
    # Then the plan has that curator and the header names her
    expect(page.locator("#plan-header")).to_contain_text("Кузьмина О.В.")
    assert Plan.objects.get(pk=plan.pk).curator == colleagues["kuzmina"]


def test_a_typed_name_that_is_no_user_is_refused_and_kept(page, author, colleagues):
    plan = PlanFactory(author=author)
    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    page.locator("#plan-header").get_by_role("button", name="Изменить шапку").click()
    curator = page.locator("#id_curator")
    curator.press_sequentially("Петров")
    expect(page.get_by_role("listbox")).to_contain_text("Никого не найдено")
    # Escape closes the list only: the form stays open with the text
    curator.press("Escape")
    expect(page.get_by_role("listbox")).to_have_count(0)
    expect(curator).to_have_value("Петров")
    page.locator("#plan-header button[type=submit]").click()
    expect(page.locator("#plan-header .invalid-feedback")).to_contain_text("Нет пользователя «Петров»")
    expect(page.locator("#id_curator")).to_have_value("Петров")
    assert Plan.objects.get(pk=plan.pk).curator is None


def test_an_executor_is_chosen_from_users_with_the_keyboard(page, author, colleagues):
    plan = PlanFactory(author=author)
    step = StepFactory(plan=plan, position=1, executor=PartyFactory(name="Дежурный ООФИС"))
    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    cell = page.locator(f"#cell-{step.pk}-executor")
    cell.click()
    field = cell.locator(".okno-cell-form [name=value]")
    expect(field).to_be_focused()
    # When the author types a surname: users and the parties kept as text are listed
    field.fill("")
    field.press_sequentially("иванов")
    option = page.get_by_role("option", name="Иванов Пётр Сергеевич")
    expect(option).to_be_visible()
    # When they choose the person with ↓ and Enter
    field.press("ArrowDown")
    field.press("Enter")
    # Then the cell is saved at once with the person, whose party stands for that user
    expect(cell.locator(".okno-cell-form")).to_have_count(0)
    expect(cell).to_have_text("Иванов Пётр Сергеевич")
    executor = Step.objects.select_related("executor").get(pk=step.pk).executor
    assert executor.user == colleagues["ivanov"]


def test_an_executor_typed_as_text_is_offered_as_the_user_it_names(page, author, colleagues):
    # Given a step whose executor was typed as text before the user existed (not linked)
    party = PartyFactory(name="Иванов П.С.")
    plan = PlanFactory(author=author)
    step = StepFactory(plan=plan, position=1, executor=party)
    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    cell = page.locator(f"#cell-{step.pk}-executor")

    # When the author opens the executor cell
    cell.click()
    suggestion = cell.locator(".okno-picker-suggestion")
    # Then the editor asks whether the text is that user
    expect(suggestion).to_contain_text("Это пользователь Иванов Пётр Сергеевич (ivanov)?")
    shot(cell, "picker-executor-suggestion.png")

    # When they press the button
    suggestion.get_by_role("button", name="Связать").click()
    # Then the cell is saved, keeps the executor's name, and the party now stands for the user
    expect(cell.locator(".okno-cell-form")).to_have_count(0)
    expect(cell).to_have_text("Иванов П.С.")
    assert Party.objects.get(pk=party.pk).user == colleagues["ivanov"]
    assert Step.objects.get(pk=step.pk).executor_id == party.pk

    # And the editor no longer asks
    cell.click()
    expect(cell.locator(".okno-cell-form")).to_have_count(1)
    expect(cell.locator(".okno-picker-suggestion")).to_have_count(0)
