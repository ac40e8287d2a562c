"""The recognizer on documents built by hand (exact, fast) and on the seed plan: every cell asserted."""

import pytest
from django.test import override_settings
from django.utils import translation

from demo.plans import DEMO_APPROVERS, DEMO_PLAN, DEMO_SERVICES, DEMO_STEPS, DEMO_TITLE, STEP5_RISKS, STEP5_ROLLBACK
from planio.document import Document, Paragraph, Table
from planio.errors import ImportRefused
from planio.parsed import IGNORED, Overrides
from planio.recognize import read_rollback, read_window, recognize
from tests.planio.seed_document import seed_document

TZ = "Asia/Novosibirsk"

HEADER = [
    "№ п/п",
    "Наименование мероприятия",
    "Краткое описание работ",
    "Ответственный исполнитель",
    "Дата начала",
    "Время начала",
    "Продолжительность",
    "Возможные риски",
    "Действия, если что-то пойдет не так",
]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def doc(*blocks, metadata=None):
    return Document(blocks=list(blocks), source="docx", metadata=metadata or {})


def p(text):
    return Paragraph(text=text)


def table(rows, origin=None):
    return Table(rows=[list(row) for row in rows], origin=origin or {})


def row(**cells):
    """A row of HEADER's table from field values."""
    keys = ["position", "name", "description", "executor", "date", "time", "duration", "risks", "rollback"]
    return [cells.get(key, "") for key in keys]


def read(*blocks, overrides=None, metadata=None):
    return recognize(doc(*blocks, metadata=metadata), overrides=overrides, default_time_zone=TZ)


def values(step):
    return {key: cell.value for key, cell in step.cells.items()}


# --- the seed -----------------------------------------------------------------------------------------------------


def _check_seed(plan):
    header = {key: cell.value for key, cell in plan.header.items()}
    assert header["title"] == DEMO_TITLE
    assert header["window_start"] == "2025-03-20T20:00"
    assert header["window_end"] == "2025-03-20T23:05"
    for key in ("goal", "downtime_text", "announcement_subject", "announcement_intro", "mailing_list"):
        assert header[key] == DEMO_PLAN[key], key
    assert header["client_impact"] is True
    assert header["banner_needed"] is True
    assert header["availability"] == "unavailable"
    assert header["stated_duration_text"] == ""
    assert header["services"] == [name for name, _display in DEMO_SERVICES]
    assert header["curator"] == "Хасанов А.И."
    assert header["responsible"] == "Хасанов А.И."
    assert header["responsible_contact"] == "+7 (913) 712-71-78 <НЭС>"
    assert header["time_zone"] == TZ
    assert not plan.problem_cells()
    assert [guess.field for guess in plan.columns] == [
        "position",
        "name",
        "description",
        "expected_result",
        "risks",
        "risk_mitigation",
        "affected_systems",
        "planned_downtime",
        "executor",
        "planned_date",
        "planned_time",
        "duration_text",
        "rollback",
        "jira_key",
        "status",
    ]
    assert all(guess.sure for guess in plan.columns)
    assert len(plan.steps) == len(DEMO_STEPS)
    for step, spec in zip(plan.steps, DEMO_STEPS, strict=True):
        got = values(step)
        assert step.row == spec["position"]
        assert step.kind == spec["kind"], step.row
        for key in (
            "name",
            "description",
            "expected_result",
            "affected_systems",
            "planned_downtime",
            "executor",
            "jira_key",
            "risk_mitigation",
        ):
            assert got[key] == spec[key], (step.row, key)
        assert got["planned_date"] == spec["planned_date"].isoformat()
        expected_time = spec["planned_time"].strftime("%H:%M") if spec["planned_time"] else None
        assert got["planned_time"] == expected_time
        assert got["duration_text"] == spec["duration"]
        assert got["status"] is None
        assert step.cells["status"].text == "НЕ ВЫПОЛНЕНО"
        assert [risk.description for risk in step.risks] == spec["risks"]
        assert [risk.number for risk in step.risks] == list(range(1, len(spec["risks"]) + 1))
        assert all(risk.mitigation == "" for risk in step.risks)
        if spec["rollback"] is None:
            assert step.no_rollback_needed and step.actions == []
        else:
            assert not step.no_rollback_needed
            assert [(tuple(a.risks), a.text) for a in step.actions] == list(spec["rollback"])
    step5 = plan.steps[4]
    assert [risk.description for risk in step5.risks] == STEP5_RISKS
    assert len(step5.actions) == 10
    assert [(tuple(a.risks), a.text) for a in step5.actions] == STEP5_ROLLBACK
    assert [(row.job_title, row.person_name) for row in plan.signoff[:9]] == [
        (title, name) for title, name, _user in DEMO_APPROVERS
    ]
    assert [row.kind for row in plan.signoff] == ["approval"] * 9 + ["acknowledgement"]
    assert (plan.signoff[9].job_title, plan.signoff[9].person_name) == ("", "Дежурный НЭС")
    assert [row.status_text for row in plan.signoff] == ["НА СОГЛАСОВАНИИ"] * 9 + ["НЕ ОЗНАКОМЛЕН"]
    assert [row.position for row in plan.signoff] == list(range(1, 11))
    assert plan.people["хасанов а.и."].roles == ["curator", "responsible"]
    assert plan.people["дежурный оофис"].roles == ["executor"]
    assert plan.people["ооо «профсофт»"].roles == ["executor"]
    assert plan.people["шпагин а.в. (интакт)"].roles == ["signoff"]
    assert list(plan.services) == [name for name, _display in DEMO_SERVICES]


def test_seed_cut_by_hand():
    _check_seed(recognize(seed_document(), default_time_zone=TZ))


