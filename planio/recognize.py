"""The plan a document holds: header block, announcement, step table, sign-off table (issue 14).

`recognize(document)` reads a reader's `Document` (paragraphs and tables, planio.document) into a `ParsedPlan`
(planio.parsed): every cell with its text, its value and, when it cannot be read exactly, the reason. Tables are
found by the names in their header rows (planio.vocabulary), not by position, so other column orders, synonyms,
missing and extra columns, two-row headers and tables continued on the next page read the same. Pure: no database.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from changeplans.durations import parse_downtime, parse_duration, parse_total_duration
from changeplans.timeparse import parse_date, parse_time

from . import vocabulary as words
from .document import Document, Paragraph, Table
from .errors import ImportRefused
from .matching import person_key
from .parsed import (
    IGNORED,
    Cell,
    ColumnGuess,
    Overrides,
    ParsedAction,
    ParsedPlan,
    ParsedRisk,
    ParsedSignoff,
    ParsedStep,
    PersonRef,
)

STEP_KINDS = ("work", "announcement", "banner_on", "banner_off", "completion_notice")
ROW_KINDS = ("approval", "acknowledgement")
PLAN_KINDS = ("normal", "standard", "emergency")
AVAILABILITIES = ("available", "degraded", "unavailable")
# Fewest distinct step columns a header row must name.
MIN_STEP_COLUMNS = 3
# Numbers of a "5/6/7/8" or "9–13" tie beyond this many risks are a typo, not a tie.
MAX_TIE_SPAN = 100

_DATE = re.compile(r"(?<!\d)(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?!\d)(?:\s*г(?:ода|\.)?)?")
_MONTHS = (
    "январ",
    "феврал",
    "март",
    "апрел",
    "ма",
    "июн",
    "июл",
    "август",
    "сентябр",
    "октябр",
    "ноябр",
    "декабр",
)
_DATE_WORDS = re.compile(r"(?<!\d)(\d{1,2})\s+([а-яё]+)\s+(\d{4})(?:\s*г(?:ода|\.)?)?", re.IGNORECASE)
_DATE_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_TIME = re.compile(r"(?<![\d.:])(\d{1,2})\s*[:.чh]\s*(\d{2})(?![\d.:])")
_TIME_DASH = re.compile(r"(?<![\d.:\-])(\d{1,2})-(\d{2})(?![\d.:\-])")
_JIRA_KEY = re.compile(r"\b([A-Z][A-Z0-9_]{1,30}-\d{1,9})\b")
# "1. text", "1) text", "1 . text"
_NUMBERED = re.compile(r"^\s*(\d{1,4})\s*[.)]\s*(.*)$", re.DOTALL)
# "3 Ждать" after "1. …", "2. …": a number without its dot, followed by a capital letter.
_BARE_NUMBER = re.compile(r"^\s*(\d{1,4})\s+([А-ЯЁA-Z«\"].*)$", re.DOTALL)
# Rollback ties: "9–13. text", "9-13 text"; "5/6/7/8 text", "5, 6. text"; "1. text".
_TIE_RANGE = re.compile(r"^\s*(\d{1,4})\s*[-–—]\s*(\d{1,4})\s*[.):]?\s+(.*)$", re.DOTALL)
_TIE_LIST = re.compile(r"^\s*(\d{1,4}(?:\s*[/,;]\s*\d{1,4})+)\s*[.):]?\s+(.*)$", re.DOTALL)
_TIE_ONE = re.compile(r"^\s*(\d{1,4})\s*(?:[.):]|[–—-](?=\s))\s*(.*)$", re.DOTALL)
# "п. 1", "пп. 5-8", "К риску 3", "По п.2": a reference to risks before the numbers.
_TIE_PREFIX = re.compile(r"^\s*(?:к\s+|по\s+)?(?:пп?\.?|пункт\w*|риск\w*)\s*(?=\d)", re.IGNORECASE)
_TIE_NUMBERS = re.compile(r"^(\d{1,4}(?:\s*(?:[-–—/,;]|\sи\s)\s*\d{1,4})*)\s*[.):–—-]?\s*(.+)$", re.DOTALL)
# Where a contact begins after a name: a phone, an address in brackets, an e-mail.
# (after a blank: "ООО «Сервис-1» +7 …" keeps its digit)
_CONTACT = re.compile(
    r"[\s,;]+(?=\+\s?\d|\(?\d{3,}\)?[\s\-]?\d|\d[\d\s\-()]{5,}|<|\((?:\+|\d|доб|тел|моб)|(?:тел|моб|доб)(?:\b|\.)|\S+@|@)",
    re.IGNORECASE,
)
_POSITION = re.compile(r"^\s*(\d{1,5})\s*[.)]?\s*$")
_SHORT_NAME = re.compile(r"[А-ЯЁA-Z][а-яёa-z\-]+\s+[А-ЯЁA-Z]\.\s?(?:[А-ЯЁA-Z]\.)?")
_GREETING = ("уважаемые коллеги", "уважаемые пользователи", "уважаемые клиенты", "добрый день", "dear colleagues")
_APOLOGY = ("приносим извинения", "с уважением")
# Lines above a plan's title that are not its title.
_STAMPS = ("утверждаю", "согласовано", "приложение", "лист согласования", "форма")
_DOWNTIME_PROMPT = "возможное время до"

_LABELS: dict[str, tuple[str, ...]] = {
    **words.HEADER_LABELS,
    **{f"announcement:{key}": names for key, names in words.ANNOUNCEMENT_LABELS.items()},
}


# --- small readers ------------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """A cell's text as kept: line ends without trailing blanks, no blank lines around."""
    lines = [line.rstrip() for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip()


def _message(exc: ValidationError) -> str:
    return " ".join(str(message) for message in exc.messages)


def _is_nothing(text: str) -> bool:
    return words.norm(text) in words.NOTHING or text.strip() in words.NOTHING


def _label_for(text: str, *, prefix: bool = True) -> str | None:
    """The header key a label names ("Дата проведения работ" → "window"), by its longest synonym.

    With `prefix` a label may go on after the synonym ("Влияние на клиентов НЭС").
    """
    label = words.norm(text)
    if not label:
        return None
    if re.fullmatch(r"impact on (\w+ ){0,3}clients", label):  # the English export: "Impact on НЭС clients"
        return "announcement:client_impact"
    best: tuple[int, str] | None = None
    for key, names in _LABELS.items():
        for name in names:
            if label == name or prefix and label.startswith(name + " ") and len(label) <= len(name) + 25:
                if best is None or len(name) > best[0]:
                    best = (len(name), key)
    return best[1] if best else None


def _split_label(line: str) -> tuple[str, str] | None:
    """("window", "с 20:00 …") for a "Label: value" line (or a label alone); None for any other line."""
    if ":" in line:
        label, value = line.split(":", 1)
        key = _label_for(label)
        if key:
            return key, value.strip()
    dash = re.match(r"^(.{3,60}?)\s+[–—-]\s+(.+)$", line)
    if dash and (key := _label_for(dash[1], prefix=False)):  # "Дата проведения работ – с 20:00 …"
        return key, dash[2].strip()
    key = _label_for(line, prefix=False)
    return (key, "") if key else None


def _dates(text: str) -> list[tuple[int, str]]:
    """(position, "YYYY-MM-DD" or "" when not in the calendar) of every date in a text."""
    found: list[tuple[int, str]] = []
    for match in _DATE.finditer(text):
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        found.append((match.start(), _iso_date(2000 + year if year < 100 else year, month, day)))
    for match in _DATE_WORDS.finditer(text):
        word = match[2].casefold()
        month = next((n for n, stem in enumerate(_MONTHS, start=1) if word.startswith(stem)), 0)
        if month and (month != 5 or word in ("мая", "май")):
            found.append((match.start(), _iso_date(int(match[3]), month, int(match[1]))))
    for match in _DATE_ISO.finditer(text):
        found.append((match.start(), _iso_date(int(match[1]), int(match[2]), int(match[3]))))
    return sorted(found)


def _iso_date(year: int, month: int, day: int) -> str:
    try:
        return parse_date(f"{year:04d}-{month:02d}-{day:02d}").isoformat()  # type: ignore[union-attr]
    except ValidationError:
        return ""


def _strip_dates(text: str) -> str:
    for pattern in (_DATE, _DATE_WORDS, _DATE_ISO):
        text = pattern.sub(lambda match: " " * len(match[0]), text)
    return text


def _times(text: str) -> list[tuple[int, str]]:
    """(position, "HH:MM" or "" when out of range) of every time in a text without its dates."""
    bare = _strip_dates(text)
    found = [(m.start(), m[1], m[2]) for m in _TIME.finditer(bare)]
    if not found:
        found = [(m.start(), m[1], m[2]) for m in _TIME_DASH.finditer(bare)]
    times = []
    for start, hours, minutes in found:
        ok = int(hours) <= 23 and int(minutes) <= 59
        times.append((start, f"{int(hours):02d}:{minutes}" if ok else ""))
    return times


def _next_day(date: str) -> str:
    return (datetime.date.fromisoformat(date) + datetime.timedelta(days=1)).isoformat()


def read_window(text: str) -> tuple[str | None, str | None, str]:
    """The window's start and end ("YYYY-MM-DDTHH:MM", local) and a problem ("" when read exactly).

    Reads "с 20:00 20.03.2025 до 23:05 20.03.2025", "20.03.2025 с 20:00 до 23:05" (one date: the end on the next
    day when it is earlier than the start), "20:00–23:05 20.03.2025", "20.03.2025 20:00 - 21.03.2025 02:00".
    """
    dates = _dates(text)
    times = _times(text)
    if any(not value for _at, value in dates) or any(not value for _at, value in times):
        return None, None, _("The window “%(text)s” names a date or time that does not exist.") % {"text": text}
    if len(times) != 2 or len(dates) not in (1, 2):
        return (
            None,
            None,
            _("Cannot read the window “%(text)s”: write it as “с 20:00 20.03.2025 до 23:05 20.03.2025”.")
            % {"text": text},
        )
    (_a, start_time), (_b, end_time) = times
    start_date = dates[0][1]
    if len(dates) == 2:
        end_date = dates[1][1]
    else:
        end_date = _next_day(start_date) if end_time < start_time else start_date
    start, end = f"{start_date}T{start_time}", f"{end_date}T{end_time}"
    if end <= start:
        return start, end, _("The window must end after it starts.")
    return start, end, ""


def _read_moment(text: str) -> tuple[str | None, str]:
    """ "20:00/20.03.2025" (the announcement's start or end) as "YYYY-MM-DDTHH:MM"."""
    dates, times = _dates(text), _times(text)
    if len(dates) == 1 and len(times) == 1 and dates[0][1] and times[0][1]:
        return f"{dates[0][1]}T{times[0][1]}", ""
    return None, _("Cannot read the time “%(text)s”: write it as “20:00/20.03.2025”.") % {"text": text}


def _split_list(text: str) -> list[str]:
    """Names written "a, b, c", "a; b" or one per line."""
    return [part.strip(" \t\u00a0.") for part in re.split(r"[,;\n]", text) if part.strip(" \t\u00a0.")]


def _yes_no(text: str, yes: tuple[str, ...], no: tuple[str, ...]) -> bool | None:
    value = words.norm(text)
    if any(value.startswith(word) for word in no):
        return False
    if any(value.startswith(word) for word in yes):
        return True
    return None


_IMPACT_YES = ("влияет", "да", "есть", "yes", "affects")
_IMPACT_NO = ("не влияет", "нет", "без влияния", "no", "does not")
_BANNER_YES = (
    "баннер установлен",
    "баннер будет",
    "будет установлен",
    "установлен",
    "да",
    "требуется",
    "yes",
    "banner is up",
)
_BANNER_NO = ("без баннера", "нет", "не требуется", "не устанавливается", "баннер не", "no")


def _availability(text: str) -> str | None:
    value = words.norm(text)
    if not value:
        return None
    if "недоступ" in value or "unavailable" in value or "не доступ" in value:
        return "unavailable"
    if "огранич" in value or "частич" in value or "degraded" in value or "limited" in value:
        return "degraded"
    if "доступ" in value or "available" in value:
        return "available"
    return None


def split_responsible(text: str) -> tuple[str, str]:
    """ "Хасанов А.И. +7 (913) 712-71-78 <НЭС>" → ("Хасанов А.И.", "+7 (913) 712-71-78 <НЭС>")."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    match = _CONTACT.search(text)
    if not match or match.start() == 0:
        return text.strip(" ,;"), ""
    return text[: match.start()].strip(" ,;\u00a0"), text[match.end() :].strip()


# --- numbered lists -----------------------------------------------------------------------------------------------


def _split_inline(number: int, text: str) -> list[tuple[int, str]]:
    """ "IPAM; 2. Ошибки" after "1.": the numbers that follow on the same line, each the next one in turn."""
    items = [(number, text)]
    while True:
        current, body = items[-1]
        pattern = re.compile(rf"(?<=[;.,])\s+{current + 1}\s*[.)]\s+")
        match = pattern.search(body)
        if not match:
            return items
        # "IPAM; 2. …": the separator before the next number is not part of the item ("…ресурсы. 2." keeps its dot)
        items[-1] = (current, body[: match.start()].rstrip().rstrip(";,").rstrip())
        items.append((current + 1, body[match.end() :]))


def numbered_items(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The lines before the first number and the numbered items ("1. …", "1) …", "1. a; 2. b") with their lines.

    Blank lines are dropped; lines without a number continue the item above.
    """
    lead: list[str] = []
    items: list[tuple[int, list[str]]] = []
    for line in _clean(text).split("\n"):
        if not line.strip():
            continue
        match = _NUMBERED.match(line)
        bare = _BARE_NUMBER.match(line)
        if match and match[2].strip():
            for number, body in _split_inline(int(match[1]), match[2].strip()):
                items.append((number, [body]))
        elif bare and items and int(bare[1]) == items[-1][0] + 1:
            items.append((int(bare[1]), [bare[2].strip()]))
        elif items:
            items[-1][1].append(line.strip())
        else:
            lead.append(line.strip())
    return lead, items


_BULLET = re.compile(r"^\s*[-•–—*·▪●]\s*(\S.*)$")


def bullet_items(text: str) -> list[str] | None:
    """The items of a bulleted list ("- a\n- b", "• a", "– a", "* a") when every non-empty line is a bullet."""
    lines = [line for line in _clean(text).split("\n") if line.strip()]
    matches = [_BULLET.match(line) for line in lines]
    if len(lines) < 2 or not all(matches):
        return None
    return [match[1].strip() for match in matches if match]


def read_risks(text: str) -> tuple[list[ParsedRisk], str]:
    """Risks as (number, description) and a problem; unnumbered text is risk 1, "нет" none."""
    text = _clean(text)
    if not text or _is_nothing(text):
        return [], ""
    lead, items = numbered_items(text)
    if not items and (bullets := bullet_items(text)):
        return [ParsedRisk(number=n, description=item) for n, item in enumerate(bullets, start=1)], ""
    if not items:
        return [ParsedRisk(number=1, description=text)], ""
    if lead:  # a heading above the first number stays with it: nothing is dropped
        items[0] = (items[0][0], [*lead, *items[0][1]])
    risks = [ParsedRisk(number=number, description="\n".join(lines).strip()) for number, lines in items]
    numbers = [risk.number for risk in risks]
    twice = sorted({number for number in numbers if numbers.count(number) > 1})
    if twice:
        return risks, _("Risk number %(numbers)s appears twice.") % {"numbers": ", ".join(map(str, twice))}
    if any(number < 1 for number in numbers):
        return risks, _("Risk numbers start at 1.")
    return risks, ""


def read_mitigation(text: str, risks: list[ParsedRisk]) -> str:
    """The step's own mitigation text; "N. …" lines after it for one of the step's risks go to that risk."""
    text = _clean(text)
    numbers = {risk.number for risk in risks}
    if not text or not numbers:
        return text
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if (m := _NUMBERED.match(line)) and int(m[1]) in numbers]
    if not starts:
        return text
    first = starts[0]
    _lead, items = numbered_items("\n".join(lines[first:]))
    seen = [number for number, _lines in items]
    if any(number not in numbers for number in seen) or seen != sorted(set(seen)):
        return text  # an enumeration of its own, not per-risk mitigations
    by_number = {risk.number: risk for risk in risks}
    for number, item_lines in items:
        by_number[number].mitigation = "\n".join(item_lines).strip()
    return "\n".join(lines[:first]).strip()


