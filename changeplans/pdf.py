"""The archive PDF of a work plan: the seed's document (header, announcement, step table,
sign-off sheet) plus its history."""

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from common.names import name_after_for
from common.text import cut_at_word

from .choices import Availability, EventKind, StepStatus
from .durations import format_minutes
from .lint import lint_plan
from .models import Plan, PlanEvent, PlanVersion, Step
from .roles import display_name
from .selectors import load_plan, plan_history

STATIC_DIR = Path(settings.BASE_DIR) / "static"
TEMPLATE = "changeplans/pdf/plan.html"
# The plans are written in Russian whatever the reader's language: their cells hyphenate by Russian rules.
CONTENT_LANGUAGE = "ru"
# Other apps add appendices (runbooks: the automation runs with their commands and logs). Each is called
# with the plan and returns HTML (already escaped) or "".
appendices = []

# Worst first: the announcement shows the worst availability of the affected services.
_AVAILABILITY_ORDER = [Availability.UNAVAILABLE, Availability.DEGRADED, Availability.AVAILABLE]


_person_name = display_name


def _css_string(text):
    """Quote text as a CSS string for the @page margin boxes (also safe inside <style>)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ").replace(">", "\\3E ")
    escaped = re.sub(r"[\r\n\f]+", " ", escaped)
    # Already escaped for CSS; HTML escaping would be wrong inside <style>, which is raw text.
    return mark_safe(f'"{escaped}"')


def _page_counter_content():
    # "Стр. N из M": the translator's order of words is kept; the placeholders become CSS counters.
    text = _css_string(_("Page %(page)s of %(pages)s"))
    return mark_safe(text.replace("%(page)s", '" counter(page) "').replace("%(pages)s", '" counter(pages) "'))


def _lines(items):
    return "\n".join(item for item in items if item)


def _numbered(number, text, space="\u00a0"):
    # In the PDF a no-break space keeps "1." with its text.
    return f"{number}.{space}{text}"


# Identifiers a line must never split: Jira keys, dates, times, addresses, file names. A token is one when a
# "-", ".", ":", "/", "_" or "–" joins two of its letters or digits and it has a digit or is all Latin ("из-за"
# may break at its hyphen); a token longer than _IDENTIFIER_CHARS may still break (a URL in a narrow column).
_IDENTIFIER_CHARS = 30
_JOINED = re.compile(r"\w[-.:/_–]\w")


def _is_identifier(token):
    if len(token) > _IDENTIFIER_CHARS or not _JOINED.search(token):
        return False
    return token.isascii() or any(ch.isdigit() for ch in token)


def _protect(text):
    """Escaped text with its identifiers in no-wrap spans (the cells hyphenate words but never split these)."""
    if not text:
        return text
    parts = []
    for token in re.split(r"(\s+)", str(text)):
        if token and not token.isspace() and _is_identifier(token):
            parts.append(f'<span class="nobr">{escape(token)}</span>')
        else:
            parts.append(escape(token))
    return SafeString("".join(parts))


def _rollback_text(action, space="\u00a0"):
    label = action.label()
    if not label:
        return action.text
    # The seed writes "1. Убить под…" for one risk and "5/6/7/8 Устранить…" for several.
    return f"{label}{space}{action.text}" if "/" in label else _numbered(label, action.text, space)


# A row whose tallest cell is estimated above this many lines may break across pages (at least 3 lines of a
# cell on each side, pdf.css); shorter rows stay whole. Each whole row that does not fit is laid out twice by
# WeasyPrint, so this also bounds the layout's cost (docs/pdf.md); 25 made 45 pages of 37 for 100 steps.
BREAKABLE_ROW_LINES = 12
_NARROW_COLUMN_CHARS = 18


def _estimated_lines(text):
    return sum(max(1, -(-len(line) // _NARROW_COLUMN_CHARS)) for line in text.split("\n")) if text else 0


def step_cells(step, none_text, tz=None, *, space=" "):
    """A step's 15 cells as plain text, as the seed writes them (the Word export takes them as they are)."""
    risks = list(step.risks.all())
    rollbacks = list(step.rollback_actions.all())
    mitigation = _lines(
        [step.risk_mitigation] + [_numbered(risk.number, risk.mitigation, space) for risk in risks if risk.mitigation]
    )
    if rollbacks:
        rollback = _lines(_rollback_text(action, space) for action in rollbacks)
    elif step.no_rollback_needed:
        rollback = none_text
    else:
        rollback = ""
    # Every cell as a ready string: the template only prints them (the benchmark renders 100s of rows).
    row = {
        "position": step.position,
        "name": step.name,
        "description": step.description,
        "expected_result": step.expected_result,
        "risks": _lines(_numbered(risk.number, risk.description, space) for risk in risks) or none_text,
        "mitigation": mitigation,
        "affected_systems": step.affected_systems,
        "planned_downtime": step.planned_downtime,
        "executor": step.executor.name if step.executor else "",
        "date": step.planned_date.strftime("%d.%m.%Y") if step.planned_date else "",
        "time": step.planned_time.strftime("%H:%M") if step.planned_time else "",
        "duration": step.duration_text,
        "rollback": rollback,
        "jira_key": step.jira_key,
        "status": step.status,
        "status_label": step.get_status_display(),
        "actual": _actual_span(step, tz) if step.actual_start and tz is not None else "",
    }
    return row