def test_seed_through_read_paste():
    from planio.readers import read_paste
    from tests.planio.seed_document import seed_text

    _check_seed(recognize(read_paste(seed_text()), default_time_zone=TZ))


def test_seed_step_kinds_are_guesses():
    plan = recognize(seed_document(), default_time_zone=TZ)
    assert [step.kind_sure for step in plan.steps] == [False] * 7


def test_seed_json_round_trip():
    from planio.parsed import ParsedPlan

    plan = recognize(seed_document(), default_time_zone=TZ)
    assert ParsedPlan.from_json(plan.to_json()) == plan


# --- the header block ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("с 20:00 20.03.2025 до 23:05 20.03.2025", "2025-03-20T20:00", "2025-03-20T23:05"),
        ("с 20:00 20.03.25 до 23:05 20.03.2025", "2025-03-20T20:00", "2025-03-20T23:05"),
        ("с 21:00 14.11.25 до 01:30 15.11.2025", "2025-11-14T21:00", "2025-11-15T01:30"),
        ("20.03.2025 с 20:00 до 23:05", "2025-03-20T20:00", "2025-03-20T23:05"),
        ("14.11.2025 с 21:00 до 01:30", "2025-11-14T21:00", "2025-11-15T01:30"),
        ("20:00–23:05 20.03.2025", "2025-03-20T20:00", "2025-03-20T23:05"),
        ("20.03.2025 20:00 - 21.03.2025 02:00", "2025-03-20T20:00", "2025-03-21T02:00"),
        ("с 20.00 20.03.2025г. до 23.05 20.03.2025г.", "2025-03-20T20:00", "2025-03-20T23:05"),
        ("20 марта 2025 г. с 20:00 до 23:05", "2025-03-20T20:00", "2025-03-20T23:05"),
    ],
)
def test_window_forms(text, start, end):
    assert read_window(text) == (start, end, "")
    plan = read(p("План"), p(f"Дата проведения работ: {text}"))
    assert plan.header["window_start"].value == start
    assert plan.header["window_end"].value == end
    assert plan.header["window_start"].text == text
    assert not plan.header["window_start"].problem


@pytest.mark.parametrize(
    "text",
    ["скоро", "с 20:00 до 23:05", "с 20:00 32.03.2025 до 23:05 32.03.2025", "с 23:00 20.03.2025 до 22:00 20.03.2025"],
)
def test_window_unreadable_is_flagged(text):
    plan = read(p("План"), p(f"Дата проведения работ: {text}"))
    assert plan.header["window_start"].problem
    assert plan.header["window_end"].problem


def test_window_from_the_announcement_and_cross_check():
    announcement = table(
        [["Время начала", "20:00/20.03.2025"], ["Плановое время окончания", "23:05/20.03.2025"]],
    )
    plan = read(p("План"), p("Цель работ: x"), announcement)
    assert plan.header["window_start"].value == "2025-03-20T20:00"
    assert plan.header["window_end"].value == "2025-03-20T23:05"
    assert not plan.header["window_end"].problem

    plan = read(p("План"), p("Дата проведения работ: с 20:00 20.03.2025 до 23:30 20.03.2025"), announcement)
    assert plan.header["window_start"].value == "2025-03-20T20:00"
    assert not plan.header["window_start"].problem
    assert plan.header["window_end"].value == "2025-03-20T23:30"
    assert "23:05/20.03.2025" in plan.header["window_end"].problem


def test_missing_window_and_title_are_flagged():
    plan = read(table([HEADER, row(position="1", name="Шаг", executor="Иванов И.И.")]))
    assert plan.header["window_start"].value is None
    assert plan.header["window_start"].problem
    assert plan.header["title"].value is None
    assert plan.header["title"].problem


def test_header_fields():
    plan = read(
        p("Замена коммутатора"),
        p("Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025"),
        p("Общая продолжительность работ: 3 часа"),
        p("Время простоя: возможное время до 40 мин"),
        p("Цель работ: Заменить коммутатор"),
        p("Недоступные сервисы:"),
        p("www.example.ru"),
        p("mail.example.ru"),
        p("Куратор работ: Петров П.П."),
        p("Рассылка: it@example.ru"),
        p("Тема: Замена"),
        p("Задача в Jira: https://jira.example.ru/browse/NET-12"),
    )
    header = {key: cell.value for key, cell in plan.header.items()}
    assert header["title"] == "Замена коммутатора"
    assert header["stated_duration_text"] == "3 часа"
    assert header["downtime_text"] == "возможное время до 40 мин"
    assert header["goal"] == "Заменить коммутатор"
    assert header["services"] == ["www.example.ru", "mail.example.ru"]
    assert header["curator"] == "Петров П.П."
    assert header["mailing_list"] == "it@example.ru"
    assert header["announcement_subject"] == "Замена"
    assert header["jira_url"] == "https://jira.example.ru/browse/NET-12"
    assert not plan.problem_cells()
    assert plan.people["петров п.п."].roles == ["curator"]
    assert list(plan.services) == ["www.example.ru", "mail.example.ru"]


def test_empty_downtime_prompt_and_unreadable_downtime():
    plan = read(p("План"), p("Время простоя: возможное время до "), p("Общая продолжительность работ:"))
    assert plan.header["downtime_text"].value == ""
    assert not plan.header["downtime_text"].problem
    assert plan.header["stated_duration_text"].value == ""
    plan = read(p("План"), p("Время простоя: на время перезагрузки"))
    assert plan.header["downtime_text"].value is None
    assert plan.header["downtime_text"].problem


