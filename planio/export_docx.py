"""A plan as a Word document in the seed's layout, for the people who still need a Word copy.

The layout is the one planio's import reads (docs/import.md): the title, the "Label: value" header block,
the announcement (its two-column table), the 15-column step table on A4 landscape with its header row
repeated on every page, and the sign-off matrix with the current statuses. Cells are written as the archive
PDF writes them (changeplans.pdf.step_cells). What the layout cannot show (step kinds, the plan's kind and time
zone, the banner text, the sender, each service's availability, sign-off kinds and stages) and what its text
leaves ambiguous (where the responsible's contact begins, how mitigation and rollback cells divide into
actions) goes into the custom document property "okno" as JSON, so that an export imports back to the same plan.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any
from xml.sax.saxutils import escape

import docx
from django.conf import settings
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.shared import Pt, Twips

from approvals.models import ApprovalRow
from changeplans.models import Plan, PlanService, Step
from changeplans.pdf import _worst_availability, plan_pdf_filename, step_cells
from changeplans.roles import display_name
from changeplans.selectors import load_plan
from common.names import name_after_for

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
METADATA_PROPERTY = "okno"
METADATA_VERSION = 1

# In twips, as Word stores them (A4 landscape; Word's "narrow" margins of 1.27 cm).
PAGE_WIDTH = Twips(16838)
PAGE_HEIGHT = Twips(11906)
MARGIN = Twips(720)
TEXT_WIDTH = Twips(16838 - 2 * 720)
# Relative widths of the 15 step columns (the seed's proportions); they are scaled to the text width.
STEP_COLUMN_WEIGHTS = (7, 22, 26, 22, 24, 23, 18, 13, 17, 20, 14, 13, 27, 13, 16)
SIGNOFF_COLUMN_WEIGHTS = (8, 60, 40, 30)
FONT = "Times New Roman"
TEXT_POINTS = 10
TABLE_POINTS = 8
CELL_STYLE = "Okno Cell"

# Characters XML 1.0 cannot carry (python-docx refuses them): Word's vertical tab is a line break.
_NOT_XML = re.compile("[\x00-\x08\x0c\x0e-\x1f\ufffe\uffff]")
_CUSTOM_PROPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_CUSTOM_PROPS_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"


def _clean(text: Any) -> str:
    text = str(text if text is not None else "").replace("\r\n", "\n").replace("\r", "\n").replace("\x0b", "\n")
    return _NOT_XML.sub("", text)


def step_headers() -> list[str]:
    """The step table's header texts in the current language (Russian: the seed's, with its line breaks)."""
    return [
        pgettext("word export column", "No."),
        pgettext("word export column", "Activity"),
        pgettext("word export column", "Description"),
        pgettext("word export column", "Expected result"),
        pgettext("word export column", "Possible risks"),
        pgettext("word export column", "Risk mitigation"),
        pgettext("word export column", "Affected systems"),
        pgettext("word export column", "Planned downtime"),
        pgettext("word export column", "Executor"),
        pgettext("word export column", "Start date"),
        pgettext("word export column", "Start time"),
        pgettext("word export column", "Duration"),
        pgettext("word export column", "What to do if something goes wrong"),
        pgettext("word export column", "Jira issue"),
        pgettext("word export column", "Status"),
    ]


def signoff_headers() -> list[str]:
    return [
        pgettext("word export sign-off", "No."),
        pgettext("word export sign-off", "Position"),
        pgettext("word export sign-off", "Full name"),
        pgettext("word export sign-off", "Status"),
    ]


def _widths(weights: tuple[int, ...]) -> list[Twips]:
    """Column widths in whole twips summing exactly to the text width (the last column takes the rounding)."""
    total, text_width = sum(weights), TEXT_WIDTH.twips
    widths = [text_width * weight // total for weight in weights[:-1]]
    return [Twips(width) for width in [*widths, text_width - sum(widths)]]


def _clock(moment: Any, tz: Any) -> Any:
    return timezone.localtime(moment, tz)


def short_name(user: Any) -> str:
    """ "Фамилия И.О." as the seed names people (and as the import matches them), whatever the first name holds:
    "Анна Петровна" and "А.П." both give "А.П."."""
    if user is None:
        return ""
    parts = [part for part in re.split(r"[\s.]+", user.first_name) if part]
    initials = "".join(f"{part[0].upper()}." for part in parts[:2])
    return f"{user.last_name} {initials}".strip() if user.last_name else display_name(user)


def _signoff_status(row: ApprovalRow) -> str:
    """The status word; who signed when it was not the row's own user (a deputy: «Иванов П.С. за Турчанинова П.В.»)."""
    text = str(row.get_status_display())
    if row.decided_by_id and row.decided_by_id != row.user_id:
        signer = display_name(row.decided_by)
        if row.on_behalf_of_id:
            signer = f"{signer} " + _("for %(name)s") % {"name": name_after_for(display_name(row.on_behalf_of))}
        text = f"{text}\n{signer}"
    return text


def _lines(text: str) -> int:
    return len(text.split("\n")) if text else 0


