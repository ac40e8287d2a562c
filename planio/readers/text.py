"""Pasted text: TSV copied from Excel, or a Word document copied as plain text (the seed's format).

Word's plain text of a table puts every cell on a line of its own that starts with a TAB; a cell's further lines
have no TAB; blank lines occur inside cells and between rows, so nothing in the text says where a row ends. The
rows are found from the table's header: a run of cells that are column names (planio.vocabulary) gives the
width, and the cells after it are cut into rows of that width until the next header run. A run of cells with no
header that reads as label/value pairs ("Время начала", "20:00/20.03.2025", …) is a two-column table.
"""

from __future__ import annotations

import csv
import functools
import io
import re

from django.utils.translation import gettext as _

from planio.document import Block, Document, Paragraph, Table
from planio.vocabulary import (
    ANNOUNCEMENT_LABELS,
    HEADER_LABELS,
    IGNORED_STEP_HEADERS,
    SIGNOFF_HEADERS,
    STEP_HEADERS,
    norm,
    step_column_for,
)

from .grid import Position, grid_blocks
from .safety import check_cells

MIN_HEADER_NAMES = 3
MAX_GAP = 2  # cells that are no column name between two names of one header
MAX_EDGE = 2  # such cells before the first name or after the last
EXACT_KINDS = ("step", "signoff")  # a header text that is a column name, not only starts with one
# A cell run ends at a line without a TAB that follows this many blank lines (and when its rows are whole).
BLANKS_ENDING_CELLS = 2

_SIGNOFF_NAMES = {name for names in SIGNOFF_HEADERS.values() for name in names}
_LABELS = {name for names in (*ANNOUNCEMENT_LABELS.values(), *HEADER_LABELS.values()) for name in names}
# An extra column plans have ("Примечание") is a header name too: without it a last extra column shifts rows.
_STEP_FIRST_WORDS = tuple(
    sorted({name.split(" ", 1)[0] for names in (*STEP_HEADERS.values(), IGNORED_STEP_HEADERS) for name in names})
)
_WORD_CELL_LINE = re.compile(r"^\t[^\t]*$")
_POSITION_CELL = re.compile(r"^\s*\d{1,4}(?:\.\d{1,3})*\.?\s*$")


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_word_text(lines: list[str]) -> bool:
    """True for Word's plain text (cells on TAB-led lines), False for TSV (cells separated by TABs in a row)."""
    word = sum(1 for line in lines if _WORD_CELL_LINE.match(line))
    tsv = sum(1 for line in lines if "\t" in line and not _WORD_CELL_LINE.match(line))
    return word > tsv


def read_text(text: str, filename: str = "", *, csv_file: bool = False) -> Document:
    """Pasted text or a .txt/.tsv file; a .csv file (csv_file) is cut at its own delimiter ("," or ";")."""
    text = normalise_newlines(text)
    lines = text.split("\n")
    if csv_file:
        first = next((line for line in lines if line.strip()), "")
        delimiter = max("\t;,", key=first.count)
        blocks = tsv_blocks(text, delimiter)
    elif is_word_text(lines):
        blocks = word_text_blocks(lines)
    else:
        blocks = tsv_blocks(text)
    return Document(blocks=blocks, source="text", filename=filename)


# --- TSV -------------------------------------------------------------------------------------------------------


def tsv_blocks(text: str, delimiter: str = "\t") -> list[Block]:
    cells: dict[Position, str] = {}
    # One cell may be as long as the whole paste (the csv module stops at 128 KiB by default).
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    for r, row in enumerate(csv.reader(io.StringIO(text), dialect="excel-tab", delimiter=delimiter)):
        for c, value in enumerate(row):
            value = "\n".join(line.rstrip() for line in value.split("\n")).strip("\n")
            if value.strip():
                cells[(r, c)] = value
        check_cells(len(cells))
    return grid_blocks(cells, [], _where)


def _where(number: int) -> str:
    return _("table %(number)s") % {"number": number}


# --- Word's plain text -----------------------------------------------------------------------------------------