@pytest.mark.parametrize(
    ("impact", "banner", "availability", "expected"),
    [
        ("ВЛИЯЕТ НА КЛИЕНТОВ", "БАННЕР УСТАНОВЛЕН", "БУДЕТ НЕДОСТУПЕН", (True, True, "unavailable")),
        ("НЕ ВЛИЯЕТ", "БЕЗ БАННЕРА", "ДОСТУПЕН С ОГРАНИЧЕНИЯМИ", (False, False, "degraded")),
        ("не влияет на клиентов", "НЕТ", "ДОСТУПЕН", (False, False, "available")),
        ("ВЛИЯЕТ", "БАННЕР УСТАНОВЛЕН", "частично доступен", (True, True, "degraded")),
    ],
)
def test_announcement_words(impact, banner, availability, expected):
    plan = read(
        p("План"),
        p("Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025"),
        table(
            [
                ["Влияние на клиентов НЭС", impact],
                ["Наличие баннера", banner],
                ["Доступность сервисов во время работ", availability],
            ]
        ),
    )
    got = tuple(plan.header[key].value for key in ("client_impact", "banner_needed", "availability"))
    assert got == expected
    assert not plan.problem_cells()


def test_unreadable_announcement_words_are_flagged():
    plan = read(p("План"), table([["Влияние на клиентов", "возможно"], ["Наличие баннера", "уточняется"]]))
    assert plan.header["client_impact"].value is None and plan.header["client_impact"].problem
    assert plan.header["banner_needed"].value is None and plan.header["banner_needed"].problem


def test_responsible_and_intro():
    plan = read(
        p("План"),
        p("Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025"),
        p("Уважаемые коллеги!"),
        p("Первый абзац."),
        p("Второй абзац."),
        table([["Ответственный за работы", "Хасанов А.И.\u00a0+7 (913) 712-71-78 <НЭС>"]]),
        p("Приносим извинения за возникшие неудобства!"),
    )
    assert plan.header["responsible"].value == "Хасанов А.И."
    assert plan.header["responsible_contact"].value == "+7 (913) 712-71-78 <НЭС>"
    assert plan.header["announcement_intro"].value == "Первый абзац.\nВторой абзац."
    assert plan.people["хасанов а.и."].roles == ["responsible"]


def test_title_falls_back_to_the_announcement():
    plan = read(
        p("Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025"),
        table([["План работ", "Обновление PostgreSQL"], ["Время начала", "20:00/20.03.2025"]]),
    )
    assert plan.header["title"].value == "Обновление PostgreSQL"


def test_header_as_a_two_column_table_and_xlsx_rows():
    plan = read(
        table(
            [
                ["Обновление PostgreSQL", "", ""],
                ["Дата проведения работ:", "с 20:00 20.03.2025 до 23:05 20.03.2025", ""],
                ["Цель работ: Обновить", "", ""],
                ["", "", ""],
            ]
        )
    )
    assert plan.header["window_start"].value == "2025-03-20T20:00"
    assert plan.header["goal"].value == "Обновить"


def test_typed_header_overrides_the_document():
    overrides = Overrides(header={"window": "с 21:00 14.11.25 до 01:30 15.11.2025", "title": "Новое имя"})
    plan = read(p("План"), p("Дата проведения работ: когда-нибудь"), overrides=overrides)
    assert plan.header["window_start"].value == "2025-11-14T21:00"
    assert plan.header["window_end"].value == "2025-11-15T01:30"
    assert not plan.header["window_end"].problem
    assert plan.header["title"].value == "Новое имя"


# --- the step table -----------------------------------------------------------------------------------------------


def test_other_column_order_synonyms_missing_and_extra_columns():
    header = ["Исполнитель", "Комментарий", "Шаг работ", "Время", "Дата", "Откат", "Риски"]
    data = ["ООО «ПрофСофт»", "любой", "Обновить", "17-00", "20.03.2025г.", "1. Вернуть", "1. Сбой"]
    plan = read(p("План"), table([header, data]))
    fields = {guess.header: (guess.field, guess.sure) for guess in plan.columns}
    assert fields == {
        "Исполнитель": ("executor", True),
        "Комментарий": (IGNORED, False),
        "Шаг работ": ("name", True),
        "Время": ("planned_time", True),
        "Дата": ("planned_date", True),
        "Откат": ("rollback", True),
        "Риски": ("risks", True),
    }
    step = plan.steps[0]
    assert values(step) == {
        "executor": "ООО «ПрофСофт»",
        "name": "Обновить",
        "planned_time": "17:00",
        "planned_date": "2025-03-20",
        "rollback": ["Вернуть"],
        "risks": ["Сбой"],
    }
    assert [(a.risks, a.text) for a in step.actions] == [([1], "Вернуть")]
    assert step.row == 1
    assert "position" not in step.cells


def test_two_row_header_with_merged_upper_cells():
    rows = [
        ["№", "Наименование", "Время начала", "", "Риски", "", "Исполнитель"],
        ["", "", "Дата", "Время", "Возможные риски", "Минимизация", ""],
        ["1", "Перезагрузка", "20.03.2025", "20.00", "1. Не поднимется", "1. Проверить заранее", "Иванов И.И."],
    ]
    origin = {
        (0, 3): (0, 2),
        (0, 5): (0, 4),
        (1, 0): (0, 0),
        (1, 1): (0, 1),
        (1, 6): (0, 6),
    }
    plan = read(p("План"), table(rows, origin))
    assert [guess.field for guess in plan.columns] == [
        "position",
        "name",
        "planned_date",
        "planned_time",
        "risks",
        "risk_mitigation",
        "executor",
    ]
    assert plan.columns[2].header == "Время начала / Дата"
    assert len(plan.steps) == 1
    step = plan.steps[0]
    assert values(step)["planned_time"] == "20:00"
    assert values(step)["planned_date"] == "2025-03-20"
    assert [(r.number, r.description, r.mitigation) for r in step.risks] == [(1, "Не поднимется", "Проверить заранее")]
    assert values(step)["risk_mitigation"] == ""