def _expand(numbers: str) -> list[int]:
    """ "5/6/7/8", "5, 6", "9–13", "1-2, 4" as risk numbers."""
    found: list[int] = []
    for part in re.split(r"\s*(?:[/,;]|\sи\s)\s*", numbers.strip()):
        bounds = [int(n) for n in re.findall(r"\d+", part)]
        if len(bounds) == 2 and 0 < bounds[0] < bounds[1] and bounds[1] - bounds[0] <= MAX_TIE_SPAN:
            found += range(bounds[0], bounds[1] + 1)
        else:
            found += bounds
    return found


def _tie(line: str) -> tuple[list[int], str] | None:
    """The risk numbers a rollback line starts with and the text after them."""
    if prefixed := _TIE_PREFIX.match(line):
        if (match := _TIE_NUMBERS.match(line[prefixed.end() :])) and match[2].strip():
            return _expand(match[1]), match[2].strip()
    if match := _TIE_RANGE.match(line):
        low, high = int(match[1]), int(match[2])
        if 0 < low < high and high - low <= MAX_TIE_SPAN and match[3].strip():
            return list(range(low, high + 1)), match[3].strip()
    if match := _TIE_LIST.match(line):
        if match[2].strip():
            return [int(n) for n in re.findall(r"\d+", match[1])], match[2].strip()
    if (match := _TIE_ONE.match(line)) and match[2].strip():
        return [int(match[1])], match[2].strip()
    return None


