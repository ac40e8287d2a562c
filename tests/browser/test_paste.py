"""Pasting a block from a spreadsheet or a Word table into the step table (issue 13, static/okno/paste.js).

Done when: a block pasted from a spreadsheet fills 3 rows × 6 columns. The clipboard is a real DataTransfer
holding text/plain and text/html, as Excel puts them there, delivered by a ClipboardEvent('paste') to the
selected cell.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from changeplans.models import PlanEvent, Step
from tests.browser.conftest import login, shot
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PASTE = """([plain, html]) => {
  const data = new DataTransfer();
  data.setData("text/plain", plain);
  if (html) data.setData("text/html", html);
  const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
  (document.activeElement || document.body).dispatchEvent(event);
  return event.defaultPrevented;
}"""

# What Excel puts on the clipboard for 3 rows × 6 columns (executor … Jira): tab-separated text with a quoted
# multi-line cell, and an HTML table (its styles and a <br> inside a cell).
EXCEL_TSV = (
    'Дежурный ООФИС\t20.03.25\t17-00\t5 мин.\t"1. Откатить\r\n2. Позвонить"\tOPS-1\r\n'
    "ООО «ПрофСофт»\t20.03.2025\t25-99\t2-3 часа\tнет\tOPS-2\r\n"
    "Дежурный ООФИС\t21.03.25\t1700\t1,5 часа\tПерезапустить\tOPS-3\r\n"
)
EXCEL_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office">
<head><style>td {mso-number-format:"\\@";}</style></head>
<body><table border=0 cellpadding=0 cellspacing=0 width=384>
<!--StartFragment-->
<tr height=40><td height=40 class=xl65>Дежурный ООФИС</td><td class=xl66>20.03.25</td><td>17-00</td><td>5 мин.</td>
  <td class=xl67 width=64>1. Откатить<br style='mso-data-placement:same-cell' />2. Позвонить</td><td>OPS-1</td></tr>
<tr><td>ООО «ПрофСофт»</td><td>20.03.2025</td><td>25-99</td><td>2-3 часа</td><td>нет</td><td>OPS-2</td></tr>
<tr><td>Дежурный&nbsp;ООФИС</td><td>21.03.25</td><td>1700</td><td>1,5 часа</td><td>Перезапустить</td><td>OPS-3</td></tr>
<!--EndFragment-->
</table></body></html>"""

# A Word table: paragraphs inside cells, a cell merged over two rows.
WORD_HTML = """<html><body><table class=MsoTableGrid border=1>
<tr><td><p class=MsoNormal>Остановить<o:p></o:p></p></td><td><p>Снять нагрузку</p><p>с узла</p></td>
  <td rowspan=2><p>Узел выведен</p></td></tr>
<tr><td><p>Обновить</p></td><td><p>kubeadm&nbsp;&nbsp;upgrade</p></td></tr>
</table></body></html>"""


@pytest.fixture
def plan(transactional_db):
    author = UserFactory(username="author", roles=["author"])
    plan = PlanFactory(author=author)
    for n in (1, 2):
        StepFactory(plan=plan, position=n, name=f"Шаг {n}", planned_time=datetime.time(20, n), jira_key="")
    return plan


def select_cell(page, step, field):
    cell = page.locator(f"#cell-{step.pk}-{field}")
    cell.focus()  # the grid (okno/grid.js) selects the focused cell, as a click does, without an editor
    expect(cell).to_have_class(re.compile(r"\bokno-selected\b"))
    return cell


