"""Pasting a block from Excel, LibreOffice or a Word table into the step table (issue 13, changeplans/paste.py).

Break it by hand to see these fail: in paste.py let `_read_cell` save a cell whose form is invalid (the old
time is lost), drop `versioning.after_edit` (no question before a reset), or read TSV with `str.split("\\t")`.
"""

import datetime
import json
import re
from html import unescape

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from changeplans import paste, versioning
from changeplans.choices import EventKind, PlanStatus, StepKind
from changeplans.models import Party, Plan, PlanEvent, Risk, Step
from changeplans.templatetags.okno import change_lines
from tests.factories import PlanFactory, RiskFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HX = {"HTTP_HX_REQUEST": "true"}
SIX = ["name", "description", "executor", "planned_date", "planned_time", "duration_text"]


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author)
    for position in (1, 2, 3):
        StepFactory(plan=plan, position=position, name=f"Шаг {position}", planned_time=datetime.time(20, position))
    return plan


def steps(plan):
    return list(Step.objects.filter(plan=plan).select_related("executor").order_by("position"))


# --- tab-separated text as spreadsheets put it on the clipboard --------------------------------------------


def test_tsv_rows_and_cells_and_the_last_line_break():
    assert paste.parse_tsv("a\tb\tc\r\nd\te\tf\r\n") == [["a", "b", "c"], ["d", "e", "f"]]
    assert paste.parse_tsv("one") == [["one"]]
    assert paste.parse_tsv("a\t\tc\n") == [["a", "", "c"]]  # an empty cell stays a cell


def test_tsv_quoted_cells_keep_line_breaks_tabs_and_quotes():
    # Excel quotes a cell holding a line break, a tab or a quote, and doubles the quotes inside.
    text = '"Проверить\r\nподы"\t"a\tb"\t"ООО ""ПрофСофт"""\r\nx\ty\tz\r\n'
    assert paste.parse_tsv(text) == [["Проверить\nподы", "a\tb", 'ООО "ПрофСофт"'], ["x", "y", "z"]]


def test_tsv_quote_inside_an_unquoted_cell_is_text():
    assert paste.parse_tsv('дюйм 5"\tb') == [['дюйм 5"', "b"]]


def test_tsv_blank_line_is_a_row_of_one_empty_cell():
    assert paste.parse_tsv("a\n\nb") == [["a"], [""], ["b"]]


# --- numbered risks and rollback actions -----------------------------------------------------------------


def test_risks_numbered_list_with_continuation_lines():
    assert paste.parse_risks("1. Сбой IPAM\nпродолжение\n\n2) Потеря связи") == [
        (1, "Сбой IPAM\nпродолжение"),
        (2, "Потеря связи"),
    ]
    assert paste.parse_risks("Один риск без номера") == [(1, "Один риск без номера")]
    assert paste.parse_risks("нет") == [] and paste.parse_risks("") == []


def test_risks_twice_the_same_number_is_refused():
    with translation.override("ru"), pytest.raises(paste.ValidationError) as exc:
        paste.parse_risks("1. a\n1. b")
    assert "1" in exc.value.messages[0]


def test_rollback_as_the_seed_numbers_it():
    actions, none = paste.parse_rollback("1. Убить под\n5/6/7/8 Устранить причину\nи перезапустить")
    assert not none
    assert [(numbers, text) for numbers, text, _raw in actions] == [
        ([1], "Убить под"),
        ([5, 6, 7, 8], "Устранить причину\nи перезапустить"),
    ]
    assert paste.parse_rollback("нет") == ([], True)
    assert paste.parse_rollback("Откатить по инструкции")[0][0][:2] == ([], "Откатить по инструкции")


# --- the service -----------------------------------------------------------------------------------------


