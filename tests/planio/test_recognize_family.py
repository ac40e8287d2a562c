"""The recognizer on what real plans of the seed's family write and the generated corpus lacked: bullet lists,
upper-bound durations, sub-step numbers, contacts after an executor, a «Дата/время» column, the export's
metadata for what the text cannot say, blank lines inside header values, a title that reads as a label."""

import pytest
from django.utils import translation

from changeplans.people import parse_short_name
from planio import vocabulary
from planio.document import Document, Paragraph, Table
from planio.readers import read_paste
from planio.recognize import read_risks, read_rollback, recognize

TZ = "Asia/Novosibirsk"
WINDOW = "Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025"
HEADER = ["№", "Наименование мероприятия", "Ответственный исполнитель", "Продолжительность", "Возможные риски"]
HEADER += ["Минимизация риска", "Действия, если что-то пойдет не так"]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def read(*blocks, metadata=None):
    document = Document(blocks=list(blocks), source="docx", metadata=metadata or {})
    return recognize(document, default_time_zone=TZ)


def steps_table(*rows):
    return Table(rows=[list(HEADER), *[list(row) for row in rows]])


def step_row(
    number="1", name="Работа", executor="Петров П.П.", duration="10 мин", risks="", mitigation="", rollback=""
):
    return [number, name, executor, duration, risks, mitigation, rollback]


# --- bullets --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mark", ["-", "•", "–", "*"])
def test_bulleted_risks_are_separate_risks(mark):
    risks, problem = read_risks(f"{mark} Ошибка А\n{mark} Ошибка Б")
    assert [(risk.number, risk.description) for risk in risks] == [(1, "Ошибка А"), (2, "Ошибка Б")]
    assert problem == ""


def test_bulleted_rollback_is_separate_actions_tied_to_nothing():
    actions, no_rollback, problem = read_rollback("- Вернуть А\n\n- Вернуть Б", [])
    assert [(action.text, action.risks) for action in actions] == [("Вернуть А", []), ("Вернуть Б", [])]
    assert (no_rollback, problem) == (False, "")


def test_a_dash_inside_text_or_one_bullet_is_not_a_list():
    risks, _problem = read_risks("- Ошибка А\nпродолжение")
    assert [risk.description for risk in risks] == ["- Ошибка А\nпродолжение"]
    risks, _problem = read_risks("- Ошибка А")
    assert [risk.description for risk in risks] == ["- Ошибка А"]


# --- durations --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["до 2 часов", "не более 30 минут", "~15 мин", "1ч 30м", "до часа", "около 20 мин"])
def test_readable_durations_are_kept_as_written_unflagged(text):
    plan = read(Paragraph(WINDOW), steps_table(step_row(duration=text)))
    cell = plan.steps[0].cells["duration_text"]
    assert (cell.value, cell.problem) == (text, "")


@pytest.mark.parametrize("text", ["на время перезагрузки", "до конца смены", "до 2 попугаев"])
def test_unreadable_durations_are_flagged(text):
    cell = read(Paragraph(WINDOW), steps_table(step_row(duration=text))).steps[0].cells["duration_text"]
    assert cell.value is None
    assert cell.problem


# --- numbers, executors, columns ----------------------------------------------------------------------------------


def test_sub_step_numbers_are_steps_of_their_own_in_order_with_a_note():
    plan = read(
        Paragraph(WINDOW),
        steps_table(step_row("1.", "А"), step_row("1.1", "Б"), step_row("1.2.", "В"), step_row("2", "Г")),
    )
    assert [step.cells["name"].value for step in plan.steps] == ["А", "Б", "В", "Г"]
    assert [step.cells["position"].problem for step in plan.steps] == ["", "", "", ""]
    assert sum("sub-step" in note for note in plan.notes) == 2


def test_a_contact_after_the_executor_is_split_off_and_flagged():
    plan = read(
        Paragraph(WINDOW),
        steps_table(step_row(executor="Петров П.П. +7 913 712-71-78"), step_row("2", executor="Иванов И.И.")),
    )
    first, second = (step.cells["executor"] for step in plan.steps)
    assert first.value == "Петров П.П."
    assert "+7 913 712-71-78" in first.problem
    assert (second.value, second.problem) == ("Иванов И.И.", "")
    assert "петров п.п." in plan.people


def test_status_first_date_time_column_jira_url_and_no_risks_in_a_pasted_table():
    text = "\n".join(
        [
            "План замены дисков",
            WINDOW,
            "",
            "Статус\t№\tНаименование мероприятия\tДата/время\tВозможные риски\tЗадача в Jira",
            "ВЫПОЛНЕНО\t1\tЗамена\t20.03.2025 в 20:30\tРиски отсутствуют\thttps://jira.example.ru/browse/OPS-12",
        ]
    )
    plan = recognize(read_paste(text), default_time_zone=TZ)
    assert [(guess.field, guess.sure) for guess in plan.columns] == [
        ("status", True),
        ("position", True),
        ("name", True),
        ("planned_datetime", True),
        ("risks", True),
        ("jira_key", True),
    ]
    step = plan.steps[0]
    assert (step.cells["planned_date"].value, step.cells["planned_time"].value) == ("2025-03-20", "20:30")
    assert (step.cells["jira_key"].value, step.cells["risks"].value, step.risks) == ("OPS-12", [], [])
    assert step.cells["status"].value is None
    assert all(not cell.problem for cell in step.cells.values())


