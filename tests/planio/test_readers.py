"""The readers: real files written by python-docx/openpyxl here, HTML as Word and Confluence write it, pasted text."""

import datetime
import io
import json
import zipfile

import docx
import openpyxl
import pytest
from django.utils import translation
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from planio.document import Document, Paragraph, Table
from planio.readers import read_file, read_paste
from tests.planio.builders import seed_text


@pytest.fixture(autouse=True)
def _russian():
    with translation.override("ru"):
        yield


def _docx_bytes(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _blocks(document: Document) -> list[str]:
    return ["table" if isinstance(block, Table) else "p" for block in document.blocks]


def _restart_list(document, style_name: str = "List Number") -> str:
    """A new numbering instance (Word's "restart numbering at 1") for the style's list; its numId."""
    numbering = document.part.numbering_part.element
    style_num = document.styles[style_name].element.pPr.numPr.numId.val
    abstract = next(
        num.find(qn("w:abstractNumId")).get(qn("w:val"))
        for num in numbering.findall(qn("w:num"))
        if num.get(qn("w:numId")) == str(style_num)
    )
    num_id = str(max(int(num.get(qn("w:numId"))) for num in numbering.findall(qn("w:num"))) + 1)
    num = OxmlElement("w:num")
    num.set(qn("w:numId"), num_id)
    abstract_id = OxmlElement("w:abstractNumId")
    abstract_id.set(qn("w:val"), abstract)
    num.append(abstract_id)
    override = OxmlElement("w:lvlOverride")
    override.set(qn("w:ilvl"), "0")
    start = OxmlElement("w:startOverride")
    start.set(qn("w:val"), "1")
    override.append(start)
    num.append(override)
    numbering.append(num)
    return num_id


def _numbered(paragraph, num_id: str) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    num_pr = OxmlElement("w:numPr")
    ilvl = OxmlElement("w:ilvl")
    ilvl.set(qn("w:val"), "0")
    num = OxmlElement("w:numId")
    num.set(qn("w:val"), num_id)
    num_pr.append(ilvl)
    num_pr.append(num)
    ppr.append(num_pr)


# --- Word -------------------------------------------------------------------------------------------------------


def test_docx_keeps_document_order_and_names_tables():
    document = docx.Document()
    document.add_paragraph("Установка плагина")
    document.add_paragraph("Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025")
    first = document.add_table(rows=1, cols=2)
    first.cell(0, 0).text, first.cell(0, 1).text = "Время начала", "20:00/20.03.2025"
    document.add_paragraph("")  # an empty paragraph is no block
    document.add_paragraph("Приносим извинения")
    second = document.add_table(rows=1, cols=2)
    second.cell(0, 0).text = "п/п"
    result = read_file("plan.docx", _docx_bytes(document))
    assert result.source == "docx"
    assert result.filename == "plan.docx"
    assert _blocks(result) == ["p", "p", "table", "p", "table"]
    assert result.blocks[0] == Paragraph("Установка плагина")
    assert [table.where for table in result.tables()] == ["таблица 1", "таблица 2"]
    assert result.tables()[0].rows == [["Время начала", "20:00/20.03.2025"]]


def test_docx_merged_cells_horizontal_and_vertical():
    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    for r in range(3):
        for c in range(3):
            table.cell(r, c).text = f"{r}{c}"
    table.cell(0, 0).merge(table.cell(0, 1))  # horizontal: gridSpan
    table.cell(1, 2).merge(table.cell(2, 2))  # vertical: vMerge
    result = read_file("merged.docx", _docx_bytes(document)).tables()[0]
    assert result.width == 3
    assert len(result.rows) == 3
    # python-docx keeps both texts in the merged cell, one paragraph each.
    assert result.rows[0][0] == "00\n01"
    assert result.rows[1][2] == "12\n22"
    assert result.origin == {(0, 1): (0, 0), (2, 2): (1, 2)}
    assert result.text_at(0, 1) == "00\n01"
    assert result.text_at(2, 2) == "12\n22"
    assert result.rows[2][:2] == ["20", "21"]
    assert not result.is_covered(2, 1)


def test_docx_cell_renders_automatic_numbering_and_bullets_and_line_breaks():
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    risks, rollback, mitigation = table.rows[0].cells
    risks_list = _restart_list(document)
    first = risks.paragraphs[0]
    first.text = "Неправильная конфигурация IPAM"
    _numbered(first, risks_list)
    for text in ("Ошибки в манифестах", "Конфликты плагинов"):
        _numbered(risks.add_paragraph(text), risks_list)
    # Another cell restarts its own list at 1.
    rollback_list = _restart_list(document)
    rollback.paragraphs[0].text = "Откатить конфигурацию"
    _numbered(rollback.paragraphs[0], rollback_list)
    _numbered(rollback.add_paragraph("Перезапустить узел"), rollback_list)
    mitigation.paragraphs[0].text = "Заранее:"
    mitigation.add_paragraph("проверить PDB", style="List Bullet")
    line = mitigation.add_paragraph("первая строка")
    line.add_run().add_break()
    line.add_run("вторая строка")
    cells = read_file("lists.docx", _docx_bytes(document)).tables()[0].rows[0]
    assert cells[0] == "1. Неправильная конфигурация IPAM\n2. Ошибки в манифестах\n3. Конфликты плагинов"
    assert cells[1] == "1. Откатить конфигурацию\n2. Перезапустить узел"
    assert cells[2] == "Заранее:\n- проверить PDB\nпервая строка\nвторая строка"


def test_docx_numbering_by_style_counts_through_the_document():
    document = docx.Document()
    document.add_paragraph("один", style="List Number")
    document.add_paragraph("два", style="List Number")
    result = read_file("list.docx", _docx_bytes(document))
    assert [block.text for block in result.blocks] == ["1. один", "2. два"]


def test_docx_nested_table_is_flattened_into_its_cell():
    document = docx.Document()
    outer = document.add_table(rows=1, cols=2)
    cell = outer.cell(0, 1)
    cell.paragraphs[0].text = "Сервисы:"
    inner = cell.add_table(rows=2, cols=1)
    inner.cell(0, 0).text = "www.nskes.ru"
    inner.cell(1, 0).text = "narod.nskes.ru"
    outer.cell(0, 0).text = "Влияние"
    result = read_file("nested.docx", _docx_bytes(document))
    assert len(result.tables()) == 1
    assert result.tables()[0].rows == [["Влияние", "Сервисы:\nwww.nskes.ru\nnarod.nskes.ru"]]


def _with_custom_property(data: bytes, name: str, value: str) -> bytes:
    """Add docProps/custom.xml with one string property, as Okno's export writes it."""
    custom = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="{name}">'
        f"<vt:lpwstr>{value}</vt:lpwstr></property></Properties>"
    )
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/docProps/custom.xml" '
                    b'ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>',
                )
            target.writestr(info, content)
        target.writestr("docProps/custom.xml", custom)
    return out.getvalue()


