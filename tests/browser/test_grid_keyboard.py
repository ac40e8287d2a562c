"""The step table as a spreadsheet from the keyboard (static/okno/grid.js): selection, moves, editing, undo.

Keys are typed through tests/browser/keyboard.py, which sends a keydown for every character as a Russian
keyboard layout does.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from approvals import services as approvals
from approvals.models import ApprovalRow
from changeplans import services
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent, Step
from tests.approvals.factories import plan_with_matrix
from tests.browser.conftest import login
from tests.browser.keyboard import Keyboard
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

SELECTED = re.compile(r"\bokno-selected\b")


@pytest.fixture(autouse=True)
def patient(new_context):
    """Every save is a round trip; a loaded machine answers slowly (assertions wait, they do not time)."""
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


def steps_of(plan):
    return list(Step.objects.filter(plan=plan).order_by("position"))


def cell(page, step, field):
    return page.locator(f"#cell-{step.pk if hasattr(step, 'pk') else step}-{field}")


def expect_selected(page, step, field):
    """`field` of `step` is the one selected cell and has the focus (no editor open in it)."""
    target = cell(page, step, field)
    expect(target).to_have_class(SELECTED)
    expect(target).to_be_focused()
    expect(page.locator("td.okno-selected")).to_have_count(1)


def editor(page, step, field):
    return cell(page, step, field).locator(".okno-cell-form [name=value]")


def columns(page):
    """The fields of the step table's visible cells, left to right (waits for a row to be there)."""
    script = """() => {
        const row = document.querySelector("#steps-body tr.okno-step");
        const cells = row ? [...row.querySelectorAll("td.okno-cell[data-field]")] : [];
        const fields = cells.filter(c => c.offsetParent !== null).map(c => c.dataset.field);
        return fields.length ? fields : null;
    }"""
    return page.wait_for_function(script).json_value()


def open_plan(page, user, plan):
    login(page, user)
    page.goto(f"/plans/{plan.pk}/")
    expect(page.locator("#steps-body")).to_be_visible()
    page.evaluate("window.__okno_marker = 1")  # dies with a reload


def after(page, field):
    """The column right of `field`."""
    order = columns(page)
    return order[order.index(field) + 1]


def tab_to(kb, page, step, here, field):
    """Tab (or Shift+Tab) from the cell `here` over cells until `field` of `step` is selected.

    The keys may be pressed while a save is on its way: the grid keeps them and moves when it has arrived.
    """
    order = columns(page)
    distance = order.index(field) - order.index(here)
    for _ in range(abs(distance)):
        kb.press("Tab" if distance > 0 else "Shift+Tab")
    expect_selected(page, step, field)


# 1. Done when: a 5-step plan with two risks, a tied rollback action and a Jira key, from the keyboard alone


