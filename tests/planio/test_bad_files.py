"""Files that must be refused, each with a clear Russian message, before any parser spends time on them."""

import io
import os
import zipfile

import docx
import msoffcrypto.format.ooxml
import openpyxl
import pytest
from django.test import override_settings
from django.utils import translation

from planio.errors import ImportRefused
from planio.readers import read_file, read_paste, safety

UNSAFE = "В файле объявлены собственные сущности (DOCTYPE/ENTITY): такой файл не принимается как небезопасный."
UNKNOWN = (
    "Этот файл не удаётся прочитать: загрузите документ Word (.docx), книгу Excel (.xlsx) или HTML-страницу "
    "либо вставьте текст плана."
)
DAMAGED = "Файл не удаётся прочитать: он повреждён или это не документ Word (.docx) и не книга Excel (.xlsx)."
PASSWORD = "Файл защищён паролем: снимите пароль в Word или Excel и загрузите снова."
BOMB = "Файл распаковывается больше чем в 100 МБ: такой файл не принимается как небезопасный."
RATIO = "Файл сжат подозрительно сильно (похоже на zip-бомбу): такой файл не принимается как небезопасный."

BILLION_LAUGHS_DTD = """<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""


@pytest.fixture(autouse=True)
def _russian():
    with translation.override("ru"):
        yield


def _refused(filename: str, data: bytes) -> str:
    with pytest.raises(ImportRefused) as refused:
        read_file(filename, data)
    [message] = refused.value.messages
    return message


def _docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _replace_part(data: bytes, name: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info))
    return out.getvalue()


@pytest.mark.parametrize("data", [b"", b"   \r\n\t "])
def test_empty_file(data):
    assert _refused("plan.docx", data) == "Файл пустой."


def test_random_bytes_named_docx():
    assert _refused("plan.docx", os.urandom(4096)) == UNKNOWN


def test_zip_that_is_neither_word_nor_excel():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("content.xml", "<office:document/>")
    assert _refused("plan.odt", out.getvalue()) == UNKNOWN


def test_truncated_docx_is_damaged():
    data = _docx()
    assert _refused("plan.docx", data[: len(data) // 2]) == DAMAGED


def test_png_picture():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + os.urandom(512)
    assert _refused("plan.png", png) == UNKNOWN
    assert _refused("plan.docx", png) == UNKNOWN


def _ole2(*stream_names: str) -> bytes:
    """A compound-file header and a directory sector naming the streams (what the readers look at)."""
    header = safety.OLE2_MAGIC + b"\x00" * (512 - len(safety.OLE2_MAGIC))
    directory = b""
    for name in ("Root Entry", *stream_names):
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        directory += encoded + b"\x00" * (128 - len(encoded))
    return header + directory + b"\x00" * 1024


def test_legacy_word_document():
    message = _refused("plan.doc", _ole2("WordDocument", "1Table"))
    assert message == (
        "Это старый формат Word или Excel (.doc/.xls): откройте файл в Word или Excel, сохраните как .docx или .xlsx "
        "и загрузите снова."
    )
    assert _refused("plan.xls", _ole2("Workbook")) == message


def test_password_protected_docx():
    encrypted = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(_docx())).encrypt("пароль", encrypted)
    data = encrypted.getvalue()
    assert data.startswith(safety.OLE2_MAGIC)  # real Agile encryption: an OLE2 container
    assert _refused("plan.docx", data) == PASSWORD


def test_password_protected_xlsx():
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "п/п"
    plain = io.BytesIO()
    workbook.save(plain)
    plain.seek(0)
    encrypted = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(plain).encrypt("secret", encrypted)
    assert _refused("plan.xlsx", encrypted.getvalue()) == PASSWORD


def test_zip_member_encrypted_the_old_way():
    data = bytearray(_docx())
    # Set the "encrypted" flag of every member in the local and central headers.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + offset] |= 0x01
            start += 4
    assert _refused("plan.docx", bytes(data)) == PASSWORD


@override_settings(OKNO_IMPORT_MAX_BYTES=1024 * 1024)
def test_over_the_size_limit():
    data = _docx()
    data += b"\x00" * (1536 * 1024 - len(data))
    assert _refused("plan.docx", data) == "Файл весит 1,5 МБ, а загрузить можно не больше 1 МБ."


@override_settings(OKNO_IMPORT_MAX_BYTES=1024)
def test_pasted_text_over_the_size_limit():
    with pytest.raises(ImportRefused) as refused:
        read_paste("п/п\tНаименование\n" * 200)
    assert refused.value.messages[0].startswith("Файл весит")


def _bomb(size_mb: int) -> bytes:
    """A .docx whose document.xml inflates to size_mb of zeros: a few hundred KB on disk."""
    base = zipfile.ZipFile(io.BytesIO(_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in base.infolist():
            if info.filename == "word/document.xml":
                with target.open("word/document.xml", "w", force_zip64=True) as part:
                    chunk = b"\x00" * (1024 * 1024)
                    for _ in range(size_mb):
                        part.write(chunk)
            else:
                target.writestr(info.filename, base.read(info))
    return out.getvalue()


def test_zip_bomb_unpacking_beyond_the_cap():
    data = _bomb(150)
    assert len(data) < 2 * 1024 * 1024
    assert _refused("plan.docx", data) == BOMB


def test_zip_bomb_by_compression_ratio():
    assert _refused("plan.docx", _bomb(20)) == RATIO


def test_zip_bomb_with_lying_size_headers_is_stopped_while_reading(monkeypatch):
    # Headers that understate the size: the reader reads the stream itself (with a cap) instead of trusting them.
    monkeypatch.setattr(safety, "MAX_UNPACKED_BYTES", 4 * 1024 * 1024)
    monkeypatch.setattr(safety, "MAX_RATIO", 10**9)
    data = bytearray(_bomb(8))
    start = data.find(b"PK\x01\x02")
    while start != -1:
        data[start + 24 : start + 28] = (1000).to_bytes(4, "little")  # central directory: uncompressed size
        start = data.find(b"PK\x01\x02", start + 4)
    # zipfile stops at the declared size and then finds the checksum wrong: the file is refused as damaged.
    assert _refused("plan.docx", bytes(data)) == DAMAGED


def test_docx_with_billion_laughs_document_xml():
    document_xml = (
        '<?xml version="1.0"?>' + BILLION_LAUGHS_DTD + '<w:document xmlns:w="http://schemas.openxmlformats.org/'
        'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>'
    ).encode()
    data = _replace_part(_docx(), "word/document.xml", document_xml)
    assert _refused("plan.docx", data) == UNSAFE


def test_docx_with_external_entity_in_another_part():
    styles = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&xxe;</w:styles>'
    ).encode("utf-16")
    data = _replace_part(_docx(), "word/styles.xml", styles)
    assert _refused("plan.docx", data) == UNSAFE


def test_xlsx_with_billion_laughs_sheet():
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "п/п"
    out = io.BytesIO()
    workbook.save(out)
    sheet = (
        '<?xml version="1.0"?>' + BILLION_LAUGHS_DTD + '<worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    data = _replace_part(out.getvalue(), "xl/worksheets/sheet1.xml", sheet)
    assert _refused("plan.xlsx", data) == UNSAFE


def test_billion_laughs_html():
    page = f"<?xml version='1.0'?>{BILLION_LAUGHS_DTD}<html><body><table><tr><td>&lol9;</td></tr></table></body></html>"
    assert _refused("plan.html", page.encode()) == UNSAFE
    with pytest.raises(ImportRefused) as refused:
        read_paste("&lol9;", html=page)
    assert refused.value.messages == [UNSAFE]


@override_settings(OKNO_IMPORT_MAX_CELLS=50)
def test_too_many_cells():
    document = docx.Document()
    document.add_table(rows=10, cols=6)
    out = io.BytesIO()
    document.save(out)
    expected = "В документе больше 50 ячеек таблиц: он слишком велик для импорта."
    assert _refused("plan.docx", out.getvalue()) == expected
    html = "<table>" + "<tr><td>a</td><td>b</td></tr>" * 30 + "</table>"
    assert _refused("plan.html", html.encode()) == expected
    assert _refused("plan.html", b'<table><tr><td colspan="1000" rowspan="1000">x</td></tr></table>') == expected
    with pytest.raises(ImportRefused):
        read_paste("a\tb\n" * 30)


def test_deeply_nested_html_is_cut_at_the_parsers_depth_limit():
    # html5ever (nh3) alone takes minutes on this; lxml reads it first and stops at a depth of 256.
    depth = 50_000
    page = "<html><body><p>Цель работ: обновление</p>" + "<div>" * depth + "x" + "</div>" * depth + "</body></html>"
    result = read_file("deep.html", page.encode())
    assert result.blocks[0].text == "Цель работ: обновление"
    nested_tables = "<table><tr><td>" * depth + "x" + "</td></tr></table>" * depth
    assert len(read_file("deep.html", nested_tables.encode()).tables()) == 1
