"""Plan documents made from a spec: .docx (python-docx), .xlsx (openpyxl), HTML (Word or Confluence) and pasted text.

Nothing here is copied from a file: every document is written from a `PlanSpec` (what the plan says, with the
cells as the document writes them) and a `Layout` (how the document arranges it). `expected(spec, layout)` gives
what the import must read back, per header key, per step field and per sign-off row; `compare()` lists every
cell the import got wrong and whether the preview flags it. `seed_spec()` is exactly the seed plan (demo/plans.py).

Writers: to_docx / to_xlsx (bytes), to_html (str; flavour "word" = Word's "save as HTML", "confluence" = a
Confluence page export), to_text (the seed's Word-pasted text, byte for byte for seed_spec()), to_tsv (a sheet
copied from Excel); render(spec, layout, fmt) gives (filename, bytes) for any of them. Plans other than the seed
come from tests/planio/corpus.py.

    data = seed_docx(columns=..., two_row_header=True)       # bytes of a .docx
    plan = recognize(read_file("plan.docx", data), default_time_zone="Asia/Novosibirsk")
    assert not compare(expected(seed_spec(), Layout(two_row_header=True)), plan)

A wrong cell counts as flagged (Miss.flagged) when the preview marks it: the cell has a problem, its column is an
unsure guess (or no column maps its field while some column is an unsure guess), or the step kind is a guess.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime
import html
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import docx
import openpyxl
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl.styles import Alignment

from demo.plans import DEMO_APPROVERS, DEMO_PLAN, DEMO_STEPS, STEP5_RISKS, STEP5_ROLLBACK
from planio.parsed import STEP_COLUMNS, ParsedPlan

NBSP = "\u00a0"

# The seed's header texts, with their line breaks and non-breaking spaces.
SEED_HEADERS: dict[str, str] = {
    "position": "п/п",
    "name": "Наименование\nмероприятия",
    "description": "Краткое описание\nработ",
    "expected_result": f"Ожидаемый{NBSP}\nрезультат",
    "risks": "Возможные\nриски",
    "risk_mitigation": "Минимизация риска",
    "affected_systems": "Затронутые системы/\nсервисы/оборудование (влияние на бизнес-процессы)",
    "planned_downtime": f"Планируемое{NBSP}\nвремя простоя\nсистем{NBSP}",
    "executor": "Ответственный исполнитель работ",
    "planned_date": "Дата начала проведения\nработ",
    "planned_time": f"Время начала проведения{NBSP}\nработ",
    "duration_text": "Продолжительность\nработ",
    "rollback": "Действия, если\nчто-то пойдет не так",
    "jira_key": "Задача в Jira",
    "status": f"Статус{NBSP}\nработы",
    "planned_datetime": "Дата и время начала",
}

# Other wordings teams use for the same columns (Layout.synonyms picks one per column).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "position": ("№", "№ п/п", "№\nп/п", "Шаг"),
    "name": ("Наименование работ", "Мероприятие", "Наименование"),
    "description": ("Описание работ", "Описание", "Содержание работ"),
    "expected_result": ("Результат", "Ожидаемый результат"),
    "risks": ("Риски", "Возможные риски"),
    "risk_mitigation": ("Меры по минимизации рисков", "Минимизация рисков", "Снижение рисков"),
    "affected_systems": ("Затронутые системы", "Затрагиваемые системы", "Затронутые системы/сервисы/оборудование"),
    "planned_downtime": ("Время простоя", "Планируемое время простоя", "Простой"),
    "executor": ("Исполнитель", "Ответственный исполнитель", "Ответственный"),
    "planned_date": ("Дата", "Дата начала", "Дата проведения"),
    "planned_time": ("Время начала", "Время", "Начало"),
    "duration_text": ("Длительность", "Продолжительность", "Время выполнения"),
    "rollback": ("План отката", "Действия при неудаче", "Откат", "Действия по откату"),
    "jira_key": ("Jira", "Задача", "Тикет"),
    "status": ("Статус", "Статус работы"),
}

# Two-row headers: an upper cell merged over two neighbouring columns, and the lower texts.
TWO_ROW_GROUPS: tuple[tuple[str, tuple[str, str], tuple[str, str]], ...] = (
    ("Время начала", ("planned_date", "planned_time"), ("Дата", "Время")),
    ("Риски", ("risks", "risk_mitigation"), ("Возможные", "Минимизация")),
)

# What extra columns hold (ignored by the import): header → cell text per step row.
EXTRA_COLUMN_TEXTS: dict[str, tuple[str, ...]] = {
    "Примечание": ("", "см. регламент", "", "по согласованию с ДИТ", "—"),
    "Согласовано с": ("Кочетов В.Н.", "", "Маевский Р.А.", ""),
    "Комментарий": ("", "", "перенесено с прошлой недели"),
    "Контакт": ("+7 (913) 712-71-78", "", "доб. 2211"),
}


# --- the spec -----------------------------------------------------------------------------------------------------


@dataclass
class StepSpec:
    """One step: what the import must produce, and (in `written`) cells as the document writes them."""

    name: str
    description: str = ""
    expected_result: str = ""
    risks: list[str] = field(default_factory=list)
    risk_mitigation: str = ""  # the free text of the mitigation column
    risk_mitigations: dict[int, str] = field(default_factory=dict)  # per-risk mitigation lines "N. text"
    affected_systems: str = ""
    planned_downtime: str = ""
    executor: str = ""
    planned_date: datetime.date | None = None
    planned_time: datetime.time | None = None
    duration_text: str = ""
    # (risk numbers, text); no_rollback_needed: the cell says "нет"
    actions: list[tuple[tuple[int, ...], str]] = field(default_factory=list)
    no_rollback_needed: bool = False
    jira_key: str = ""
    status: str = "НЕ ВЫПОЛНЕНО"
    kind: str = "work"
    position: int = 0  # 0: the row's number
    # Cells exactly as the document writes them (field → text), in place of what the values would render.
    written: dict[str, str] = field(default_factory=dict)
    # Tie style of the rollback cell: "slash" ("5/6/7/8 …"), "range" ("9–13. …"), "comma" ("5, 6. …")
    tie_style: str = "slash"


@dataclass
class SignoffSpec:
    position: int
    job_title: str
    person_name: str
    status_text: str = "НА СОГЛАСОВАНИИ"
    kind: str = "approval"


@dataclass
class PlanSpec:
    title: str
    window_start: datetime.datetime
    window_end: datetime.datetime
    goal: str = ""
    services: list[str] = field(default_factory=list)  # "Недоступные сервисы" as written
    service_names: str = ""  # the announcement's "Влияние на сервисы"
    curator: str = ""
    stated_duration_text: str = ""
    downtime_text: str = ""
    mailing_list: str = ""
    announcement_subject: str = ""
    announcement_intro: str = ""
    client_impact: bool = True
    banner_needed: bool = True
    responsible: str = ""
    responsible_contact: str = ""
    availability: str = "unavailable"
    jira_url: str = ""
    steps: list[StepSpec] = field(default_factory=list)
    signoff: list[SignoffSpec] = field(default_factory=list)
    # The header block's paragraphs exactly as written (None: rendered from the values above).
    header_lines: list[str] | None = None
    # The announcement table's (label, value) rows exactly as written (None: rendered); [] for none.
    announcement_rows: list[tuple[str, str]] | None = None
    closing_lines: tuple[str, ...] = (
        "Приносим извинения за возникшие неудобства!",
        f"С уважением,{NBSP}",
        "Департамент ИТ",
    )
    # Step table header texts as this document writes them (used unless the layout renames the column).
    header_texts: dict[str, str] = field(default_factory=dict)
    # Lines of the window as written after "Дата проведения работ:" (None: rendered from the window).
    window_text: str | None = None


@dataclass
class Layout:
    """How a document arranges the plan (every option is one of the seed family's variations)."""

    columns: tuple[str, ...] | None = None  # step table columns in order (default: the seed's 15)
    drop_columns: tuple[str, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)  # field → header text
    synonyms: bool = False  # use HEADER_SYNONYMS' first wording (rename wins)
    synonym_pick: int = 0  # which synonym
    two_row_header: bool = False
    split_at: int | None = None  # the table continues in a second table after this many steps
    repeat_header: bool = True  # the second table repeats the header
    extra_columns: tuple[str, ...] = ()  # header texts of columns the import must ignore
    extra_at: int | None = None  # where the extra columns go (None: at the end)
    auto_numbered_lists: bool = False  # risks/rollback as Word/HTML automatic numbering
    time_format: str | None = None  # None: as written; ":" "17:00", "-" "17-00", "." "17.00"
    short_years: bool | None = None  # None: as written; True: "20.03.25"
    line_breaks: str = "paragraphs"  # docx: a cell's lines as "paragraphs" or "breaks"
    xlsx_typed: bool = False  # xlsx: dates and times as real date/time cells
    announcement: bool = True
    signoff: bool = True
    header_block: bool = True
    header_as_table: bool = False  # the "Label: value" lines as a two-column table (the title stays a paragraph)
    table_title_row: str = ""  # a row above the step table's header: one cell across the table with this text
    column_numbers_row: bool = False  # a row "1 | 2 | … | N" under the header (as in forms)
    empty_rows: int = 0  # empty rows at the end of the step table
    window_style: str = "seed"  # "seed" "с 20:00 20.03.2025 до …", "date-first", "range", "dash" (see window_text)
    window_label: str = "Дата проведения работ"
    combined_datetime: bool = False  # one column «Дата и время начала» "20.03.2025 20:00" for date and time
    position_suffix: str = ""  # "1." instead of "1"
    no_year_dates: bool = False  # step dates "20.03" (the year from the window)
    soft_breaks: bool = False  # the header's "Label: value" lines in one paragraph, with line breaks
    crlf: bool = False  # text: Windows line ends (what a browser's textarea submits)
    xlsx_offset: int = 0  # xlsx: the tables start this many columns to the right; the title merged across
    xlsx_signoff_sheet: bool = False  # xlsx: the sign-off table on a second sheet «Лист согласования»
    section_rows: bool = False  # rows across the step table naming groups of steps ("Основные работы")
    merge_same: tuple[str, ...] = ()  # columns whose equal neighbouring cells are one vertically merged cell
    signoff_first: bool = False  # the sign-off table before the header block (a "лист согласования" on top)
    drop_header: tuple[str, ...] = ()  # header lines left out: "stated_duration_text", "mailing_list", …
    signoff_style: str = "seed"  # "seed" (№?, Должность, ФИО, Статус) or "dated" (№ п/п, …, Согласующий, …, Дата)
    bullet_lists: bool = False  # risks (2 or more) and untied rollback actions as "- a\n- b"
    executor_contacts: bool = False  # a person's executor cell with a phone after the name
    datetime_words: bool = False  # «Дата/время» "20.03.2025 в 20:00" (with combined_datetime)

    def step_columns(self) -> list[str]:
        columns = [column for column in self.columns or STEP_COLUMNS if column not in self.drop_columns]
        if self.combined_datetime and "planned_date" in columns:
            columns[columns.index("planned_date")] = "planned_datetime"
            columns = [column for column in columns if column != "planned_time"]
        return columns


# --- the seed -----------------------------------------------------------------------------------------------------


def _seed_rollback_text() -> str:
    return "\n".join(
        f"{'/'.join(map(str, numbers))}{'' if len(numbers) > 1 else '.'} {text}" for numbers, text in STEP5_ROLLBACK
    )


def seed_spec() -> PlanSpec:
    """Exactly the seed plan (/work/shared/seeds/000_…txt; demo/plans.py holds its values)."""
    steps = []
    # The seed's cells where they differ from the clean values (trailing spaces, "16-00", the risks cell).
    written: dict[int, dict[str, str]] = {
        1: {
            "name": f"Произвести рассылку о плановых работах.{NBSP}",
            "expected_result": f"Рассылка произведена.{NBSP}",
            "planned_time": "16-00",
            "rollback": "нет",
            "status": "НЕ ВЫПОЛНЕНО ",
        },
        2: {"planned_time": "20-00", "rollback": "нет", "status": "НЕ ВЫПОЛНЕНО "},
        3: {"name": "Раскатить раннер ", "planned_time": "20:05"},
        4: {"planned_time": "20:05"},
        5: {
            "rollback": _seed_rollback_text() + "\n",
            "risks": (
                "1. Неправильная конфигурация IPAM; 2. Ошибки в манифестах установки Calico\n"
                "3. Несоответствие тестовой среды production\n"
                "4. Конфликты между сетевыми плагинами\n"
                "\n"
                "5. Перерывы в сетевых соединениях\n"
                "6. Проблемы с маршрутизацией между подами\n"
                "7. Проблемы с миграцией активных узлов\n"
                "8. Сбой после перезапуска узлов\n"
                "9. Ошибки в настройке сетевых политик\n"
                "10. Недостаточный мониторинг сети\n"
                "11. Проблемы с производительностью сети\n"
                "12. Недостаточная подготовка команды\n"
                "13. Длительные простои при миграции"
            ),
            "planned_time": "20:05",
            "status": "НЕ ВЫПОЛНЕНО ",
        },
        # the seed's date cells of steps 6 and 7 end with an empty paragraph
        6: {"planned_date": "20.03.2025\n", "rollback": "нет", "status": "НЕ ВЫПОЛНЕНО "},
        7: {"planned_date": "20.03.2025\n", "rollback": "нет", "status": "НЕ ВЫПОЛНЕНО "},
    }
    for demo in DEMO_STEPS:
        position = demo["position"]
        rollback = demo["rollback"]
        step = StepSpec(
            position=position,
            name=demo["name"],
            description=demo["description"],
            expected_result=demo["expected_result"],
            risks=list(demo["risks"]),
            risk_mitigation=demo["risk_mitigation"],
            affected_systems=demo["affected_systems"],
            planned_downtime=demo["planned_downtime"],
            executor=demo["executor"],
            planned_date=demo["planned_date"],
            planned_time=demo["planned_time"],
            duration_text=demo["duration"],
            actions=[] if rollback is None else [(tuple(numbers), text) for numbers, text in rollback],
            no_rollback_needed=rollback is None,
            jira_key=demo["jira_key"],
            status="НЕ ВЫПОЛНЕНО",
            kind=str(demo["kind"]),
            written=written.get(position, {}),
        )
        steps.append(step)
    assert [step.risks for step in steps][4] == STEP5_RISKS
    assert len(steps[4].actions) == len(STEP5_ROLLBACK)
    signoff = [
        SignoffSpec(position=number, job_title=title, person_name=name, status_text="НА СОГЛАСОВАНИИ")
        for number, (title, name, _username) in enumerate(DEMO_APPROVERS, start=1)
    ]
    signoff.append(SignoffSpec(10, "", "Дежурный НЭС", "НЕ ОЗНАКОМЛЕН", kind="acknowledgement"))
    (start_date, start_time), (end_date, end_time) = DEMO_PLAN["window_start"], DEMO_PLAN["window_end"]
    services = ["www.nskes.ru", "sevice.nskes.ru", "narod.nskes.ru", "platosfera.ru"]
    return PlanSpec(
        title=DEMO_PLAN["title"],
        window_start=datetime.datetime.combine(start_date, start_time),
        window_end=datetime.datetime.combine(end_date, end_time),
        goal=DEMO_PLAN["goal"],
        services=services,
        service_names="Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера",
        curator="Хасанов А.И.",
        stated_duration_text="",
        downtime_text=DEMO_PLAN["downtime_text"],
        mailing_list=DEMO_PLAN["mailing_list"],
        announcement_subject=DEMO_PLAN["announcement_subject"],
        announcement_intro=DEMO_PLAN["announcement_intro"],
        client_impact=DEMO_PLAN["client_impact"],
        banner_needed=DEMO_PLAN["banner_needed"],
        responsible="Хасанов А.И.",
        responsible_contact="+7 (913) 712-71-78 <НЭС>",
        availability="unavailable",
        steps=steps,
        signoff=signoff,
        window_text="с 20:00 20.03.25 до 23:05 20.03.2025",
        header_texts={"planned_date": "Дата начала проведения\nработ\n"},
        header_lines=[
            DEMO_PLAN["title"],
            f"Дата проведения работ:{NBSP}с 20:00 20.03.25 до 23:05 20.03.2025",
            f"Общая продолжительность работ:{NBSP}",
            f"Время простоя:{NBSP}возможное время до{NBSP}",
            f"Цель работ: {DEMO_PLAN['goal']}",
            f"Недоступные сервисы:{NBSP}" + f",{NBSP}".join(services) + NBSP,
            f"Куратор работ:{NBSP}Хасанов А.И.",
            f"Рассылка:{NBSP}",
            f"Тема: {DEMO_PLAN['announcement_subject']}",
            "Уважаемые коллеги!",
            DEMO_PLAN["announcement_intro"],
        ],
        announcement_rows=[
            ("Время начала", "20:00/20.03.2025"),
            ("Плановое время окончания", "23:05/20.03.2025"),
            ("Влияние на сервисы", "Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера"),
            ("Влияние на клиентов НЭС", "ВЛИЯЕТ НА КЛИЕНТОВ "),
            ("Наличие баннера", f"{NBSP} БАННЕР УСТАНОВЛЕН "),
            ("План работ", "Установка сетевого плагина Calico в кластере Kubernetes PROD "),
            ("Ответственный за работы", f"Хасанов А.И.{NBSP}+7 (913) 712-71-78 <НЭС>"),
            ("Доступность сервисов во время работ", "БУДЕТ НЕДОСТУПЕН "),
        ],
    )


# --- rendering cells --------------------------------------------------------------------------------------------


def _date_text(value: datetime.date | None, short_years: bool) -> str:
    if value is None:
        return ""
    return value.strftime("%d.%m.%y" if short_years else "%d.%m.%Y")


def _time_text(value: datetime.time | None, separator: str) -> str:
    return "" if value is None else f"{value.hour:02d}{separator}{value.minute:02d}"


def step_date_text(step: StepSpec, layout: Layout) -> str:
    if layout.no_year_dates:
        return step.planned_date.strftime("%d.%m") if step.planned_date else ""
    if layout.short_years is None and "planned_date" in step.written:
        return step.written["planned_date"].strip()
    return _date_text(step.planned_date, bool(layout.short_years))


def _ties_text(numbers: tuple[int, ...], style: str) -> str:
    """The leading numbers of a rollback line: "1.", "5/6/7/8", "9–13.", "5, 6."."""
    if len(numbers) == 1:
        return f"{numbers[0]}."
    contiguous = list(numbers) == list(range(numbers[0], numbers[-1] + 1))
    if style == "range" and contiguous:
        return f"{numbers[0]}–{numbers[-1]}."
    if style == "range-hyphen" and contiguous:
        return f"{numbers[0]}-{numbers[-1]}"
    if style == "comma":
        return ", ".join(map(str, numbers)) + "."
    return "/".join(map(str, numbers))


def rollback_auto_numberable(step: StepSpec) -> bool:
    """Automatic numbering can say a rollback only when action i answers exactly risk i."""
    return bool(step.actions) and all(numbers == (i,) for i, (numbers, _text) in enumerate(step.actions, start=1))


def cell_text(step: StepSpec, key: str, layout: Layout) -> str:
    """A step cell as the document writes it (typed numbers; see cell_list_items for automatic numbering)."""
    if key in ("planned_time",) and layout.time_format is not None:
        return _time_text(step.planned_time, layout.time_format)
    if key == "planned_datetime":
        date = step_date_text(step, layout)
        time = _time_text(step.planned_time, layout.time_format or ":")
        return f"{date} в {time}" if layout.datetime_words and time else f"{date} {time}".strip()
    if key == "executor" and layout.executor_contacts and "." in step.executor and "«" not in step.executor:
        return f"{step.executor} +7 (913) 712-71-{step.position % 90 + 10:02d}"
    if key == "risks" and layout.bullet_lists and len(step.risks) >= 2:
        return "\n".join(f"- {text}" for text in step.risks)
    if key == "rollback" and layout.bullet_lists and len(step.actions) >= 2 and not any(n for n, _t in step.actions):
        return "\n".join(f"- {text}" for _numbers, text in step.actions)
    if key == "planned_date" and (layout.short_years is not None or layout.no_year_dates):
        return step_date_text(step, layout)
    if key in step.written:
        return step.written[key]
    if key == "position":
        return f"{step.position}{layout.position_suffix}"
    if key == "planned_date":
        return _date_text(step.planned_date, False)
    if key == "planned_time":
        return _time_text(step.planned_time, ":")
    if key == "risks":
        if not step.risks:
            return "нет"
        if len(step.risks) == 1 and not step.risk_mitigations:
            return step.risks[0]
        return "\n".join(f"{number}. {text}" for number, text in enumerate(step.risks, start=1))
    if key == "risk_mitigation":
        lines = [step.risk_mitigation] if step.risk_mitigation else []
        lines += [f"{number}. {text}" for number, text in sorted(step.risk_mitigations.items())]
        return "\n".join(lines)
    if key == "rollback":
        if step.no_rollback_needed:
            return "нет"
        if len(step.actions) == 1 and not step.actions[0][0]:
            return step.actions[0][1]
        return "\n".join(
            f"{_ties_text(numbers, step.tie_style)} {text}" if numbers else text for numbers, text in step.actions
        )
    value = getattr(step, key, "")
    return "" if value is None else str(value)


def cell_list_items(step: StepSpec, key: str, layout: Layout) -> list[str] | None:
    """The items of an automatically numbered list in this cell, or None when the cell is typed text."""
    if not layout.auto_numbered_lists:
        return None
    if key == "risks" and len(step.risks) >= 2:
        return list(step.risks)
    if key == "rollback" and len(step.actions) >= 2 and rollback_auto_numberable(step):
        return [text for _numbers, text in step.actions]
    return None


def header_text(key: str, layout: Layout, spec: PlanSpec | None = None) -> str:
    if key in layout.rename:
        return layout.rename[key]
    if layout.synonyms and key in HEADER_SYNONYMS:
        names = HEADER_SYNONYMS[key]
        return names[layout.synonym_pick % len(names)]
    if spec is not None and key in spec.header_texts:
        return spec.header_texts[key]
    return SEED_HEADERS.get(key, key)


def window_text(spec: PlanSpec, layout: Layout) -> str:
    """The window after "Дата проведения работ:" in the layout's style:

    seed "с 20:00 20.03.25 до 23:05 20.03.2025"; date-first "20.03.2025 с 20:00 до 23:05"; range
    "20.03.2025 20:00 - 21.03.2025 02:00"; dash "20:00–23:05 20.03.2025". date-first and dash name one date, so
    they are used only for a window shorter than a day (its end on the next day when earlier than its start).
    """
    if spec.window_text is not None and layout.short_years is None and layout.window_style == "seed":
        return spec.window_text
    start, end = spec.window_start, spec.window_end
    short = bool(layout.short_years)
    start_date, end_date = _date_text(start.date(), short), _date_text(end.date(), False)
    start_time, end_time = _time_text(start.time(), ":"), _time_text(end.time(), ":")
    one_day = end - start < datetime.timedelta(hours=24)
    if layout.window_style == "date-first" and one_day:
        return f"{start_date} с {start_time} до {end_time}"
    if layout.window_style == "dash" and one_day:
        return f"{start_time}–{end_time} {start_date}"
    if layout.window_style == "range":
        return f"{start_date} {start_time} - {end_date} {end_time}"
    return f"с {start_time} {start_date} до {end_time} {end_date}"


def header_lines(spec: PlanSpec, layout: Layout) -> list[str]:
    """The paragraphs before the announcement table: title, "Label: value" lines, greeting and intro."""
    if spec.header_lines is not None and layout.short_years is None and layout.window_style == "seed":
        return list(spec.header_lines)
    labelled = {
        "stated_duration_text": f"Общая продолжительность работ: {spec.stated_duration_text}".rstrip() + " ",
        "downtime_text": f"Время простоя: {spec.downtime_text}"
        if spec.downtime_text
        else "Время простоя: возможное время до ",
        "goal": f"Цель работ: {spec.goal}",
        "services": "Недоступные сервисы: " + ", ".join(spec.services),
        "curator": f"Куратор работ: {spec.curator}",
        "jira_url": f"Задача в Jira: {spec.jira_url}" if spec.jira_url else "",
        "mailing_list": f"Рассылка: {spec.mailing_list}",
        "announcement_subject": f"Тема: {spec.announcement_subject}",
    }
    lines = [spec.title, f"{layout.window_label}: {window_text(spec, layout)}"]
    lines += [line for key, line in labelled.items() if line and key not in layout.drop_header]
    lines.append("Уважаемые коллеги!")
    if spec.announcement_intro:
        lines.append(spec.announcement_intro)
    return lines


_AVAILABILITY_WORDS = {
    "available": "ДОСТУПЕН",
    "degraded": "РАБОТАЕТ С ОГРАНИЧЕНИЯМИ",
    "unavailable": "БУДЕТ НЕДОСТУПЕН",
}


def announcement_rows(spec: PlanSpec, layout: Layout) -> list[tuple[str, str]]:
    if not layout.announcement:
        return []
    if spec.announcement_rows is not None:
        return list(spec.announcement_rows)
    start, end = spec.window_start, spec.window_end
    separator = ":"
    responsible = f"{spec.responsible} {spec.responsible_contact}".strip()
    return [
        ("Время начала", f"{_time_text(start.time(), separator)}/{_date_text(start.date(), False)}"),
        ("Плановое время окончания", f"{_time_text(end.time(), separator)}/{_date_text(end.date(), False)}"),
        ("Влияние на сервисы", spec.service_names or ", ".join(spec.services)),
        ("Влияние на клиентов", "ВЛИЯЕТ НА КЛИЕНТОВ" if spec.client_impact else "НЕ ВЛИЯЕТ НА КЛИЕНТОВ"),
        ("Наличие баннера", "БАННЕР УСТАНОВЛЕН" if spec.banner_needed else "БЕЗ БАННЕРА"),
        ("План работ", spec.title),
        ("Ответственный за работы", responsible),
        ("Доступность сервисов во время работ", _AVAILABILITY_WORDS[spec.availability]),
    ]


def _extra_text(header: str, row: int) -> str:
    texts = EXTRA_COLUMN_TEXTS.get(header, ("",))
    return texts[row % len(texts)]


@dataclass
class GridCell:
    """One cell of a table to write: text lines or an automatic list; span for merged cells."""

    text: str = ""
    items: list[str] | None = None  # automatically numbered list items
    rowspan: int = 1
    colspan: int = 1
    covered: bool = False  # a position inside another cell's span
    header: bool = False


@dataclass
class Grid:
    rows: list[list[GridCell]]
    kind: str = ""  # "announcement", "steps", "signoff"
    keys: list[str] = field(default_factory=list)  # steps: the field (or "extra:…") of each column
    body: list[StepSpec | None] = field(default_factory=list)  # steps: the step of each row (None: a header row)

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0


def _step_header_rows(columns: Sequence[str], layout: Layout, spec: PlanSpec) -> list[list[GridCell]]:
    def text(key: str) -> str:
        return key.removeprefix("extra:") if key.startswith("extra:") else header_text(key, layout, spec)

    if not layout.two_row_header:
        return [[GridCell(text=text(key), header=True) for key in columns]]
    upper = [GridCell(header=True) for _ in columns]
    lower = [GridCell(header=True) for _ in columns]
    done: set[int] = set()
    for title, (first, second), (first_text, second_text) in TWO_ROW_GROUPS:
        if first in columns and second in columns and columns.index(second) == columns.index(first) + 1:
            i = columns.index(first)
            upper[i] = GridCell(text=title, colspan=2, header=True)
            upper[i + 1] = GridCell(covered=True, header=True)
            lower[i] = GridCell(text=layout.rename.get(first, first_text), header=True)
            lower[i + 1] = GridCell(text=layout.rename.get(second, second_text), header=True)
            done |= {i, i + 1}
    for i, key in enumerate(columns):
        if i not in done:
            upper[i] = GridCell(text=text(key), rowspan=2, header=True)
            lower[i] = GridCell(covered=True, header=True)
    return [upper, lower]


def _column_keys(spec: PlanSpec, layout: Layout) -> list[str]:
    """Step fields and "extra:<header>" keys, in the document's order."""
    columns: list[str] = list(layout.step_columns())
    extras = [f"extra:{header}" for header in layout.extra_columns]
    at = len(columns) if layout.extra_at is None else min(layout.extra_at, len(columns))
    return columns[:at] + extras + columns[at:]


def step_grids(spec: PlanSpec, layout: Layout) -> list[Grid]:
    """The step table (one grid, or two when split), header rows first."""
    keys = _column_keys(spec, layout)
    head = _step_header_rows(keys, layout, spec)
    body: list[list[GridCell]] = []
    steps: list[StepSpec | None] = []
    sections = _sections(spec) if layout.section_rows else {}
    for row, step in enumerate(spec.steps):
        if row in sections:
            body.append([GridCell(text=sections[row], colspan=len(keys))] + [GridCell(covered=True) for _ in keys[1:]])
            steps.append(None)
        cells = []
        for key in keys:
            if key.startswith("extra:"):
                cells.append(GridCell(text=_extra_text(key.removeprefix("extra:"), row)))
            else:
                cells.append(GridCell(text=cell_text(step, key, layout), items=cell_list_items(step, key, layout)))
        body.append(cells)
        steps.append(step)
    if layout.column_numbers_row:
        head = head + [[GridCell(text=str(number)) for number in range(1, len(keys) + 1)]]
    if layout.table_title_row:
        title = [GridCell(text=layout.table_title_row, colspan=len(keys), header=True)]
        head = [title + [GridCell(covered=True, header=True) for _ in keys[1:]], *head]
    body += [[GridCell() for _ in keys] for _ in range(layout.empty_rows)]
    steps += [None] * layout.empty_rows

    def grid(header: list[list[GridCell]], start: int, end: int) -> Grid:
        rows = body[start:end]
        for column in layout.merge_same:
            if column in keys:
                _merge_runs(rows, steps[start:end], keys.index(column))
        return Grid(rows=header + rows, kind="steps", keys=keys, body=[None] * len(header) + steps[start:end])

    if layout.split_at is None or not 0 < layout.split_at < len(spec.steps):
        return [grid(head, 0, len(body))]
    # the body row of the split_at-th step (section rows count as rows)
    cut = [i for i, step in enumerate(steps) if step is not None][layout.split_at]
    second_head = copy.deepcopy(head[1:] if layout.table_title_row else head) if layout.repeat_header else []
    return [grid(head, 0, cut), grid(second_head, cut, len(body))]


def _sections(spec: PlanSpec) -> dict[int, str]:
    """Section rows before the step of this index: the preparation, the work, the closing steps."""
    kinds = [step.kind for step in spec.steps]
    found: dict[int, str] = {}
    if kinds and kinds[0] != "work":
        found[0] = "Подготовительные работы"
    if "work" in kinds:
        found.setdefault(kinds.index("work"), "Основные работы")
        closing = [i for i, kind in enumerate(kinds) if kind in ("banner_off", "completion_notice")]
        if closing and closing[0] > kinds.index("work"):
            found[closing[0]] = "Завершение работ"
    return found


def _merge_runs(rows: list[list[GridCell]], steps: Sequence[StepSpec | None], column: int) -> None:
    """Equal non-empty texts of neighbouring step rows in a column as one vertically merged cell."""
    i = 0
    while i < len(rows):
        j = i + 1
        first = rows[i][column]
        if steps[i] is not None and first.text and first.items is None and not first.covered:
            while j < len(rows) and steps[j] is not None and rows[j][column].text == first.text:
                j += 1
            if j - i > 1:
                first.rowspan = j - i
                for k in range(i + 1, j):
                    rows[k][column] = GridCell(covered=True)
        i = j


def signoff_grid(spec: PlanSpec, layout: Layout | None = None) -> Grid:
    dated = layout is not None and layout.signoff_style == "dated"
    headers = ("", "Должность", "ФИО", "Статус")
    if dated:
        headers = ("№ п/п", "Должность", "Согласующий", "Статус согласования", "Дата")
    rows = [[GridCell(text=text, header=True) for text in headers]]
    for row in spec.signoff:
        rows.append([GridCell(text=str(row.position)), GridCell(text=row.job_title), GridCell(text=row.person_name)])
        rows[-1].append(GridCell(text=f"{row.status_text} "))
        if dated:
            rows[-1].append(GridCell(text=""))
    return Grid(rows=rows, kind="signoff")


def announcement_grid(spec: PlanSpec, layout: Layout) -> Grid | None:
    rows = announcement_rows(spec, layout)
    if not rows:
        return None
    return Grid(rows=[[GridCell(text=label), GridCell(text=value)] for label, value in rows], kind="announcement")


def blocks(spec: PlanSpec, layout: Layout) -> list[str | Grid]:
    """The document in order: paragraphs (str) and tables (Grid)."""
    out: list[str | Grid] = []
    if layout.signoff_first and layout.signoff and spec.signoff:
        out += ["Лист согласования", signoff_grid(spec, layout), ""]
    if layout.header_block and layout.header_as_table:
        lines = header_lines(spec, layout)
        labelled = [line.split(":", 1) for line in lines[1:] if ":" in line[:40]]
        out.append(lines[0])
        out.append(
            Grid(
                rows=[[GridCell(text=label.strip()), GridCell(text=value.strip())] for label, value in labelled],
                kind="header",
            )
        )
        out += [line for line in lines[1:] if ":" not in line[:40]]
    elif layout.header_block and layout.soft_breaks:
        lines = header_lines(spec, layout)
        labelled = [line for line in lines[1:] if ":" in line[:40]]
        out += [lines[0], "\n".join(labelled)] + [line for line in lines[1:] if ":" not in line[:40]]
    elif layout.header_block:
        out += header_lines(spec, layout)
    announcement = announcement_grid(spec, layout)
    if announcement is not None:
        out.append(announcement)
    if layout.header_block:
        out += list(spec.closing_lines)
    grids = step_grids(spec, layout)
    out.append(grids[0])
    for grid in grids[1:]:
        out.append("")  # the page break between the two parts
        out.append(grid)
    if layout.signoff and spec.signoff and not layout.signoff_first:
        out.append("")
        out.append(signoff_grid(spec, layout))
    return out


# --- .docx ----------------------------------------------------------------------------------------------------------


class _Numbering:
    """Word automatic numbering: one decimal abstract list, one w:num per list (each restarts at 1)."""

    ABSTRACT_ID = "9001"

    def __init__(self, document: Any) -> None:
        self.element = document.part.numbering_part.element
        self.next_id = 9001
        abstract = OxmlElement("w:abstractNum")
        abstract.set(qn("w:abstractNumId"), self.ABSTRACT_ID)
        level = OxmlElement("w:lvl")
        level.set(qn("w:ilvl"), "0")
        for tag, value in (("w:start", "1"), ("w:numFmt", "decimal"), ("w:lvlText", "%1."), ("w:lvlJc", "left")):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            level.append(child)
        abstract.append(level)
        # abstractNum elements come before num elements
        first_num = self.element.find(qn("w:num"))
        if first_num is not None:
            first_num.addprevious(abstract)
        else:
            self.element.append(abstract)

    def new_list(self) -> str:
        num_id = str(self.next_id)
        self.next_id += 1
        num = OxmlElement("w:num")
        num.set(qn("w:numId"), num_id)
        abstract_ref = OxmlElement("w:abstractNumId")
        abstract_ref.set(qn("w:val"), self.ABSTRACT_ID)
        num.append(abstract_ref)
        override = OxmlElement("w:lvlOverride")
        override.set(qn("w:ilvl"), "0")
        start = OxmlElement("w:startOverride")
        start.set(qn("w:val"), "1")
        override.append(start)
        num.append(override)
        self.element.append(num)
        return num_id


def _numbered_paragraph(paragraph: Any, num_id: str) -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    num_pr = OxmlElement("w:numPr")
    ilvl = OxmlElement("w:ilvl")
    ilvl.set(qn("w:val"), "0")
    num = OxmlElement("w:numId")
    num.set(qn("w:val"), num_id)
    num_pr.append(ilvl)
    num_pr.append(num)
    p_pr.append(num_pr)


def _fill_docx_cell(cell: Any, grid_cell: GridCell, layout: Layout, numbering: _Numbering | None) -> None:
    paragraph = cell.paragraphs[0]
    if grid_cell.items is not None and numbering is not None:
        num_id = numbering.new_list()
        for i, item in enumerate(grid_cell.items):
            target = paragraph if i == 0 else cell.add_paragraph()
            target.add_run(item)
            _numbered_paragraph(target, num_id)
        return
    lines = grid_cell.text.split("\n")
    if layout.line_breaks == "breaks":
        run = paragraph.add_run()
        for i, line in enumerate(lines):
            if i:
                run.add_break()
            run.add_text(line)
        if grid_cell.header:
            run.bold = True
        return
    for i, line in enumerate(lines):
        target = paragraph if i == 0 else cell.add_paragraph()
        run = target.add_run(line)
        if grid_cell.header:
            run.bold = True


def _docx_table(document: Any, grid: Grid, layout: Layout, numbering: _Numbering | None) -> None:
    table = document.add_table(rows=len(grid.rows), cols=grid.width)
    table.style = "Table Grid"
    # merge first, then write the text into the top-left cell
    for r, row in enumerate(grid.rows):
        for c, grid_cell in enumerate(row):
            if grid_cell.covered or (grid_cell.rowspan == 1 and grid_cell.colspan == 1):
                continue
            table.cell(r, c).merge(table.cell(r + grid_cell.rowspan - 1, c + grid_cell.colspan - 1))
    cells = table._cells  # every grid position once, in order (table.cell() rebuilds this list on each call)
    for r, row in enumerate(grid.rows):
        for c, grid_cell in enumerate(row):
            if not grid_cell.covered:
                _fill_docx_cell(cells[r * grid.width + c], grid_cell, layout, numbering)


def to_docx(spec: PlanSpec, layout: Layout | None = None) -> bytes:
    layout = layout or Layout()
    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    document.styles["Normal"].font.size = Pt(9)
    numbering = _Numbering(document) if layout.auto_numbered_lists else None
    first = True
    for block in blocks(spec, layout):
        if isinstance(block, Grid):
            _docx_table(document, block, layout, numbering)
        else:
            paragraph = document.add_paragraph()
            run = paragraph.add_run()
            for i, line in enumerate(block.split("\n")):
                if i:
                    run.add_break()
                run.add_text(line)
            if first and block:
                run.bold = True
            first = False
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- .xlsx ----------------------------------------------------------------------------------------------------------


def to_xlsx(spec: PlanSpec, layout: Layout | None = None) -> bytes:
    """One sheet «План»: the header lines in column A, the tables below, merged cells as merged ranges."""
    layout = layout or Layout()
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "План"
    row_number = 1
    left = 1 + layout.xlsx_offset
    width = len(layout.step_columns()) + len(layout.extra_columns)
    for number, block in enumerate(blocks(spec, layout)):
        if isinstance(block, Grid) and block.kind == "signoff" and layout.xlsx_signoff_sheet:
            sheet = book.create_sheet("Лист согласования")
            sheet.cell(row=1, column=left, value="Лист согласования")
            row_number = 3
        if not isinstance(block, Grid):
            sheet.cell(row=row_number, column=left, value=block or None)
            if number == 0 and layout.xlsx_offset:  # the title across the table, as a heading
                sheet.merge_cells(start_row=1, start_column=left, end_row=1, end_column=left + width - 1)
            row_number += 1
            continue
        for r, row in enumerate(block.rows):
            step = block.body[r] if block.kind == "steps" else None
            for c, grid_cell in enumerate(row):
                if grid_cell.covered:
                    continue
                value: Any = grid_cell.text if grid_cell.items is None else _typed_list(grid_cell.items)
                target = sheet.cell(row=row_number + r, column=left + c)
                key = block.keys[c] if step is not None else ""
                if layout.xlsx_typed and step is not None and step.planned_date and key == "planned_date":
                    value = datetime.datetime.combine(step.planned_date, datetime.time())
                    target.number_format = "DD.MM.YY" if layout.short_years else "DD.MM.YYYY"
                elif layout.xlsx_typed and step is not None and step.planned_time and key == "planned_time":
                    value = step.planned_time
                    target.number_format = "HH:MM"
                elif layout.xlsx_typed and step is not None and step.planned_date and key == "planned_datetime":
                    value = datetime.datetime.combine(step.planned_date, step.planned_time or datetime.time())
                    target.number_format = "DD.MM.YYYY HH:MM" if step.planned_time else "DD.MM.YYYY"
                target.value = value if value != "" else None
                target.alignment = Alignment(wrap_text=True, vertical="top")
                if grid_cell.rowspan > 1 or grid_cell.colspan > 1:
                    sheet.merge_cells(
                        start_row=row_number + r,
                        start_column=left + c,
                        end_row=row_number + r + grid_cell.rowspan - 1,
                        end_column=left + c + grid_cell.colspan - 1,
                    )
        row_number += len(block.rows)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _typed_list(items: list[str]) -> str:
    return "\n".join(f"{number}. {item}" for number, item in enumerate(items, start=1))


# --- HTML -----------------------------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """Text as an HTML editor saves it: a non-breaking space as &nbsp;, a run of spaces as "&nbsp; " pairs."""
    text = html.escape(text).replace(NBSP, "&nbsp;")
    return re.sub(r" {2,}", lambda match: "&nbsp;" * (len(match[0]) - 1) + " ", text)


def _word_paragraph(line: str, bold: bool = False) -> str:
    """A paragraph as Word's "save as HTML" writes it: spans with the language and size, <o:p> at the end."""
    if not line:
        return "<p class=MsoNormal><o:p>&nbsp;</o:p></p>"
    text = f"<b>{_escape(line)}</b>" if bold else _escape(line)
    return f"<p class=MsoNormal><span lang=RU style='font-size:9.0pt'>{text}<o:p></o:p></span></p>"


def _html_lines(text: str, flavour: str, bold: bool = False, breaks: bool = False) -> str:
    lines = text.split("\n")
    if flavour == "word":
        return "".join(_word_paragraph(line, bold) for line in lines)
    if breaks:
        return "<br/>".join(_escape(line) for line in lines)
    # Confluence's editor: a paragraph per line, in a content wrapper
    return '<div class="content-wrapper">' + "".join(f"<p>{_escape(line)}</p>" for line in lines) + "</div>"


def _html_list(items: list[str], flavour: str) -> str:
    if flavour == "confluence":
        return "<ol>" + "".join(f"<li>{_escape(item)}</li>" for item in items) + "</ol>"
    # Word's "save as HTML": the number is typed inside a conditional comment span, the list is mso-list.
    out = []
    for number, item in enumerate(items, start=1):
        out.append(
            "<p class=MsoListParagraphCxSpMiddle "
            "style='margin-left:18.0pt;text-indent:-18.0pt;mso-list:l0 level1 lfo1'>"
            f"<![if !supportLists]><span>{number}.<span style='font:7.0pt \"Times New Roman\"'>&nbsp;&nbsp;&nbsp;"
            f"</span></span><![endif]>{_escape(item)}</p>"
        )
    return "".join(out)


def _html_table(grid: Grid, flavour: str, classes: str, breaks: bool = False) -> str:
    rows = []
    for row in grid.rows:
        cells = []
        for grid_cell in row:
            if grid_cell.covered:
                continue
            tag = "th" if grid_cell.header and flavour == "confluence" else "td"
            attrs = ""
            if grid_cell.rowspan > 1:
                attrs += f" rowspan={grid_cell.rowspan}" if flavour == "word" else f' rowspan="{grid_cell.rowspan}"'
            if grid_cell.colspan > 1:
                attrs += f" colspan={grid_cell.colspan}" if flavour == "word" else f' colspan="{grid_cell.colspan}"'
            if flavour == "confluence":
                attrs += f' class="{"confluenceTh" if tag == "th" else "confluenceTd"}"'
            else:
                attrs += " valign=top style='border:solid windowtext 1.0pt;padding:0cm 5.4pt 0cm 5.4pt'"
            inner = (
                _html_list(grid_cell.items, flavour)
                if grid_cell.items is not None
                else _html_lines(grid_cell.text, flavour, breaks=breaks or grid_cell.header)
            )
            if grid_cell.header and flavour == "word" and grid_cell.items is None:
                inner = _html_lines(grid_cell.text, flavour, bold=True)
            cells.append(f"<{tag}{attrs}>{inner}</{tag}>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if flavour == "confluence":
        return f'<div class="table-wrap"><table class="{classes}"><tbody>' + "".join(rows) + "</tbody></table></div>"
    return f"<table class={classes} border=1 cellspacing=0 cellpadding=0>" + "".join(rows) + "</table>"


def to_html(spec: PlanSpec, layout: Layout | None = None, flavour: str = "word") -> str:
    """A Word "save as HTML" page (flavour="word") or a Confluence page export (flavour="confluence")."""
    layout = layout or Layout()
    parts: list[str] = []
    first = True
    for block in blocks(spec, layout):
        if isinstance(block, Grid):
            classes = "confluenceTable" if flavour == "confluence" else "MsoTableGrid"
            parts.append(_html_table(block, flavour, classes, breaks=layout.line_breaks == "breaks"))
        elif flavour == "confluence":
            lines = "<br/>".join(_escape(line) for line in block.split("\n"))
            parts.append(f"<h1>{lines}</h1>" if first else f"<p>{lines}</p>")
        else:
            lines = "<br>".join(_escape(line) for line in block.split("\n"))
            parts.append(
                f"<p class=MsoNormal><span lang=RU>{lines}<o:p></o:p></span></p>" if block else _word_paragraph("")
            )
        first = False
    body = "\n".join(parts)
    if flavour == "confluence":
        return (
            '<!DOCTYPE html><html><head><meta charset="UTF-8"><title>'
            + html.escape(spec.title)
            + '</title></head><body class="theme-default"><div id="main-content" class="wiki-content">\n'
            + body
            + "\n</div></body></html>"
        )
    return (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">'
        '<head><meta http-equiv=Content-Type content="text/html; charset=utf-8">'
        '<meta name=Generator content="Microsoft Word 15 (filtered)"><style>p.MsoNormal{margin:0cm;}</style></head>'
        "<body lang=RU><div class=WordSection1>\n" + body + "\n</div></body></html>"
    )


# --- pasted text ----------------------------------------------------------------------------------------------------


def _text_table(grid: Grid, layout: Layout) -> list[str]:
    """The seed's Word-pasted format: each cell a line starting with a TAB, continuation lines without one,
    a blank line after each row."""
    lines = []
    for row in grid.rows:
        for grid_cell in row:
            if grid_cell.covered:
                continue
            text = grid_cell.text if grid_cell.items is None else _typed_list(grid_cell.items)
            cell_lines = text.split("\n")
            lines.append("\t" + cell_lines[0])
            lines += cell_lines[1:]
        lines.append("")
    return lines


def to_text(spec: PlanSpec, layout: Layout | None = None) -> str:
    """The plan as Word puts it on the clipboard as plain text (the seed's format)."""
    layout = layout or Layout()
    lines: list[str] = []
    parts = blocks(spec, layout)
    for i, block in enumerate(parts):
        if isinstance(block, Grid):
            if block.kind == "steps" and lines and lines[-1]:
                lines.append("")
            lines += _text_table(block, layout)
            # Word pastes an empty line between a table and the paragraph after it
            after = next((part for part in parts[i + 1 :] if part != ""), None)
            if isinstance(after, str):
                lines.append("")
        elif block:
            lines.append(block)
    return ("\r\n" if layout.crlf else "\n").join(lines) + ("\r\n" if layout.crlf else "\n")


def to_tsv(spec: PlanSpec, layout: Layout | None = None) -> str:
    """The whole sheet selected in Excel and copied: tab-separated rows, multi-line cells quoted (csv excel-tab),
    paragraphs as one-cell rows, a merged cell's text in its top-left cell and empty cells under it."""
    layout = layout or Layout()
    out = io.StringIO()
    writer = csv.writer(out, dialect="excel-tab", lineterminator="\r\n")
    for block in blocks(spec, layout):
        if not isinstance(block, Grid):
            writer.writerow([block])
            continue
        for row in block.rows:
            writer.writerow(
                ["" if cell.covered else cell.text if cell.items is None else _typed_list(cell.items) for cell in row]
            )
    return out.getvalue()


# --- shortcuts ------------------------------------------------------------------------------------------------------


def seed_docx(**layout: Any) -> bytes:
    return to_docx(seed_spec(), Layout(**layout))


def seed_xlsx(**layout: Any) -> bytes:
    return to_xlsx(seed_spec(), Layout(**layout))


def seed_html(flavour: str = "word", **layout: Any) -> str:
    return to_html(seed_spec(), Layout(**layout), flavour=flavour)


def seed_text(**layout: Any) -> str:
    return to_text(seed_spec(), Layout(**layout))


def render(spec: PlanSpec, layout: Layout, fmt: str) -> tuple[str, bytes]:
    """(filename, bytes) of the plan in a format: "docx", "xlsx", "html", "html-confluence", "text" (the Word
    paste), "tsv" (the Excel paste); the filename is "" for pasted text."""
    if fmt == "docx":
        return "plan.docx", to_docx(spec, layout)
    if fmt == "xlsx":
        return "plan.xlsx", to_xlsx(spec, layout)
    if fmt == "html":
        return "plan.html", to_html(spec, layout, "word").encode()
    if fmt == "html-confluence":
        return "plan.html", to_html(spec, layout, "confluence").encode()
    if fmt == "text":
        return "", to_text(spec, layout).encode()
    if fmt == "tsv":
        return "", to_tsv(spec, layout).encode()
    raise ValueError(fmt)


# --- what the import must produce -----------------------------------------------------------------------------------


@dataclass
class Expected:
    header: dict[str, Any]
    steps: list[dict[str, Any]]  # per step: field → value; "risks", "actions", "no_rollback_needed", "kind"
    signoff: list[dict[str, Any]]


def _clean(text: str) -> str:
    """A cell's text as stored: lines without trailing blanks, no blank lines around."""
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _visible(text: str) -> str:
    """What compare() checks: the stored text, a non-breaking space the same as a space (they look the same)."""
    return _clean(text.replace(NBSP, " "))


def expected(spec: PlanSpec, layout: Layout | None = None) -> Expected:
    layout = layout or Layout()
    columns = layout.step_columns()
    header: dict[str, Any] = {}
    if layout.header_block:
        header.update(
            title=spec.title,
            window_start=spec.window_start.strftime("%Y-%m-%dT%H:%M"),
            window_end=spec.window_end.strftime("%Y-%m-%dT%H:%M"),
            stated_duration_text=spec.stated_duration_text,
            downtime_text=spec.downtime_text,
            goal=spec.goal,
            services=list(spec.services),
            curator=spec.curator,
            mailing_list=spec.mailing_list,
            announcement_subject=spec.announcement_subject,
            announcement_intro=spec.announcement_intro,
        )
        if spec.jira_url:
            header["jira_url"] = spec.jira_url
        for key in layout.drop_header:
            header[key] = [] if key == "services" else ""
    if layout.announcement:
        header.update(
            client_impact=spec.client_impact,
            banner_needed=spec.banner_needed,
            responsible=spec.responsible,
            responsible_contact=spec.responsible_contact,
            availability=spec.availability,
        )
        header.setdefault("title", spec.title)
    steps = []
    for number, step in enumerate(spec.steps, start=1):
        values: dict[str, Any] = {"kind": step.kind}
        for key in columns:
            if key == "position":
                values["position"] = step.position or number
            elif key == "risks":
                values["risks"] = [(n, _clean(text)) for n, text in enumerate(step.risks, start=1)]
                if step.risk_mitigations:
                    values["risk_mitigations"] = {n: _clean(text) for n, text in step.risk_mitigations.items()}
            elif key == "rollback":
                values["actions"] = [(_clean(text), list(numbers)) for numbers, text in step.actions]
                values["no_rollback_needed"] = step.no_rollback_needed
            elif key == "planned_datetime":
                values["planned_date"] = step.planned_date.isoformat() if step.planned_date else None
                values["planned_time"] = step.planned_time.strftime("%H:%M") if step.planned_time else None
            elif key == "planned_date":
                values[key] = step.planned_date.isoformat() if step.planned_date else None
            elif key == "planned_time":
                values[key] = step.planned_time.strftime("%H:%M") if step.planned_time else None
            elif key == "status":
                values[key] = _clean(step.status)
            elif key == "risk_mitigation":
                values[key] = _clean(step.risk_mitigation)
            else:
                values[key] = _clean(str(getattr(step, key)))
        steps.append(values)
    signoff = []
    if layout.signoff:
        signoff = [
            {
                "position": row.position,
                "job_title": row.job_title,
                "person_name": row.person_name,
                "status_text": row.status_text,
                "kind": row.kind,
            }
            for row in spec.signoff
        ]
    return Expected(header=header, steps=steps, signoff=signoff)


# --- comparing ------------------------------------------------------------------------------------------------------


@dataclass
class Miss:
    """A cell the import got wrong: where, which field, what was expected and what came out, flagged or not."""

    where: str  # "header", "step 5", "signoff 3"
    field: str
    expected: Any
    got: Any
    flagged: bool
    text: str = ""  # the cell's text as the recognizer saw it

    def __str__(self) -> str:
        flag = "flagged" if self.flagged else "NOT FLAGGED"
        return f"{self.where} {self.field}: expected {self.expected!r}, got {self.got!r} ({flag})"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _same(expected_value: Any, got: Any) -> bool:
    if _empty(expected_value) and _empty(got):
        return True
    if isinstance(expected_value, str) and isinstance(got, str):
        return _visible(expected_value) == _visible(got)
    if isinstance(expected_value, list) and isinstance(got, list):
        return len(expected_value) == len(got) and all(_same(a, b) for a, b in zip(expected_value, got, strict=True))
    if isinstance(expected_value, tuple) and isinstance(got, tuple | list):
        return len(expected_value) == len(got) and all(_same(a, b) for a, b in zip(expected_value, got, strict=True))
    if isinstance(expected_value, dict) and isinstance(got, dict):
        return expected_value.keys() == got.keys() and all(_same(v, got[k]) for k, v in expected_value.items())
    if isinstance(expected_value, int) and not isinstance(expected_value, bool) and isinstance(got, str):
        return got.strip() == str(expected_value)
    return bool(expected_value == got)


def _unsure_fields(parsed: ParsedPlan) -> set[str]:
    """Fields the preview asks about: columns guessed unsure, and every field no column maps to while some
    column is unsure (the preview asks what that column is, and the answer may be the missing field)."""
    unsure = {column.field for column in parsed.columns if not column.sure and column.field}
    if any(not column.sure for column in parsed.columns):
        mapped = {column.field for column in parsed.columns if column.field}
        unsure |= set(STEP_COLUMNS) - mapped
    return unsure


def cell_count(exp: Expected) -> int:
    """How many cells compare() checks."""
    return len(exp.header) + sum(len(step) for step in exp.steps) + sum(len(row) for row in exp.signoff)


def compare(exp: Expected, parsed: ParsedPlan) -> list[Miss]:
    """Every expected cell the parsed plan gets wrong (header, each step field, each sign-off field)."""
    misses: list[Miss] = []
    for key, value in exp.header.items():
        cell = parsed.header.get(key)
        got = cell.value if cell is not None else None
        if not _same(value, got):
            flagged = cell is not None and bool(cell.problem)
            misses.append(Miss("header", key, value, got, flagged, cell.text if cell else ""))
    unsure = _unsure_fields(parsed)
    for number, values in enumerate(exp.steps, start=1):
        where = f"step {number}"
        if number > len(parsed.steps):
            misses += [Miss(where, key, value, None, False) for key, value in values.items()]
            continue
        step = parsed.steps[number - 1]
        for key, value in values.items():
            got: Any
            cell_key = key
            if key == "kind":
                got, flagged = step.kind, not step.kind_sure
            elif key == "risks":
                got = [(risk.number, risk.description) for risk in step.risks]
            elif key == "risk_mitigations":
                got = {risk.number: risk.mitigation for risk in step.risks if risk.mitigation}
                cell_key = "risk_mitigation"
            elif key == "actions":
                got = [(action.text, list(action.risks)) for action in step.actions]
                cell_key = "rollback"
            elif key == "no_rollback_needed":
                got = step.no_rollback_needed
                cell_key = "rollback"
            elif key == "status":
                cell = step.cells.get(key)
                got = cell.text if cell is not None else None
            else:
                cell = step.cells.get(key)
                got = cell.value if cell is not None else None
            if _same(value, got):
                continue
            cell = step.cells.get(cell_key)
            if key != "kind":
                flagged = (cell is not None and bool(cell.problem)) or cell_key in unsure
            misses.append(Miss(where, key, value, got, flagged, cell.text if cell is not None else ""))
    for number, row in enumerate(exp.signoff, start=1):
        where = f"signoff {number}"
        if number > len(parsed.signoff):
            misses += [Miss(where, key, value, None, False) for key, value in row.items()]
            continue
        got_row = dataclasses.asdict(parsed.signoff[number - 1])
        for key, value in row.items():
            if not _same(value, got_row.get(key)):
                misses.append(Miss(where, key, value, got_row.get(key), False))
    extra = len(parsed.steps) - len(exp.steps)
    if extra > 0:
        misses.append(Miss("steps", "count", len(exp.steps), len(parsed.steps), False))
    return misses


def describe(misses: Iterable[Miss]) -> str:
    return "\n".join(str(miss) for miss in misses)
