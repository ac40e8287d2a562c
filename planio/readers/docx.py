"""Word (.docx): paragraphs and tables in document order, merged cells, automatic numbering rendered as text."""

from __future__ import annotations

import io
import json
from typing import Any

import defusedxml.ElementTree as SafeET
import docx
from django.utils.translation import gettext as _

from planio.document import Block, Document, Paragraph, Table
from planio.errors import ImportRefused

from .safety import ZipParts, check_cells, refused_damaged

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
METADATA_PROPERTY = "okno"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _val(element: Any, tag: str) -> str | None:
    """The w:val of a child element, None when the child is absent."""
    if element is None:
        return None
    child = element.find(_w(tag))
    return None if child is None else child.get(_w("val"))


_ROMAN: tuple[tuple[int, str], ...] = (
    (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
    (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
)  # fmt: skip
_RUSSIAN = "абвгдежзиклмнопрстуфхцчшщэюя"


def _roman(number: int) -> str:
    out = ""
    for value, letters in _ROMAN:
        while number >= value:
            out += letters
            number -= value
    return out


def _letters(number: int, alphabet: str) -> str:
    # Word repeats the letter: a..z, aa..zz, aaa...
    index = (number - 1) % len(alphabet)
    return alphabet[index] * ((number - 1) // len(alphabet) + 1)


def format_number(number: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return _letters(number, "abcdefghijklmnopqrstuvwxyz")
    if fmt == "upperLetter":
        return _letters(number, "abcdefghijklmnopqrstuvwxyz").upper()
    if fmt == "lowerRoman":
        return _roman(number)
    if fmt == "upperRoman":
        return _roman(number).upper()
    if fmt == "russianLower":
        return _letters(number, _RUSSIAN)
    if fmt == "russianUpper":
        return _letters(number, _RUSSIAN).upper()
    if fmt == "decimalZero":
        return f"{number:02d}"
    return str(number)


class _Level:
    def __init__(self, fmt: str, text: str, start: int) -> None:
        self.fmt = fmt
        self.text = text
        self.start = start


class Numbering:
    """Word's automatic numbering (numbering.xml and list styles), rendered the way Word shows it.

    Like Word, numbers count per abstract list: numbering instances (numId) sharing one continue each other,
    and an instance with a start override ("restart numbering") starts again where it is first used.
    """

    def __init__(self, numbering_xml: Any, styles_xml: Any) -> None:
        self.levels: dict[str, dict[int, _Level]] = {}
        self.list_of: dict[str, str] = {}  # numId → abstractNumId
        self.restarts: dict[str, list[int]] = {}  # numId → levels with a start override
        self.used: set[str] = set()
        self.counters: dict[str, list[int | None]] = {}
        self.style_num: dict[str, tuple[str | None, int | None]] = {}
        self.style_based: dict[str, str] = {}
        abstract: dict[str, dict[int, _Level]] = {}
        if numbering_xml is not None:
            for element in numbering_xml.findall(_w("abstractNum")):
                levels: dict[int, _Level] = {}
                for lvl in element.findall(_w("lvl")):
                    start = _val(lvl, "start")
                    levels[int(lvl.get(_w("ilvl"), "0"))] = _Level(
                        fmt=_val(lvl, "numFmt") or "decimal",
                        text=_val(lvl, "lvlText") or "",
                        start=int(start) if start and start.lstrip("-").isdigit() else 1,
                    )
                abstract[element.get(_w("abstractNumId"), "")] = levels
            for num in numbering_xml.findall(_w("num")):
                num_id = num.get(_w("numId"), "")
                abstract_id = _val(num, "abstractNumId") or ""
                levels = dict(abstract.get(abstract_id, {}))
                for override in num.findall(_w("lvlOverride")):
                    ilvl_text = override.get(_w("ilvl"), "0")
                    ilvl = int(ilvl_text) if ilvl_text.isdigit() else 0
                    start = _val(override, "startOverride")
                    if ilvl in levels and start and start.isdigit():
                        base = levels[ilvl]
                        levels[ilvl] = _Level(base.fmt, base.text, int(start))
                        self.restarts.setdefault(num_id, []).append(min(ilvl, 9))
                self.levels[num_id] = levels
                self.list_of[num_id] = abstract_id or f"num {num_id}"
        if styles_xml is not None:
            for style in styles_xml.findall(_w("style")):
                style_id = style.get(_w("styleId"), "")
                based = _val(style, "basedOn")
                if based:
                    self.style_based[style_id] = based
                num_pr = style.find(f"{_w('pPr')}/{_w('numPr')}")
                if num_pr is not None:
                    style_ilvl = _val(num_pr, "ilvl")
                    self.style_num[style_id] = (
                        _val(num_pr, "numId"),
                        int(style_ilvl) if style_ilvl and style_ilvl.isdigit() else None,
                    )

    def _from_style(self, style_id: str | None) -> tuple[str | None, int | None]:
        seen: set[str] = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            if style_id in self.style_num:
                return self.style_num[style_id]
            style_id = self.style_based.get(style_id)
        return None, None

    def prefix(self, p: Any) -> str:
        """The number or bullet Word shows before the paragraph ("1. ", "- "), counting it; "" when none."""
        ppr = p.find(_w("pPr"))
        num_pr = ppr.find(_w("numPr")) if ppr is not None else None
        num_id = _val(num_pr, "numId")
        ilvl_text = _val(num_pr, "ilvl")
        style_num, style_ilvl = self._from_style(_val(ppr, "pStyle"))
        num_id = num_id or style_num
        ilvl = int(ilvl_text) if ilvl_text and ilvl_text.isdigit() else (style_ilvl or 0)
        if not num_id or num_id == "0" or num_id not in self.levels:
            return ""
        levels = self.levels[num_id]
        level = levels.get(ilvl)
        if level is None or level.fmt == "none":
            return ""
        counters = self.counters.setdefault(self.list_of[num_id], [None] * 10)
        if num_id not in self.used:
            self.used.add(num_id)
            for restarted in self.restarts.get(num_id, []):
                counters[restarted] = None
        ilvl = min(ilvl, 9)
        current = counters[ilvl]
        counters[ilvl] = level.start if current is None else current + 1
        for deeper in range(ilvl + 1, len(counters)):
            counters[deeper] = None
        if level.fmt == "bullet":
            return "- "
        text = level.text
        for index in range(ilvl, -1, -1):
            marker = f"%{index + 1}"
            if marker in text:
                outer = levels.get(index)
                value = counters[index] if counters[index] is not None else (outer.start if outer else 1)
                text = text.replace(marker, format_number(value or 1, outer.fmt if outer else "decimal"))
        text = text.strip()
        return f"{text} " if text else ""


# Deleted text, field codes, the fallback copy of drawings and text boxes are not the paragraph's text.
_SKIP = {f"{{{MC}}}Fallback", _w("del"), _w("moveFrom"), _w("instrText"), _w("delText"), _w("txbxContent")}


def _run_text(element: Any, out: list[str]) -> None:
    for child in element:
        tag = child.tag
        if tag in _SKIP or not isinstance(tag, str):
            continue
        if tag == _w("t"):
            out.append(child.text or "")
        elif tag == _w("tab"):
            out.append("\t")
        elif tag in (_w("br"), _w("cr")):
            out.append("\n")
        elif tag == _w("noBreakHyphen"):
            out.append("-")
        elif tag == _w("pPr") or tag == _w("rPr"):
            continue
        else:
            _run_text(child, out)


def _strip_lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


class _Reader:
    def __init__(self, numbering: Numbering) -> None:
        self.numbering = numbering
        self.cells = 0

    def paragraph_text(self, p: Any) -> str:
        parts: list[str] = []
        _run_text(p, parts)
        text = _strip_lines("".join(parts))
        if not text.strip():
            return ""
        return self.numbering.prefix(p) + text

    def blocks(self, container: Any) -> list[Any]:
        """Block-level children in order (w:p, w:tbl), content controls and custom XML unwrapped."""
        out: list[Any] = []
        for child in container:
            if child.tag in (_w("p"), _w("tbl")):
                out.append(child)
            elif child.tag in (_w("sdt"), _w("customXml")):
                content = child.find(_w("sdtContent")) if child.tag == _w("sdt") else child
                if content is not None:
                    out.extend(self.blocks(content))
        return out

    def cell_text(self, tc: Any) -> str:
        lines: list[str] = []
        for block in self.blocks(tc):
            if block.tag == _w("p"):
                lines.append(self.paragraph_text(block))
            else:
                nested = self.table(block, "")
                for r, row in enumerate(nested.rows):
                    lines.extend(text for c, text in enumerate(row) if text and not nested.is_covered(r, c))
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        return "\n".join(lines)

    def table(self, tbl: Any, where: str) -> Table:
        rows: list[list[str]] = []
        origin: dict[tuple[int, int], tuple[int, int]] = {}
        for r, tr in enumerate(self._rows(tbl)):
            row: list[str] = []
            trpr = tr.find(_w("trPr"))
            before = _val(trpr, "gridBefore")
            col = int(before) if before and before.isdigit() else 0
            row.extend([""] * col)
            for tc in self._cells(tr):
                tcpr = tc.find(_w("tcPr"))
                span_text = _val(tcpr, "gridSpan")
                span = max(1, min(int(span_text), 1000)) if span_text and span_text.isdigit() else 1
                vmerge = tcpr.find(_w("vMerge")) if tcpr is not None else None
                continues = vmerge is not None and vmerge.get(_w("val"), "continue") == "continue" and r > 0
                # The old way of merging across columns (w:hMerge) instead of w:gridSpan.
                hmerge = tcpr.find(_w("hMerge")) if tcpr is not None else None
                continues_left = hmerge is not None and hmerge.get(_w("val"), "continue") == "continue" and col > 0
                text = self.cell_text(tc)
                self.cells += span
                check_cells(self.cells)
                root: tuple[int, int] | None = None
                if continues:
                    root = origin.get((r - 1, col), (r - 1, col))
                    if root[1] >= len(rows[root[0]]):
                        root = None
                elif continues_left:
                    root = origin.get((r, col - 1), (r, col - 1))
                if root is not None:
                    if text:
                        holder = row if root[0] == r else rows[root[0]]
                        holder[root[1]] = f"{holder[root[1]]}\n{text}" if holder[root[1]] else text
                    for offset in range(span):
                        origin[(r, col + offset)] = root
                    row.extend([""] * span)
                else:
                    row.append(text)
                    row.extend([""] * (span - 1))
                    for offset in range(1, span):
                        origin[(r, col + offset)] = (r, col)
                col += span
            rows.append(row)
        width = max((len(row) for row in rows), default=0)
        for row in rows:
            row.extend([""] * (width - len(row)))
        return Table(rows=rows, origin=origin, where=where)

    def _rows(self, tbl: Any) -> list[Any]:
        out: list[Any] = []
        for child in tbl:
            if child.tag == _w("tr"):
                out.append(child)
            elif child.tag in (_w("sdt"), _w("customXml")):
                content = child.find(_w("sdtContent")) if child.tag == _w("sdt") else child
                if content is not None:
                    out.extend(self._rows(content))
        return out

    def _cells(self, tr: Any) -> list[Any]:
        out: list[Any] = []
        for child in tr:
            if child.tag == _w("tc"):
                out.append(child)
            elif child.tag in (_w("sdt"), _w("customXml")):
                content = child.find(_w("sdtContent")) if child.tag == _w("sdt") else child
                if content is not None:
                    out.extend(self._cells(content))
        return out


def read_metadata(custom_xml: bytes | None) -> dict[str, Any]:
    """The JSON Okno's export keeps in the custom document property "okno"; {} when absent or unreadable."""
    if not custom_xml:
        return {}
    try:
        root = SafeET.fromstring(custom_xml)
    except Exception:  # noqa: BLE001 - a broken property part only loses the metadata
        return {}
    for prop in root.findall(f"{{{CUSTOM}}}property"):
        if prop.get("name") != METADATA_PROPERTY:
            continue
        value = prop.find(f"{{{VT}}}lpwstr")
        if value is None:
            value = prop.find(f"{{{VT}}}lpstr")
        try:
            data = json.loads(value.text or "") if value is not None else None
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack: no metadata
            return {}
        return data if isinstance(data, dict) else {}
    return {}


def read_docx(data: bytes, parts: ZipParts, filename: str = "") -> Document:
    # A rough count of cells before python-docx builds the whole tree.
    body = parts.xml.get("word/document.xml", b"")
    check_cells(body.count(b"<w:tc>") + body.count(b"<w:tc "))
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:
        raise ImportRefused(refused_damaged()) from error
    numbering_xml = None
    try:
        numbering_xml = document.part.numbering_part.element
    except (KeyError, NotImplementedError):
        numbering_xml = None
    styles_xml = document.styles.element
    reader = _Reader(Numbering(numbering_xml, styles_xml))
    blocks: list[Block] = []
    tables = 0
    for element in reader.blocks(document.element.body):
        if element.tag == _w("p"):
            text = reader.paragraph_text(element)
            if text.strip():
                blocks.append(Paragraph(text=text))
        else:
            tables += 1
            blocks.append(reader.table(element, _("table %(number)s") % {"number": tables}))
    return Document(
        blocks=blocks,
        source="docx",
        filename=filename,
        metadata=read_metadata(parts.xml.get("docProps/custom.xml")),
    )