def _step_row(step, none_text, tz=None):
    """step_cells for the PDF: numbers kept with their text, identifiers unbroken, the row's breakability."""
    row = step_cells(step, none_text, tz, space="\u00a0")
    tallest = max(
        _estimated_lines(row[key])
        for key in ("description", "expected_result", "risks", "mitigation", "affected_systems", "rollback")
    )
    row["breakable"] = tallest > BREAKABLE_ROW_LINES
    for key in _FREE_TEXT_CELLS:
        row[key] = _protect(row[key])
    return row


_FREE_TEXT_CELLS = (
    "name",
    "description",
    "expected_result",
    "risks",
    "mitigation",
    "affected_systems",
    "planned_downtime",
    "duration",
    "rollback",
)


def _actual_span(step, tz):
    """ "20:02–20:40" (the date only when it differs from the start's)."""
    start = step.actual_start.astimezone(tz)
    if step.actual_end is None:
        return start.strftime("%H:%M") + "–"
    end = step.actual_end.astimezone(tz)
    return f"{start:%H:%M}–{end:%H:%M}" if end.date() == start.date() else f"{start:%H:%M}–{end:%H:%M %d.%m}"


def _worst_availability(plan_services):
    codes = {ps.availability for ps in plan_services}
    for code in _AVAILABILITY_ORDER:
        if code in codes:
            return Availability(code).label
    return ""


def _service_text(plan_service):
    # The header lists "Недоступные сервисы": say the availability only when it is something else.
    service = plan_service.service
    if plan_service.availability == Availability.UNAVAILABLE:
        return f"{service.name} ({service.display_name})"
    return f"{service.name} ({service.display_name} — {plan_service.get_availability_display()})"


def _total_duration(report):
    if report.total_best_minutes is None:
        return ""
    best, worst = report.total_best_minutes, report.total_worst_minutes
    text = format_minutes(best)
    if worst is not None and worst != best:
        text = f"{text} – {format_minutes(worst)}"
    return text


def _lint_rows(report, steps):
    positions = {step.id: step.position for step in steps}
    levels = {"error": _("Error"), "warning": _("Warning")}
    return [
        {
            "level": warning.level,
            "level_label": levels.get(warning.level, warning.level),
            "step_position": positions.get(warning.step_id),
            "message": warning.message,
        }
        for warning in report.warnings
    ]


def _labels(model):
    return {field.name: field.verbose_name for field in model._meta.get_fields() if hasattr(field, "verbose_name")}


def _signoff_rows(plan):
    """The sign-off sheet with who signed which version: one query whatever the number of rows."""
    rows = plan.approval_rows.select_related("decided_by", "on_behalf_of", "version").order_by("position", "id")
    return [
        {
            "row": row,
            "signed_by": _person_name(row.decided_by),
            "on_behalf_of": name_after_for(_person_name(row.on_behalf_of)) if row.on_behalf_of else "",
            "version_number": row.version.number if row.version else "",
        }
        for row in rows
    ]