def test_two_row_header_pasted_as_text_without_merges():
    rows = [
        ["№", "Наименование", "Время начала", "", "Исполнитель"],
        ["", "", "Дата", "Время", ""],
        ["1", "Перезагрузка", "20.03.2025", "20:00", "Иванов И.И."],
    ]
    plan = read(p("План"), table(rows))
    assert [guess.field for guess in plan.columns] == ["position", "name", "planned_date", "planned_time", "executor"]


def test_header_cells_split_over_two_rows():
    rows = [
        ["п/п", "Наименование", "Ответственный", "Дата начала", "Продолжи-"],
        ["", "мероприятия", "исполнитель работ", "проведения работ", "тельность"],
        ["1", "Шаг", "Иванов И.И.", "20.03.2025", "5 мин"],
    ]
    plan = read(p("План"), table(rows))
    assert [guess.field for guess in plan.columns] == [
        "position",
        "name",
        "executor",
        "planned_date",
        "duration_text",
    ]
    assert values(plan.steps[0])["duration_text"] == "5 мин"


def test_table_continued_with_and_without_header():
    first = table([HEADER, row(position="1", name="Один"), row(position="2", name="Два")])
    repeated = table([HEADER, row(position="3", name="Три")])
    bare = table([row(position="4", name="Четыре"), row(position="5", name="Пять")])
    plan = read(p("План"), first, p(""), repeated, bare)
    assert [values(step)["name"] for step in plan.steps] == ["Один", "Два", "Три", "Четыре", "Пять"]
    assert [step.row for step in plan.steps] == [1, 2, 3, 4, 5]
    assert len(plan.notes) == 2


def test_header_row_repeated_inside_the_table_and_column_numbers_row():
    rows = [
        HEADER,
        [str(n) for n in range(1, 10)],
        row(position="1", name="Один"),
        HEADER,
        row(position="2", name="Два"),
    ]
    plan = read(p("План"), table(rows))
    assert [values(step)["name"] for step in plan.steps] == ["Один", "Два"]
    assert not plan.notes


def test_section_rows_and_empty_rows_are_skipped_with_a_note():
    rows = [
        HEADER,
        ["Подготовка"] * 9,
        row(position="1", name="Один"),
        [""] * 9,
        ["Основные работы"] + [""] * 8,
        row(position="2", name="Два"),
    ]
    origin = {(1, c): (1, 0) for c in range(1, 9)}
    plan = read(p("План"), table(rows, origin))
    assert [values(step)["name"] for step in plan.steps] == ["Один", "Два"]
    assert len(plan.notes) == 2
    assert "Подготовка" in plan.notes[0]


def test_positions_are_renumbered_with_a_note():
    plan = read(p("План"), table([HEADER, row(position="1", name="a"), row(position="3", name="b"), row(name="c")]))
    assert [step.row for step in plan.steps] == [1, 2, 3]
    assert [values(step)["position"] for step in plan.steps] == [1, 3, None]
    assert len(plan.notes) == 1


def test_rows_continuing_a_step():
    rows = [
        HEADER,
        row(position="1", name="Один", rollback="1. Вернуть", risks="1. Сбой\n2. Потеря"),
        row(rollback="2. Восстановить"),
    ]
    plan = read(p("План"), table(rows))
    assert len(plan.steps) == 1
    assert [(a.risks, a.text) for a in plan.steps[0].actions] == [([1], "Вернуть"), ([2], "Восстановить")]


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("date", "20.03.2025", "2025-03-20"),
        ("date", "20.03.2025г.", "2025-03-20"),
        ("date", "20.03.25", "2025-03-20"),
        ("date", "", None),
        ("time", "17:00", "17:00"),
        ("time", "17-00", "17:00"),
        ("time", "17.00", "17:00"),
        ("time", "", None),
        ("duration", "5 мин.", "5 мин."),
        ("duration", "2-3 часа", "2-3 часа"),
        ("duration", "30мин", "30мин"),
    ],
)
def test_cells_read_exactly(field, text, value):
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", **{field: text})]))
    key = {"date": "planned_date", "time": "planned_time", "duration": "duration_text"}[field]
    cell = plan.steps[0].cells[key]
    assert (cell.text, cell.value, cell.problem) == (text, value, "")


@pytest.mark.parametrize(
    ("field", "text"),
    [("date", "завтра"), ("date", "31.02.2025"), ("time", "вечером"), ("time", "25:00"), ("duration", "долго")],
)
def test_unreadable_cells_are_flagged(field, text):
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", **{field: text})]))
    key = {"date": "planned_date", "time": "planned_time", "duration": "duration_text"}[field]
    cell = plan.steps[0].cells[key]
    assert cell.value is None
    assert cell.problem
    assert ("header:title", plan.header["title"]) not in plan.problem_cells()
    assert any(where == f"step 1:{key}" for where, _cell in plan.problem_cells())


def test_date_and_time_in_one_cell():
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", date="20.03.2025 20:00")]))
    got = values(plan.steps[0])
    assert (got["planned_date"], got["planned_time"]) == ("2025-03-20", "20:00")
    header = ["№", "Мероприятие", "Дата и время начала", "Исполнитель"]
    plan = read(p("План"), table([header, ["1", "Шаг", "20.03.2025 20:05", "Иванов И.И."]]))
    got = values(plan.steps[0])
    assert (got["planned_date"], got["planned_time"]) == ("2025-03-20", "20:05")