def test_signoff_with_date_and_signature_columns_and_full_names():
    signoff = Table(
        rows=[
            ["№", "Должность", "ФИО", "Статус", "Дата", "Подпись"],
            ["1", "Директор по ИТ", "Кочетов Виктор Николаевич", "СОГЛАСОВАНО", "19.03.2025", ""],
        ]
    )
    plan = read(Paragraph("План"), Paragraph(WINDOW), steps_table(step_row()), signoff)
    row = plan.signoff[0]
    assert (row.job_title, row.person_name, row.status_text) == (
        "Директор по ИТ",
        "Кочетов Виктор Николаевич",
        "СОГЛАСОВАНО",
    )
    # a full name matches a user by surname and initials (planio.matching uses changeplans.people)
    assert parse_short_name("Кочетов Виктор Николаевич") == parse_short_name("Кочетов В.Н.")


def test_renamed_rollback_column_is_known():
    assert vocabulary.step_column_for("Резервный план") == ("rollback", True)
    assert vocabulary.step_column_for("План Б") == ("rollback", True)


def test_step_column_for_is_what_every_synonym_says():
    for key, names in vocabulary.STEP_HEADERS.items():
        for name in names:
            assert vocabulary.step_column_for(name.upper()) == (key, True)
    assert vocabulary.step_column_for("Наименование мероприятия (кратко)") == ("name", False)
    assert vocabulary.step_column_for("Продолжит") == ("duration_text", False)
    assert vocabulary.step_column_for("Примечание") == ("", False)
    assert vocabulary.step_column_for("Перезагрузить сервер " * 20) is None


# --- the header block -------------------------------------------------------------------------------------------


def test_title_is_the_paragraph_above_the_window_after_an_unread_table():
    plan = read(
        Paragraph("Лист согласования"),
        Table(rows=[[""]]),
        Paragraph("Обновление PostgreSQL 13 до 16"),
        Paragraph("Дата и время проведения работ: с 22:00 17.04.25 до 03:55 18.04.2025"),
        Paragraph("Тема: Обновление СУБД"),
        steps_table(step_row()),
    )
    assert plan.header["title"].value == "Обновление PostgreSQL 13 до 16"
    assert plan.header["announcement_subject"].value == "Обновление СУБД"


def test_a_title_that_reads_as_a_label_stays_the_title_when_the_label_follows():
    plan = read(
        Paragraph("Тема: замена дисков"),
        Paragraph(WINDOW),
        Paragraph("Тема: Плановые работы"),
        steps_table(step_row()),
    )
    assert plan.header["title"].value == "Тема: замена дисков"
    assert plan.header["announcement_subject"].value == "Плановые работы"


def test_blank_lines_inside_a_header_value_and_the_intro_stay():
    plan = read(
        Paragraph("План"),
        Paragraph(WINDOW),
        Paragraph("Цель работ: Строка 1\n\nСтрока 3"),
        Paragraph("Уважаемые коллеги!"),
        Paragraph("Абзац 1\n\nАбзац 2"),
        Paragraph("Приносим извинения за неудобства!"),
        steps_table(step_row()),
    )
    assert plan.header["goal"].value == "Строка 1\n\nСтрока 3"
    assert plan.header["announcement_intro"].value == "Абзац 1\n\nАбзац 2"


# --- the export's metadata ------------------------------------------------------------------------------------------


def test_metadata_cuts_untied_rollback_actions_apart():
    rollback = "1. Вернуть запись\nна старый сервер\nПроверить приложения\nСообщить дежурному"
    meta = {
        "steps": [
            {
                "kind": "work",
                "rollback": [{"risks": [1], "lines": 2}, {"risks": [], "lines": 1}, {"risks": [], "lines": 1}],
            }
        ]
    }
    plan = read(Paragraph(WINDOW), steps_table(step_row(risks="1. Ошибка", rollback=rollback)), metadata=meta)
    assert [(action.text, action.risks) for action in plan.steps[0].actions] == [
        ("Вернуть запись\nна старый сервер", [1]),
        ("Проверить приложения", []),
        ("Сообщить дежурному", []),
    ]


def test_metadata_that_disagrees_with_the_visible_ties_is_ignored():
    rollback = "2. Вернуть запись\nПроверить приложения"
    meta = {"steps": [{"rollback": [{"risks": [1], "lines": 1}, {"risks": [], "lines": 1}]}]}
    plan = read(Paragraph(WINDOW), steps_table(step_row(risks="1. А\n2. Б", rollback=rollback)), metadata=meta)
    assert [(action.text, action.risks) for action in plan.steps[0].actions] == [
        ("Вернуть запись\nПроверить приложения", [2])
    ]


def test_metadata_keeps_a_numbered_mitigation_text_the_steps_own():
    mitigation = "1. Сделать резервную копию\n2. Проверить реплику\n1. Отдельно для риска 1"
    meta = {"steps": [{"mitigation_lines": 2}]}
    plan = read(Paragraph(WINDOW), steps_table(step_row(risks="1. А\n2. Б", mitigation=mitigation)), metadata=meta)
    step = plan.steps[0]
    assert step.cells["risk_mitigation"].value == "1. Сделать резервную копию\n2. Проверить реплику"
    assert [risk.mitigation for risk in step.risks] == ["Отдельно для риска 1", ""]


def test_metadata_of_another_step_count_is_not_used():
    mitigation = "1. Сделать резервную копию"
    meta = {"steps": [{"mitigation_lines": 1}, {"mitigation_lines": 1}]}
    plan = read(Paragraph(WINDOW), steps_table(step_row(risks="1. А", mitigation=mitigation)), metadata=meta)
    assert plan.steps[0].cells["risk_mitigation"].value == ""
    assert plan.steps[0].risks[0].mitigation == "Сделать резервную копию"