def _step_metadata(step: Step) -> dict[str, Any]:
    """The step's kind, and how its mitigation and rollback cells divide into lines where the text alone is
    ambiguous (two actions tied to no risk, an untied action after tied ones, a free mitigation text whose lines
    start with a risk's number): "mitigation_lines" of the step's own text before the per-risk lines, and per
    rollback action its risk numbers and its number of lines (planio.recognize uses them while the cell's text
    still has those lines)."""
    return {
        "kind": step.kind,
        "mitigation_lines": _lines(_clean(step.risk_mitigation)),
        "rollback": [
            {"risks": sorted(risk.number for risk in action.risks.all()), "lines": _lines(_clean(action.text))}
            for action in step.rollback_actions.all()
        ],
    }


def metadata(plan: Plan, steps: list[Step], plan_services: list[PlanService], rows: list[ApprovalRow]) -> dict:
    """What the layout cannot show, for the import (planio.recognize reads it only where the text says nothing)."""
    return {
        "okno": METADATA_VERSION,
        "plan": {
            "kind": plan.kind,
            "time_zone": plan.time_zone,
            "banner_text": plan.banner_text,
            "announcement_from": plan.announcement_from,
            "announcement_intro": plan.announcement_intro,
            # Where the contact begins in "Ответственный за работы: <name> <contact>".
            "responsible_contact": plan.responsible_contact if plan.responsible_id else "",
        },
        "services": [{"name": ps.service.name, "availability": ps.availability} for ps in plan_services],
        "steps": [_step_metadata(step) for step in steps],
        "signoff": [{"kind": row.kind, "stage": row.stage} for row in rows],
    }


def _custom_properties_xml(properties: dict[str, str]) -> bytes:
    items = "".join(
        f'<property fmtid="{_CUSTOM_PROPS_FMTID}" pid="{pid}" name="{escape(name, {chr(34): "&quot;"})}">'
        f"<vt:lpwstr>{escape(value)}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(properties.items(), start=2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Properties xmlns="{_CUSTOM_PROPS_NS}" xmlns:vt="{_VT_NS}">{items}</Properties>'
    ).encode()


def _add_custom_properties(document: Any, properties: dict[str, str]) -> None:
    """docProps/custom.xml (python-docx has no API for custom properties): a part related from the package."""
    package = document.part.package
    part = Part(PackURI("/docProps/custom.xml"), CT.OFC_CUSTOM_PROPERTIES, _custom_properties_xml(properties), package)
    package.relate_to(part, RT.CUSTOM_PROPERTIES)