def read_rollback(text: str, risks: list[ParsedRisk]) -> tuple[list[ParsedAction], bool, str]:
    """Rollback actions with the risks they answer, whether no rollback is needed ("нет"), and a problem."""
    text = _clean(text)
    if not text:
        return [], False, ""
    if _is_nothing(text):
        return [], True, ""
    if bullets := bullet_items(text):  # "- a\n- b": separate actions tied to nothing
        return [ParsedAction(text=item, risks=[]) for item in bullets], False, ""
    items: list[tuple[list[int], list[str], list[str]]] = []  # numbers, text lines, lines as written
    for line in text.split("\n"):
        if not line.strip():
            continue
        tie = _tie(line)
        bare = _BARE_NUMBER.match(line)
        if tie is None and bare and items and items[-1][0] and int(bare[1]) > max(items[-1][0]):
            tie = [int(bare[1])], bare[2].strip()  # "3 Ждать" after "1-2. …"
        if tie and tie[0] and len(tie[0]) == 1:
            for number, body in _split_inline(tie[0][0], tie[1]):
                items.append(([number], [body], [f"{number}. {body}" if number != tie[0][0] else line.strip()]))
        elif tie:
            items.append((tie[0], [tie[1]], [line.strip()]))
        elif items:
            items[-1][1].append(line.strip())
            items[-1][2].append(line.strip())
        else:
            items.append(([], [line.strip()], [line.strip()]))
    have = {risk.number for risk in risks}
    problems: list[str] = []
    actions: list[ParsedAction] = []
    for numbers, lines, raw in items:
        missing = [n for n in numbers if n not in have]
        if missing and have:
            problems.append(
                ngettext(
                    "The step has no risk %(numbers)s: the action “%(text)s” is kept as written, tied to no risk.",
                    "The step has no risks %(numbers)s: the action “%(text)s” is kept as written, tied to no risk.",
                    len(missing),
                )
                % {"numbers": ", ".join(map(str, missing)), "text": _quote(raw[0])}
            )
        if missing:  # a plain enumeration (or a wrong tie) stays as written
            actions.append(ParsedAction(text="\n".join(raw).strip(), risks=[]))
        else:
            actions.append(ParsedAction(text="\n".join(lines).strip(), risks=sorted(set(numbers))))
    return actions, False, " ".join(problems)


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- step kinds ---------------------------------------------------------------------------------------------------


_BANNER_OFF = re.compile(
    r"\b(сня\w*|убра\w*|убир\w*|удал\w*|отключ\w*|скры\w*)\s+(\w+\s+)?баннер|баннер\w*\s+(\w+\s+)?(сня|убра|удал|отключ)"
    r"|remove\w* (the )?banner|banner off"
)
_BANNER_ON = re.compile(
    r"\b(установ\w*|размест\w*|размещ\w*|включ\w*|повес\w*|выстав\w*|публик\w*)\s+(\w+\s+)?баннер"
    r"|баннер\w*\s+(\w+\s+)?(установ|размест|включ)|(put up|show\w*) (the )?banner|banner on"
)
_MAILING = ("рассылк", "оповещ", "уведом", "информир", "announcement", "notif")


def guess_kind(name: str, description: str = "") -> str:
    """A step's kind from its name (and description): announcement, banners, completion notice, else work."""
    for text in (words.norm(name), words.norm(f"{name} {description}")):
        mailing = any(word in text for word in _MAILING)
        if mailing and ("заверш" in text or "окончан" in text or "completion" in text):
            return "completion_notice"
        if _BANNER_OFF.search(text):
            return "banner_off"
        if _BANNER_ON.search(text):
            return "banner_on"
        if mailing and ("планов" in text or "начал" in text or "проведен" in text or "предстоящ" in text):
            return "announcement"
    return "work"


def _kind_from_text(text: str) -> str | None:
    """Okno's own «Вид» column: a StepKind code or label in Russian or English."""
    value = words.norm(text)
    labels = {
        "work": ("работа", "work"),
        "announcement": ("рассылка", "оповещение", "announcement"),
        "banner_on": ("баннер вкл", "установка баннера", "banner on", "banner_on"),
        "banner_off": ("баннер выкл", "снятие баннера", "banner off", "banner_off"),
        "completion_notice": ("уведомление о завершении", "рассылка о завершении", "completion notice"),
    }
    if value.replace(" ", "_") in STEP_KINDS:
        return value.replace(" ", "_")
    for kind, names in labels.items():
        if value in names:
            return kind
    return None


# --- the document as a stream of lines and table rows ---------------------------------------------------------------


@dataclass
class _Region:
    """A step or sign-off table: where its header is and which column is which."""

    table: int
    header_rows: list[int]
    columns: dict[int, str]  # column → field
    first_row: int
    last_row: int  # exclusive


@dataclass
class _Reading:
    document: Document
    overrides: Overrides
    default_time_zone: str
    plan: ParsedPlan = field(default_factory=ParsedPlan)
    tables: list[Table] = field(default_factory=list)
    used_rows: set[tuple[int, int]] = field(default_factory=set)  # (table, row) read as steps or sign-off
    regions: list[_Region] = field(default_factory=list)  # the step tables found so far

    def where(self, table: int, row: int | None = None) -> str:
        name = self.tables[table].where or _("table %(n)d") % {"n": table + 1}
        return name if row is None else _("%(table)s, row %(row)d") % {"table": name, "row": row + 1}


def _score_step_row(cells: list[str]) -> tuple[float, dict[int, tuple[str, bool]]]:
    found: dict[int, tuple[str, bool]] = {}
    for index, text in enumerate(cells):
        if len(text) > 120:
            continue
        guess = words.step_column_for(text)
        if guess:
            found[index] = guess
    fields = {key for key, _exact in found.values() if key}
    exact = {key for key, exact in found.values() if exact and key}
    return len(exact) + 0.5 * len(fields - exact), found


def _score_signoff_row(cells: list[str]) -> tuple[int, dict[int, str]]:
    found: dict[int, str] = {}
    for index, text in enumerate(cells):
        value = words.norm(text)
        for key, names in words.SIGNOFF_HEADERS.items():
            if value in names and key not in found.values():
                found[index] = key
                break
    if not {"job_title", "person_name"} & set(found.values()):
        return 0, {}
    return len(found), found


def _row(table: Table, row: int) -> list[str]:
    return [table.text_at(row, col) for col in range(table.width)]


def _is_empty(cells: list[str]) -> bool:
    return not any(text.strip() for text in cells)


def _spans(table: Table, row: int, col: int) -> bool:
    """Whether the cell at (row, col) is merged across more than one column."""
    origin = table.origin.get((row, col), (row, col))
    return any(
        table.origin.get((row, other), (row, other)) == origin
        for other in (col - 1, col + 1)
        if 0 <= other < table.width
    )


_GROUP_RISKS = re.compile(r"минимиз|мер[ыа]?\b|сниж|сниз|избеж|предотвр|профилакт|mitig|устранен")
_GROUP_TIME_FIELDS = ("planned_time", "planned_date", "planned_datetime", "duration_text")


def _sub_header(upper: str, lower: str) -> tuple[str, bool] | None:
    """A lower header cell under a merged upper one: read in its context ("Дата" under "Время начала")."""
    group = words.guess_step_column(upper)
    text = words.norm(lower)
    if group and group[0] in ("risks", "risk_mitigation"):
        return ("risk_mitigation", True) if _GROUP_RISKS.search(text) else ("risks", True)
    if group and group[0] in _GROUP_TIME_FIELDS:
        if text.startswith(("дата", "date", "день")):
            return "planned_date", True
        if text.startswith(("время", "time", "час", "начало")) and "прост" not in text:
            return "planned_time", True
        if text.startswith(("продолж", "длительн", "duration")):
            return "duration_text", True
    return None


def _header_columns(table: Table, rows: list[int]) -> tuple[dict[int, tuple[str, bool, str]], float]:
    """Column → (field, sure, header text) for a header of one or two rows, and a score: fields named, a sure
    name counting 1 and a guess ½."""
    columns: dict[int, tuple[str, bool, str]] = {}
    for col in range(table.width):
        if len(rows) == 1:
            text = table.text_at(rows[0], col)
            guess = words.guess_step_column(text) if len(text) <= 120 else None
            shown = _clean(text)
        else:
            top, bottom = rows
            upper = table.text_at(top, col)
            covered = table.origin.get((bottom, col), (bottom, col))[0] == top
            lower = "" if covered else table.text_at(bottom, col)
            shown = " / ".join(part for part in (_clean(upper), _clean(lower)) if part)
            guess = None
            if lower.strip() and (_spans(table, top, col) or not upper.strip()):
                guess = _sub_header(upper or _left_text(table, top, col), lower)
            if guess is None:
                candidates = [f"{upper}\n{lower}", lower, upper] if lower.strip() else [upper]
                found = [words.guess_step_column(candidate) for candidate in candidates]
                guess = next((g for g in found if g and g[1]), None) or next((g for g in found if g), None)
        if guess:
            columns[col] = (guess[0], guess[1], shown)
        elif shown:
            columns[col] = (IGNORED, False, shown)
    named = {key: sure for key, sure, _text in columns.values() if key}
    return columns, sum(1 if sure else 0.5 for sure in named.values())


def _left_text(table: Table, row: int, col: int) -> str:
    """The nearest non-empty text to the left in a row (a merged cell pasted as text leaves empty cells)."""
    for other in range(col - 1, -1, -1):
        if table.text_at(row, other).strip():
            return table.text_at(row, other)
    return ""


def _dedupe(columns: dict[int, tuple[str, bool, str]]) -> dict[int, tuple[str, bool, str]]:
    """Two columns naming one field: the sure one (or the first) keeps it, the other becomes a guess to check."""
    owner: dict[str, int] = {}
    for col, (key, sure, _text) in sorted(columns.items()):
        if not key:
            continue
        if key not in owner or sure and not columns[owner[key]][1]:
            owner[key] = col
    result = {}
    for col, (key, sure, text) in columns.items():
        if key and owner[key] != col:
            result[col] = (IGNORED, False, text)
        else:
            result[col] = (key, sure, text)
    return result


def _column_numbers_row(cells: list[str]) -> bool:
    """The row of column numbers "1 2 3 … 15" some templates put under the header."""
    values = [text.strip() for text in cells if text.strip()]
    return len(values) >= 4 and values == [str(n) for n in range(1, len(values) + 1)] and len(values) >= len(cells) - 2