def test_a_block_fills_three_rows_by_six_columns_as_typed(plan, author):
    # Given a 3-step plan; when a 3 × 6 block is pasted at step 1's name with times and dates as people write them
    block = [
        ["Остановить сервис", "Снять нагрузку", "Дежурный ООФИС", "20.03.25", "17-00", "5 мин."],
        ["Обновить", "kubeadm upgrade", "ООО «ПрофСофт»", "20.03.2025", "1700", "2-3 часа"],
        ["Проверить", "Смоук-тест", "Дежурный ООФИС", "21.03.25", "9:05", "1,5 часа"],
    ]
    first = steps(plan)[0]
    report = paste.paste_block(first.pk, actor=author, fields=SIX, rows=block)
    # Then every cell is saved, parsed as the cell editor parses it
    one, two, three = steps(plan)
    assert (one.name, one.description, one.executor.name) == ("Остановить сервис", "Снять нагрузку", "Дежурный ООФИС")
    assert (one.planned_date, one.planned_time) == (datetime.date(2025, 3, 20), datetime.time(17, 0))
    assert (two.planned_time, two.duration_min, two.duration_max) == (datetime.time(17, 0), 120, 180)
    assert (three.planned_date, three.planned_time, three.duration_min) == (
        datetime.date(2025, 3, 21),
        datetime.time(9, 5),
        90,
    )
    assert (report.pasted, report.unreadable, report.added) == (18, 0, [])
    # And the same name in two rows is one party
    assert one.executor_id == three.executor_id
    assert Party.objects.filter(name="Дежурный ООФИС").count() == 1
    assert [s.revision for s in (one, two, three)] == [2, 2, 2]


def test_a_bad_time_keeps_the_old_value_and_is_reported(plan, author):
    first, second, _third = steps(plan)
    with translation.override("ru"):
        report = paste.paste_block(
            first.pk, actor=author, fields=["planned_time", "duration_text"], rows=[["25-99", "10 мин"], ["1700", "x"]]
        )
        summary = report.summary()
    one, two, _three = steps(plan)
    assert one.planned_time == datetime.time(20, 1)  # the old time stays
    assert one.duration_text == "10 мин"  # the other cell of the row is saved
    assert two.planned_time == datetime.time(17, 0)
    assert two.duration_text == "5 мин"  # "x" is no duration: kept
    assert [(p.row, p.step_id, p.field, p.text) for p in report.problems] == [
        (1, first.pk, "planned_time", "25-99"),
        (2, second.pk, "duration_text", "x"),
    ]
    problem = report.problems[0]
    assert "25-99" in problem.reason and "часы" in problem.reason  # the time parser's own reason, in Russian
    assert problem.column == "Время начала"
    assert summary == "Вставлено: 2 ячейки, 2 не распознаны"


def test_a_longer_block_adds_steps_at_the_end(plan, author):
    _one, two, three = steps(plan)
    block = [["Шаг 2*", "21:00"], ["Шаг 3*", ""], ["Новый 4", "22-30"], ["Новый 5", ""]]
    report = paste.paste_block(two.pk, actor=author, fields=["name", "planned_time"], rows=block)
    after = steps(plan)
    assert [s.name for s in after] == ["Шаг 1", "Шаг 2*", "Шаг 3*", "Новый 4", "Новый 5"]
    assert [s.position for s in after] == [1, 2, 3, 4, 5]
    assert after[2].planned_time is None  # an empty cell of an existing row empties it, as in a spreadsheet
    assert after[3].planned_time == datetime.time(22, 30)
    assert after[4].planned_time is None and after[4].planned_date == three.planned_date  # dated as add_step does
    assert report.added == [after[3].pk, after[4].pk]
    added = PlanEvent.objects.filter(plan=plan, kind=EventKind.STEP_ADDED).order_by("id")
    assert [e.object_id for e in added] == report.added


def test_history_names_fields_in_the_users_language_and_sums_up(plan, author):
    first = steps(plan)[0]
    block = [["А", "Б", "В", "20.03.25", "17-00", "5 мин"]] * 3
    paste.paste_block(first.pk, actor=author, fields=SIX, rows=block)
    with translation.override("ru"):
        summary = PlanEvent.objects.filter(plan=plan, object_type="plan", kind=EventKind.EDITED).get()
        assert summary.comment == "Вставлено из буфера: 3 строки × 6 столбцов"
        edits = PlanEvent.objects.filter(plan=plan, object_type="step", kind=EventKind.EDITED).order_by("id")
        assert len(edits) == 3
        lines = change_lines(edits[0])
    assert "Время начала: 20:01 → 17:00" in lines
    assert "Наименование мероприятия: Шаг 1 → А" in lines or any(line.endswith("Шаг 1 → А") for line in lines)
    assert edits[0].comment and "changes" not in str(lines)


