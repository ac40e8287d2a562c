"""What a reader makes of a file or a pasted text: paragraphs and tables, in the order of the document.

Every reader (Word, Excel, HTML, pasted text) produces this and nothing else, so the recognizer
(`planio.recognize`) knows one shape. Tables are rectangular: a merged cell keeps its text at its
top-left position and `origin` maps every position it covers to that one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Paragraph:
    text: str  # lines joined with "\n"; stripped of trailing spaces


@dataclass
class Table:
    rows: list[list[str]]  # rectangular; cells' lines joined with "\n"
    # (row, col) of a position covered by a merged cell → (row, col) of the cell's top-left position.
    origin: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    where: str = ""  # for messages: «таблица 2», «лист «План»»

    @property
    def width(self) -> int:
        return max((len(row) for row in self.rows), default=0)

    def text_at(self, row: int, col: int) -> str:
        """The text shown at a position, a merged cell's text included."""
        r, c = self.origin.get((row, col), (row, col))
        return self.rows[r][c] if c < len(self.rows[r]) else ""

    def is_covered(self, row: int, col: int) -> bool:
        """True for a position inside a merged cell other than its top-left one."""
        return (row, col) in self.origin


Block = Paragraph | Table


@dataclass
class Document:
    blocks: list[Block]
    source: str  # "docx" | "xlsx" | "html" | "text"
    filename: str = ""
    # What Okno's own export embeds (planio.export_docx: the custom property "okno"); {} for other files.
    metadata: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> list[Table]:
        return [block for block in self.blocks if isinstance(block, Table)]

    def to_json(self) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = []
        for block in self.blocks:
            if isinstance(block, Table):
                blocks.append(
                    {
                        "table": block.rows,
                        "origin": [[r, c, r0, c0] for (r, c), (r0, c0) in block.origin.items()],
                        "where": block.where,
                    }
                )
            else:
                blocks.append({"p": block.text})
        return {"blocks": blocks, "source": self.source, "filename": self.filename, "metadata": self.metadata}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        blocks: list[Block] = []
        for item in data["blocks"]:
            if "table" in item:
                origin = {(r, c): (r0, c0) for r, c, r0, c0 in item.get("origin", [])}
                blocks.append(Table(rows=item["table"], origin=origin, where=item.get("where", "")))
            else:
                blocks.append(Paragraph(text=item["p"]))
        return cls(
            blocks=blocks,
            source=data["source"],
            filename=data.get("filename", ""),
            metadata=data.get("metadata", {}),
        )

    def cell_count(self) -> int:
        return sum(len(row) for table in self.tables() for row in table.rows)


def replace(document: Document, **changes: Any) -> Document:
    return dataclasses.replace(document, **changes)