# --- recognize ----------------------------------------------------------------------------------------------------


def recognize(document: Document, *, overrides: Overrides | None = None, default_time_zone: str) -> ParsedPlan:
    """The plan `document` holds, with every cell's value and problems; raises ImportRefused for no plan."""
    reading = _Reading(document=document, overrides=overrides or Overrides(), default_time_zone=default_time_zone)
    reading.tables = document.tables()
    regions = _find_step_regions(reading)
    signoff = _find_signoff(reading, regions)
    for region in [*regions, *signoff]:
        rows = [*region.header_rows, *range(region.first_row, region.last_row)]
        reading.used_rows.update((region.table, row) for row in rows)
    header_found = _read_header(reading)
    if not regions and not header_found:
        raise ImportRefused(
            _(
                "No work plan was found in the file: there is no step table with headers such as "
                "“Наименование мероприятия”, “Ответственный исполнитель”, “Дата начала” and no header block "
                "with “Дата проведения работ”."
            ),
            code="not_a_plan",
        )
    _read_steps(reading, regions)
    for region in signoff:
        _read_signoff(reading, region)
    _apply_metadata(reading)
    _collect_people(reading)
    if not regions:
        reading.plan.notes.append(_("No step table was found: the plan will have no steps."))
    read_tables = {region.table for region in [*regions, *signoff]}
    for index, table in enumerate(reading.tables):
        if index not in read_tables and table.width >= MIN_STEP_COLUMNS and len(table.rows) > 1:
            reading.plan.notes.append(
                _("%(table)s (%(rows)d rows × %(columns)d columns) was read neither as steps nor as the sign-off.")
                % {"table": reading.where(index), "rows": len(table.rows), "columns": table.width}
            )
    return reading.plan


# --- the step table -----------------------------------------------------------------------------------------------


def _find_step_regions(reading: _Reading) -> list[_Region]:
    """Every step table: a header found by its names, or a table continuing the one before it."""
    regions = reading.regions
    for index, table in enumerate(reading.tables):
        start = 0
        while start < len(table.rows):
            region = _header_in(reading, index, table, start)
            if region is None:
                break
            regions.append(region)
            start = region.last_row
        if not any(region.table == index for region in regions) and regions:
            previous = regions[-1]
            if _continues(reading, previous, index, table):
                regions.append(
                    _Region(
                        table=index,
                        header_rows=[],
                        columns=previous.columns,
                        first_row=0,
                        last_row=_data_end(table, 0),
                    )
                )
                reading.plan.notes.append(
                    _("%(table)s continues the step table without a header: read with the same columns.")
                    % {"table": reading.where(index)}
                )
    if len(regions) > 1:
        _share_columns(reading, regions)
    return regions


def _header_in(reading: _Reading, index: int, table: Table, start: int) -> _Region | None:
    """The first step header at or below `start` in a table, with its data rows."""
    for row in range(start, len(table.rows)):
        cells = _row(table, row)
        score, _found = _score_step_row(cells)
        if score < MIN_STEP_COLUMNS:
            continue
        signoff_score, _signoff = _score_signoff_row(cells)
        if signoff_score >= score:
            continue
        header_rows = [row]
        columns, named = _header_columns(table, [row])
        if row + 1 < len(table.rows):
            below = _row(table, row + 1)
            if not _looks_like_data(below) and not _column_numbers_row(below):
                two, named_two = _header_columns(table, [row, row + 1])
                if named_two > named or named_two == named and _has_merges(table, row):
                    header_rows, columns = [row, row + 1], two
        columns = _dedupe(columns)
        guesses = _column_guesses(reading, index, columns)
        first = header_rows[-1] + 1
        region = _Region(
            table=index,
            header_rows=header_rows,
            columns={guess.index: guess.field for guess in guesses if guess.field},
            first_row=first,
            last_row=_data_end(table, first),
        )
        return region
    return None


def _has_merges(table: Table, row: int) -> bool:
    return any(r == row or r0 == row for (r, _c), (r0, _c0) in table.origin.items())


def _looks_like_data(cells: list[str]) -> bool:
    """A row of a step (a number, a date or a time in it) rather than a second header row."""
    for text in cells:
        value = text.strip()
        if _POSITION.match(value) and not _column_numbers_row(cells):
            return True
        if _dates(value) or re.fullmatch(r"\d{1,2}[:\-.]\d{2}", value):
            return True
    return False


def _data_end(table: Table, first: int) -> int:
    """The row where a table's step data ends: a sign-off header, or the end of the table."""
    for row in range(first, len(table.rows)):
        cells = _row(table, row)
        if _score_signoff_row(cells)[0] >= 2 and _score_signoff_row(cells)[0] > _score_step_row(cells)[0]:
            return row
        label = _split_label(next((text for text in cells if text.strip()), ""))
        if label and label[0] in ("window", "announcement:title") and _row_filled(cells) <= 2:
            return row
    return len(table.rows)


def _row_filled(cells: list[str]) -> int:
    return len({text.strip() for text in cells if text.strip()})


def _continues(reading: _Reading, previous: _Region, index: int, table: Table) -> bool:
    """A table without a header right after a step table: the table continued on the next page.

    As wide as the step table with nothing but empty paragraphs between; or (a paste that drops trailing empty
    cells, section titles between the parts) a little narrower, with a section title or two between, when its
    first row starts with a step number.
    """
    headed = next((region for region in reversed(reading.regions) if region.header_rows), previous)
    before = reading.tables[headed.table]
    if not table.rows or not before.width - 3 <= table.width <= before.width or table.width < 3:
        return False
    if _score_signoff_row(_row(table, 0))[0] >= 2:
        return False
    blocks = reading.document.blocks
    at = [i for i, block in enumerate(blocks) if isinstance(block, Table)]
    between = blocks[at[previous.table] + 1 : at[index]]
    if any(isinstance(block, Table) for block in between):
        return False
    texts = [block.text.strip() for block in between if isinstance(block, Paragraph) and block.text.strip()]
    position = next((col for col, key in previous.columns.items() if key == "position"), None)
    numbered = position is not None and bool(_POSITION.match(table.text_at(0, position)))
    if not texts:
        return table.width == before.width or numbered
    same = table.width == before.width
    if (
        not (numbered or same or position is None)
        or len(texts) > 2
        or any(len(text) > 80 or "\n" in text for text in texts)
    ):
        return False
    for text in texts:
        reading.plan.notes.append(
            _("%(where)s: the row “%(text)s” is a section title, not a step: skipped.")
            % {"where": reading.where(index), "text": _quote(text)}
        )
    return True


def _share_columns(reading: _Reading, regions: list[_Region]) -> None:
    """A header repeated on the next page: one set of column guesses per table, noted."""
    seen: set[int] = set()
    for region in regions[1:]:
        if region.header_rows and region.table not in seen:
            seen.add(region.table)
            reading.plan.notes.append(
                _("%(table)s repeats the step table's header: its rows continue the steps.")
                % {"table": reading.where(region.table)}
            )


def _column_guesses(reading: _Reading, index: int, columns: dict[int, tuple[str, bool, str]]) -> list[ColumnGuess]:
    guesses = []
    for col, (key, sure, text) in sorted(columns.items()):
        guess = ColumnGuess(table=index, index=col, header=text, field=key, sure=sure)
        chosen = reading.overrides.columns.get(guess.key)
        if chosen is None:  # the header repeated on the next page: the choice made for the first one holds
            earlier = [g.key for g in reading.plan.columns if (g.index, g.header) == (col, text)]
            chosen = next((reading.overrides.columns[key] for key in earlier if key in reading.overrides.columns), None)
        if chosen is not None:
            guess.field, guess.sure = chosen, True
        guesses.append(guess)
    # An override may give a field to one column that another column had: the override wins.
    chosen_fields = {guess.field for guess in guesses if guess.key in reading.overrides.columns and guess.field}
    for guess in guesses:
        if guess.key not in reading.overrides.columns and guess.field in chosen_fields:
            guess.field, guess.sure = IGNORED, False
    reading.plan.columns += guesses
    return guesses