def _versions(plan):
    # The snapshots are not needed here and grow with the plan.
    versions = plan.versions.select_related("created_by").defer("snapshot").order_by("number")
    return [
        {"number": v.number, "created_at": v.created_at, "created_by_name": _person_name(v.created_by)}
        for v in versions
    ]


def _clock(moment, tz):
    return moment.astimezone(tz).strftime("%H:%M %d.%m.%Y") if moment else ""


def _span_minutes(first, last):
    return math.ceil((last - first).total_seconds() / 60 - 1e-9)


def _start_deviation(step, timing, tz):
    """ "on time", "late by 25 min" or "early by 5 min" against the planned start (a range for derived starts)."""
    if step.actual_start is None or timing is None or timing.start_best is None:
        return ""
    late = _span_minutes(timing.start_worst, step.actual_start)
    early = _span_minutes(step.actual_start, timing.start_best)
    if late >= 1:
        return _("started %(late)s late") % {"late": format_minutes(late)}
    if early >= 1:
        return _("started %(early)s early") % {"early": format_minutes(early)}
    return _("started on time")


def _duration_deviation(step):
    """The actual duration against the planned min–max: "40 min (plan 30 min–1 h): within the plan"."""
    if step.actual_start is None or step.actual_end is None:
        return "", ""
    actual = max(0, _span_minutes(step.actual_start, step.actual_end))
    text = format_minutes(actual) if actual else _("under a minute")
    low, high = step.duration_min, step.duration_max
    if low is None or high is None:
        return text, ""
    if actual > high:
        return text, _("%(over)s longer than the maximum") % {"over": format_minutes(actual - high)}
    if actual < low:
        return text, _("%(under)s shorter than the minimum") % {"under": format_minutes(low - actual)}
    return text, _("within the plan")


def _execution(plan, steps, events, report):
    """What happened during the window: None for a plan that has not started."""
    if plan.started_at is None and not any(step.actual_start for step in steps):
        return None
    tz = plan.tz
    actions = [
        action for step in steps for action in step.rollback_actions.all() if action.status != StepStatus.PENDING
    ]
    # One query for the people who started steps and ticked rollback actions (done_by of steps comes with them).
    user_ids = {step.started_by_id for step in steps if step.started_by_id} | {
        a.done_by_id for a in actions if a.done_by_id
    }
    users = get_user_model().objects.in_bulk(sorted(user_ids)) if user_ids else {}
    rows = []
    for step in steps:
        duration, duration_note = _duration_deviation(step)
        planned = ""
        timing = report.timings.get(step.id)
        if timing is not None and timing.start_best is not None:
            planned = timing.start_best.strftime("%H:%M")
            if timing.start_worst != timing.start_best:
                planned = f"{planned}–{timing.start_worst.strftime('%H:%M')}"
        rows.append(
            {
                "position": step.position,
                "name": step.name,
                "planned_start": planned,
                "planned_duration": step.duration_text,
                "actual_start": _clock(step.actual_start, tz),
                "actual_end": _clock(step.actual_end, tz),
                "actual_duration": duration,
                "duration_note": duration_note,
                "over": duration_note
                and step.duration_max is not None
                and step.actual_end is not None
                and _span_minutes(step.actual_start, step.actual_end) > step.duration_max,
                "start_note": _start_deviation(step, timing, tz),
                "started_by": _person_name(users.get(step.started_by_id)),
                "done_by": _person_name(step.done_by),
                "status": step.status,
                "status_label": step.get_status_display(),
                "comment": step.comment,
            }
        )
    positions = {step.pk: step.position for step in steps}
    rollback_rows = [
        {
            "position": positions.get(action.step_id, ""),
            "label": action.label(),
            "text": action.text,
            "status": action.status,
            "status_label": action.get_status_display(),
            "actual_start": _clock(action.actual_start, tz),
            "actual_end": _clock(action.actual_end, tz),
            "done_by": _person_name(users.get(action.done_by_id)),
            "comment": action.comment,
        }
        for action in actions
    ]
    return {
        "started_at": plan.started_at,
        "finished_at": plan.finished_at,
        "rollback_started_at": plan.rollback_started_at,
        "outcome": plan.get_status_display(),
        "status": plan.status,
        "rows": rows,
        "rollback_rows": rollback_rows,
        "alerts": [event for event in events if event.kind == EventKind.ALERT],
        "end_best": report.end_best,
        "end_worst": report.end_worst,
    }