def test_nothing_changed_records_nothing(plan, author):
    first = steps(plan)[0]
    paste.paste_block(first.pk, actor=author, fields=["name"], rows=[["Шаг 1"]])
    assert not PlanEvent.objects.filter(plan=plan).exists()
    assert Step.objects.get(pk=first.pk).revision == 1


def test_status_and_number_columns_are_skipped_with_a_note(plan, author):
    first = steps(plan)[0]
    with translation.override("ru"):
        report = paste.paste_block(
            first.pk, actor=author, fields=["jira_key", "status"], rows=[["OPS-1", "ВЫПОЛНЕНО", "лишнее"]]
        )
    assert Step.objects.get(pk=first.pk).jira_key == "OPS-1"
    assert report.notes == [
        "Столбец «Статус» вставкой не заполняется: он пропущен.",
        "1 столбец блока правее последнего столбца таблицы: он не вставлен.",
    ]
    assert report.pasted == 1 and report.unreadable == 0


def test_kind_by_its_label(plan, author):
    first = steps(plan)[0]
    report = paste.paste_block(first.pk, actor=author, fields=["kind"], rows=[["Рассылка"], ["Banner on"], ["?"]])
    kinds = [s.kind for s in steps(plan)]
    assert kinds == [StepKind.ANNOUNCEMENT, StepKind.BANNER_ON, StepKind.WORK]
    assert [p.field for p in report.problems] == ["kind"]


def test_risks_and_rollback_columns(plan, author):
    # Given step 1 with risk 1 (with its own mitigation) tied to nothing yet
    first = steps(plan)[0]
    RiskFactory(step=first, number=1, description="Старый риск", mitigation="своя")
    # When risks and rollback actions are pasted as the seed writes them
    block = [["1. Сбой IPAM\n2. Потеря связи\n3. Долгий простой", "1. Убить под\n2/3 Перезапустить узел\n7. Позвонить"]]
    with translation.override("ru"):
        report = paste.paste_block(first.pk, actor=author, fields=["risks", "rollback"], rows=block)
    # Then the risks are numbered as pasted; risk 1 keeps its own mitigation
    risks = list(Risk.objects.filter(step=first).order_by("number"))
    assert [(r.number, r.description) for r in risks] == [(1, "Сбой IPAM"), (2, "Потеря связи"), (3, "Долгий простой")]
    assert risks[0].mitigation == "своя"
    # And the rollback actions answer the risks they name; an unknown number is reported, the text kept
    actions = list(first.rollback_actions.order_by("position"))
    assert [(a.text, a.label()) for a in actions] == [
        ("Убить под", "1"),
        ("Перезапустить узел", "2/3"),
        ("7. Позвонить", ""),
    ]
    assert [(p.field, p.saved) for p in report.problems] == [("rollback", True)]
    assert "нет риска 7" in report.problems[0].reason
    assert report.unreadable == 0 and report.pasted == 2
    step = Step.objects.get(pk=first.pk)
    assert not step.no_rollback_needed
    event = PlanEvent.objects.get(plan=plan, object_type="step")
    assert event.changes["risks"] == [1, 3] and event.changes["rollback_actions"] == [0, 3]

    # When "нет" is pasted in the rollback column, the step needs no rollback and has no actions
    paste.paste_block(first.pk, actor=author, fields=["rollback"], rows=[["нет"]])
    step = Step.objects.get(pk=first.pk)
    assert step.no_rollback_needed and not step.rollback_actions.exists()