def test_jira_status_and_people():
    header = ["№", "Мероприятие", "Исполнитель", "Задача в Jira", "Статус"]
    plan = read(
        p("План"),
        table(
            [
                header,
                ["1", "a", "Иванов И.И.", "https://jira.example.ru/browse/OPS-123", "ВЫПОЛНЕНО"],
                ["2", "b", "Иванов  И.И.", "OPS-7", "НЕ ВЫПОЛНЕНО"],
                ["3", "c", "Дежурный", "см. выше", ""],
            ]
        ),
    )
    assert [values(step)["jira_key"] for step in plan.steps] == ["OPS-123", "OPS-7", None]
    assert plan.steps[2].cells["jira_key"].problem
    assert [values(step)["status"] for step in plan.steps] == [None, None, None]
    assert not plan.steps[0].cells["status"].problem
    assert plan.people["иванов и.и."].roles == ["executor"]
    assert plan.people["иванов и.и."].name == "Иванов И.И."
    assert plan.people["дежурный"].roles == ["executor"]


# --- numbered lists -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. Первый\n2. Второй", [(1, "Первый"), (2, "Второй")]),
        ("1) Первый\n2) Второй", [(1, "Первый"), (2, "Второй")]),
        ("1 . Первый\n2 . Второй", [(1, "Первый"), (2, "Второй")]),
        ("1. Первый; 2. Второй\n3. Третий", [(1, "Первый"), (2, "Второй"), (3, "Третий")]),
        ("1. Первый\n\n2. Второй\nпродолжение", [(1, "Первый"), (2, "Второй\nпродолжение")]),
        ("Один риск без номера", [(1, "Один риск без номера")]),
        ("нет", []),
        ("", []),
        ("1. Версия 2. Сбой", [(1, "Версия 2. Сбой")]),
    ],
)
def test_risks(text, expected):
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", risks=text)]))
    step = plan.steps[0]
    assert [(risk.number, risk.description) for risk in step.risks] == expected
    assert not step.cells["risks"].problem


def test_duplicate_risk_numbers_are_flagged():
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", risks="1. a\n1. b")]))
    assert plan.steps[0].cells["risks"].problem


@pytest.mark.parametrize(
    ("text", "expected", "no_rollback"),
    [
        ("1. Вернуть\n2. Проверить", [([1], "Вернуть"), ([2], "Проверить")], False),
        ("5/6/7/8 Перезапустить", [([5, 6, 7, 8], "Перезапустить")], False),
        ("5,6 Перезапустить", [([5, 6], "Перезапустить")], False),
        ("9–13 Откатить", [([9, 10, 11, 12, 13], "Откатить")], False),
        ("9-13. Откатить", [([9, 10, 11, 12, 13], "Откатить")], False),
        ("1. Вернуть; 2. Проверить", [([1], "Вернуть"), ([2], "Проверить")], False),
        ("Откатить всё\nи проверить", [([], "Откатить всё\nи проверить")], False),
        ("нет", [], True),
        ("Нет.", [], True),
        ("", [], False),
    ],
)
def test_rollback_ties(text, expected, no_rollback):
    risks = "\n".join(f"{n}. Риск {n}" for n in range(1, 14))
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", risks=risks, rollback=text)]))
    step = plan.steps[0]
    assert [(a.risks, a.text) for a in step.actions] == expected
    assert step.no_rollback_needed is no_rollback
    assert not step.cells["rollback"].problem


def test_tie_to_a_missing_risk_is_flagged():
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", risks="1. a\n2. b", rollback="3. Вернуть")]))
    step = plan.steps[0]
    assert [(a.risks, a.text) for a in step.actions] == [([], "3. Вернуть")]
    assert "3" in step.cells["rollback"].problem


def test_numbered_rollback_without_risks_stays_as_written():
    actions, no_rollback, problem = read_rollback("1. Вернуть\n2. Проверить", [])
    assert [(a.risks, a.text) for a in actions] == [([], "1. Вернуть"), ([], "2. Проверить")]
    assert (no_rollback, problem) == (False, "")


def test_mitigation_free_text_then_per_risk():
    header = ["№", "Наименование", "Риски", "Минимизация рисков", "Исполнитель"]
    mitigation = "Общая подготовка\n1. Проверить бэкап\n2. Предупредить"
    plan = read(p("План"), table([header, ["1", "Шаг", "1. Потеря\n2. Простой", mitigation, "Иванов И.И."]]))
    step = plan.steps[0]
    assert values(step)["risk_mitigation"] == "Общая подготовка"
    assert [(r.number, r.mitigation) for r in step.risks] == [(1, "Проверить бэкап"), (2, "Предупредить")]
    # no risks: all of it is the step's text
    plan = read(p("План"), table([header, ["1", "Шаг", "нет", mitigation, "Иванов И.И."]]))
    assert values(plan.steps[0])["risk_mitigation"] == mitigation


# --- kinds, overrides, metadata -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Произвести рассылку о плановых работах.", "announcement"),
        ("Установить Баннеры", "banner_on"),
        ("Снять баннеры", "banner_off"),
        ("Убрать баннер", "banner_off"),
        ("Произвести рассылку о завершении работ. Убрать баннер.", "completion_notice"),
        ("Миграция на Calico", "work"),
        ("Размещение баннера на сайте", "banner_on"),
        ("Баннеры снять", "banner_off"),
        ("Отключение баннеров", "banner_off"),
        ("Информирование пользователей о начале работ", "announcement"),
        ("Уведомление о завершении работ", "completion_notice"),
        ("Проверить баннер мониторинга", "work"),
    ],
)
def test_kind_guesses(name, kind):
    plan = read(p("План"), table([HEADER, row(position="1", name=name)]))
    assert (plan.steps[0].kind, plan.steps[0].kind_sure) == (kind, False)


def test_kind_overrides_and_metadata():
    rows = [HEADER, row(position="1", name="Снять баннеры"), row(position="2", name="Работа")]
    metadata = {"okno": 1, "plan": {"time_zone": "Europe/Moscow", "kind": "emergency"}, "steps": [{"kind": "work"}] * 2}
    plan = read(p("План"), table(rows), metadata=metadata, overrides=Overrides(kinds={"2": "announcement"}))
    assert [(step.kind, step.kind_sure) for step in plan.steps] == [("work", True), ("announcement", True)]
    assert plan.header["time_zone"].value == "Europe/Moscow"
    assert plan.header["kind"].value == "emergency"
    # metadata for another number of steps is not used
    plan = read(p("План"), table(rows), metadata={"steps": [{"kind": "work"}]})
    assert plan.steps[0].kind == "banner_off"
    assert plan.header["time_zone"].value == TZ