def _read_steps(reading: _Reading, regions: list[_Region]) -> None:
    steps: list[ParsedStep] = []
    positions: list[int | None] = []
    for region in regions:
        table = reading.tables[region.table]
        position_col = next((col for col, key in region.columns.items() if key == "position"), None)
        name_col = next((col for col, key in region.columns.items() if key == "name"), None)
        header_texts = [words.norm(text) for text in _row(table, region.header_rows[0])] if region.header_rows else None
        for row in range(region.first_row, region.last_row):
            cells = _row(table, row)
            if _is_empty(cells) or _column_numbers_row(cells):
                continue
            if [words.norm(text) for text in cells] == header_texts or (
                _score_step_row(cells)[0] >= MIN_STEP_COLUMNS and not _looks_like_data(cells)
            ):
                continue  # the header repeated on the next page
            if _is_section(table, row, cells, position_col) and len(region.columns) > 2:
                text = next(text for text in cells if text.strip())
                reading.plan.notes.append(
                    _("%(where)s: the row “%(text)s” is a section title, not a step: skipped.")
                    % {"where": reading.where(region.table, row), "text": _quote(text)}
                )
                continue
            own = [
                col
                for col, text in enumerate(cells)
                if text.strip() and table.origin.get((row, col), (row, col))[0] == row
            ]
            if all(region.columns.get(col) in ("position", "status") for col in own):
                reading.plan.notes.append(
                    _("%(where)s has a number but no step in it: skipped.")
                    % {"where": reading.where(region.table, row)}
                )
                continue
            if steps and _continues_step(table, row, position_col, name_col):
                _extend_step(reading, steps[-1], region, table, row)
                continue
            if len(steps) >= settings.OKNO_IMPORT_MAX_STEPS:
                raise ImportRefused(
                    _("The plan has more than %(max)d steps: it cannot be imported.")
                    % {"max": settings.OKNO_IMPORT_MAX_STEPS},
                    code="too_many_steps",
                )
            step = ParsedStep(row=len(steps) + 1)
            where = reading.where(region.table, row)  # once per row: a translated text
            for col, key in region.columns.items():  # a cell merged down from the row above gives its text again
                step.cells[key] = Cell(text=_clean(table.text_at(row, col)), where=where)
            _read_step_cells(reading, step)
            number = step.cells.get("position")
            if number is not None and _SUB_POSITION.match(number.text):
                reading.plan.notes.append(
                    _("%(where)s: sub-step “%(number)s” is imported as a step of its own, in its order.")
                    % {"where": where, "number": number.text.strip()}
                )
                positions.append(None)
            else:
                positions.append(number.value if number is not None else None)
            steps.append(step)
    _note_positions(reading, positions)
    reading.plan.steps = steps


def _is_section(table: Table, row: int, cells: list[str], position_col: int | None) -> bool:
    """A row with one text across it (merged or repeated), or a word in the number column: a section title."""
    filled = [col for col, text in enumerate(cells) if text.strip()]
    if _row_filled(cells) != 1 or _POSITION.match(cells[filled[0]]):
        return False
    return len(filled) > 1 or _spans(table, row, filled[0]) or filled[0] == position_col


def _continues_step(table: Table, row: int, position_col: int | None, name_col: int | None) -> bool:
    """A row whose number and name are merged down from the row above or left empty: more of the same step."""
    keys = [col for col in (position_col, name_col) if col is not None]
    if not keys:
        return False
    for col in keys:
        origin = table.origin.get((row, col))
        if origin is not None and origin[0] < row:
            continue
        if table.text_at(row, col).strip():
            return False
    return True


def _extend_step(reading: _Reading, step: ParsedStep, region: _Region, table: Table, row: int) -> None:
    """Append a continuation row's own cells to the step above, then read the step again."""
    for col, key in region.columns.items():
        origin = table.origin.get((row, col))
        if origin is not None and origin[0] < row:
            continue
        text = _clean(table.text_at(row, col))
        if not text:
            continue
        cell = step.cells.setdefault(key, Cell(text="", where=reading.where(region.table, row)))
        cell.text = f"{cell.text}\n{text}" if cell.text else text
    step.risks, step.actions, step.no_rollback_needed = [], [], False
    for cell in step.cells.values():
        cell.value, cell.problem = None, ""
    _read_step_cells(reading, step)
    reading.plan.notes.append(
        _("%(where)s continues step %(n)d: its cells were added to the step.")
        % {"where": reading.where(region.table, row), "n": step.row}
    )


def _note_positions(reading: _Reading, positions: list[int | None]) -> None:
    written = [number for number in positions if number is not None]
    if not written:
        return
    if written != list(range(1, len(written) + 1)) or len(written) != len(positions):
        reading.plan.notes.append(
            _("The step numbers in the document (%(numbers)s) have gaps or repeats: steps are numbered in their order.")
            % {"numbers": ", ".join(str(n) if n is not None else "—" for n in positions)}
        )


def _read_step_cells(reading: _Reading, step: ParsedStep) -> None:
    cells = step.cells
    for key, cell in list(cells.items()):
        _STEP_READERS.get(key, _read_text)(cell)
    _read_step_date(reading, step)
    if "risks" in cells:
        step.risks, cells["risks"].problem = read_risks(cells["risks"].text)
        cells["risks"].value = [risk.description for risk in step.risks]
    if "risk_mitigation" in cells:
        cells["risk_mitigation"].value = read_mitigation(cells["risk_mitigation"].text, step.risks)
    if "rollback" in cells:
        step.actions, step.no_rollback_needed, cells["rollback"].problem = read_rollback(
            cells["rollback"].text, step.risks
        )
        cells["rollback"].value = [action.text for action in step.actions]
    _read_kind(reading, step)
    _check_shift(step)


def _looks_shifted(step: ParsedStep) -> bool:
    """Two or more cells that do not hold what their column does: the row's cells have slipped (a paste cut
    into rows of the wrong width, a cell merged or split)."""
    cells = step.cells
    signs = 0
    for key in ("position", "planned_date", "planned_time", "duration_text"):
        cell = cells.get(key)
        signs += bool(cell is not None and cell.text and cell.problem)
    status = cells.get("status")
    if status is not None and status.text and words.norm(status.text) not in words.STEP_STATUS_WORDS:
        signs += 1
    executor = cells.get("executor")
    if executor is not None and (_dates(executor.text) or _POSITION.match(executor.text)):
        signs += 1
    return signs >= 2


def _check_shift(step: ParsedStep) -> None:
    if not _looks_shifted(step):
        return
    reason = _("The cells of this row do not look like their columns: check every cell of the step.")
    for cell in step.cells.values():
        cell.problem = cell.problem or reason


def _read_text(cell: Cell) -> None:
    cell.value = cell.text


_SUB_POSITION = re.compile(r"^\s*\d{1,5}(?:\.\d{1,3})+\.?\s*$")


def _read_position(cell: Cell) -> None:
    match = _POSITION.match(cell.text)
    cell.value = int(match[1]) if match else None
    if _SUB_POSITION.match(cell.text):  # "1.1": a sub-step, kept as a step of its own in order (noted)
        return
    if cell.text and not match:  # "5.1", or a row whose cells have slipped out of their columns
        cell.problem = _("“%(text)s” is not a step number: check that the row's cells are in their columns.") % {
            "text": _quote(cell.text)
        }


def _read_time(cell: Cell) -> None:
    text = re.sub(r"^\s*(?:в|с|at)\s+", "", cell.text.strip(), flags=re.IGNORECASE)
    text = re.sub(r"\s*(?:ч\.?|час\w*)\s*$", "", text)
    if not text:
        cell.value = None
        return
    try:
        time = parse_time(text)
    except ValidationError as exc:
        times = _times(cell.text)
        if times and times[0][1]:
            cell.value = times[0][1]
            if not _dates(cell.text):
                cell.problem = _("Only the start time %(time)s was read from “%(text)s”.") % {
                    "time": times[0][1],
                    "text": cell.text,
                }
            return
        cell.value, cell.problem = None, _message(exc)
        return
    cell.value = time.strftime("%H:%M") if time else None


# "до 2 часов", "не более 30 минут", "~15 мин": an upper bound (or an estimate) of a duration the parser reads.
_DURATION_BOUND = re.compile(
    r"^\s*(?:до|не\s+более|не\s+больше|не\s+дольше|менее|максимум|макс\.?|около|примерно|порядка|~|≈|≤|<)\s*(.+)$",
    re.IGNORECASE,
)


def _read_duration(cell: Cell) -> None:
    """A step's duration, kept as written; a readable upper bound ("до 2 часов") is kept as text, unflagged."""
    if not cell.text:
        cell.value = ""
        return
    try:
        parse_duration(cell.text)
    except ValidationError as exc:
        bound = _DURATION_BOUND.match(" ".join(cell.text.split()))
        if bound and _reads_as_duration(bound[1]):
            cell.value = cell.text
            return
        cell.value, cell.problem = None, _message(exc)
    else:
        cell.value = cell.text


def _reads_as_duration(text: str) -> bool:
    text = re.sub(r"^(час|часа)$", r"1 \1", text.strip())  # "до часа"
    try:
        return parse_duration(text) is not None
    except ValidationError:
        return False


def _read_jira(cell: Cell) -> None:
    text = cell.text.strip()
    if not text or _is_nothing(text):
        cell.value = ""
        return
    keys = _JIRA_KEY.findall(text)
    if len(set(keys)) == 1:
        cell.value = keys[0]
        return
    cell.value = None
    cell.problem = _("Cannot read “%(text)s” as a Jira issue key such as OPS-123.") % {"text": _quote(text)}


def _read_executor(cell: Cell) -> None:
    cell.value = cell.text
    names = _SHORT_NAME.findall(cell.text)
    if len(names) > 1 or "\n" in cell.text.strip():
        cell.problem = _("The cell names more than one executor: one executor named “%(text)s” would be created.") % {
            "text": _quote(cell.text)
        }
        return
    name, contact = split_responsible(cell.text)
    if name and contact and len(names) == 1:  # "Петров П.П. +7 913 712-71-78": the executor is the name
        cell.value = name
        cell.problem = _("The contact “%(contact)s” after the executor's name is not imported.") % {
            "contact": _quote(contact)
        }


def _read_status(cell: Cell) -> None:
    cell.value = None  # shown, never imported: the plan starts over


def _read_kind_cell(cell: Cell) -> None:
    if not cell.text:
        cell.value = None
        return
    cell.value = _kind_from_text(cell.text)
    if cell.value is None:
        cell.problem = _("Unknown step kind “%(text)s”.") % {"text": _quote(cell.text)}


def _read_nothing(cell: Cell) -> None:
    """Read with the rest of the step (_read_step_date)."""


