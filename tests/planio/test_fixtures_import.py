"""The seed plan and its layout variations, written by the tests themselves, read and recognized cell by cell.

Each document is made by tests/planio/builders.py (python-docx, openpyxl, HTML and text strings), read by
planio.readers and recognized by planio.recognize; every header value, step field, risk, rollback tie and
sign-off row is compared with what the spec says (builders.expected). No database: readers and recognizer are pure.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
from collections.abc import Callable

import docx
import openpyxl
import pytest

from planio.parsed import ParsedPlan
from planio.readers import read_file, read_paste
from planio.recognize import recognize

from .builders import (
    Layout,
    PlanSpec,
    StepSpec,
    cell_count,
    compare,
    describe,
    expected,
    render,
    seed_docx,
    seed_spec,
    seed_text,
    to_docx,
)
from .corpus import SHUFFLES, variants

TIME_ZONE = "Asia/Novosibirsk"


def seed_with_lists() -> PlanSpec:
    """The seed with numbered lists everywhere: step 3 gets two risks with a per-risk mitigation and a 1:1
    rollback, step 5's rollback ties "3, 4.", "5/6/7/8" and the range "9–13."."""
    spec = seed_spec()
    step3 = spec.steps[2]
    step3.risks = ["Раннер не зарегистрируется в GitLab", "Нехватка ресурсов на выделенных нодах"]
    step3.risk_mitigation = "Токен регистрации проверен заранее"
    step3.risk_mitigations = {2: "Проверить свободные ресурсы нод перед деплоем"}
    step3.actions = [
        ((1,), "Перерегистрировать раннер с новым токеном"),
        ((2,), "Освободить ресурсы, повторить деплой"),
    ]
    step5 = spec.steps[4]
    step5.actions = [
        ((1,), step5.actions[0][1]),
        ((2,), step5.actions[1][1]),
        ((3, 4), "Сверить конфигурации сред и перезапустить кластер."),
        ((5, 6, 7, 8), "Устранить причину и перезапустить узел/кластер."),
        ((9, 10, 11, 12, 13), "Эти риски можно минимизировать через поэтапную миграцию и мониторинг."),
    ]
    step5.written = {key: text for key, text in step5.written.items() if key != "rollback"}
    step5.written["rollback"] = "\n".join(
        [
            f"1. {step5.actions[0][1]}",
            f"2. {step5.actions[1][1]}",
            "3, 4. Сверить конфигурации сред и перезапустить кластер.",
            "5/6/7/8 Устранить причину и перезапустить узел/кластер.",
            "9–13. Эти риски можно минимизировать через поэтапную миграцию и мониторинг.",
        ]
    )
    return spec


def seed_across_midnight() -> PlanSpec:
    """The seed moved to a window from 21:00 14.11.25 to 01:30 15.11.2025; the last steps fall after midnight."""
    spec = seed_spec()
    day, next_day = datetime.date(2025, 11, 14), datetime.date(2025, 11, 15)
    times = [
        (day, datetime.time(17, 0)),
        (day, datetime.time(21, 0)),
        (day, datetime.time(21, 5)),
        (day, datetime.time(21, 20)),
        (day, datetime.time(21, 50)),
        (next_day, datetime.time(0, 55)),
        (next_day, datetime.time(1, 20)),
    ]
    steps = []
    for step, (date, time) in zip(spec.steps, times, strict=True):
        written = {key: text for key, text in step.written.items() if key not in ("planned_date", "planned_time")}
        steps.append(dataclasses.replace(step, planned_date=date, planned_time=time, written=written))
    return dataclasses.replace(
        spec,
        steps=steps,
        window_start=datetime.datetime.combine(day, datetime.time(21, 0)),
        window_end=datetime.datetime.combine(next_day, datetime.time(1, 30)),
        window_text="с 21:00 14.11.25 до 01:30 15.11.2025",
        header_lines=None,
        announcement_rows=None,
        stated_duration_text="4,5 часа",
        downtime_text="30 минут",
    )


def seed_other_subject() -> PlanSpec:
    """The midnight variant whose announcement subject differs from the title."""
    return dataclasses.replace(
        seed_across_midnight(), announcement_subject="Плановые работы в кластере Kubernetes PROD"
    )