def test_column_override_rereads_the_cells():
    header = ["№", "Наименование", "Комментарий", "Исполнитель"]
    rows = [header, ["1", "Шаг", "17:30", "Иванов И.И."]]
    plan = read(p("План"), table(rows))
    assert plan.columns[2].field == IGNORED and not plan.columns[2].sure
    assert "planned_time" not in plan.steps[0].cells
    plan = read(p("План"), table(rows), overrides=Overrides(columns={"0:2": "planned_time"}))
    assert (plan.columns[2].field, plan.columns[2].sure) == ("planned_time", True)
    assert values(plan.steps[0])["planned_time"] == "17:30"
    plan = read(p("План"), table(rows), overrides=Overrides(columns={"0:1": IGNORED, "0:2": "name"}))
    assert values(plan.steps[0])["name"] == "17:30"


# --- sign-off -----------------------------------------------------------------------------------------------------


def test_signoff_with_header():
    signoff = table(
        [
            ["№", "Должность", "ФИО", "Статус"],
            ["1", "Директор по ИТ", "Матвеев И.Б.", "СОГЛАСОВАНО"],
            ["", "", "", ""],
            ["2", "", "Дежурный НЭС", "НЕ ОЗНАКОМЛЕН"],
        ]
    )
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг")]), signoff)
    assert [(r.position, r.job_title, r.person_name, r.status_text, r.kind) for r in plan.signoff] == [
        (1, "Директор по ИТ", "Матвеев И.Б.", "СОГЛАСОВАНО", "approval"),
        (2, "", "Дежурный НЭС", "НЕ ОЗНАКОМЛЕН", "acknowledgement"),
    ]
    assert plan.people["матвеев и.б."].roles == ["signoff"]


def test_signoff_without_header():
    signoff = table(
        [
            ["1", "Директор по ИТ", "Матвеев И.Б.", "НА СОГЛАСОВАНИИ"],
            ["2", "инженер", "Турчанинов П.В.", "СОГЛАСОВАНО"],
        ]
    )
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг")]), p("Лист согласования"), signoff)
    assert [(r.job_title, r.person_name, r.status_text) for r in plan.signoff] == [
        ("Директор по ИТ", "Матвеев И.Б.", "НА СОГЛАСОВАНИИ"),
        ("инженер", "Турчанинов П.В.", "СОГЛАСОВАНО"),
    ]


def test_signoff_metadata_kinds_and_stages():
    signoff = table(
        [["№", "Должность", "ФИО", "Статус"], ["1", "a", "Матвеев И.Б.", ""], ["2", "b", "Иванов И.И.", ""]]
    )
    metadata = {"signoff": [{"kind": "approval", "stage": 1}, {"kind": "acknowledgement", "stage": 2}]}
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг")]), signoff, metadata=metadata)
    assert [(r.kind, r.stage) for r in plan.signoff] == [("approval", 1), ("acknowledgement", 2)]


# --- refusals -----------------------------------------------------------------------------------------------------


def test_not_a_plan_is_refused_in_russian():
    with translation.override("ru"), pytest.raises(ImportRefused) as caught:
        read(p("Отчёт о командировке"), table([["Дата", "Сумма"], ["01.02.2025", "100"]]))
    assert "не найден план работ" in caught.value.messages[0]


@override_settings(OKNO_IMPORT_MAX_STEPS=3)
def test_too_many_steps_are_refused():
    rows = [HEADER] + [row(position=str(n), name=f"Шаг {n}") for n in range(1, 5)]
    with pytest.raises(ImportRefused):
        read(p("План"), table(rows))


def test_dates_stay_in_range():
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", date="20.03.1999")]))
    assert plan.steps[0].cells["planned_date"].problem


# --- more of the family -------------------------------------------------------------------------------------------


def test_label_with_its_value_on_the_next_line_and_stamps_above_the_title():
    plan = read(
        p("УТВЕРЖДАЮ"),
        p("Обновление PostgreSQL"),
        p("Дата проведения работ:"),
        p("с 21:00 14.11.25 до 01:30 15.11.2025"),
        p("Цель работ:"),
        p("Обновить СУБД"),
        p("Рассылка:"),
        p("Тема:"),
        p("Уважаемые коллеги!"),
        p("Вступление."),
    )
    header = {key: cell.value for key, cell in plan.header.items()}
    assert header["title"] == "Обновление PostgreSQL"
    assert (header["window_start"], header["window_end"]) == ("2025-11-14T21:00", "2025-11-15T01:30")
    assert header["goal"] == "Обновить СУБД"
    assert header["mailing_list"] == ""
    assert header["announcement_subject"] == ""
    assert header["announcement_intro"] == "Вступление."


def test_curator_with_a_phone():
    plan = read(p("План"), p("Куратор работ: Хасанов А.И., +7 (913) 712-71-78"))
    assert plan.header["curator"].value == "Хасанов А.И."


def test_several_executors_in_one_cell_are_flagged():
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг", executor="Иванов И.И., Петров П.П.")]))
    cell = plan.steps[0].cells["executor"]
    assert cell.value == "Иванов И.И., Петров П.П."
    assert cell.problem


def test_numbered_rows_of_a_template_left_empty_are_skipped():
    rows = [
        HEADER + ["Статус"],
        row(position="1", name="Шаг") + ["НЕ ВЫПОЛНЕНО"],
        row(position="2") + ["НЕ ВЫПОЛНЕНО"],
        row(position="3") + [""],
    ]
    plan = read(p("План"), table(rows))
    assert [values(step)["name"] for step in plan.steps] == ["Шаг"]
    assert len(plan.notes) == 2