# The history in the PDF: edits summed up per object and field; status changes of the plan and other events
# listed; the steps' and rollback actions' status changes of the window are the execution section's.
_SUMMARY_VALUE_CHARS = 60
_OBJECT_LABEL_CHARS = 80
_EXECUTION_OBJECTS = ("step", "rollbackaction", "risk")


def _event_label(event, steps_by_id):
    """What an event is about: a step by its current number and name, texts cut at a word with «…»."""
    if event.object_type == "plan":
        return _("Plan")
    step = steps_by_id.get(event.object_id) if event.object_type == "step" else None
    if step is not None:
        return str(step)
    label = event.object_label or event.object_type
    # A rollback action's label is its text cut at 80 characters (RollbackAction.__str__): cut it at a word.
    if event.object_type == "rollbackaction" and len(label) >= _OBJECT_LABEL_CHARS:
        return cut_at_word(label, _OBJECT_LABEL_CHARS - 1)
    return cut_at_word(label, _OBJECT_LABEL_CHARS)


def _summary_value(field, value):
    from .templatetags.okno import _history_value

    if isinstance(value, str):
        value = cut_at_word(value, _SUMMARY_VALUE_CHARS)
    return _history_value(field, value)


def _history_summary(events, steps):
    """{"edits": one row per object and field (first old → last new, who, when), "events": the other entries,
    "execution_count": the step and rollback status changes and alerts left to the execution section}."""
    from .templatetags.okno import _HISTORY_LABELS, _history_field

    steps_by_id = {step.pk: step for step in steps}
    positions = {step.pk: step.position for step in steps}
    groups = {}
    others = []
    execution_count = 0
    for event in events:
        event.display_label = _event_label(event, steps_by_id)
        if event.kind == EventKind.EDITED and isinstance(event.changes, dict):
            for key, value in event.changes.items():
                field = _history_field(event.object_type, key)
                label = field.verbose_name if field is not None else _HISTORY_LABELS.get(key)
                if label is None or not (isinstance(value, list) and len(value) == 2):
                    continue
                group = groups.setdefault(
                    (event.object_type, event.object_id, key),
                    {"field": field, "label": capfirst(label), "old": value[0], "actors": [], "first_at": event.at},
                )
                group.update(new=value[1], last_at=event.at, object=event.display_label)
                group["count"] = group.get("count", 0) + 1
                name = _person_name(event.actor) if event.actor else "—"
                if name not in group["actors"]:
                    group["actors"].append(name)
        elif event.kind == EventKind.ALERT or (
            event.kind == EventKind.TRANSITION and event.object_type in _EXECUTION_OBJECTS
        ):
            execution_count += 1
        else:
            others.append(event)

    def order(item):
        (object_type, object_id, _key), group = item
        rank = 0 if object_type == "plan" else 1 if object_type == "step" else 2
        position = positions.get(object_id, 10**6) if object_type == "step" else 10**6
        return rank, position, group["first_at"]

    edits = [
        {
            "object": group["object"],
            "field": group["label"],
            "old": _summary_value(group["field"], group["old"]),
            "new": _summary_value(group["field"], group["new"]),
            "who": ", ".join(group["actors"]),
            "first_at": group["first_at"],
            "last_at": group["last_at"],
            "count": group["count"],
        }
        for _key, group in sorted(groups.items(), key=order)
    ]
    return {"edits": edits, "events": others, "execution_count": execution_count}