# (name, spec, layout, format): the seed and its variations in the seed's family.
DOCUMENTS: list[tuple[str, Callable[[], PlanSpec], Layout, str]] = [
    ("seed", seed_spec, Layout(), "docx"),
    ("other-column-order", seed_spec, Layout(columns=SHUFFLES[1]), "docx"),
    ("synonyms-and-renamed", seed_spec, Layout(synonyms=True, rename={"rollback": "Если что-то пошло не так"}), "docx"),
    ("merged-two-row-header", seed_spec, Layout(two_row_header=True), "docx"),
    ("split-in-two-repeated-header", seed_spec, Layout(split_at=4), "docx"),
    ("split-in-two-no-header", seed_spec, Layout(split_at=3, repeat_header=False), "docx"),
    (
        "extra-and-missing-columns",
        seed_spec,
        Layout(extra_columns=("Примечание", "Согласовано с"), extra_at=3, drop_columns=("position", "jira_key")),
        "docx",
    ),
    ("numbered-lists-and-ties", seed_with_lists, Layout(auto_numbered_lists=True), "docx"),
    ("typed-lists-and-ties", seed_with_lists, Layout(), "docx"),
    ("across-midnight", seed_across_midnight, Layout(time_format=".", short_years=True), "docx"),
    ("line-breaks-and-17-00", seed_spec, Layout(line_breaks="breaks", time_format="-"), "docx"),
    (
        "title-row-column-numbers-empty-rows",
        seed_spec,
        Layout(table_title_row="План работ", column_numbers_row=True, empty_rows=2, position_suffix="."),
        "docx",
    ),
    (
        "header-as-table-dated-signoff",
        seed_across_midnight,
        Layout(header_as_table=True, signoff_style="dated", window_style="range"),
        "docx",
    ),
    (
        "date-and-time-in-one-column",
        seed_across_midnight,
        Layout(combined_datetime=True, window_style="date-first"),
        "docx",
    ),
    (
        "section-rows-merged-dates-and-executors",
        seed_spec,
        Layout(section_rows=True, merge_same=("planned_date", "executor")),
        "docx",
    ),
    ("signoff-first-no-announcement", seed_other_subject, Layout(signoff_first=True, announcement=False), "docx"),
    ("seed", seed_spec, Layout(), "xlsx"),
    ("section-rows-merged-dates", seed_spec, Layout(section_rows=True, merge_same=("planned_date",)), "xlsx"),
    (
        "from-column-b-typed-date-and-time",
        seed_across_midnight,
        Layout(xlsx_offset=1, combined_datetime=True, xlsx_typed=True),
        "xlsx",
    ),
    ("two-row-header-typed-dates", seed_spec, Layout(two_row_header=True, xlsx_typed=True), "xlsx"),
    ("seed", seed_spec, Layout(), "html"),
    ("two-row-header-numbered-lists", seed_with_lists, Layout(two_row_header=True, auto_numbered_lists=True), "html"),
    ("seed", seed_spec, Layout(), "html-confluence"),
    ("numbered-lists-split", seed_with_lists, Layout(auto_numbered_lists=True, split_at=5), "html-confluence"),
    (
        "header-lines-in-one-paragraph",
        seed_across_midnight,
        Layout(soft_breaks=True, window_label="Дата и время проведения работ", window_style="dash"),
        "html",
    ),
    ("seed", seed_spec, Layout(), "text"),
    ("seed-crlf", seed_spec, Layout(crlf=True), "text"),
    ("seed", seed_spec, Layout(), "tsv"),
    ("two-row-header-across-midnight", seed_across_midnight, Layout(two_row_header=True), "tsv"),
    ("across-midnight", seed_across_midnight, Layout(), "text"),
]


def read_and_recognize(filename: str, data: bytes) -> ParsedPlan:
    document = read_paste(data.decode()) if not filename else read_file(filename, data)
    return recognize(document, default_time_zone=TIME_ZONE)


@pytest.mark.parametrize(
    ("make_spec", "layout", "fmt"),
    [pytest.param(make, layout, fmt, id=f"{fmt}-{name}") for name, make, layout, fmt in DOCUMENTS],
)
def test_every_cell_is_read(make_spec: Callable[[], PlanSpec], layout: Layout, fmt: str) -> None:
    spec = make_spec()
    filename, data = render(spec, layout, fmt)
    parsed = read_and_recognize(filename, data)
    misses = compare(expected(spec, layout), parsed)
    assert not misses, f"{len(misses)} wrong cell(s):\n{describe(misses)}"