def test_two_signoff_tables_and_extra_signoff_columns():
    approvers = table([["№", "Должность", "ФИО", "Подпись", "Дата"], ["1", "Директор по ИТ", "Матвеев И.Б.", "", ""]])
    duty = table([["№", "ФИО", "Статус"], ["1", "Дежурный НЭС", "НЕ ОЗНАКОМЛЕН"]])
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг")]), approvers, duty)
    assert [(r.position, r.job_title, r.person_name, r.kind) for r in plan.signoff] == [
        (1, "Директор по ИТ", "Матвеев И.Б.", "approval"),
        (2, "", "Дежурный НЭС", "acknowledgement"),
    ]


def test_one_sheet_with_header_steps_and_signoff():
    sheet = table(
        [
            ["Замена коммутатора", "", "", ""],
            ["Дата проведения работ:", "с 20:00 20.03.2025 до 23:05 20.03.2025", "", ""],
            ["", "", "", ""],
            ["№", "Мероприятие", "Исполнитель", "Время начала"],
            ["1", "Переключить", "Иванов И.И.", "20:00"],
            ["", "", "", ""],
            ["№", "Должность", "ФИО", "Статус"],
            ["1", "Директор по ИТ", "Матвеев И.Б.", "СОГЛАСОВАНО"],
        ]
    )
    plan = read(sheet)
    assert plan.header["title"].value == "Замена коммутатора"
    assert plan.header["window_start"].value == "2025-03-20T20:00"
    assert [values(step)["name"] for step in plan.steps] == ["Переключить"]
    assert [r.person_name for r in plan.signoff] == ["Матвеев И.Б."]


def test_unknown_header_words_are_guesses():
    header = ["№", "Наименование", "Ответственный", "Если что-то пошло не так", "Примечание"]
    plan = read(p("План"), table([header, ["1", "Шаг", "Иванов И.И.", "нет", "см. регламент"]]))
    assert [(g.field, g.sure) for g in plan.columns] == [
        ("position", True),
        ("name", True),
        ("executor", True),
        ("rollback", True),
        (IGNORED, False),
    ]
    assert plan.steps[0].no_rollback_needed


def test_dates_without_a_year_take_the_windows_year():
    window = p("Дата проведения работ: с 21:00 30.12.2025 до 01:30 31.12.2025")
    rows = [HEADER, row(position="1", name="a", date="10.09 22-00"), row(position="2", name="b", date="02.01")]
    plan = read(p("План"), window, table(rows))
    got = [(values(step)["planned_date"], values(step)["planned_time"]) for step in plan.steps]
    assert got == [("2025-09-10", "22:00"), ("2026-01-02", None)]
    assert not plan.problem_cells()
    plan = read(p("План"), table(rows))
    assert plan.steps[0].cells["planned_date"].value is None
    assert plan.steps[0].cells["planned_date"].problem


def test_window_in_two_labels_dash_labels_and_no_services():
    plan = read(
        p("План"),
        p("Дата проведения работ – 20.03.2025"),
        p("Время проведения работ: с 20:00 до 23:05"),
        p("Недоступные сервисы: нет"),
    )
    assert plan.header["window_start"].value == "2025-03-20T20:00"
    assert plan.header["window_end"].value == "2025-03-20T23:05"
    assert plan.header["services"].value == []
    assert plan.services == {}


def test_nothing_words_in_risks_and_rollback():
    plan = read(
        p("План"),
        table([HEADER, row(position="1", name="a", risks="Риски отсутствуют", rollback="Откат не требуется")]),
    )
    step = plan.steps[0]
    assert (step.risks, step.actions, step.no_rollback_needed) == ([], [], True)


def test_approval_stamp_and_a_title_over_two_lines():
    plan = read(
        p("УТВЕРЖДАЮ"),
        p("Директор по ИТ"),
        p("__________ Матвеев И.Б."),
        p("«__» ________ 2025 г."),
        p("План работ"),
        p("по обновлению кластера PostgreSQL"),
        p("Дата проведения работ: 15.11.2025 с 22:00 до 02:00"),
        p("Куратор работ: Петров П.П. (доб. 2211)"),
    )
    assert plan.header["title"].value == "План работ по обновлению кластера PostgreSQL"
    assert plan.header["curator"].value == "Петров П.П."
    assert plan.header["window_end"].value == "2025-11-16T02:00"
    assert "announcement_intro" not in plan.header


def test_numbers_without_their_dot_continue_a_list():
    rows = [
        HEADER,
        row(position="1", name="a", risks="1. Сбой\n2. Несовместимость\n3 Долго", rollback="1-2. Откатиться\n3 Ждать"),
    ]
    step = read(p("План"), table(rows)).steps[0]
    assert [(r.number, r.description) for r in step.risks] == [(1, "Сбой"), (2, "Несовместимость"), (3, "Долго")]
    assert [(a.risks, a.text) for a in step.actions] == [([1, 2], "Откатиться"), ([3], "Ждать")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("п. 1 – Перезапустить", [([1], "Перезапустить")]),
        ("По п.2: вернуть конфигурацию", [([2], "вернуть конфигурацию")]),
        ("пп. 1-3 Откатить", [([1, 2, 3], "Откатить")]),
        ("К риску 3 — ждать", [([3], "ждать")]),
        ("1 – Перезапустить\n2 – Ждать", [([1], "Перезапустить"), ([2], "Ждать")]),
    ],
)
def test_rollback_references_to_risks(text, expected):
    risks = "1. a\n2. b\n3. c"
    step = read(p("План"), table([HEADER, row(position="1", name="a", risks=risks, rollback=text)])).steps[0]
    assert [(a.risks, a.text) for a in step.actions] == expected