_STEP_READERS: dict[str, Callable[[Cell], None]] = {
    "position": _read_position,
    "planned_date": _read_nothing,
    "planned_time": _read_time,
    "duration_text": _read_duration,
    "jira_key": _read_jira,
    "status": _read_status,
    "executor": _read_executor,
    "kind": _read_kind_cell,
    "planned_datetime": _read_nothing,
}


# "10.09", "10.09.2025г.", "10.09.25 (чт)", "10.09 22-00": a step's date, perhaps with its time after it.
_STEP_DATE = re.compile(
    r"^\s*(\d{1,2})\s*[./]\s*(\d{1,2})(?:\s*[./]\s*(\d{4}|\d{2}))?(?!\d)\s*(?:г(?:ода|\.)?)?\s*(?:\([^)]*\))?\s*[,;]?\s*(.*)$",
    re.DOTALL,
)


def _read_step_date(reading: _Reading, step: ParsedStep) -> None:
    """The step's date (and a time written with it) from its date column or its «Дата и время» column.

    A date without a year ("10.09") takes the window's year (the next one when it would fall half a year before).
    """
    source = step.cells.pop("planned_datetime", None)
    if source is not None and "planned_date" not in step.cells:
        step.cells["planned_date"] = Cell(text=source.text, where=source.where)
    cell = step.cells.get("planned_date")
    if cell is None:
        return
    cell.value, cell.problem = None, ""
    text = cell.text.strip()
    if not text:
        return
    rest = ""
    try:
        date = parse_date(re.sub(r"\s*г(?:ода|\.)?\s*$", "", text))
        cell.value = date.isoformat() if date else None
    except ValidationError as exc:
        match = _STEP_DATE.match(text)
        if match is None:
            dates = _dates(text)
            if len(dates) == 1 and dates[0][1]:
                cell.value = dates[0][1]
                rest = _strip_dates(text).strip()
            else:
                cell.problem = _message(exc)
                return
        else:
            cell.value, cell.problem = _day_month_year(reading, match[1], match[2], match[3], text)
            rest = match[4].strip()
    if not rest:
        if source is not None and cell.value and "planned_time" not in step.cells:
            # «Дата и время начала» with a date only: a time of 00:00 may have been lost on the way (Excel)
            step.cells["planned_time"] = Cell(
                text=cell.text, where=cell.where, problem=_("No start time in “%(text)s”.") % {"text": _quote(text)}
            )
        return
    time = step.cells.get("planned_time")
    if time is not None and time.text:
        cell.problem = cell.problem or _("Only the date was read from “%(text)s”.") % {"text": _quote(text)}
        return
    step.cells["planned_time"] = time = Cell(text=rest, where=cell.where)
    _read_time(time)
    time.text = cell.text


def _day_month_year(reading: _Reading, day: str, month: str, year: str | None, text: str) -> tuple[str | None, str]:
    if year is None:
        window = reading.plan.header.get("window_start")
        start = str(window.value) if window is not None and window.value else ""
        if not start:
            return None, _("The date “%(text)s” has no year and the plan's window is unknown.") % {"text": text}
        guess = int(start[:4])
        if int(month) < int(start[5:7]) - 6:
            guess += 1
        year = str(guess)
    value = _iso_date(2000 + int(year) if len(year) == 2 else int(year), int(month), int(day))
    if not value:
        return None, _("There is no date “%(text)s” in the calendar.") % {"text": text}
    return value, ""


def _read_kind(reading: _Reading, step: ParsedStep) -> None:
    cell = step.cells.get("kind")
    if cell is not None and cell.value:
        step.kind, step.kind_sure = cell.value, True
    else:
        name = step.cells.get("name")
        description = step.cells.get("description")
        step.kind = guess_kind(name.text if name else "", description.text if description else "")
        step.kind_sure = False
    chosen = reading.overrides.kinds.get(str(step.row))
    if chosen in STEP_KINDS:
        step.kind, step.kind_sure = chosen, True


# --- the sign-off table -------------------------------------------------------------------------------------------


def _find_signoff(reading: _Reading, regions: list[_Region]) -> list[_Region]:
    """Every sign-off table: a header found by its names, else tables shaped like the seed's (number, position,
    name, status word)."""
    step_rows = {
        (region.table, row)
        for region in regions
        for row in [*region.header_rows, *range(region.first_row, region.last_row)]
    }
    found: list[_Region] = []
    for index, table in enumerate(reading.tables):
        for row in range(len(table.rows)):
            if (index, row) in step_rows:
                continue
            cells = _row(table, row)
            score, columns = _score_signoff_row(cells)
            if score >= 2 and score >= _score_step_row(cells)[0]:
                if found and found[-1].table == index:
                    found[-1].last_row = row
                found.append(
                    _Region(
                        table=index, header_rows=[row], columns=columns, first_row=row + 1, last_row=len(table.rows)
                    )
                )
    for region in found:  # a step table below a sign-off table in one sheet ends it
        later = [row for table, row in step_rows if table == region.table and row >= region.first_row]
        region.last_row = min([region.last_row, *later])
    if found:
        return found
    step_tables = {region.table for region in regions}
    return [
        _guess_signoff_columns(index, table)
        for index, table in enumerate(reading.tables)
        if index not in step_tables and 3 <= table.width <= 5 and _shaped_like_signoff(table)
    ]


def _is_status(text: str) -> bool:
    # The first line: a deputy's signature adds «Иванов П.С. за Турчанинова П.В.» under the status word.
    value = words.norm(text.strip().split("\n", 1)[0])
    return bool(value) and value in words.SIGNOFF_STATUS_WORDS


def _shaped_like_signoff(table: Table) -> bool:
    rows = [row for row in table.rows if any(text.strip() for text in row)]
    if len(rows) < 2:
        return False
    shaped = sum(1 for row in rows if any(_is_status(text) for text in row) and any(_SHORT_NAME.search(t) for t in row))
    return shaped * 2 >= len(rows)


def _guess_signoff_columns(index: int, table: Table) -> _Region:
    columns: dict[int, str] = {}
    for col in range(table.width):
        values = [row[col] for row in table.rows if col < len(row) and row[col].strip()]
        if not values:
            continue
        if all(_POSITION.match(value) for value in values):
            columns[col] = "position"
        elif sum(_is_status(value) for value in values) * 2 >= len(values):
            columns[col] = "status"
        elif sum(bool(_SHORT_NAME.search(value)) for value in values) * 2 >= len(values):
            columns.setdefault(col, "person_name")
    for col in range(table.width):
        if col not in columns and "job_title" not in columns.values():
            columns[col] = "job_title"
    return _Region(table=index, header_rows=[], columns=columns, first_row=0, last_row=len(table.rows))


def _read_signoff(reading: _Reading, region: _Region) -> None:
    table = reading.tables[region.table]
    rows = reading.plan.signoff
    for row in range(region.first_row, region.last_row):
        cells = _row(table, row)
        values = {key: _clean(cells[col]) for col, key in region.columns.items() if col < len(cells)}
        if not values.get("job_title") and not values.get("person_name"):
            continue
        status = values.get("status", "")
        name = values.get("person_name", "")
        number = values.get("position", "")
        if number and not _POSITION.match(number) or status and not _is_status(status) and _SHORT_NAME.search(status):
            reading.plan.notes.append(
                _("%(where)s of the sign-off looks shifted: check its position, name and status.")
                % {"where": reading.where(region.table, row)}
            )
        acknowledgement = words.norm(status) in ("не ознакомлен", "ознакомлен") or words.norm(name).startswith("дежурн")
        rows.append(
            ParsedSignoff(
                position=len(rows) + 1,
                job_title=values.get("job_title", ""),
                person_name=name,
                status_text=status,
                kind="acknowledgement" if acknowledgement else "approval",
                where=reading.where(region.table, row),
            )
        )


# --- the header block and the announcement ------------------------------------------------------------------------


def _header_lines(reading: _Reading) -> Iterator[tuple[str, str, str]]:
    """(kind, text, where) of every paragraph line and every table row outside the step and sign-off tables.

    kind: "p" for a paragraph line, "row" for a table row given as its non-empty cells joined by a tab.
    """
    index = -1
    for block in reading.document.blocks:
        if isinstance(block, Paragraph):
            for number, line in enumerate(block.text.split("\n")):
                yield "p" if number == 0 else "p+", line, ""  # "p+": a line break inside a paragraph
            continue
        index += 1
        # "used": a step or sign-off table, which does not end the part of the document where the title is
        used = all((index, row) in reading.used_rows for row in range(len(block.rows)))
        yield "table", "used" if used else "", reading.where(index)
        for row, cells in enumerate(block.rows):
            if (index, row) in reading.used_rows:
                continue
            texts = [text.strip() for col, text in enumerate(cells) if not block.is_covered(row, col) and text.strip()]
            pairs = len(texts) >= 4 and len(texts) % 2 == 0 and all(_label_for(text) for text in texts[0::2])
            for part in [texts[at : at + 2] for at in range(0, len(texts), 2)] if pairs else [texts] if texts else []:
                yield "row", "\t".join(part), reading.where(index, row)  # "label | value | label | value" rows split


def _row_label(text: str) -> tuple[str, str] | None:
    """A table row "label<TAB>value…" (or "Label: value" in its first cell) as (key, value)."""
    first, _tab, rest = text.partition("\t")
    inline = _split_label(first) if ":" in first else None
    if inline:
        return inline[0], "\n".join(part for part in (inline[1], rest.replace("\t", "\n")) if part).strip()
    key = _label_for(first)
    return (key, rest.replace("\t", "\n").strip()) if key else None