def plan_context(plan, steps, events, report, *, viewer=None, full_history=False):
    none_text = _("none")
    plan_services = list(plan.plan_services.all())
    approval_model = plan.approval_rows.model
    responsible = plan.responsible
    return {
        "plan": plan,
        "rows": [_step_row(step, none_text, plan.tz) for step in steps],
        "service_texts": [_service_text(ps) for ps in plan_services],
        "service_names": ", ".join(ps.service.display_name for ps in plan_services),
        "worst_availability": _worst_availability(plan_services),
        "curator_name": _person_name(plan.curator),
        "author_name": _person_name(plan.author),
        "responsible_text": " ".join(part for part in (responsible.name, plan.responsible_contact) if part)
        if responsible
        else "",
        "organization": settings.OKNO_ORGANIZATION,
        "signature": settings.OKNO_SIGNATURE,
        "lint_rows": _lint_rows(report, steps),
        "total_duration": _total_duration(report),
        "window_length": format_minutes(report.window_minutes),
        "approval_rows": _signoff_rows(plan),
        "versions": _versions(plan),
        "events": events,
        "history": _history_summary(events, steps),
        "full_history": full_history,
        "content_language": CONTENT_LANGUAGE,
        "execution": _execution(plan, steps, events, report),
        "plan_labels": _labels(Plan),
        "step_labels": _labels(Step),
        "approval_labels": _labels(approval_model),
        "version_labels": _labels(PlanVersion),
        "event_labels": _labels(PlanEvent),
        "none_text": none_text,
        "generated_at": timezone.now(),
        "css_page_counter": _page_counter_content(),
        "css_generated_label": _css_string(_("Generated:")),
        "col_no": pgettext("table column", "No."),
        # `viewer`: who downloads it (None: the archive itself); an appendix may leave out what they may not see.
        "appendices": [html for html in (append(plan, viewer=viewer) for append in appendices) if html],
    }


def render_plan_html(plan_id, *, language="ru", viewer=None, full_history=False):
    """The whole HTML document of the plan's archive PDF, in the given language and the plan's time zone;
    `full_history` adds the whole log as an appendix (the PDF otherwise sums the edits up)."""
    plan = load_plan(plan_id)
    steps = list(plan.steps.all())
    events = list(plan_history(plan_id))
    with translation.override(language), timezone.override(plan.tz):
        report = lint_plan(plan, steps=steps)
        context = plan_context(plan, steps, events, report, viewer=viewer, full_history=full_history)
        return render_to_string(TEMPLATE, context)


def _url_fetcher():
    from weasyprint.urls import URLFetcher

    class StaticOnlyFetcher(URLFetcher):
        """Fetches only the project's own static files (fonts, CSS): plan text never reaches the network or the disk."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            path = Path(url2pathname(parts.path)).resolve() if parts.scheme == "file" else None
            if path is None or not path.is_relative_to(STATIC_DIR.resolve()):
                raise ValueError(f"Only static files may be loaded into the PDF: {url}")
            return super().fetch(url, headers)

    return StaticOnlyFetcher(fail_on_errors=True)


def html_to_pdf(html):
    """The PDF bytes of a document from render_plan_html; relative URLs resolve against static/."""
    return write_document(html).data


@dataclass(frozen=True)
class Written:
    data: bytes
    pages: int
    layout_seconds: float
    write_seconds: float


def write_document(html, on_laid_out=None):
    """html_to_pdf with its figures: the pages and the seconds of the layout and of writing the file.
    `on_laid_out()` is called between the two (the stored PDFs report their progress)."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    started = time.monotonic()
    font_config = FontConfiguration()
    document = HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=_url_fetcher())
    laid_out = document.render(font_config=font_config)
    layout_seconds = time.monotonic() - started
    if on_laid_out is not None:
        on_laid_out()
    started = time.monotonic()
    data = laid_out.write_pdf()
    return Written(data, len(laid_out.pages), layout_seconds, time.monotonic() - started)


def render_plan_pdf(plan_id, *, language="ru", viewer=None, full_history=False):
    return html_to_pdf(render_plan_html(plan_id, language=language, viewer=viewer, full_history=full_history))


def plan_pdf_filename(plan):
    """ASCII file name: plan-<id>-<window start date in the plan's zone>.pdf."""
    start = timezone.localtime(plan.window_start, plan.tz)
    return f"plan-{plan.pk}-{start:%Y-%m-%d}.pdf"
