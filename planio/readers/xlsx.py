"""Excel (.xlsx): every visible sheet's cells as a person reads them, cut into paragraphs and tables."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import openpyxl
from django.conf import settings
from django.utils.translation import gettext as _

from planio.document import Block, Document
from planio.errors import ImportRefused

from .grid import Merge, Position, grid_blocks
from .safety import ZipParts, check_cells, refused_damaged

# Styled empty cells count too in the sheet XML: the exact limit applies to the cells read.
ROUGH_CELLS_FACTOR = 10
MAX_COLUMN = 16384  # XFD


def cell_text(value: Any) -> str:
    """A cell's value the way Excel shows it to a Russian reader: 20.03.2025, 20:00, 5 (not 5.0)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, datetime.timedelta):
        minutes = int(value.total_seconds()) // 60
        return f"{minutes // 60}:{minutes % 60:02d}"
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float | Decimal):
        if value == int(value):
            return str(int(value))
        return format(float(value), ".15g")
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def read_xlsx(data: bytes, parts: ZipParts, filename: str = "") -> Document:
    rough = sum(xml.count(b"<c ") + xml.count(b"<c>") for name, xml in parts.xml.items() if "worksheets/" in name)
    if rough > ROUGH_CELLS_FACTOR * settings.OKNO_IMPORT_MAX_CELLS:
        check_cells(rough)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True, read_only=False)
    except Exception as error:
        raise ImportRefused(refused_damaged()) from error
    blocks: list[Block] = []
    total = 0
    for sheet in workbook.worksheets:
        if sheet.sheet_state != "visible":
            continue
        cells: dict[Position, str] = {}
        hidden_columns = _hidden_columns(sheet)
        # _cells holds only the cells the file has: iter_rows would walk the whole used rectangle.
        for (row, col), cell in sheet._cells.items():
            if col in hidden_columns or (row in sheet.row_dimensions and sheet.row_dimensions[row].hidden):
                continue
            text = cell_text(cell.value)
            if text.strip():
                cells[(row, col)] = text
        total += len(cells)
        check_cells(total)
        merges: list[Merge] = [
            (rng.min_row, rng.min_col, rng.max_row, rng.max_col) for rng in sheet.merged_cells.ranges
        ]
        name = sheet.title

        def where(number: int, name: str = name) -> str:
            if number == 1:
                return _("sheet «%(name)s»") % {"name": name}
            return _("sheet «%(name)s», table %(number)s") % {"name": name, "number": number}

        blocks.extend(grid_blocks(cells, merges, where))
    workbook.close()
    return Document(blocks=blocks, source="xlsx", filename=filename)


def _hidden_columns(sheet: Any) -> set[int]:
    """Columns hidden in Excel: nobody reading the sheet sees them."""
    hidden: set[int] = set()
    for dimension in sheet.column_dimensions.values():
        if dimension.hidden and dimension.min:
            hidden.update(range(dimension.min, min(dimension.max or dimension.min, MAX_COLUMN) + 1))
    return hidden