def test_only_the_author_pastes(plan, other_author, approver):
    first = steps(plan)[0]
    for user in (other_author, approver):
        with pytest.raises(PermissionDenied):
            paste.paste_block(first.pk, actor=user, fields=["name"], rows=[["x"]])
    assert Step.objects.get(pk=first.pk).name == "Шаг 1"


def test_a_block_over_the_limit_is_refused(plan, author, settings):
    settings.OKNO_PASTE_MAX_ROWS = 4
    first = steps(plan)[0]
    with translation.override("ru"), pytest.raises(paste.PasteTooLarge) as exc:
        paste.paste_block(first.pk, actor=author, fields=["name"], rows=[["x"]] * 5)
    assert exc.value.messages == ["В блоке 5 строк; за раз можно вставить не больше 4. Вставьте его по частям."]
    assert Step.objects.filter(plan=plan).count() == 3


def test_queries_grow_with_the_rows_not_the_cells_or_problems(author, django_assert_max_num_queries):
    # Given two plans of 3 and 30 steps
    def run(n_rows, bad):
        plan = PlanFactory(author=author)
        executor = f"Подрядчик {plan.pk}"  # a new party in every run
        for position in range(1, n_rows + 1):
            StepFactory(plan=plan, position=position, executor=None)
        first = Step.objects.filter(plan=plan).order_by("position").first()
        time = "25-99" if bad else "17-00"
        block = [[f"Имя {i}", "Описание", executor, "20.03.25", time, "5 мин"] for i in range(n_rows)]
        with CaptureQueriesContext(connection) as queries:
            paste.paste_block(first.pk, actor=author, fields=SIX, rows=block)
        return len(queries)

    run(1, bad=False)  # warm-up: what is cached per user (their roles) is not counted below
    small, large = run(3, bad=False), run(30, bad=False)
    # Each changed step costs an UPDATE and its history row; cells and the report cost nothing more.
    assert large - small <= 27 * 2
    assert run(3, bad=True) == small  # one unreadable cell per row: the same queries


# --- the view --------------------------------------------------------------------------------------------


def post(client, plan, anchor, fields, rows=None, text=None, **extra):
    data = {"anchor": anchor, "fields": json.dumps(fields), **extra}
    if rows is not None:
        data["rows"] = json.dumps(rows)
    if text is not None:
        data["text"] = text
    return client.post(reverse("changeplans:steps_paste", args=[plan.pk]), data, **HX)


def test_view_answers_with_the_table_the_report_and_a_toast(client, plan, author):
    client.force_login(author)
    first = steps(plan)[0]
    tsv = 'Остановить\t17-00\r\n"Обновить\r\nвсё"\t25-99\r\n'
    response = post(client, plan, first.pk, ["name", "planned_time"], text=tsv)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="steps-body"' in html and 'id="lint-panel"' in html
    second = steps(plan)[1]
    assert second.name == "Обновить\nвсё" and second.planned_time == datetime.time(20, 2)
    assert 'id="paste-report"' in html and 'hx-swap-oob="true"' in html
    assert f'href="#cell-{second.pk}-planned_time"' in html and "25-99" in html
    trigger = json.loads(response["HX-Trigger"])["okno:toast"]
    assert trigger == {"text": "Вставлено: 3 ячейки, 1 не распознана", "level": "warning"}


def test_view_refuses_other_roles_with_403(client, plan, approver, other_author):
    first = steps(plan)[0]
    for user in (approver, other_author):
        client.force_login(user)
        response = post(client, plan, first.pk, ["name"], rows=[["x"]])
        assert response.status_code == 403
    assert Step.objects.get(pk=first.pk).name == "Шаг 1"


def test_view_refuses_a_forged_block_and_a_step_of_another_plan(client, plan, author):
    client.force_login(author)
    first = steps(plan)[0]
    assert post(client, plan, first.pk, ["name"], rows=[[1, 2]]).status_code == 400
    assert post(client, plan, first.pk, "name", rows=[["x"]]).status_code == 400
    other = StepFactory(plan=PlanFactory(author=author), position=1)
    assert post(client, plan, other.pk, ["name"], rows=[["x"]]).status_code == 400
    response = post(client, plan, first.pk, ["name"], rows=[["x"]] * 501)
    assert response.status_code == 400
    assert "не больше 500" in json.loads(response["HX-Trigger"])["okno:toast"]["text"]
    assert Step.objects.get(pk=first.pk).name == "Шаг 1"