def word_text_blocks(lines: list[str]) -> list[Block]:
    """Paragraphs and cell runs in order; each cell run is then cut into tables."""
    items: list[str | list[str]] = []  # a paragraph's text, or a run of cells
    run: _CellRun | None = None
    blanks = 0
    for raw in lines:
        line = raw.rstrip()
        if raw.startswith("\t"):
            if run is None:
                run = _CellRun()
            run.add(raw[1:].split("\t"))
            blanks = 0
        elif not line:
            blanks += 1
        elif run is not None and (blanks < BLANKS_ENDING_CELLS or not run.whole_rows()):
            run.cells[-1].extend([""] * blanks + [line])
            blanks = 0
        else:
            if run is not None:
                items.append(_cell_texts(run.cells))
                run = None
            items.append(line)
            blanks = 0
    if run is not None:
        items.append(_cell_texts(run.cells))
    blocks: list[Block] = []
    tables = 0
    for item in items:
        if isinstance(item, str):
            blocks.append(Paragraph(text=item))
            continue
        for table in cut_cells(item):
            tables += 1
            table.where = _where(tables)
            blocks.append(table)
    return blocks


class _CellRun:
    """The cells of one run (each a list of lines), and the last header run seen in them so far."""

    LOOKBACK = 100  # cells re-read before the last scan: a header run may have been cut there

    def __init__(self) -> None:
        self.cells: list[list[str]] = []
        self.scanned = 0
        self.last_header: tuple[int, int] | None = None

    def add(self, pieces: list[str]) -> None:
        self.cells.extend([piece.rstrip()] for piece in pieces)
        check_cells(len(self.cells))

    def whole_rows(self) -> bool:
        """False while the cells after the last header do not fill whole rows: the table is not over yet."""
        low = max(0, self.scanned - self.LOOKBACK)
        # A run starting right at the window's edge may be the tail of a header read before: not a new one.
        runs = [run for run in header_runs(_cell_texts(self.cells[low:])) if run[0] > 0 or low == 0]
        if runs:
            self.last_header = (runs[-1][0] + low, runs[-1][1] + low)
        self.scanned = len(self.cells) - 1
        if self.last_header is None:
            return True
        start, end = self.last_header
        texts = _cell_texts(self.cells[max(0, start - MAX_EDGE) : end + MAX_EDGE])
        offset = max(0, start - MAX_EDGE)
        # Whole rows for any width the header may turn out to have (untitled or unknown cells at its edges).
        for lead in range(min(MAX_EDGE, start) + 1):
            if not all(_may_edge(text) for text in texts[start - lead - offset : start - offset]):
                break
            for trail in range(MAX_EDGE + 1):
                if not all(_may_edge(text) for text in texts[end - offset : end + trail - offset]):
                    break
                data = len(self.cells) - end - trail
                if (data > 0 or not trail) and data >= 0 and data % (end - start + lead + trail) == 0:
                    return True
        return False


def _cell_texts(cells: list[list[str]]) -> list[str]:
    return ["\n".join(lines).strip("\n") for lines in cells]


@functools.lru_cache(maxsize=8192)
def _header_kind(text: str) -> str | None:
    words = norm(text)
    if not words or words[0].isdigit():  # numbers, dates, times, durations: most data cells
        return None
    if words in _SIGNOFF_NAMES:
        return "signoff"
    # step_column_for is slow on every data cell: only a text whose first word may start a column name reaches it.
    first = words.split(" ", 1)[0]
    if not first.startswith(_STEP_FIRST_WORDS) and not any(word.startswith(first) for word in _STEP_FIRST_WORDS):
        return None
    column = step_column_for(text)
    if column is None:
        return None
    return "step" if column[1] else "step-prefix"


def _is_label(text: str) -> bool:
    words = norm(text)
    return bool(words) and any(words == label or words.startswith(label + " ") for label in _LABELS)