def test_five_step_plan_entered_from_the_keyboard_alone(page, author):
    plan = PlanFactory(author=author, title="Пустой черновик")
    open_plan(page, author, plan)
    kb = Keyboard(page)
    rows = [
        ("Подготовить стенд", "Проверить доступы", "20:05", "5 мин", "OPS-101"),
        ("Обновить ingress", "Раскатить чарт\nпроверить поды", "20-10", "30 мин", "OPS-102"),
        ("Проверить сервисы", "Открыть сайты", "2040", "10 мин", "OPS-103"),
        ("Снять баннеры", "На всех сервисах", "20.50", "5 мин", "OPS-104"),
        ("Разослать итог", "it.info и чат ДИТ", "21:00", "5 мин", "OPS-105"),
    ]
    times = [
        datetime.time(20, 5),
        datetime.time(20, 10),
        datetime.time(20, 40),
        datetime.time(20, 50),
        datetime.time(21),
    ]

    # Ctrl+Enter on the page (nothing selected) adds the first step and selects its name.
    kb.press("Control+Enter")
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(1)
    for number, (name, description, time, duration, jira) in enumerate(rows, start=1):
        step = steps_of(plan)[number - 1]
        expect_selected(page, step, "name")
        kb.text(name)  # typing on a selected cell opens its editor with what is typed
        kb.press("Tab")  # saves and moves right
        expect_selected(page, step, "description")
        kb.text(description)
        kb.press("Tab")
        tab_to(kb, page, step, "expected_result", "planned_time")
        kb.text(time)
        kb.press("Tab")
        expect_selected(page, step, "duration_text")
        kb.text(duration)
        kb.press("Tab")
        if number == 2:
            # The risks panel from the keyboard: two risks, then a rollback action tied to risk 2.
            tab_to(kb, page, step, after(page, "duration_text"), "risks")
            kb.press("Enter")
            panel = page.locator(f"#risks-{step.pk} .okno-risks-form")
            expect(panel.locator(".okno-add-form[data-prefix=risk]")).to_be_focused()
            kb.press("Enter")  # «+ Риск»: the new row's text has the focus
            kb.text("Поды не поднимутся")
            kb.press("Enter")  # Enter in a risk's text: the next risk
            kb.text("Сеть пропадёт")
            kb.press("Control+Enter")  # saves the panel; the focus returns to the cell
            expect_selected(page, step, "risks")
            expect(cell(page, step, "risks")).to_contain_text("2. Сеть пропадёт")
            tab_to(kb, page, step, "risks", "rollback")
            kb.press("Enter")
            expect(panel.locator(".okno-add-form[data-prefix=action]")).to_be_focused()
            kb.press("Enter")  # «+ Действие»: the focus is on its risk numbers
            kb.text("2")
            kb.press("Tab")
            kb.text("Откатить чарт на прошлую версию")
            kb.press("Control+Enter")
            expect_selected(page, step, "rollback")
            expect(cell(page, step, "rollback")).to_contain_text("2. Откатить чарт")
            tab_to(kb, page, step, "rollback", "jira_key")
        else:
            tab_to(kb, page, step, after(page, "duration_text"), "jira_key")
        kb.text(jira)
        if number < len(rows):
            kb.press("Tab")  # Tab past the last cell of the last row adds a step (as in Excel and Word tables)
            expect(page.locator("#steps-body tr.okno-step")).to_have_count(number + 1)
        else:
            kb.press("Control+Enter")  # saves and stays
            expect_selected(page, step, "jira_key")

    expect(cell(page, steps_of(plan)[4], "jira_key")).to_have_text("OPS-105")
    steps = steps_of(plan)
    assert [(s.name, s.description, s.planned_time, s.duration_text, s.jira_key) for s in steps] == [
        (name, description, time, duration, jira)
        for (name, description, _, duration, jira), time in zip(rows, times, strict=True)
    ]
    second = steps[1]
    risks = list(second.risks.order_by("number"))
    assert [(r.number, r.description) for r in risks] == [(1, "Поды не поднимутся"), (2, "Сеть пропадёт")]
    (action,) = second.rollback_actions.all()
    assert action.text == "Откатить чарт на прошлую версию"
    assert list(action.risks.all()) == [risks[1]]
    assert page.evaluate("window.__okno_marker") == 1
    assert kb.chars and kb.actions  # everything went through the keyboard; the mouse was never used


# 2. Moving the selection