def test_a_paste_that_resets_signatures_asks_first_then_repeats(client):
    from approvals import services as approvals
    from approvals.models import ApprovalRow
    from tests.approvals.factories import plan_with_matrix

    # Given an approved plan (one approval, one acknowledgement)
    plan, author, (first_user,), duty = plan_with_matrix(1)
    approvals.submit_plan(plan.pk, actor=author)
    approval, acknowledgement = ApprovalRow.objects.filter(plan=plan).order_by("position")
    approvals.approve_row(approval.pk, actor=first_user, version=1)
    approvals.acknowledge_row(acknowledgement.pk, actor=duty, version=1)
    client.force_login(author)
    step = plan.steps.get()
    # When the author pastes two rows over it
    response = post(client, plan, step.pk, ["name"], rows=[["Новое имя"], ["Ещё шаг"]])
    # Then nothing is saved and the question comes where the report goes
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#paste-report"
    html = response.content.decode()
    assert "Это изменение сбросит 2 подписи и вернёт план на согласование" in html
    # The confirming button repeats the very paste
    vals = json.loads(unescape(re.search(r'hx-vals="([^"]*)"', html)[1]))
    assert vals["confirm_reset"] == "1" and json.loads(vals["rows"]) == [["Новое имя"], ["Ещё шаг"]]
    assert Step.objects.filter(plan=plan).count() == 1 and plan.steps.get().name == "Шаг 1"
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED
    # And with the confirmation the paste is saved and the plan goes back to review
    response = post(client, plan, step.pk, ["name"], rows=[["Новое имя"], ["Ещё шаг"]], confirm_reset="1")
    assert response.status_code == 200
    assert [s.name for s in steps(plan)] == ["Новое имя", "Ещё шаг"]
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW
    assert plan.versions.count() == 2


def test_the_service_alone_asks_inside_confirm_resets(client):
    from approvals import services as approvals
    from approvals.models import ApprovalRow
    from tests.approvals.factories import plan_with_matrix

    plan, author, (first_user,), _duty = plan_with_matrix(1)
    approvals.submit_plan(plan.pk, actor=author)
    approvals.approve_row(ApprovalRow.objects.filter(plan=plan).order_by("position")[0].pk, actor=first_user, version=1)
    step = plan.steps.get()
    with versioning.confirm_resets(False), pytest.raises(versioning.ResetNotConfirmed):
        paste.paste_block(step.pk, actor=author, fields=["jira_key", "name"], rows=[["OPS-1", "Другое"]])
    assert plan.steps.get().name == "Шаг 1" and plan.steps.get().jira_key == ""
    # A paste of what signatures do not cover (a Jira key) does not ask
    with versioning.confirm_resets(False):
        paste.paste_block(step.pk, actor=author, fields=["jira_key"], rows=[["OPS-1"]])
    assert plan.steps.get().jira_key == "OPS-1"


def test_the_whole_request_costs_the_same_with_or_without_problems(client, author):
    # The report (problems, links, notes) is built from what the service read: no queries of its own.
    client.force_login(author)

    def run(time):
        plan = PlanFactory(author=author)
        for position in (1, 2, 3):
            StepFactory(plan=plan, position=position, executor=None)
        first = Step.objects.filter(plan=plan).order_by("position").first()
        rows = [[f"Имя {n}", time, "x"] for n in range(3)]
        with CaptureQueriesContext(connection) as queries:
            response = post(client, plan, first.pk, ["name", "planned_time", "status"], rows=rows)
        assert response.status_code == 200
        return len(queries), response.content.decode().count('class="okno-paste-problem')

    run("17-00")  # warm-up
    (good, good_problems), (bad, bad_problems) = run("17-00"), run("25-99")
    assert (good_problems, bad_problems) == (0, 3)
    assert bad == good