def test_a_block_from_a_spreadsheet_fills_3_rows_by_6_columns(page, plan):
    one, two = plan.steps.order_by("position")
    login(page, plan.author)
    page.goto(f"/plans/{plan.pk}/")
    # Given the executor cell of step 1 selected (no editor open)
    select_cell(page, one, "executor")
    # When Excel's block (text and HTML) is pasted
    assert page.evaluate(PASTE, [EXCEL_TSV, EXCEL_HTML]) is True
    # Then the report says what was pasted and what was not, and links to that very cell
    report = page.locator("#paste-report .okno-paste-report")
    expect(report.locator(".okno-paste-summary")).to_contain_text("Вставлено: 17 ячеек, 1 не распознана")
    expect(report.locator(".okno-paste-summary")).to_contain_text("Добавлен 1 шаг")
    problem = report.locator(".okno-paste-problem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("строка 2 (шаг 2), «Время начала»")
    expect(problem).to_contain_text("«25-99»")
    expect(problem.locator("a")).to_have_attribute("href", f"#cell-{two.pk}-planned_time")
    expect(page.locator("#okno-toasts")).to_contain_text("Вставлено: 17 ячеек, 1 не распознана")
    # And the table shows the new values; the bad time keeps the old one
    expect(page.locator(f"#cell-{one.pk}-planned_time")).to_have_text("17:00")
    expect(page.locator(f"#cell-{two.pk}-planned_time")).to_have_text("20:02")
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(3)
    shot(page.locator("#steps-table").locator("xpath=ancestor::section[1]"), "paste-report.png")

    # And the database holds the block, read as if typed into each cell
    steps = list(Step.objects.filter(plan=plan).select_related("executor").order_by("position"))
    assert [s.executor.name for s in steps] == ["Дежурный ООФИС", "ООО «ПрофСофт»", "Дежурный ООФИС"]
    assert [s.planned_date for s in steps] == [datetime.date(2025, 3, 20)] * 2 + [datetime.date(2025, 3, 21)]
    assert [s.planned_time for s in steps] == [datetime.time(17), datetime.time(20, 2), datetime.time(17)]
    assert [(s.duration_min, s.duration_max) for s in steps] == [(5, 5), (120, 180), (90, 90)]
    assert [s.jira_key for s in steps] == ["OPS-1", "OPS-2", "OPS-3"]
    assert [a.text for a in steps[0].rollback_actions.order_by("position")] == ["1. Откатить", "2. Позвонить"]
    assert steps[1].no_rollback_needed and not steps[1].rollback_actions.exists()
    assert [a.text for a in steps[2].rollback_actions.all()] == ["Перезапустить"]
    assert PlanEvent.objects.filter(plan=plan, comment="Вставлено из буфера: 3 строки × 6 столбцов").count() == 1
    # And the problem's link takes the user to that cell, selected
    problem.locator("a").click()
    expect(page.locator(f"#cell-{two.pk}-planned_time")).to_have_class(re.compile(r"\bokno-selected\b"))


def test_a_word_table_into_visible_columns_only(page, plan):
    one, two = plan.steps.order_by("position")
    login(page, plan.author)
    page.goto(f"/plans/{plan.pk}/")
    # Given the description column hidden (as the column chooser hides it: display:none)
    page.evaluate("""() => document.querySelectorAll("#steps-table td[data-field=description]")
        .forEach(td => { td.style.display = "none"; })""")
    select_cell(page, one, "name")
    # When a Word table is pasted (plain text has lost its structure; the HTML has it)
    assert page.evaluate(PASTE, ["Остановить Снять нагрузку", WORD_HTML]) is True
    # Then paragraphs are lines, the merged cell is repeated in the rows it covers, the hidden column is skipped
    expect(page.locator("#paste-report .okno-paste-summary")).to_contain_text("Вставлено: 6 ячеек")
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.name, one.expected_result, one.risks.count()) == ("Остановить", "Снять нагрузку\nс узла", 1)
    assert one.risks.get().description == "Узел выведен"
    assert (two.name, two.expected_result) == ("Обновить", "kubeadm upgrade")
    assert two.risks.get().description == "Узел выведен"
    assert one.description == "Описание работ"  # the hidden column is left alone
    expect(page.locator(f"#cell-{one.pk}-name")).to_have_text("Остановить")


def test_paste_inside_an_open_editor_is_the_editors(page, plan):
    one, _two = plan.steps.order_by("position")
    login(page, plan.author)
    page.goto(f"/plans/{plan.pk}/")
    cell = page.locator(f"#cell-{one.pk}-name")
    cell.click()
    field = cell.locator(".okno-cell-form [name=value]")
    expect(field).to_be_focused()
    # A paste into the editor's field is left to the browser: no request, nothing saved
    assert page.evaluate(PASTE, ["a\tb\r\nc\td\r\n", ""]) is False
    expect(page.locator("#paste-report .okno-paste-report")).to_have_count(0)
    assert Step.objects.get(pk=one.pk).name == "Шаг 1"


def test_a_paste_on_an_approved_plan_asks_first(page, transactional_db):
    from approvals import services as approvals
    from approvals.models import ApprovalRow
    from tests.approvals.factories import plan_with_matrix

    # Given an approved plan: one approval and one acknowledgement (2 signatures)
    plan, author, (first,), duty = plan_with_matrix(1)
    approvals.submit_plan(plan.pk, actor=author)
    approval, acknowledgement = ApprovalRow.objects.filter(plan=plan).order_by("position")
    approvals.approve_row(approval.pk, actor=first, version=1)
    approvals.acknowledge_row(acknowledgement.pk, actor=duty, version=1)
    step = plan.steps.get()
    login(page, author)
    page.goto(f"/plans/{plan.pk}/")
    select_cell(page, step, "name")
    # When two rows are pasted
    assert page.evaluate(PASTE, ["Остановить\r\nПроверить\r\n", ""]) is True
    # Then the question comes above the table and nothing is saved
    question = page.locator("#paste-report .okno-confirm-reset")
    expect(question).to_contain_text("Это изменение сбросит 2 подписи и вернёт план на согласование")
    assert [s.name for s in Step.objects.filter(plan=plan)] == ["Шаг 1"]
    # When the author confirms, the same paste is saved and the plan is back in review
    question.locator(".okno-confirm-reset-yes").click()
    expect(page.locator("#paste-report .okno-paste-summary")).to_contain_text("Вставлено: 2 ячейки")
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(2)
    expect(page.locator(f"#cell-{step.pk}-name")).to_have_text("Остановить")
    expect(page.locator("#plan-status .okno-status")).to_have_attribute("data-status", "in_review")
    assert [s.name for s in Step.objects.filter(plan=plan).order_by("position")] == ["Остановить", "Проверить"]