def test_docx_metadata_from_the_okno_custom_property():
    document = docx.Document()
    document.add_paragraph("План")
    metadata = {"okno": 1, "plan": {"kind": "normal", "time_zone": "Asia/Novosibirsk"}, "steps": [{"kind": "work"}]}
    escaped = json.dumps(metadata, ensure_ascii=False).replace("&", "&amp;").replace("<", "&lt;")
    data = _with_custom_property(_docx_bytes(document), "okno", escaped)
    assert read_file("plan.docx", data).metadata == metadata
    other = _with_custom_property(_docx_bytes(document), "Автор", "кто-то")
    assert read_file("plan.docx", other).metadata == {}
    broken = _with_custom_property(_docx_bytes(document), "okno", "{not json")
    assert read_file("plan.docx", broken).metadata == {}


def test_docx_is_recognised_by_content_whatever_its_name():
    document = docx.Document()
    document.add_paragraph("Цель работ: обновление")
    result = read_file("plan.bin", _docx_bytes(document))
    assert result.source == "docx"
    assert result.blocks == [Paragraph("Цель работ: обновление")]


# --- Excel ------------------------------------------------------------------------------------------------------


def _xlsx_bytes(workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_paragraph_lines_tables_merges_and_values_as_people_read_them():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "План"
    sheet["A1"] = "Установка плагина"
    sheet["A2"] = "Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025"
    # the step table starts after an empty row; a two-row header with merged cells
    sheet.append([])
    sheet.append(["п/п", "Наименование", "Начало", None, "Продолжительность"])
    sheet.append([None, None, "Дата", "Время", None])
    sheet.merge_cells("A4:A5")
    sheet.merge_cells("B4:B5")
    sheet.merge_cells("C4:D4")
    sheet.merge_cells("E4:E5")
    sheet.append([1, "Рассылка", datetime.date(2025, 3, 20), datetime.time(20, 0), 5.0])
    sheet.append([None, "Только название шага", None, None, None])  # a step row with one cell stays in the table
    naive = datetime.datetime(2025, 3, 20, 20, 5)  # noqa: DTZ001 - Excel cells hold naive local times
    sheet.append([2, "Миграция\nна Calico", naive, datetime.time(20, 5), 2.5])
    sheet["G4"] = "скрытая колонка"
    sheet.column_dimensions["G"].hidden = True
    sheet.append(["скрытая строка", "с двумя ячейками"])
    sheet.row_dimensions[sheet.max_row].hidden = True
    hidden = workbook.create_sheet("Скрытый")
    hidden["A1"] = "не читать"
    hidden.sheet_state = "hidden"
    second = workbook.create_sheet("Согласование")
    second.append(["№", "Должность", "ФИО"])
    second.append([1, "Директор по ИТ", "Матвеев И.Б."])
    result = read_file("plan.xlsx", _xlsx_bytes(workbook))
    assert result.source == "xlsx"
    assert _blocks(result) == ["p", "p", "table", "table"]
    assert result.blocks[1] == Paragraph("Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025")
    steps, signoff = result.tables()
    assert steps.where == "лист «План»"
    assert steps.rows == [
        ["п/п", "Наименование", "Начало", "", "Продолжительность"],
        ["", "", "Дата", "Время", ""],
        ["1", "Рассылка", "20.03.2025", "20:00", "5"],
        ["", "Только название шага", "", "", ""],
        ["2", "Миграция\nна Calico", "20.03.2025 20:05", "20:05", "2.5"],
    ]
    assert steps.origin == {(1, 0): (0, 0), (1, 1): (0, 1), (0, 3): (0, 2), (1, 4): (0, 4)}
    assert signoff.where == "лист «Согласование»"
    assert signoff.rows == [["№", "Должность", "ФИО"], ["1", "Директор по ИТ", "Матвеев И.Б."]]


def test_xlsx_one_cell_line_between_tables_in_the_first_column_is_a_paragraph():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Время начала", "20:00/20.03.2025"])
    sheet.append(["Приносим извинения"])
    sheet.append(["п/п", "Наименование"])
    result = read_file("plan.xlsx", _xlsx_bytes(workbook))
    assert _blocks(result) == ["table", "p", "table"]


# --- HTML -------------------------------------------------------------------------------------------------------

WORD_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word">
<head><meta http-equiv=Content-Type content="text/html; charset=windows-1251"><title>План работ</title>
<style><!-- p.MsoNormal {margin:0cm} --></style>
<!--[if gte mso 9]><xml><w:WordDocument></w:WordDocument></xml><![endif]-->
</head><body lang=RU><div class=WordSection1>
<p class=MsoNormal><b>Установка плагина Calico</b><o:p></o:p></p>
<p class=MsoNormal>Дата проведения работ:&nbsp;с 20:00 20.03.25 до 23:05 20.03.2025<o:p></o:p></p>
<table class=MsoTableGrid border=1 cellspacing=0 cellpadding=0>
 <tr><td rowspan=2><p class=MsoNormal>п/п<o:p></o:p></p></td><td colspan=2><p class=MsoNormal>Начало</p></td>
  <td><p class=MsoNormal>Возможные<br>риски</p></td></tr>
 <tr><td><p>Дата</p></td><td><p>Время</p></td><td><p>&nbsp;</p></td></tr>
 <tr><td><p class=MsoNormal>5<o:p></o:p></p></td><td><p>20.03.2025</p></td><td><p>20:05</p></td>
  <td><p class=MsoListParagraphCxSpFirst style='mso-list:l0 level1 lfo1'><![if !supportLists]><span
  style='mso-list:Ignore'>1.<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span><![endif]>Ошибки
  IPAM<o:p></o:p></p>
  <p class=MsoListParagraphCxSpLast style='mso-list:l0 level1 lfo1'><![if !supportLists]><span
  style='mso-list:Ignore'>2.<span>&nbsp;&nbsp;&nbsp; </span></span><![endif]>Ошибки манифестов<o:p></o:p></p>
  <p class=MsoNormal><span style='font-family:Symbol'>·</span><span>&nbsp;&nbsp;</span>пункт</p></td></tr>
</table>
<p class=MsoNormal>Приносим извинения<o:p></o:p></p>
</div></body></html>"""


def test_word_html_tables_spans_and_word_list_markers():
    result = read_file("plan.htm", WORD_HTML.encode("cp1251"))
    assert result.source == "html"
    assert _blocks(result) == ["p", "p", "table", "p"]
    assert result.blocks[0] == Paragraph("Установка плагина Calico")
    assert result.blocks[1] == Paragraph("Дата проведения работ: с 20:00 20.03.25 до 23:05 20.03.2025")
    assert result.blocks[3] == Paragraph("Приносим извинения")
    table = result.tables()[0]
    assert table.rows == [
        ["п/п", "Начало", "", "Возможные\nриски"],
        ["", "Дата", "Время", ""],
        ["5", "20.03.2025", "20:05", "1. Ошибки IPAM\n2. Ошибки манифестов\n- пункт"],
    ]
    assert table.origin == {(1, 0): (0, 0), (0, 2): (0, 1)}
    assert table.where == "таблица 1"


CONFLUENCE_HTML = """<!DOCTYPE html><html><body><div id="main-content" class="wiki-content">
<h1>Миграция на Calico</h1><p>Цель работ: установить Calico</p><p>Куратор работ: Хасанов А.И.<br/>Рассылка: it.info</p>
<div class="table-wrap"><table class="confluenceTable"><tbody>
<tr><th class="confluenceTh">п/п</th><th class="confluenceTh">Наименование</th>
<th class="confluenceTh">Возможные риски</th>
<th class="confluenceTh">Действия, если что-то пойдет не так</th></tr>
<tr><td class="confluenceTd" rowspan="2">5</td><td class="confluenceTd">Миграция</td>
<td class="confluenceTd"><ol><li><p>Ошибки IPAM</p></li><li>Конфликты</li></ol></td>
<td class="confluenceTd" rowspan="2"><ul><li>Откатить</li><li>Перезапустить</li></ul>
<table><tr><td>вложенная</td><td>таблица</td></tr></table></td></tr>
<tr><td class="confluenceTd">продолжение</td><td class="confluenceTd"><p>первая</p><p>вторая</p></td></tr>
</tbody></table></div>
<ol start="3"><li><p>пункт три</p></li><li>пункт четыре</li></ol>
<script>alert("x")</script>
</div></body></html>"""


def test_confluence_html_headers_rowspans_lists_and_nested_tables():
    result = read_file("export.html", CONFLUENCE_HTML.encode("utf-8"))
    texts = [block.text for block in result.blocks if isinstance(block, Paragraph)]
    assert texts == [
        "Миграция на Calico",
        "Цель работ: установить Calico",
        "Куратор работ: Хасанов А.И.\nРассылка: it.info",
        "3. пункт три",
        "4. пункт четыре",
    ]
    assert _blocks(result) == ["p", "p", "p", "table", "p", "p"]
    table = result.tables()[0]
    assert table.rows == [
        ["п/п", "Наименование", "Возможные риски", "Действия, если что-то пойдет не так"],
        ["5", "Миграция", "1. Ошибки IPAM\n2. Конфликты", "- Откатить\n- Перезапустить\nвложенная\nтаблица"],
        ["", "продолжение", "первая\nвторая", ""],
    ]
    assert table.origin == {(2, 0): (1, 0), (2, 3): (1, 3)}


def test_paste_with_clipboard_html_reads_the_html_table():
    html = (
        "<meta charset='utf-8'><table><tr><td>п/п</td><td>Наименование</td></tr><tr><td>1</td><td>Шаг</td></tr></table>"
    )
    result = read_paste("п/п\tНаименование\n1\tШаг", html=html)
    assert result.source == "html"
    assert result.tables()[0].rows == [["п/п", "Наименование"], ["1", "Шаг"]]


# --- pasted text ------------------------------------------------------------------------------------------------


def test_seed_text_as_word_pastes_it():
    result = read_paste(seed_text())
    assert result.source == "text"
    paragraphs = [block.text for block in result.blocks if isinstance(block, Paragraph)]
    assert paragraphs[0] == "Установка сетевого плагина Calico в кластере Kubernetes PROD"
    assert paragraphs[1] == "Дата проведения работ:\xa0с 20:00 20.03.25 до 23:05 20.03.2025"
    assert "Рассылка:" in paragraphs  # the trailing no-break space is stripped
    assert paragraphs[-3:] == ["Приносим извинения за возникшие неудобства!", "С уважением,", "Департамент ИТ"]
    assert _blocks(result) == ["p"] * 11 + ["table"] + ["p"] * 3 + ["table", "table"]
    announcement, steps, signoff = result.tables()
    assert [len(row) for row in announcement.rows] == [2] * 8
    assert announcement.rows[0] == ["Время начала", "20:00/20.03.2025"]
    assert announcement.rows[-1] == ["Доступность сервисов во время работ", "БУДЕТ НЕДОСТУПЕН"]
    assert len(steps.rows) == 8
    assert steps.width == 15
    assert steps.rows[0][:3] == ["п/п", "Наименование\nмероприятия", "Краткое описание\nработ"]
    assert steps.rows[0][-1] == "Статус\nработы"
    assert [row[0] for row in steps.rows[1:]] == ["1", "2", "3", "4", "5", "6", "7"]
    assert all(row[-1] == "НЕ ВЫПОЛНЕНО" for row in steps.rows[1:])
    step5 = steps.rows[5]
    risks = step5[4].split("\n")
    assert risks[0] == "1. Неправильная конфигурация IPAM; 2. Ошибки в манифестах установки Calico"
    assert risks[2:4] == ["4. Конфликты между сетевыми плагинами", ""]  # the blank line inside the cell stays
    assert risks[-1] == "13. Длительные простои при миграции"
    assert step5[12].startswith("1. Убить под")
    assert "\n5/6/7/8 Устранить причину и перезапустить узел/кластер.\n" in step5[12]
    assert step5[12].endswith("обучение команды.")
    assert step5[10:12] == ["20:05", "2-3 часа"]
    assert steps.rows[6][10] == ""  # step 6 has no time
    assert signoff.rows[0] == ["", "Должность", "ФИО", "Статус"]
    assert len(signoff.rows) == 11
    assert signoff.rows[-1] == ["10", "", "Дежурный НЭС", "НЕ ОЗНАКОМЛЕН"]
    assert [table.where for table in result.tables()] == ["таблица 1", "таблица 2", "таблица 3"]


def test_seed_text_read_from_a_txt_file_gives_the_same_document():
    data = seed_text().encode()
    from_file = read_file("plan.txt", data)
    assert from_file.blocks == read_paste(data.decode("utf-8")).blocks


def test_tsv_from_excel_with_quoted_multiline_cells():
    text = (
        "Дата проведения работ: с 20:00 20.03.2025 до 23:05 20.03.2025\r\n"
        "\r\n"
        "п/п\tНаименование\tВозможные риски\r\n"
        "1\tРассылка\tнет\r\n"
        '5\t"Миграция ""Calico"""\t"1. Ошибки IPAM\n2. Конфликты"\r\n'
        "\tтолько название\t\r\n"
        '6\tСнять баннеры\t"нет  "\r\n'
    )
    result = read_paste(text)
    assert _blocks(result) == ["p", "table"]
    assert result.tables()[0].rows == [
        ["п/п", "Наименование", "Возможные риски"],
        ["1", "Рассылка", "нет"],
        ["5", 'Миграция "Calico"', "1. Ошибки IPAM\n2. Конфликты"],
        ["", "только название", ""],
        ["6", "Снять баннеры", "нет"],
    ]


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_empty_paste_is_refused(text):
    from planio.errors import ImportRefused

    with pytest.raises(ImportRefused) as refused:
        read_paste(text)
    assert refused.value.messages == ["Ничего не вставлено: вставьте текст или таблицу плана."]


