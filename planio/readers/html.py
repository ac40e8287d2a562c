"""HTML (a Word "save as HTML" page, a Confluence export, a browser's clipboard): sanitised with nh3, read with lxml.

Tables are expanded over rowspan/colspan; <ol>/<ul> items are written "1. …" / "- …"; <br>, <p>, <div> break lines;
text outside tables becomes one paragraph per block element; a table inside a cell is flattened into that cell.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import lxml.etree
import lxml.html
import nh3
from django.utils.translation import gettext as _

from planio.document import Block, Document, Paragraph, Table
from planio.errors import ImportRefused

from .safety import check_cells, check_html_entities

ALLOWED_TAGS = {
    "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption",
    "p", "br", "ol", "ul", "li", "div", "span", "b", "i", "strong", "em", "u",
    "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"td": {"rowspan", "colspan"}, "th": {"rowspan", "colspan"}, "ol": {"start"}}
DROPPED_WITH_CONTENT = {"script", "style", "title", "template", "noscript", "xml", "textarea", "select"}
BLOCK_TAGS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "caption", "ol", "ul"}
MAX_SPAN = 1000

# Line breaks and indentation of the HTML source are one space; spaces the author typed (Word writes "&nbsp; ")
# stay as they are, so a cell reads as it does in the .docx.
_SOURCE_SPACES = re.compile(r"[ \t\r\n\f]*[\t\r\n\f][ \t\r\n\f]*")
# Word's list numbers are text followed by no-break spaces: "1.\xa0\xa0\xa0 Text" → "1. Text".
_WORD_NUMBER = re.compile(r"^(\d{1,3}[.)])\s{2,}")
# Word's HTML writes its list markers as text: "·" (Symbol font) or a private-use bullet.
_WORD_BULLET = re.compile(r"^[·•\uf0b7\uf0a7\uf076\uf0d8▪]\s*")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BARE_MARKER = re.compile(r"^\s*(\d+\.|-)\s*$")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    """Bytes of an HTML file as text: BOM, then the <meta> charset (Word writes windows-1251), then UTF-8."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    match = _META_CHARSET.search(data[:4096])
    if match:
        try:
            return data.decode(match.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


class _Out:
    """Text being collected: lines, and (outside tables) paragraphs closed at block boundaries."""

    def __init__(self) -> None:
        self.lines: list[str] = [""]
        self.paragraphs: list[str] = []

    def add(self, text: str) -> None:
        self.lines[-1] += text

    def br(self) -> None:
        self.lines.append("")

    def _open_line(self) -> bool:
        """True when the current line has text (a list item's bare "1. " does not count)."""
        return bool(self.lines[-1].strip()) and not _BARE_MARKER.match(self.lines[-1])

    def start_block(self) -> None:
        if self._open_line():
            self.lines.append("")

    def end_block(self, had_text: bool) -> None:
        if self.lines[-1].strip():
            self.lines.append("")
        elif not had_text:
            self.lines.append("")  # an empty paragraph is an empty line

    def text(self) -> str:
        lines = [_clean_line(line) for line in self.lines]
        while lines and not lines[-1]:
            lines.pop()
        while lines and not lines[0]:
            lines.pop(0)
        return "\n".join(lines)

    def close_paragraph(self) -> None:
        if self.lines[-1].strip() and not self._open_line():
            return  # "1. " of a list item whose text is in a <p> inside it
        text = self.text()
        if text:
            self.paragraphs.append(text)
        self.lines = [""]


def _spaces(text: str) -> str:
    return _SOURCE_SPACES.sub(" ", text).replace("\xa0", " ")


def _clean_line(line: str) -> str:
    line = line.strip()
    if _WORD_BULLET.match(line):
        return _WORD_BULLET.sub("- ", line)
    return _WORD_NUMBER.sub(r"\1 ", line)


def _has_text(element: Any) -> bool:
    return bool("".join(element.itertext()).strip())


def _int(value: str | None, default: int) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return default


class _Reader:
    def __init__(self) -> None:
        self.cells = 0
        self.blocks: list[Block] = []
        self.tables = 0

    # Top level: paragraphs per block element, tables as blocks.
    def top(self, element: Any, out: _Out) -> None:
        if element.text:
            out.add(_spaces(element.text))
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "table":
                out.close_paragraph()
                self._flush(out)
                self.tables += 1
                self.blocks.append(self.table(child, _("table %(number)s") % {"number": self.tables}))
            elif tag in BLOCK_TAGS or tag == "tr":
                out.close_paragraph()
                self._flush(out)
                if tag in ("ol", "ul"):
                    self._list(child, out, top=True)
                else:
                    self.top(child, out)
                out.close_paragraph()
                self._flush(out)
            elif tag == "br":
                out.br()
            elif tag:
                self.top(child, out)
            if child.tail:
                out.add(_spaces(child.tail))

    def _flush(self, out: _Out) -> None:
        self.blocks.extend(Paragraph(text=text) for text in out.paragraphs)
        out.paragraphs.clear()

    def _list(self, element: Any, out: _Out, *, top: bool) -> None:
        ordered = element.tag == "ol"
        number = _int(element.get("start"), 1)
        for item in element:
            if not isinstance(item.tag, str):
                continue
            if item.tag != "li":
                (self.top if top else self.inline)(item, out)
                continue
            if top:
                out.close_paragraph()
                self._flush(out)
            else:
                out.start_block()
            out.add(f"{number}. " if ordered else "- ")
            number += 1
            if top:
                self.top(item, out)
                out.close_paragraph()
                self._flush(out)
            else:
                self.inline(item, out)
                out.end_block(True)

    # Inside a cell: everything is lines of the cell's text.
    def inline(self, element: Any, out: _Out) -> None:
        if element.text:
            out.add(_spaces(element.text))
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "br":
                out.br()
            elif tag in ("ol", "ul"):
                out.start_block()
                self._list(child, out, top=False)
                out.end_block(True)
            elif tag == "table":
                out.start_block()
                nested = self.table(child, "")
                for r, row in enumerate(nested.rows):
                    for c, text in enumerate(row):
                        if text and not nested.is_covered(r, c):
                            for line in text.split("\n"):
                                out.add(line)
                                out.br()
                out.end_block(True)
            elif tag in BLOCK_TAGS or tag == "tr":
                out.start_block()
                self.inline(child, out)
                out.end_block(_has_text(child))
            elif tag:
                self.inline(child, out)
            if child.tail:
                out.add(_spaces(child.tail))

    def cell_text(self, cell: Any) -> str:
        out = _Out()
        self.inline(cell, out)
        return out.text()

    def table(self, element: Any, where: str) -> Table:
        rows = _table_rows(element)
        texts: dict[tuple[int, int], str] = {}
        origin: dict[tuple[int, int], tuple[int, int]] = {}
        width = 0
        for r, tr in enumerate(rows):
            c = 0
            for cell in tr:
                if not isinstance(cell.tag, str) or cell.tag not in ("td", "th"):
                    continue
                while (r, c) in origin:
                    c += 1
                colspan = max(1, min(_int(cell.get("colspan"), 1), MAX_SPAN))
                rowspan = _int(cell.get("rowspan"), 1)
                rowspan = len(rows) - r if rowspan <= 0 else min(rowspan, len(rows) - r)
                texts[(r, c)] = self.cell_text(cell)
                for dr in range(rowspan):
                    for dc in range(colspan):
                        if dr or dc:
                            origin[(r + dr, c + dc)] = (r, c)
                c += colspan
                width = max(width, c)
            check_cells(self.cells + (r + 1) * width)
        width = max([width] + [c + 1 for (_r, c) in origin])
        self.cells += len(rows) * width
        check_cells(self.cells)
        grid = [[texts.get((r, c), "") for c in range(width)] for r in range(len(rows))]
        return Table(rows=grid, origin=origin, where=where)


def _table_rows(table: Any) -> list[Any]:
    rows: list[Any] = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child if row.tag == "tr")
    return rows