def test_arrows_tab_and_enter_move_the_selection(page, author, plan3):
    s1, s2, s3 = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "name").click()  # a click selects the cell (and opens its editor)
    expect(editor(page, s1, "name")).to_be_focused()
    kb.press("Escape")  # closes the editor; the selection stays
    expect_selected(page, s1, "name")

    kb.press("ArrowDown")
    expect_selected(page, s2, "name")
    kb.press("ArrowRight")
    expect_selected(page, s2, "description")
    kb.press("ArrowUp")
    expect_selected(page, s1, "description")
    kb.press("ArrowUp")  # the first row: stays
    expect_selected(page, s1, "description")
    first, last = columns(page)[0], columns(page)[-1]
    kb.press("Home")
    kb.press("ArrowLeft")  # the first cell: stays
    expect_selected(page, s1, first)
    kb.press("Control+ArrowDown")
    expect_selected(page, s3, first)
    kb.press("ArrowDown")  # ↓ on the last row never adds a step
    expect_selected(page, s3, first)
    kb.press("End")
    expect_selected(page, s3, last)
    kb.press("Home")
    expect_selected(page, s3, first)
    kb.press("Shift+Tab")  # wraps to the previous row's last cell
    expect_selected(page, s2, last)
    kb.press("Tab")
    expect_selected(page, s3, first)
    assert Step.objects.filter(plan=plan3).count() == 3
    assert not PlanEvent.objects.filter(plan=plan3, kind=EventKind.EDITED).exists()


def test_typing_replaces_f2_keeps_escape_restores(page, author, plan3):
    s1, s2, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "name").focus()
    expect_selected(page, s1, "name")

    # Typing on a selected cell: the editor opens with what is typed instead of the value.
    kb.text("Дамп etcd")
    expect(editor(page, s1, "name")).to_have_value("Дамп etcd")
    kb.press("Escape")  # cancels: the value stays, so does the selection
    expect_selected(page, s1, "name")
    expect(cell(page, s1, "name")).to_have_text("Шаг 1")

    # F2 opens the editor keeping the value; Enter saves and moves down.
    kb.press("F2")
    expect(editor(page, s1, "name")).to_have_value("Шаг 1")
    kb.text(" (проверка)")
    kb.press("Enter")
    expect_selected(page, s2, "name")
    expect(cell(page, s1, "name")).to_have_text("Шаг 1 (проверка)")

    # Enter on a selected cell opens its editor with the value; Shift+Enter saves and moves up.
    kb.press("Enter")
    expect(editor(page, s2, "name")).to_have_value("Шаг 2")
    kb.press("Shift+Enter")
    expect_selected(page, s1, "name")

    # A mistake keeps the editor open with the reason and the text; nothing moves.
    tab_to(kb, page, s1, "name", "duration_text")
    kb.text("когда-нибудь")
    kb.press("Tab")
    expect(cell(page, s1, "duration_text").locator(".okno-cell-error")).to_be_visible()
    expect(editor(page, s1, "duration_text")).to_have_value("когда-нибудь")
    expect(editor(page, s1, "duration_text")).to_be_focused()
    for s in steps_of(plan3):
        assert s.duration_text == "5 мин"
    assert Step.objects.get(pk=s1.pk).name == "Шаг 1 (проверка)"
    assert Step.objects.get(pk=s2.pk).name == "Шаг 2"


def test_tab_run_then_enter_returns_to_its_first_column(page, author, plan3):
    s1, s2, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "planned_time").focus()
    kb.text("2100")
    kb.press("Tab")
    expect_selected(page, s1, "duration_text")
    kb.text("10 мин")
    kb.press("Enter")  # as in Excel: the next row, in the column where the Tabs began
    expect_selected(page, s2, "planned_time")
    s1.refresh_from_db()
    assert (s1.planned_time, s1.duration_text) == (datetime.time(21, 0), "10 мин")


def test_selection_survives_a_swap_of_the_table(page, author, plan3):
    s1, s2, s3 = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s3, "duration_text").focus()
    expect_selected(page, s3, "duration_text")
    # The table is rendered again (the row's refresh, as after someone's save): same cell, still focused.
    page.evaluate(f"htmx.ajax('GET', '/plans/steps/{s2.pk}/', {{target: '#steps-body', swap: 'outerHTML'}})")
    expect(page.locator("#steps-body")).to_be_attached()
    expect_selected(page, s3, "duration_text")
    kb.press("ArrowUp")
    expect_selected(page, s2, "duration_text")


