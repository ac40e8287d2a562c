"""Readers: a file or a pasted text → planio.document.Document (paragraphs and tables in order).

read_file picks the reader by the file's content first (a .docx named .xlsx is still read as Word) and by its
extension for text formats. Everything unsafe or unreadable is refused with ImportRefused before any parser
runs on it: see planio.readers.safety.
"""

from __future__ import annotations

import codecs
import os
import re

from django.utils.translation import gettext as _

from planio.document import Document
from planio.errors import ImportRefused

from . import safety
from .docx import read_docx
from .html import read_html, read_html_text
from .text import read_text
from .xlsx import read_xlsx

__all__ = ["read_file", "read_paste"]

HTML_EXTENSIONS = (".html", ".htm", ".xhtml")
TEXT_EXTENSIONS = (".txt", ".tsv", ".csv", ".text")
_LOOKS_HTML = re.compile(r"<\s*(html|table|body|!doctype\s+html)\b", re.IGNORECASE)
_HAS_TABLE = re.compile(r"<\s*table\b", re.IGNORECASE)


def _refused_unknown() -> ImportRefused:
    return ImportRefused(
        _(
            "This file cannot be read: upload a Word document (.docx), an Excel workbook (.xlsx) or an HTML page, "
            "or paste the plan's text."
        )
    )


def _decode_text(data: bytes) -> str | None:
    """A text file's text (UTF-8/UTF-16 with BOM, UTF-8, Windows-1251); None for binary data."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1251", errors="replace")
    # Windows-1251 decodes any bytes: accept it only when it reads as text.
    controls = sum(1 for char in text[:8192] if ord(char) < 32 and char not in "\t\n\r\f")
    return None if controls else text


def read_file(filename: str, data: bytes) -> Document:
    """Read an uploaded file; ImportRefused with a translated message when it cannot or must not be read."""
    safety.check_size(len(data))
    safety.check_not_empty(data)
    safety.refuse_ole2(data)
    extension = os.path.splitext(filename or "")[1].lower()
    if data.startswith(safety.ZIP_MAGIC):
        parts = safety.open_zip(data)
        names = set(parts.names)
        if "word/document.xml" in names:
            document = read_docx(data, parts, filename)
        elif "xl/workbook.xml" in names:
            document = read_xlsx(data, parts, filename)
        else:
            raise _refused_unknown()
    else:
        text = _decode_text(data)
        if text is None:
            raise _refused_unknown()
        if extension in HTML_EXTENSIONS or _LOOKS_HTML.search(text[:65536]):
            document = (
                read_html(data, filename) if extension in HTML_EXTENSIONS else read_html_text(text, filename=filename)
            )
        elif extension in TEXT_EXTENSIONS or not extension:
            document = read_text(text, filename, csv_file=extension == ".csv")
        else:
            raise _refused_unknown()
    safety.check_cells(document.cell_count())
    return document


def read_paste(text: str, html: str = "") -> Document:
    """Read pasted text; the clipboard's HTML (a browser paste) wins when it holds a table."""
    size = len(text.encode("utf-8", errors="replace")) + len(html.encode("utf-8", errors="replace"))
    safety.check_size(size)
    if html and _HAS_TABLE.search(html):
        document = read_html_text(html, source="html")
    elif text.strip():
        document = read_text(text)
    elif html.strip():
        document = read_html_text(html, source="html")
    else:
        raise ImportRefused(_("Nothing was pasted: paste the plan's text or table."))
    safety.check_cells(document.cell_count())
    return document
