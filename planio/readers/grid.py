"""A sheet-like grid of cells (Excel, TSV) cut into paragraphs and tables.

A row with one non-empty cell is a paragraph ("Дата проведения работ: …"); runs of rows with two or more are a
table. A one-cell row between two table rows stays in the table when it is not a line of its own (its cell is not
in the table's first column, or it is merged across columns: a step with only a name, a section row). An empty
row ends a table.
"""

from __future__ import annotations

from collections.abc import Callable

from planio.document import Block, Paragraph, Table

from .safety import check_cells

Position = tuple[int, int]
Merge = tuple[int, int, int, int]  # first row, first col, last row, last col (inclusive)


def grid_blocks(cells: dict[Position, str], merges: list[Merge], where: Callable[[int], str]) -> list[Block]:
    if not cells:
        return []
    last_row = max(r for r, _ in cells)
    last_col = max(c for _, c in cells)
    covered: dict[Position, Position] = {}
    wide: set[Position] = set()  # top-left positions of cells merged across columns
    for r0, c0, r1, c1 in merges:
        if (r0, c0) not in cells:
            continue
        if c1 > c0:
            wide.add((r0, c0))
        for r in range(r0, min(r1, last_row) + 1):
            for c in range(c0, min(c1, last_col) + 1):
                if (r, c) != (r0, c0):
                    covered[(r, c)] = (r0, c0)
    occupied: dict[int, set[Position]] = {}
    for r, c in cells:
        occupied.setdefault(r, set()).add((r, c))
    for (r, _c), root in covered.items():
        if root[0] != r:
            occupied.setdefault(r, set()).add(root)
    rows = sorted(occupied)
    table_row = {r: len(occupied[r]) >= 2 for r in rows}
    columns: dict[int, list[int]] = {r: [] for r in rows}
    for r, c in sorted(cells):
        columns[r].append(c)
    for index, r in enumerate(rows):
        if table_row[r] or index == 0 or index == len(rows) - 1:
            continue
        before, after = rows[index - 1], rows[index + 1]
        if before != r - 1 or after != r + 1 or not (table_row[before] and table_row[after]):
            continue
        own = columns[r]
        first = min(columns[before][:1] + columns[after][:1], default=0)
        if own and (own[0] > first or (r, own[0]) in wide):
            table_row[r] = True

    blocks: list[Block] = []
    run: list[int] = []
    tables = 0

    def flush() -> None:
        nonlocal tables
        if not run:
            return
        tables += 1
        blocks.append(_table(run, cells, covered, where(tables)))
        run.clear()

    previous: int | None = None
    for r in rows:
        if previous is not None and r != previous + 1:
            flush()
        if table_row[r]:
            run.append(r)
        else:
            flush()
            text = next((cells[p] for p in sorted(occupied[r]) if p in cells), "")
            if text.strip():
                blocks.append(Paragraph(text=text))
        previous = r
    flush()
    return blocks


def _table(run: list[int], cells: dict[Position, str], covered: dict[Position, Position], where: str) -> Table:
    in_run = set(run)
    cols = [c for (r, c) in cells if r in in_run] + [c for (r, c) in covered if r in in_run]
    first, last = min(cols), max(cols)
    check_cells(len(run) * (last - first + 1))
    index = {r: i for i, r in enumerate(run)}
    rows = [[cells.get((r, c), "") for c in range(first, last + 1)] for r in run]
    origin: dict[Position, Position] = {}
    for (r, c), (r0, c0) in covered.items():
        if r in in_run and r0 in in_run:
            origin[(index[r], c - first)] = (index[r0], c0 - first)
    return Table(rows=rows, origin=origin, where=where)