def header_runs(cells: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of at least MIN_HEADER_NAMES column names.

    Up to MAX_GAP cells that are no column name (empty, or an extra column such as "Согласовано с") may stand
    between names; they belong to the header.
    """
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(cells):
        if _header_kind(cells[i]) is None:
            i += 1
            continue
        j, names, gaps = i, 0, 0
        while j < len(cells):
            # A sign-off name ("№", "Статус") may also be a step name: either kind continues a run.
            if _header_kind(cells[j]) is not None:
                names += 1
                j += 1
                continue
            # Across a gap only to an exact column name, and never over a number or a date (a data row's cells).
            window = range(j + 1, min(j + 1 + MAX_GAP, len(cells)))
            following = next((k for k in window if _header_kind(cells[k]) in EXACT_KINDS), None)
            if following is None or not all(_may_edge(cells[k]) for k in range(j, following)):
                break
            gaps += following - j
            j = following
        if names >= MIN_HEADER_NAMES and names > 2 * gaps:
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def _edges(cells: list[str], runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Each header run widened by the untitled or unknown cells at its edges ("" of a "№" column, an extra
    column first or last) so that the cells up to the next header fill whole rows."""
    adjusted: list[tuple[int, int]] = []
    previous_end, previous_width = 0, 0
    for index, (start, end) in enumerate(runs):
        next_start = runs[index + 1][0] if index + 1 < len(runs) else len(cells)
        next_leads = range(MAX_EDGE + 1) if index + 1 < len(runs) else range(1)
        best: tuple[tuple[int, ...], int, int] | None = None
        for lead in range(MAX_EDGE + 1):
            first = start - lead
            if first < previous_end:
                break
            if not all(_may_edge(cell) for cell in cells[first:start]):
                break
            if previous_width:
                previous_whole = (first - previous_end) % previous_width == 0
            else:
                # Before the first header: only empty cells, or every cell up to the start of the run.
                previous_whole = first == 0 or not any(cell.strip() for cell in cells[first:start])
            for trail in range(MAX_EDGE + 1):
                last = end + trail
                if last > next_start or not all(_may_edge(cell) for cell in cells[end:last]):
                    break
                width = last - first
                whole = any(
                    next_start - lead_next >= last and (next_start - lead_next - last) % width == 0
                    for lead_next in next_leads
                )
                # Rows whose columns hold alike cells (numbers under numbers) break ties of width: an empty "№"
                # header cell before "Должность, ФИО, Статус" with six rows fits widths 3 and 4 alike.
                mixed = _mixed_columns(cells[last:next_start], width) if whole else 0
                score = (int(not whole), int(not previous_whole), mixed, lead + trail, lead)
                if best is None or score < best[0]:
                    best = (score, first, last)
        if best is None or best[0][:2] != (0, 0):
            best = ((), start, end)  # nothing fits: the header as read, the last row padded
        adjusted.append((best[1], best[2]))
        previous_end, previous_width = best[2], best[2] - best[1]
    return adjusted


def _mixed_columns(cells: list[str], width: int) -> int:
    """How many cells are unlike their column: a number among texts or a text among numbers."""
    mixed = 0
    for col in range(width):
        column = [cell for cell in cells[col::width] if cell.strip()]
        numbers = sum(1 for cell in column if _POSITION_CELL.match(cell))
        mixed += min(numbers, len(column) - numbers)
    return mixed


def _may_edge(text: str) -> bool:
    """Whether a cell next to a header's names may be a header cell too: not a number, a date or a time."""
    return not norm(text)[:1].isdigit()


def cut_cells(cells: list[str]) -> list[Table]:
    adjusted = _edges(cells, header_runs(cells))
    tables: list[Table] = []
    position = 0
    for index, (start, end) in enumerate(adjusted):
        if start > position:
            tables.append(_headless(cells[position:start]))
        stop = adjusted[index + 1][0] if index + 1 < len(adjusted) else len(cells)
        width = end - start
        rows = [cells[start:end]]
        for row_start in range(end, stop, width):
            row = cells[row_start : min(row_start + width, stop)]
            rows.append(row + [""] * (width - len(row)))
        tables.append(Table(rows=rows))
        position = stop
    if position < len(cells):
        tables.append(_headless(cells[position:]))
    return tables


def _headless(cells: list[str]) -> Table:
    """Cells with no header: label/value pairs make a two-column table, anything else one cell per row."""
    labels = cells[0::2]
    if len(cells) >= 2 and sum(_is_label(label) for label in labels) * 2 >= len(labels):
        padded = cells + [""] * (len(cells) % 2)
        return Table(rows=[padded[i : i + 2] for i in range(0, len(padded), 2)])
    return Table(rows=[[cell] for cell in cells])