def test_docx_old_style_horizontal_merge_and_text_boxes_left_out():
    document = docx.Document()
    table = document.add_table(rows=1, cols=3)
    first, second, third = table.rows[0].cells
    first.text, second.text, third.text = "Начало", "", "Конец"
    for cell, value in ((first, "restart"), (second, "continue")):
        merge = OxmlElement("w:hMerge")
        merge.set(qn("w:val"), value)
        cell._tc.get_or_add_tcPr().append(merge)
    paragraph = document.add_paragraph("Цель работ")
    box = OxmlElement("w:txbxContent")
    box_paragraph = OxmlElement("w:p")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "надпись"
    run.append(text)
    box_paragraph.append(run)
    box.append(box_paragraph)
    paragraph.runs[0]._r.append(box)
    result = read_file("old.docx", _docx_bytes(document))
    assert result.tables()[0].rows == [["Начало", "", "Конец"]]
    assert result.tables()[0].origin == {(0, 1): (0, 0)}
    assert result.blocks[1] == Paragraph("Цель работ")


def test_csv_file_with_semicolons_as_russian_excel_saves_it():
    data = 'п/п;Наименование;Возможные риски\r\n1;Рассылка;"1. Ошибка; сбой\n2. Другое"\r\n'.encode("cp1251")
    result = read_file("plan.csv", data)
    assert result.tables()[0].rows == [
        ["п/п", "Наименование", "Возможные риски"],
        ["1", "Рассылка", "1. Ошибка; сбой\n2. Другое"],
    ]