def test_table_split_by_section_titles_with_trailing_cells_dropped():
    first = table([HEADER, [str(n) for n in range(1, 10)]])
    part1 = table([row(position="1", name="Один")[:8]])
    part2 = table([row(position="2", name="Два"), row(position="3", name="Три")])
    plan = read(p("План"), first, p("Подготовка"), part1, p("Основные работы"), part2)
    assert [values(step)["name"] for step in plan.steps] == ["Один", "Два", "Три"]
    assert sum("Подготовка" in note for note in plan.notes) == 1


def test_greeting_and_intro_in_one_paragraph_and_services_from_the_announcement():
    plan = read(
        p("План"),
        p("Недоступные сервисы:"),
        p("Уважаемые коллеги! Нам необходимо провести работы."),
        table([["Влияние на сервисы", "Инфосайт, ЛК ЮЛ"]]),
    )
    assert plan.header["announcement_intro"].value == "Нам необходимо провести работы."
    assert plan.header["services"].value == ["Инфосайт", "ЛК ЮЛ"]


def test_vocabulary_is_in_norm_form_and_unambiguous():
    from planio import vocabulary

    owner: dict[str, str] = {}
    for key, names in vocabulary.STEP_HEADERS.items():
        for name in names:
            assert vocabulary.norm(name) == name
            assert owner.setdefault(name, key) == key, name
    for table in (vocabulary.HEADER_LABELS, vocabulary.ANNOUNCEMENT_LABELS, vocabulary.SIGNOFF_HEADERS):
        for names in table.values():
            assert all(vocabulary.norm(name) == name for name in names)


def test_line_breaks_inside_a_paragraph():
    plan = read(p("Обновление\nкластера"), p("Цель работ: первая строка\nвторая строка"), p("Рассылка: a@x.ru\nb@x.ru"))
    assert plan.header["title"].value == "Обновление кластера"
    assert plan.header["goal"].value == "первая строка\nвторая строка"
    assert plan.header["mailing_list"].value == "a@x.ru\nb@x.ru"


@pytest.mark.parametrize(
    ("text", "name", "contact"),
    [
        ("Хасанов А.И.\u00a0+7 (913) 712-71-78 <НЭС>", "Хасанов А.И.", "+7 (913) 712-71-78 <НЭС>"),
        ("ООО «Сервис-1» +7 383 000", "ООО «Сервис-1»", "+7 383 000"),
        ("Петров П.П., тел. 712-71-78", "Петров П.П.", "тел. 712-71-78"),
        ("Петров П.П. petrov@example.org", "Петров П.П.", "petrov@example.org"),
        ("Петров П.П.", "Петров П.П.", ""),
    ],
)
def test_responsible_and_contact(text, name, contact):
    from planio.recognize import split_responsible

    assert split_responsible(text) == (name, contact)


def test_contact_from_the_exports_metadata():
    metadata = {"okno": 1, "plan": {"responsible_contact": "Telegram @petrov"}}
    plan = read(p("План"), table([["Ответственный за работы", "Петров П.П. Telegram @petrov"]]), metadata=metadata)
    assert plan.header["responsible"].value == "Петров П.П."
    assert plan.header["responsible_contact"].value == "Telegram @petrov"


def test_a_step_whose_cells_start_with_header_words_is_a_step():
    rows = [
        HEADER,
        row(
            position="1",
            name="Наименование работ",
            description="Описание работ",
            executor="Исполнитель",
            date="20.03.2025",
        ),
    ]
    plan = read(p("План"), table(rows))
    assert [values(step)["name"] for step in plan.steps] == ["Наименование работ"]


def test_english_announcement():
    plan = read(
        p("Plan"),
        table(
            [
                ["Impact on НЭС clients", "AFFECTS CLIENTS"],
                ["Banner", "BANNER IS UP"],
                ["Availability of services during the work", "WILL BE UNAVAILABLE"],
            ]
        ),
    )
    assert [plan.header[key].value for key in ("client_impact", "banner_needed", "availability")] == [
        True,
        True,
        "unavailable",
    ]


def test_a_row_whose_cells_slipped_is_flagged_whole():
    shifted = ["Шаг", "описание", "Иванов И.И.", "20:00", "5 мин", "20.03.2025", "нет", "нет", ""]
    plan = read(p("План"), table([HEADER, row(position="1", name="Шаг"), shifted]))
    assert all(cell.problem for cell in plan.steps[1].cells.values())
    assert not any(cell.problem for cell in plan.steps[0].cells.values())


def test_a_column_choice_holds_for_the_header_repeated_on_the_next_page():
    header = ["№", "Наименование", "Комментарий", "Исполнитель"]
    first = table([header, ["1", "Шаг", "17:30", "Иванов И.И."]])
    second = table([header, ["2", "Шаг 2", "18:00", "Иванов И.И."]])
    plan = read(p("План"), first, second, overrides=Overrides(columns={"0:2": "planned_time"}))
    assert [values(step)["planned_time"] for step in plan.steps] == ["17:30", "18:00"]


def test_header_table_with_two_label_value_pairs_per_row_and_start_and_end_rows():
    plan = read(
        p("Замена коммутатора"),
        table(
            [
                ["Дата начала работ", "20.03.2025 20:00", "Куратор", "Петров П.П."],
                ["Дата окончания работ", "21.03.2025 02:00", "Цель работ", "Заменить"],
            ]
        ),
    )
    header = {key: cell.value for key, cell in plan.header.items()}
    assert (header["window_start"], header["window_end"]) == ("2025-03-20T20:00", "2025-03-21T02:00")
    assert (header["curator"], header["goal"]) == ("Петров П.П.", "Заменить")