# 3. Ctrl+Z


def test_ctrl_z_undoes_the_last_edits_as_new_edits_in_the_history(page, author, plan3):
    s1, s2, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "name").focus()
    kb.text("Новое имя")
    kb.press("Tab")
    expect_selected(page, s1, "description")
    tab_to(kb, page, s1, "description", "planned_time")
    kb.text("2130")  # stored as 21:30: the server tells the page what it stored
    kb.press("Enter")  # the next row, in the column where the Tabs began
    expect_selected(page, s2, "name")
    assert Step.objects.get(pk=s1.pk).planned_time == datetime.time(21, 30)

    kb.press("Control+z")  # the time back
    expect(cell(page, s1, "planned_time")).to_have_text("20:00")
    expect_selected(page, s1, "planned_time")
    assert Step.objects.get(pk=s1.pk).planned_time == datetime.time(20, 0)
    kb.press("Control+z")  # then the name
    expect(cell(page, s1, "name")).to_have_text("Шаг 1")
    expect_selected(page, s1, "name")
    assert Step.objects.get(pk=s1.pk).name == "Шаг 1"
    kb.press("Control+z")  # nothing left
    expect(page.locator("#okno-toasts")).to_contain_text("Нечего отменять")

    # Every undo is an edit of its own in the history.
    edits = [e.changes for e in PlanEvent.objects.filter(plan=plan3, kind=EventKind.EDITED).order_by("pk")]
    assert edits == [
        {"name": ["Шаг 1", "Новое имя"]},
        {"planned_time": ["20:00:00", "21:30:00"]},
        {"planned_time": ["21:30:00", "20:00:00"]},
        {"name": ["Новое имя", "Шаг 1"]},
    ]
    expect(page.locator("#history")).to_contain_text("Новое имя → Шаг 1")
    comments = list(
        PlanEvent.objects.filter(plan=plan3, kind=EventKind.EDITED).order_by("pk").values_list("comment", flat=True)
    )
    assert comments == ["", "", "Отмена правки (Ctrl+Z)", "Отмена правки (Ctrl+Z)"]


def test_ctrl_z_is_refused_when_someone_else_changed_the_cell(page, author, plan3):
    s1, _, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "name").focus()
    kb.text("Моя правка")
    kb.press("Enter")
    expect(cell(page, s1, "name")).to_have_text("Моя правка")
    # Meanwhile a colleague changes the same cell.
    colleague = UserFactory(username="colleague", roles=["admin"])
    step = Step.objects.get(pk=s1.pk)
    services.update_step_cell(
        s1.pk, actor=colleague, field="name", value="Правка коллеги", revision=step.revision, original="Моя правка"
    )

    kb.press("Control+z")
    expect(page.locator("#okno-toasts")).to_contain_text("Отменить нельзя")
    expect(page.locator("#okno-toasts")).to_contain_text("Правка коллеги")
    expect(cell(page, s1, "name").locator(".okno-cell-form")).to_have_count(0)
    expect_selected(page, s1, "name")
    assert Step.objects.get(pk=s1.pk).name == "Правка коллеги"
    assert PlanEvent.objects.filter(plan=plan3, kind=EventKind.EDITED).count() == 2


def test_a_reader_moves_but_does_not_edit(page, plan3):
    reader = UserFactory(username="reader", roles=["approver"])
    s1, s2, _ = steps_of(plan3)
    open_plan(page, reader, plan3)
    kb = Keyboard(page)
    cell(page, s1, "name").focus()
    kb.press("ArrowDown")
    expect_selected(page, s2, "name")
    kb.text("x")
    kb.press("Enter")
    kb.press("Control+Enter")
    expect(page.locator(".okno-cell-form")).to_have_count(0)
    assert Step.objects.filter(plan=plan3).count() == 3
    assert Step.objects.get(pk=s2.pk).name == "Шаг 2"


# 4. Typing on the risks and rollback cells