def test_xhtml_page_with_an_encoding_declaration():
    page = '<?xml version="1.0" encoding="utf-8"?><html><body><p>Цель работ: обновление</p></body></html>'
    assert read_file("plan.xhtml", page.encode()).blocks == [Paragraph("Цель работ: обновление")]


def test_word_text_with_untitled_first_and_last_header_cells():
    cells = ["", "Наименование", "Исполнитель", "Дата начала", ""]
    cells += ["1", "Рассылка", "Дежурный", "20.03.2025", "примечание"]
    cells += ["2", "Баннер\n\nвторая строка", "Дежурный", "20.03.2025", ""]
    text = "Департамент ИТ\n\n" + "\n".join("\t" + cell for cell in cells) + "\n"
    result = read_paste(text)
    assert result.blocks[0] == Paragraph("Департамент ИТ")
    assert result.tables()[0].rows == [cells[0:5], cells[5:10], cells[10:15]]


def test_word_text_cell_with_two_blank_lines_inside_stays_one_cell():
    header = ["п/п", "Наименование", "Исполнитель", "Дата начала"]
    row = ["1", "Рассылка\n\n\nпродолжение после двух пустых строк", "Дежурный", "20.03.2025"]
    text = "\n".join("\t" + cell for cell in header + row) + "\n\n\nПриносим извинения\n"
    result = read_paste(text)
    assert result.tables()[0].rows == [header, row]
    assert result.blocks[-1] == Paragraph("Приносим извинения")