class _Writer:
    """Builds the python-docx document; every text passes through _clean."""

    def __init__(self) -> None:
        self.document = docx.Document()
        section = self.document.sections[0]
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, MARGIN)
        normal = self.document.styles["Normal"]
        normal.font.size = Pt(TEXT_POINTS)
        normal.font.name = FONT  # as Russian office documents are set; Liberation Serif has its metrics
        normal.paragraph_format.space_after = Pt(2)
        cell_style = self.document.styles.add_style(CELL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
        cell_style.base_style = normal
        cell_style.font.size = Pt(TABLE_POINTS)
        cell_style.paragraph_format.space_before = Pt(0)
        cell_style.paragraph_format.space_after = Pt(0)
        cell_style.paragraph_format.line_spacing = 1.0
        self.cell_style_id = cell_style.style_id

    def paragraph(self, text: str, *, label: str = "", bold: bool = False) -> None:
        """A paragraph; lines of a multi-line value become line breaks inside it (one block for the reader)."""
        paragraph = self.document.add_paragraph()
        if label:
            paragraph.add_run(_clean(label) + ":").bold = True
        if text:
            paragraph.add_run((" " if label else "") + _clean(text)).bold = bold

    def table(self, weights: tuple[int, ...], header: list[str] | None, rows: list[list[str]]) -> Any:
        columns = len(weights)
        table = self.document.add_table(rows=0, cols=columns)
        table.style = "Table Grid"
        table.autofit = False  # fixed layout: Word keeps the widths
        widths = _widths(weights)
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width
        if header is not None:
            row = table.add_row()
            trPr = row._tr.get_or_add_trPr()
            trPr.append(OxmlElement("w:tblHeader"))  # repeated at the top of every page
            for cell, text in zip(row.cells, header, strict=True):
                self._fill(cell, text, bold=True)
        for values in rows:
            row = table.add_row()
            for cell, text in zip(row.cells, values, strict=True):
                self._fill(cell, text)
        return table

    def _fill(self, cell: Any, text: str, *, bold: bool = False) -> None:
        """One paragraph per line, as a Word user types a list in a cell (built on the XML: python-docx's style
        lookup per paragraph costs more than the rest of the export)."""
        tc = cell._tc
        for empty in tc.p_lst:
            tc.remove(empty)
        for line in _clean(text).split("\n"):
            p = tc.add_p()
            p.style = self.cell_style_id
            if line:
                run = p.add_r()
                run.text = line
                if bold:
                    run.get_or_add_rPr().get_or_add_b()

    def gap(self) -> None:
        # Two tables with nothing between them would merge into one in Word.
        self.document.add_paragraph()


def _window_text(plan: Plan) -> str:
    tz = plan.tz
    start, end = _clock(plan.window_start, tz), _clock(plan.window_end, tz)
    return _("from %(start)s to %(end)s") % {"start": f"{start:%H:%M %d.%m.%Y}", "end": f"{end:%H:%M %d.%m.%Y}"}


def _header_lines(plan: Plan, plan_services: list[PlanService]) -> list[tuple[str, str]]:
    lines = [
        (_("Date of the work"), _window_text(plan)),
        (_("Total duration of the work"), plan.stated_duration_text),
        (pgettext("word export", "Possible downtime up to"), plan.downtime_text),
        (_("Goal of the work"), plan.goal),
        (_("Unavailable services"), ", ".join(ps.service.name for ps in plan_services)),
        (_("Curator"), short_name(plan.curator)),
    ]
    if plan.jira_url:
        lines.append((pgettext("word export", "Jira"), plan.jira_url))
    lines += [(_("Mailing list"), plan.mailing_list), (_("Subject"), plan.announcement_subject)]
    return lines


def _announcement_rows(plan: Plan, plan_services: list[PlanService]) -> list[list[str]]:
    tz = plan.tz
    responsible = plan.responsible
    responsible_text = (
        " ".join(part for part in (responsible.name, plan.responsible_contact) if part) if responsible else ""
    )
    return [
        [_("Start time"), f"{_clock(plan.window_start, tz):%H:%M/%d.%m.%Y}"],
        [_("Planned end time"), f"{_clock(plan.window_end, tz):%H:%M/%d.%m.%Y}"],
        [_("Impact on services"), ", ".join(ps.service.display_name for ps in plan_services)],
        [
            _("Impact on %(organization)s clients") % {"organization": settings.OKNO_ORGANIZATION},
            _("AFFECTS CLIENTS") if plan.client_impact else _("DOES NOT AFFECT CLIENTS"),
        ],
        [_("Banner"), _("BANNER IS UP") if plan.banner_needed else _("NO BANNER")],
        [_("Work plan"), plan.title],
        [capfirst(str(Plan._meta.get_field("responsible").verbose_name)), responsible_text],
        [_("Availability of services during the work"), _worst_availability(plan_services)],
    ]


def _step_cells(step: Step, none_text: str) -> list[str]:
    row = step_cells(step, none_text)
    keys = (
        "name",
        "description",
        "expected_result",
        "risks",
        "mitigation",
        "affected_systems",
        "planned_downtime",
        "executor",
        "date",
        "time",
        "duration",
        "rollback",
        "jira_key",
        "status_label",
    )
    return [str(row["position"]), *(str(row[key]) for key in keys)]


def _build(plan: Plan) -> bytes:
    steps = list(plan.steps.all())
    plan_services = list(plan.plan_services.all())
    rows = list(
        plan.approval_rows.select_related("user", "group", "decided_by", "on_behalf_of").order_by("position", "id")
    )
    writer = _Writer()
    writer.paragraph(plan.title, bold=True)
    for label, value in _header_lines(plan, plan_services):
        writer.paragraph(value, label=label)
    writer.paragraph(_("Dear colleagues!"))
    writer.paragraph(plan.announcement_intro)
    writer.table((40, 60), None, _announcement_rows(plan, plan_services))
    writer.paragraph(_("We apologise for the inconvenience!"))
    writer.paragraph(_("Kind regards,"))
    writer.paragraph(settings.OKNO_SIGNATURE)
    none_text = _("none")
    writer.table(STEP_COLUMN_WEIGHTS, step_headers(), [_step_cells(step, none_text) for step in steps])
    writer.gap()
    signoff = [[str(row.position), row.job_title, row.person_name, _signoff_status(row)] for row in rows]
    writer.table(SIGNOFF_COLUMN_WEIGHTS, signoff_headers(), signoff)

    document = writer.document
    properties = document.core_properties
    properties.title = _clean(plan.title)[:255]
    properties.author = _clean(display_name(plan.author))[:255]
    properties.last_modified_by = "Okno"
    properties.comments = ""
    now = timezone.now()
    properties.created = properties.modified = now.replace(tzinfo=None)
    payload = json.dumps(metadata(plan, steps, plan_services, rows), ensure_ascii=False)
    _add_custom_properties(document, {METADATA_PROPERTY: _clean(payload)})
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_plan_docx(plan_id: int, *, language: str = "ru") -> bytes:
    """The .docx bytes of the plan in the given language, times in the plan's time zone; a fixed number of
    queries whatever the plan's size."""
    plan = load_plan(plan_id)
    with translation.override(language), timezone.override(plan.tz):
        return _build(plan)


def plan_docx_filename(plan: Plan) -> str:
    """The PDF's ASCII file name with .docx: plan-<id>-<window start date in the plan's zone>.docx."""
    return plan_pdf_filename(plan).removesuffix(".pdf") + ".docx"