def read_html_text(html: str, *, source: str = "html", filename: str = "") -> Document:
    check_html_entities(html)
    # lxml first: libxml2 stops at a depth of 256, and html5ever (inside nh3) slows down badly on deeper nesting.
    # lxml refuses a str with an encoding declaration (an XHTML page's <?xml ... encoding="utf-8"?>).
    html = _XML_DECLARATION.sub("", html, count=1)
    try:
        page = lxml.html.tostring(lxml.html.document_fromstring(html), encoding="unicode")
    except lxml.etree.ParserError:  # an empty page
        return Document(blocks=[], source=source, filename=filename)
    except Exception as error:  # lxml's errors for unreadable markup vary
        raise ImportRefused(_("The HTML cannot be read.")) from error
    cleaned = nh3.clean(
        page,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        clean_content_tags=DROPPED_WITH_CONTENT,
        strip_comments=True,
        link_rel=None,
    )
    if not cleaned.strip():
        return Document(blocks=[], source=source, filename=filename)
    try:
        root = lxml.html.fragment_fromstring(cleaned, create_parent="div")
    except Exception as error:  # lxml's errors for unreadable markup vary
        raise ImportRefused(_("The HTML cannot be read.")) from error
    reader = _Reader()
    out = _Out()
    reader.top(root, out)
    out.close_paragraph()
    reader._flush(out)
    return Document(blocks=reader.blocks, source=source, filename=filename)


def read_html(data: bytes, filename: str = "") -> Document:
    return read_html_text(decode_html(data), filename=filename)