def _read_header(reading: _Reading) -> bool:
    """Fill the header cells; True when the document has a header block (a window or a title label)."""
    found: dict[str, Cell] = {}
    announcement: dict[str, Cell] = {}
    title: Cell | None = None
    intro: list[str] | None = None
    intro_done = False
    seen_table = False
    pending: Cell | None = None  # a label with nothing after it: its value may follow on the next line
    last_cell: Cell | None = None  # the cell the line before filled, for the lines after a break in a paragraph
    services_open = False
    lines = list(_header_lines(reading))
    stamp_end = -1
    title_start = False  # "План работ" alone above the labels: the title follows
    first_label: tuple[str, str] | None = None  # the document's first line when it is a label line
    for at, (kind, line, where) in enumerate(lines):
        text = line.strip()
        if at <= stamp_end:
            continue
        if kind == "p" and title is None and not found and any(words.norm(text).startswith(w) for w in _STAMPS):
            stamp_end = _stamp_end(lines, at)
            continue
        if title_start and kind == "p" and text:
            title_start = False
            if _split_label(text) is None:
                title = Cell(
                    text=f"{lines[at - 1][1].strip()} {text}" if text[0].islower() else text, where=_("header")
                )
                continue
        if kind == "table":
            seen_table, services_open = seen_table or line != "used", False
            intro_done = intro_done or intro is not None
            continue
        if kind == "p+" and not text:  # a blank line inside a paragraph stays in a value or the intro
            if last_cell is not None and last_cell is not title and last_cell.text:
                last_cell.text += "\n"
            elif last_cell is None and intro and not intro_done:
                intro.append("")
            continue
        if kind == "p+":  # a line break inside a paragraph: "Цель работ: …" goes on, as does the title
            if last_cell is not None and text and _split_label(text) is None:
                joint = " " if last_cell is title else "\n"
                last_cell.text = f"{last_cell.text}{joint}{text}" if last_cell.text else text
                pending = None
                continue
            kind = "p"
        last_cell = None
        if not text:
            services_open = False
            continue
        label = _split_label(text) if kind == "p" else _row_label(text)
        norm = words.norm(text)
        greeting = kind == "p" and any(norm.startswith(word) for word in _GREETING + _APOLOGY)
        if pending is not None and kind == "p" and label is None and not greeting and not services_open:
            # "Цель работ:" on a line of its own, its value on the next one
            pending.text = text
            pending = None
            continue
        pending = None
        if kind == "p" and any(norm.startswith(word) for word in _GREETING):
            # "Уважаемые коллеги! Нам необходимо …" in one paragraph: the rest opens the intro
            rest = re.sub(r"^[^!,.:]*[!,.:]\s*", "", text, count=1) if re.search(r"[!,.:]", text) else ""
            intro, services_open = ([rest] if rest else []), False
            continue
        if label == ("announcement:title", "") and kind == "p" and title is None and not found and not announcement:
            title_start = True
            continue
        if label is not None:
            key, value = label
            if key == "window" and title is None and not found:
                title = _title_before(lines, at) or title  # the paragraph right above "Дата проведения работ"
            if title is None and not found and not announcement and kind == "p" and key != "window":
                first_label = (text, key)  # a title that reads as a label ("Тема: замена дисков")?
            elif first_label is not None and key == first_label[1] and title is None and kind == "p":
                # the label again further down: the first line was the title
                title = Cell(text=first_label[0], where=_("header"))
                found.pop(key, None)
                first_label = None
            services_open = key == "services" and not value
            intro_done = intro_done or intro is not None
            place = where or (_("announcement") if key.startswith("announcement:") else _("header"))
            cell = Cell(text=value, where=place)
            if key.startswith("announcement:"):
                cell = announcement.setdefault(key.split(":", 1)[1], cell)
            elif key == "window" and "window" in found and value:
                # "Дата проведения работ: 20.03.2025" and "Время проведения работ: с 20:00 до 23:05"
                cell = found["window"]
                cell.text = f"{cell.text} {value}".strip()
            else:
                cell = found.setdefault(key, cell)
            if kind == "p" and not cell.text and key not in ("services", "mailing_list"):
                pending = cell
            last_cell = cell if kind == "p" else None
            continue
        if services_open and kind == "p":
            cell = found["services"]
            cell.text = f"{cell.text}\n{text}" if cell.text else text
            continue
        if kind == "row":
            # a sheet's (or a table's) first single text above any label: its title
            single = "\t" not in text and not any(norm.startswith(word) for word in _STAMPS)
            if title is None and single and not found and not announcement and intro is None:
                title = Cell(text=text, where=where)
            seen_table = True
            intro_done = intro_done or intro is not None
            continue
        if any(norm.startswith(word) for word in _APOLOGY):
            intro_done = True
            continue
        if intro is not None and not intro_done:
            intro.append(text)
            continue
        stamp = any(norm.startswith(word) for word in _STAMPS)
        if title is None and not stamp and not found and not announcement and intro is None and not seen_table:
            title = last_cell = Cell(text=text, where=_("header"))
    header_found = "window" in found or title is not None and bool(found) or bool(announcement)
    plan = reading.plan
    typed = reading.overrides.header
    # The title: the first paragraph, else the announcement's "План работ", else the subject.
    if title is None:
        title = found.get("title") or announcement.get("title") or found.get("announcement_subject")
        if title is not None:
            title = Cell(text=title.text, where=title.where)
    found.pop("title", None)
    for key, cell in found.items():
        if key != "window":
            plan.header[key] = cell
    if title is not None:
        plan.header["title"] = title
    for key, text in typed.items():
        if key != "window":
            plan.header[key] = Cell(text=text, where=_("typed in the preview"))
    for key, cell in list(plan.header.items()):
        _read_header_cell(plan, key, cell)
    if "title" not in plan.header or not plan.header["title"].value:
        plan.header["title"] = Cell(text="", value=None, problem=_("The plan has no title: type one."))
    if intro is not None and "announcement_intro" not in typed:
        text = "\n".join(intro).strip("\n")
        plan.header["announcement_intro"] = Cell(text=text, value=text, where=_("header"))
    _read_announcement(reading, announcement)
    window = Cell(text=typed["window"], where=_("typed in the preview")) if "window" in typed else found.get("window")
    _read_window(reading, window, announcement)
    return header_found or bool(found)


def _title_before(lines: list[tuple[str, str, str]], at: int) -> Cell | None:
    """The paragraph just above the line at `at` when it is plain text (no label, stamp or greeting)."""
    for kind, text, _where in reversed(lines[:at]):
        if kind == "p+" or kind == "p" and not text.strip():
            continue
        norm = words.norm(text)
        plain = _split_label(text.strip()) is None and not any(norm.startswith(w) for w in _STAMPS + _GREETING)
        plain = plain and "__" not in text
        return Cell(text=text.strip(), where=_("header")) if kind == "p" and plain and norm else None
    return None


def _stamp_end(lines: list[tuple[str, str, str]], at: int) -> int:
    """The last line of an approval stamp ("УТВЕРЖДАЮ", a position, "______ Матвеев И.Б.", "«__» ____ 2025 г.")."""
    end = at
    for index in range(at + 1, min(at + 6, len(lines))):
        kind, text, _where = lines[index]
        if kind != "p" or _split_label(text.strip()) is not None:
            break
        if "__" in text or "«" in text or re.search(r"\b20\d\d\s*г", text):
            end = index
    return end


def _read_header_cell(plan: ParsedPlan, key: str, cell: Cell) -> None:
    text = _clean(cell.text)
    cell.text = text
    if key == "downtime_text":
        value = "" if words.norm(text) in (_DOWNTIME_PROMPT, "") else text
        cell.value = value
        try:
            parse_downtime(value)
        except ValidationError as exc:
            cell.value, cell.problem = None, _message(exc)
    elif key == "stated_duration_text":
        cell.value = text
        try:
            parse_total_duration(text)
        except ValidationError as exc:
            cell.value, cell.problem = None, _message(exc)
    elif key == "services":
        cell.value = [] if _is_nothing(text) else _split_list(text)
    elif key in ("curator", "responsible"):
        name, contact = split_responsible(text)
        cell.value = name or None
        if key == "responsible" and contact and "responsible_contact" not in plan.header:
            plan.header["responsible_contact"] = Cell(text=text, value=contact, where=cell.where)
    elif key == "responsible_contact":
        cell.value = text
    elif key == "client_impact":
        cell.value = _yes_no(text, _IMPACT_YES, _IMPACT_NO)
        if cell.value is None and text:
            cell.problem = _("Cannot tell from “%(text)s” whether clients are affected.") % {"text": _quote(text)}
    elif key == "banner_needed":
        cell.value = _yes_no(text, _BANNER_YES, _BANNER_NO)
        if cell.value is None and text:
            cell.problem = _("Cannot tell from “%(text)s” whether a banner is needed.") % {"text": _quote(text)}
    elif key == "availability":
        cell.value = _availability(text)
        if cell.value is None and text:
            cell.problem = _("Cannot read the services' availability from “%(text)s”.") % {"text": _quote(text)}
    elif key == "title":
        cell.value = " ".join(text.split()) or None
    else:
        cell.value = text


