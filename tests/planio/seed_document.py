"""The seed plan (a Word plan pasted as text) cut into a Document by its known table shapes, without a reader.

The recognizer's tests read the seed both through planio.readers.read_paste and through this cut, so that a
reader's change cannot hide a recognizer's. The text is builders.seed_text() (the seed file, /work/shared/seeds/
000_…txt, but for its trailing blank lines); its three tables are the announcement (8 rows × 2), the step table
(8 × 15) and the sign-off (11 × 4).
"""

from planio.document import Document, Paragraph, Table
from tests.planio.builders import seed_text

SHAPES = [(8, 2), (8, 15), (11, 4)]


def seed_document() -> Document:
    lines = seed_text().split("\n")
    blocks: list[Paragraph | Table] = []
    shapes = list(SHAPES)
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("\t"):
            if line.strip():
                blocks.append(Paragraph(text=line.rstrip()))
            i += 1
            continue
        rows_count, width = shapes.pop(0)
        cells: list[list[str]] = []
        while len(cells) < rows_count * width:
            cells.append([lines[i][1:]])
            i += 1
            # continuation lines (no tab) belong to the cell, unless the table is complete
            while i < len(lines) and not lines[i].startswith("\t") and len(cells) < rows_count * width:
                cells[-1].append(lines[i])
                i += 1
        texts = ["\n".join(cell).strip() for cell in cells]
        rows = [texts[r * width : (r + 1) * width] for r in range(rows_count)]
        blocks.append(Table(rows=rows))
    return Document(blocks=blocks, source="text")