def test_the_seed_docx_has_seven_steps_and_thirteen_risks_in_step_5() -> None:
    parsed = read_and_recognize("plan.docx", seed_docx())
    assert len(parsed.steps) == 7
    assert [risk.number for risk in parsed.steps[4].risks] == list(range(1, 14))
    assert [action.risks for action in parsed.steps[4].actions][4] == [5, 6, 7, 8]
    assert [step.kind for step in parsed.steps] == [
        "announcement",
        "banner_on",
        "work",
        "work",
        "work",
        "banner_off",
        "completion_notice",
    ]


def test_status_words_are_shown_never_imported_as_signatures() -> None:
    parsed = read_and_recognize("", seed_text().encode())
    assert [row.status_text.strip() for row in parsed.signoff] == ["НА СОГЛАСОВАНИИ"] * 9 + ["НЕ ОЗНАКОМЛЕН"]
    assert [row.kind for row in parsed.signoff] == ["approval"] * 9 + ["acknowledgement"]


def test_a_small_corpus_is_read_right_and_every_wrong_cell_is_flagged() -> None:
    """12 generated plans of the family (scripts/import_accuracy.py runs 60): ≥ 95 % of cells right, none
    wrong without the preview flagging it."""
    total = wrong = 0
    unflagged = []
    for variant in variants(12, seed=1414):
        filename, data = render(variant.spec, variant.layout, variant.format)
        exp = expected(variant.spec, variant.layout)
        misses = compare(exp, read_and_recognize(filename, data))
        total += cell_count(exp)
        wrong += len(misses)
        unflagged += [f"{variant.name}: {miss}" for miss in misses if not miss.flagged]
    assert total and (total - wrong) / total >= 0.95, f"{total - wrong} of {total} cells right"
    assert not unflagged, "\n".join(unflagged)


# --- the builders themselves (no reader needed) ---------------------------------------------------------------------


def test_the_seed_docx_is_the_seed_layout() -> None:
    document = docx.Document(io.BytesIO(seed_docx()))
    announcement, steps, signoff = document.tables
    assert len(announcement.rows) == 8 and len(steps.columns) == 15 and len(steps.rows) == 8
    assert len(signoff.rows) == 11
    assert steps.cell(5, 4).text.startswith("1. Неправильная конфигурация IPAM; 2. Ошибки в манифестах")
    assert document.paragraphs[1].text == "Дата проведения работ:\u00a0с 20:00 20.03.25 до 23:05 20.03.2025"


def test_variations_write_what_they_say() -> None:
    merged = docx.Document(io.BytesIO(seed_docx(two_row_header=True))).tables[1]
    assert [cell.text for cell in merged.rows[0].cells][9:11] == ["Время начала", "Время начала"]
    assert [cell.text for cell in merged.rows[1].cells][9:11] == ["Дата", "Время"]
    split = docx.Document(io.BytesIO(seed_docx(split_at=3, repeat_header=False))).tables
    assert [len(table.rows) for table in split] == [8, 4, 4, 11]
    lists = to_docx(seed_with_lists(), Layout(auto_numbered_lists=True))
    risks_cell = docx.Document(io.BytesIO(lists)).tables[1].cell(5, 4)
    assert len(risks_cell.paragraphs) == 13
    assert all(p._p.pPr is not None and p._p.pPr.numPr is not None for p in risks_cell.paragraphs)
    _name, data = render(seed_spec(), Layout(xlsx_typed=True), "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert datetime.time(16, 0) in [cell.value for row in sheet.iter_rows() for cell in row]


def test_the_text_is_the_seeds_word_paste_format() -> None:
    text = seed_text()
    assert text.startswith("Установка сетевого плагина Calico в кластере Kubernetes PROD\nДата проведения работ:")
    assert "\n\t1. Неправильная конфигурация IPAM; 2. Ошибки в манифестах установки Calico\n3. " in text
    assert "\n\tп/п\n\tНаименование\nмероприятия\n" in text


def test_expected_says_the_demo_values() -> None:
    exp = expected(seed_spec())
    assert len(exp.steps) == 7 and len(exp.steps[4]["risks"]) == 13
    assert exp.steps[4]["actions"][4] == ("Устранить причину и перезапустить узел/кластер.", [5, 6, 7, 8])
    assert exp.steps[0]["planned_time"] == "16:00" and exp.steps[5]["planned_time"] is None
    assert exp.header["window_start"] == "2025-03-20T20:00" and exp.header["downtime_text"] == ""
    assert StepSpec(name="x").status == "НЕ ВЫПОЛНЕНО"