def test_typing_on_the_risk_and_rollback_cells_fills_their_panel(page, author, plan3):
    s1, s2, _ = steps_of(plan3)
    Step.objects.filter(pk=s2.pk).update(no_rollback_needed=False)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "risks").focus()

    # One line a risk; Tab saves the panel and moves right.
    kb.text("Поды не поднимутся\nСеть пропадёт")
    kb.press("Tab")
    expect_selected(page, s1, after(page, "risks"))
    expect(cell(page, s1, "risks")).to_contain_text("2. Сеть пропадёт")
    expect(page.locator(f"#risks-{s1.pk} .okno-risks-form")).to_have_count(0)

    # "2. …" ties the action to risk 2, as the cell shows it; Enter saves and moves down.
    cell(page, s1, "rollback").focus()  # (Tabs would make Enter return to the column where they began)
    kb.text("2. Откатить чарт")
    kb.press("Enter")
    expect_selected(page, s2, "rollback")
    expect(cell(page, s1, "rollback")).to_contain_text("2. Откатить чарт")

    # "нет" alone: no rollback needed; on the risks cell, no risk.
    kb.text("нет")
    kb.press("Control+Enter")  # saves and stays
    expect(cell(page, s2, "rollback")).to_have_text("нет")
    expect_selected(page, s2, "rollback")
    cell(page, s2, "risks").focus()
    kb.text("нет")
    kb.press("Tab")
    expect_selected(page, s2, after(page, "risks"))
    expect(page.locator(".okno-risks-form")).to_have_count(0)
    assert not Step.objects.get(pk=s2.pk).risks.exists()

    risks = list(Step.objects.get(pk=s1.pk).risks.order_by("number"))
    assert [(r.number, r.description) for r in risks] == [(1, "Поды не поднимутся"), (2, "Сеть пропадёт")]
    (action,) = Step.objects.get(pk=s1.pk).rollback_actions.all()
    assert (action.text, list(action.risks.all())) == ("Откатить чарт", [risks[1]])
    second = Step.objects.get(pk=s2.pk)
    assert second.no_rollback_needed and not second.rollback_actions.exists()


def test_escape_closes_the_risk_panel_and_keeps_the_selection(page, author, plan3):
    s1, _, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "risks").focus()
    kb.press("Enter")
    panel = page.locator(f"#risks-{s1.pk} .okno-risks-form")
    expect(panel.locator(".okno-add-form[data-prefix=risk]")).to_be_focused()
    kb.press("Enter")
    kb.text("Не сохранится")
    kb.press("Escape")
    expect(panel).to_have_count(0)
    expect_selected(page, s1, "risks")
    assert not Step.objects.get(pk=s1.pk).risks.exists()


def test_keys_typed_while_the_risk_panel_saves_move_from_its_cell(page, author, plan3):
    """Ctrl+Enter saves the panel; the Tabs typed before its answer has settled move from the cell, once each."""
    s1, _, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "risks").focus()
    kb.press("Enter")
    panel = page.locator(f"#risks-{s1.pk} .okno-risks-form")
    expect(panel.locator(".okno-add-form[data-prefix=risk]")).to_be_focused()
    kb.press("Enter")
    kb.text("Сеть пропадёт")
    order = columns(page)
    kb.press("Control+Enter")
    kb.press("Tab", times=order.index("rollback") - order.index("risks"))  # the save is still on its way
    expect_selected(page, s1, "rollback")
    expect(cell(page, s1, "risks")).to_contain_text("1. Сеть пропадёт")
    expect(panel).to_have_count(0)
    kb.press("Tab")  # nothing replays late: the next key moves on from here
    expect_selected(page, s1, after(page, "rollback"))