def test_word_text_signoff_first_and_a_header_with_an_unknown_column():
    signoff = [["", "Должность", "ФИО", "Статус"], ["1", "инженер", "Турчанинов П.В.", "НА СОГЛАСОВАНИИ"]]
    steps = [
        ["п/п", "Наименование", "Согласовано с", "Исполнитель", "Дата начала"],
        ["1", "Рассылка", "Иванов И.И.", "Дежурный", "20.03.2025"],
    ]

    def rows(table: list[list[str]]) -> str:
        return "\n\n".join("\n".join("\t" + cell for cell in row) for row in table)

    text = f"Лист согласования\n{rows(signoff)}\n\n\nОбновление PostgreSQL\n\n{rows(steps)}\n"
    result = read_paste(text)
    assert _blocks(result) == ["p", "table", "p", "table"]
    assert [table.rows for table in result.tables()] == [signoff, steps]


def test_word_text_signoff_first_with_an_empty_number_header_and_rows_that_fit_either_width():
    # Six rows of four cells are 24 cells: widths 3 ("Должность, ФИО, Статус") and 4 both cut them whole; the
    # empty "№" header cell (a line holding only a TAB) belongs to the header, numbers stay under numbers.
    signoff = [["", "Должность", "ФИО", "Статус"]]
    signoff += [[str(n), f"должность {n}", f"Иванов{n} И.И.", "НА СОГЛАСОВАНИИ"] for n in range(1, 7)]
    text = "Лист согласования\r\n" + "\r\n\r\n".join("\r\n".join("\t" + c for c in row) for row in signoff)
    text += "\r\n\r\n\r\nОбновление PostgreSQL\r\n"
    result = read_paste(text)
    assert _blocks(result) == ["p", "table", "p"]
    assert result.tables()[0].rows == signoff


def test_word_text_header_run_includes_a_column_okno_does_not_import():
    from planio.readers.text import header_runs

    assert header_runs(["Наименование", "Исполнитель", "Дата начала", "Комментарий"]) == [(0, 4)]
    assert header_runs(["Комментарии", "Наименование", "Исполнитель", "Дата начала"]) == [(0, 4)]