def _read_announcement(reading: _Reading, announcement: dict[str, Cell]) -> None:
    """The announcement table's rows that say what the header block does not."""
    plan = reading.plan
    typed = reading.overrides.header
    for short, key in (
        ("client_impact", "client_impact"),
        ("banner_needed", "banner_needed"),
        ("availability", "availability"),
        ("responsible", "responsible"),
    ):
        if key in typed or short not in announcement:
            continue
        cell = Cell(text=announcement[short].text, where=announcement[short].where)
        plan.header[key] = cell
        _read_header_cell(plan, key, cell)
    if "title" in announcement and "title" in plan.header and plan.header["title"].value:
        stated = " ".join(announcement["title"].text.split())
        if stated and words.norm(stated) != words.norm(plan.header["title"].value):
            plan.notes.append(
                _("The announcement names the plan “%(stated)s”; the title “%(title)s” is used.")
                % {"stated": _quote(stated), "title": _quote(plan.header["title"].value)}
            )
    stated = announcement["service_names"].text if "service_names" in announcement else ""
    names = [] if _is_nothing(stated) else _split_list(stated)
    services = plan.header.get("services")
    if names and services is not None and services.value:
        if len(names) == len(services.value):
            pairs = ", ".join(f"{address} — {name}" for address, name in zip(services.value, names, strict=True))
            plan.notes.append(_("Services named in the announcement: %(pairs)s.") % {"pairs": pairs})
        else:
            plan.notes.append(
                _("The announcement names other services (%(names)s) than the header block.")
                % {"names": ", ".join(names)}
            )
    elif names and (services is None or not services.value and "services" not in typed):
        plan.header["services"] = Cell(text=announcement["service_names"].text, value=names, where=_("announcement"))


def _read_window(reading: _Reading, window: Cell | None, announcement: dict[str, Cell]) -> None:
    """window_start and window_end from the header's window, checked against the announcement's start and end."""
    plan = reading.plan
    stated: dict[str, str | None] = {}
    for short in ("window_start", "window_end"):
        if short in announcement:
            stated[short], _problem = _read_moment(announcement[short].text)
    start_cell = Cell(text="", where=_("header"))
    end_cell = Cell(text="", where=_("header"))
    if window is not None and _clean(window.text):
        text = _clean(window.text)
        start, end, problem = read_window(text)
        start_cell = Cell(text=text, value=start, problem=problem, where=window.where)
        end_cell = Cell(text=text, value=end, problem=problem, where=window.where)
        for short, cell in (("window_start", start_cell), ("window_end", end_cell)):
            if stated.get(short) and cell.value and stated[short] != cell.value and not cell.problem:
                cell.problem = _("The announcement says %(stated)s, the header block %(header)s: check the window.") % {
                    "stated": announcement[short].text,
                    "header": text,
                }
    elif stated:
        for short, cell in (("window_start", start_cell), ("window_end", end_cell)):
            if short in announcement:
                cell.text, cell.where = announcement[short].text, announcement[short].where
                cell.value, cell.problem = _read_moment(announcement[short].text)
        if start_cell.value and end_cell.value and end_cell.value <= start_cell.value:
            end_cell.problem = _("The window must end after it starts.")
    for cell in (start_cell, end_cell):
        if cell.value is None and not cell.problem:
            cell.problem = _(
                "The window of the work was not found: type it as “с 20:00 20.03.2025 до 23:05 20.03.2025”."
            )
    plan.header["window_start"] = start_cell
    plan.header["window_end"] = end_cell


# --- what Okno's own export embeds ---------------------------------------------------------------------------------


def _apply_metadata(reading: _Reading) -> None:
    """Fields the visible layout cannot show, from the export's "okno" property; visible text always wins."""
    plan = reading.plan
    meta = reading.document.metadata or {}
    about: dict[str, Any] = meta["plan"] if isinstance(meta.get("plan"), dict) else {}
    time_zone = str(about["time_zone"]) if isinstance(about.get("time_zone"), str) else ""
    plan.header["time_zone"] = Cell(text=time_zone, value=time_zone or reading.default_time_zone)
    contact = about.get("responsible_contact")
    responsible = plan.header.get("responsible")
    if isinstance(contact, str) and contact and responsible is not None:
        # the export knows where the contact starts ("Telegram @petrov"): split the visible text there
        text = " ".join(responsible.text.split())
        if text.endswith(" ".join(contact.split())) and text != " ".join(contact.split()):
            responsible.value = text[: -len(" ".join(contact.split()))].strip(" ,;") or None
            plan.header["responsible_contact"] = Cell(text=responsible.text, value=contact, where=responsible.where)
    kind = about.get("kind")
    if kind in PLAN_KINDS:
        plan.header["kind"] = Cell(text="", value=kind)
    for key in ("banner_text", "announcement_from"):
        if isinstance(about.get(key), str) and key not in plan.header:
            plan.header[key] = Cell(text="", value=about[key])
    if "announcement_intro" not in plan.header and isinstance(about.get("announcement_intro"), str):
        plan.header["announcement_intro"] = Cell(text="", value=about["announcement_intro"])
    services = meta.get("services")
    if isinstance(services, list):
        availability = {
            str(item.get("name")): item.get("availability")
            for item in services
            if isinstance(item, dict) and item.get("availability") in AVAILABILITIES
        }
        if availability:
            plan.header["service_availability"] = Cell(text="", value=availability)
    steps = meta.get("steps")
    if isinstance(steps, list) and len(steps) == len(plan.steps):
        for step, item in zip(plan.steps, steps, strict=True):
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind in STEP_KINDS and "kind" not in step.cells and str(step.row) not in reading.overrides.kinds:
                step.kind, step.kind_sure = kind, True
            if isinstance(item, dict):
                _rollback_from_metadata(step, item.get("rollback"))
                _mitigation_from_metadata(step, item.get("mitigation_lines"))
    rows = meta.get("signoff")
    if isinstance(rows, list) and len(rows) == len(plan.signoff):
        for row, item in zip(plan.signoff, rows, strict=True):
            if not isinstance(item, dict):
                continue
            if item.get("kind") in ROW_KINDS:
                row.kind = item["kind"]
            if isinstance(item.get("stage"), int) and 0 < item["stage"] < 1000:
                row.stage = item["stage"]


def _rollback_from_metadata(step: ParsedStep, stated: object) -> None:
    """Rollback actions cut by the export's line counts: two untied actions, or an untied one after tied ones,
    read as one action from the text alone. Only when every tied action's visible numbers agree."""
    cell = step.cells.get("rollback")
    if cell is None or not isinstance(stated, list) or not stated or not cell.text:
        return
    if not all(
        isinstance(item, dict)
        and isinstance(item.get("lines"), int)
        and item["lines"] > 0
        and isinstance(item.get("risks"), list)
        and all(isinstance(n, int) for n in item["risks"])
        for item in stated
    ):
        return
    lines = cell.text.split("\n")
    if sum(item["lines"] for item in stated) != len(lines):
        return
    actions: list[ParsedAction] = []
    at = 0
    for item in stated:
        chunk = lines[at : at + item["lines"]]
        at += item["lines"]
        if not item["risks"]:
            actions.append(ParsedAction(text="\n".join(chunk).strip(), risks=[]))
            continue
        tie = _tie(chunk[0])
        if tie is None or sorted(set(tie[0])) != sorted(set(item["risks"])):
            return  # the visible text says otherwise: it wins
        actions.append(ParsedAction(text="\n".join([tie[1], *chunk[1:]]).strip(), risks=sorted(set(tie[0]))))
    have = {risk.number for risk in step.risks}
    if any(number not in have for action in actions for number in action.risks):
        return
    step.actions, step.no_rollback_needed = actions, False
    cell.value, cell.problem = [action.text for action in actions], ""


def _mitigation_from_metadata(step: ParsedStep, own_lines: object) -> None:
    """The step's own mitigation text is its first `own_lines` lines (export metadata): a free text whose lines
    start with a risk's number is not per-risk mitigations."""
    cell = step.cells.get("risk_mitigation")
    if cell is None or not isinstance(own_lines, int) or own_lines < 0 or not cell.text:
        return
    lines = cell.text.split("\n")
    if own_lines > len(lines):
        return
    numbers = {risk.number for risk in step.risks}
    lead, items = numbered_items("\n".join(lines[own_lines:]))
    seen = [number for number, _lines in items]
    if lead or any(number not in numbers for number in seen) or seen != sorted(set(seen)):
        return  # the per-risk lines are not as the export writes them: keep the text's reading
    mitigations = {number: "\n".join(item).strip() for number, item in items}
    for risk in step.risks:
        risk.mitigation = mitigations.get(risk.number, "")
    cell.value = "\n".join(lines[:own_lines]).strip()


# --- people and services ------------------------------------------------------------------------------------------


def _collect_people(reading: _Reading) -> None:
    plan = reading.plan

    def add(name: str | None, role: str) -> None:
        name = (name or "").strip()
        if not name or _is_nothing(name):
            return
        key = person_key(name)
        ref = plan.people.setdefault(key, PersonRef(key=key, name=name))
        if role not in ref.roles:
            ref.roles.append(role)

    for key in ("curator", "responsible"):
        cell = plan.header.get(key)
        if cell is not None and cell.value:
            add(str(cell.value), key)
    for step in plan.steps:
        executor = step.cells.get("executor")
        if executor is not None and executor.value:
            add(str(executor.value), "executor")
    for row in plan.signoff:
        add(row.person_name, "signoff")
    services = plan.header.get("services")
    for name in services.value if services is not None and isinstance(services.value, list) else []:
        key = person_key(name)
        plan.services.setdefault(key, PersonRef(key=key, name=name, roles=["service"]))