def test_a_save_the_server_fails_leaves_the_grid_answering_keys(page, author, plan3):
    """A save answered with a server error is not swapped: the editor stays, and keys work again at once."""
    s1, _, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    failing = f"**/plans/steps/{s1.pk}/cell/name/"

    def fail(route):
        if route.request.method == "POST":
            route.fulfill(status=500, body="boom")
        else:
            route.fallback()

    page.route(failing, fail)
    cell(page, s1, "name").focus()
    kb.text("Не дойдёт")
    kb.press("Tab")
    # The error's toast comes in the same task as the end of the request (then nothing is on its way).
    expect(page.get_by_text(re.compile("Ошибка сервера|Server error"))).to_be_visible()
    expect(editor(page, s1, "name")).to_have_value("Не дойдёт")  # nothing typed is lost
    page.unroute(failing, fail)
    kb.press("Escape")  # not kept for a save that will never settle: it cancels the editor
    expect_selected(page, s1, "name")
    kb.press("ArrowDown")
    expect_selected(page, steps_of(plan3)[1], "name")
    assert Step.objects.get(pk=s1.pk).name == "Шаг 1"


def test_a_new_step_on_a_signed_plan_asks_first_and_enter_confirms(page):
    # Given an approved plan (one approver signed, the duty group acknowledged)
    plan, author, (first,), duty = plan_with_matrix(1)
    approvals.submit_plan(plan.pk, actor=author)
    approval, acknowledgement = ApprovalRow.objects.filter(plan=plan).order_by("position")
    approvals.approve_row(approval.pk, actor=first, version=1)
    approvals.acknowledge_row(acknowledgement.pk, actor=duty, version=1)
    (step,) = steps_of(plan)
    open_plan(page, author, plan)
    kb = Keyboard(page)
    last = columns(page)[-1]
    cell(page, step, last).focus()

    # When Tab goes past the last cell of the last row: the question, with the focus on its confirmation
    kb.press("Tab")
    yes = page.locator(".okno-confirm-reset-yes")
    expect(yes).to_be_focused()
    expect(page.locator(".okno-confirm-reset")).to_contain_text("сбросит 2 подписи")
    assert Step.objects.filter(plan=plan).count() == 1

    # Enter confirms: the step is added and its first cell selected; the plan is back in review
    kb.press("Enter")
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(2)
    new = steps_of(plan)[1]
    expect_selected(page, new, columns(page)[0])
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW


def test_enter_after_one_edit_in_the_last_row_adds_no_step(page, author, plan3):
    # Correcting the last step is not drafting a new one: only a row typed across with Tab grows the plan.
    _, _, s3 = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s3, "name").focus()
    kb.press("F2")
    kb.text(" (исправлено)")
    kb.press("Enter")
    expect(cell(page, s3, "name")).to_contain_text("(исправлено)")
    expect_selected(page, s3, "name")
    assert plan3.steps.count() == 3


def test_keys_typed_while_a_refused_save_is_on_its_way_reach_its_editor(page, author, plan3):
    """A time that does not exist is refused; the Esc typed before the answer came cancels the editor, once."""
    s1, _, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "planned_time").focus()
    kb.text("25-99")
    kb.press("Enter")
    kb.press("Escape")  # the save is still on its way
    expect(editor(page, s1, "planned_time")).to_have_count(0)
    expect_selected(page, s1, "planned_time")
    expect(cell(page, s1, "planned_time")).to_have_text("20:00")
    assert Step.objects.get(pk=s1.pk).planned_time == datetime.time(20, 0)


def test_text_typed_while_a_refused_save_is_on_its_way_is_kept_in_its_editor(page, author, plan3):
    s1, _, _ = steps_of(plan3)
    open_plan(page, author, plan3)
    kb = Keyboard(page)
    cell(page, s1, "planned_time").focus()
    kb.text("25-9")
    kb.press("Enter")
    kb.text("9")  # typed before the reason showed: it joins the text in the editor that stays
    expect(editor(page, s1, "planned_time")).to_have_value("25-99")
    expect(cell(page, s1, "planned_time").locator(".okno-cell-error")).to_be_visible()
