"""The plan page's step rows, rendered in plain Python (docs/architecture.md, «Plan page speed»).

The rows are most of the plan page: 16 cells a step with their edit attributes, the risk and rollback lists and
the row actions. Django's template engine spends about 1.5 ms a row on them (a `{% for %}`, an `{% if %}` or a
filter costs microseconds each, and a row has hundreds); this module builds the same HTML with f-strings and
`html.escape` (what Django's `escape` calls), about ten times faster.
`templates/changeplans/inc/step_row.html` stays the readable reference: tests/changeplans/test_rows.py renders
both on the seed plan and on awkward text and requires the same bytes. Change both together.

A row is a function of the step, its risks and rollback actions, the plan check's marks (the derived start, the
highlighted cells), the viewer's right to edit, the language, the plan's first and last step and what other apps
add to it (the automation badge and button). No revision covers all of that. On PostgreSQL the plan's rows
token does (migration 0016_rows_token: triggers replace it on every write to what a row reads from the database),
so the page keeps its rows under the token and what a row takes from elsewhere (token_cache_key) and loads none
on a second look; elsewhere, or for a plan without a token, the rows are loaded (light) and cached under a digest
of exactly those inputs (render_rows, rows_cache_key). Never stale either way.
A long plan is sent in parts: the page has its first PAGE_ROWS rows and a placeholder row that fetches the next
CHUNK_ROWS (views.plan_rows), and so on to the last step.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import operator
import pickle
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape as _html_escape
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import CharField
from django.db.models.expressions import RawSQL
from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from . import extensions
from .lint import LintReport
from .models import Plan, Risk, RollbackAction, Step
from .roles import display_name
from .templatetags.okno import fast_url, status_class


def escape(value: object) -> str:
    """Django's escape (the same entities, so the same bytes as the templates) without its lazy-string wrapper."""
    return _html_escape(str(value))


# A plan longer than this opens with its first PAGE_ROWS rows; the browser then fetches the rest CHUNK_ROWS at a
# time (each part a fixed number of queries), so a 2,000-step plan shows its first screens at once.
PAGE_ROWS = 150
CHUNK_ROWS = 500

# The 16 columns' order in a row (the header is in templates/changeplans/plan_detail.html).
TEXT_CELLS_BEFORE_RISKS = ("kind", "name", "description", "expected_result")
TEXT_CELLS_AFTER_RISKS = ("risk_mitigation", "affected_systems", "planned_downtime", "executor", "planned_date")


CELL_FIELDS = (
    *TEXT_CELLS_BEFORE_RISKS,
    *TEXT_CELLS_AFTER_RISKS,
    "planned_time",
    "duration_text",
    "jira_key",
)
_ID = "\x00"  # in a URL pattern, where the step id goes


def _labels(field: str) -> dict[str, str]:
    """A choice field's labels in the current language, as get_<field>_display() gives them."""
    return {str(value): str(label) for value, label in Step._meta.get_field(field).flatchoices}


@dataclass(frozen=True)
class Texts:
    """The row's fixed words in the current language, translated once per render, already escaped."""

    drag: str
    edit_risks: str
    none: str
    derived_title: str
    move_up: str
    move_down: str
    insert: str
    delete: str
    delete_confirm: str  # with "%(n)s"

    @classmethod
    def current(cls) -> Texts:
        def t(message: str) -> str:
            return escape(gettext(message))

        return cls(
            drag=t("Drag to move the step"),
            edit_risks=t("Edit risks and rollback"),
            none=t("none"),
            derived_title=t("No start time: follows the previous step"),
            move_up=t("Move up"),
            move_down=t("Move down"),
            insert=t("Insert a step below"),
            delete=t("Delete the step"),
            # blocktranslate leaves the message as it is and escapes the value put in it
            delete_confirm=gettext("Delete step %(n)s?"),
        )


@dataclass
class RowContext:
    """What every row of one render shares."""

    plan: Plan
    report: LintReport
    can_edit: bool
    first_id: int | None  # the plan's first and last step: their «up» and «down» buttons are disabled
    last_id: int | None
    step_status: dict[int, SafeString]
    step_actions: dict[int, SafeString]
    highlight: int | None = None

    def __post_init__(self) -> None:
        self.texts = Texts.current()
        warn: dict[int, set[str]] = {}
        for warning in self.report.warnings:
            if warning.step_id is not None and warning.field:
                warn.setdefault(warning.step_id, set()).add(warning.field)
        self.warn = warn
        self.add_url = escape(fast_url("changeplans:step_add", self.plan.pk))
        # Each URL once, with a marker where a row puts its step id.
        self.cell_urls = {field: escape(fast_url("changeplans:step_cell", _ID, field)) for field in CELL_FIELDS}
        self.risks_url = escape(fast_url("changeplans:step_risks", _ID))
        self.move_url = escape(fast_url("changeplans:step_move", _ID))
        self.delete_url = escape(fast_url("changeplans:step_delete", _ID))
        # get_kind_display() per row translates every choice's label again: once per render here
        self.kind_labels = _labels("kind")
        self.status_labels = _labels("status")


def row_context(
    context: dict[str, Any],
    plan: Plan,
    report: LintReport,
    steps: Sequence[Step | RowStep],
    rows: Sequence[Step | RowStep],
    *,
    can_edit: bool,
    highlight: int | None = None,
) -> RowContext:
    """`steps`: all the plan's steps in order (or at least its first and last); `rows`: the ones to render.

    `context`: the page's context as a dict (request, user), for what other apps add to each row.
    """
    return RowContext(
        plan=plan,
        report=report,
        can_edit=can_edit,
        first_id=steps[0].pk if steps else None,
        last_id=steps[-1].pk if steps else None,
        step_status=extensions.render_step_parts("step_status", context, plan, rows),
        step_actions=extensions.render_step_parts("step_actions", context, plan, rows) if can_edit else {},
        highlight=highlight,
    )


def _text(value: object) -> str:
    """A cell's text as step_cell shows it: escaped, line breaks as <br>."""
    return escape(value).replace("\r\n", "\n").replace("\n", "<br>")


def _cell(
    ctx: RowContext,
    step: Step | RowStep,
    field: str,
    value: object,
    warn: set[str],
    derived: datetime.datetime | None = None,
) -> str:
    """One editable cell: the same HTML as the template tag `step_cell` (changeplans/templatetags/okno.py)."""
    pk = step.pk
    classes = f"okno-cell okno-f-{field} okno-warn" if field in warn else f"okno-cell okno-f-{field}"
    attrs = (
        f' hx-get="{ctx.cell_urls[field].replace(_ID, str(pk))}" hx-trigger="click" hx-swap="innerHTML"'
        if ctx.can_edit
        else ""
    )
    if value:
        content = _text(value)
    elif derived:
        content = f'<span class="text-secondary" title="{ctx.texts.derived_title}">≈{derived.strftime("%H:%M")}</span>'
    else:
        content = ""
    return f'<td id="cell-{pk}-{field}" class="{classes}" data-field="{field}" tabindex="-1"{attrs}>{content}</td>'


def _linebreaksbr(value: str) -> str:
    """Django's linebreaksbr on an unsafe string."""
    return escape(value.replace("\r\n", "\n").replace("\r", "\n")).replace("\n", "<br>")


def _cell_value(ctx: RowContext, step: Step | RowStep, field: str) -> object:
    if field == "kind":
        return ctx.kind_labels.get(step.kind, step.kind)
    if field == "executor":
        return step.executor.name if step.executor_id is not None and step.executor is not None else ""
    if field == "planned_date":
        date: datetime.date | None = step.planned_date
        return date.strftime("%d.%m.%Y") if date else ""
    return getattr(step, field)


def render_row(ctx: RowContext, step: Step | RowStep, *, row_only: bool = False, oob_row: bool = False) -> str:
    """One step's `<tr>` (and, unless `row_only`, the empty risks panel row under it)."""
    pk = step.pk
    texts = ctx.texts
    warn = ctx.warn.get(pk, set())
    can_edit = ctx.can_edit
    out = [
        f'<tr id="step-{pk}"',
        ' hx-swap-oob="true"' if oob_row else "",
        f' data-revision="{step.revision}" class="okno-step',
        " okno-highlight" if ctx.highlight == pk else "",
        " okno-has-warning" if warn else "",
        f'" data-step="{pk}">\n  <td class="okno-col-no text-center"',
        f' draggable="true" title="{texts.drag}"' if can_edit else "",
        ">",
        '<span class="okno-drag" aria-hidden="true">⋮⋮</span>' if can_edit else "",
        f'<strong class="okno-step-no">{step.position}</strong></td>\n',
    ]
    for field in TEXT_CELLS_BEFORE_RISKS:
        out.append(f"  {_cell(ctx, step, field, _cell_value(ctx, step, field), warn)}\n")
    panel_attrs = (
        f'hx-get="{ctx.risks_url.replace(_ID, str(pk))}" hx-target="#risks-{pk}" hx-swap="innerHTML"'
        f' title="{texts.edit_risks}"'
        if can_edit
        else ""
    )
    risks = step.risks.all()
    out.append(
        f'  <td id="cell-{pk}-risks" data-field="risks" tabindex="-1" class="okno-cell okno-risks okno-f-risks'
        f'{" okno-warn" if "risks" in warn else ""}" {panel_attrs}>\n    '
    )
    if risks:
        out.extend(f"<div>{escape(risk.number)}. {escape(risk.description)}</div>" for risk in risks)
    else:
        out.append(f'<span class="text-secondary">{texts.none}</span>')
    out.append("</td>\n")
    for field in TEXT_CELLS_AFTER_RISKS:
        out.append(f"  {_cell(ctx, step, field, _cell_value(ctx, step, field), warn)}\n")
    if step.planned_time:
        out.append(f"  {_cell(ctx, step, 'planned_time', step.planned_time.strftime('%H:%M'), warn)}\n")
    else:
        timing = ctx.report.timings.get(pk)
        derived = timing.start_worst if timing is not None else None
        out.append(f"  {_cell(ctx, step, 'planned_time', '', warn, derived=derived)}\n")
    out.append(f"  {_cell(ctx, step, 'duration_text', step.duration_text, warn)}\n")
    out.append(
        f'  <td id="cell-{pk}-rollback" data-field="rollback" tabindex="-1" class="okno-cell okno-rollback'
        f' okno-f-rollback{" okno-warn" if "rollback_actions" in warn else ""}" {panel_attrs}>\n    '
    )
    actions = step.rollback_actions.all()
    if actions:
        for action in actions:
            label = action.label()
            prefix = f"{escape(label)}. " if label else ""
            out.append(f"<div>{prefix}{_linebreaksbr(action.text)}</div>")
    elif step.no_rollback_needed:
        out.append(f'<span class="text-secondary">{texts.none}</span>')
    out.append("</td>\n")
    out.append(f"  {_cell(ctx, step, 'jira_key', step.jira_key, warn)}\n")
    status = step.status
    out.append(
        f'  <td class="text-center okno-f-status"><span class="badge okno-status {escape(status_class(status))}"'
        f' data-status="{escape(status)}">{escape(ctx.status_labels.get(status, status))}</span>'
    )
    if step.done_by_id is not None and step.done_by is not None:
        out.append(f'<div class="small text-secondary">{escape(display_name(step.done_by))}</div>')
    out.append(f"\n    {ctx.step_status.get(pk, '')}</td>\n  ")
    if can_edit:
        move_url = ctx.move_url.replace(_ID, str(pk))
        out += [
            '<td class="okno-col-actions text-nowrap">\n    <div class="okno-row-actions">\n',
            f'      <button class="btn btn-sm btn-outline-secondary okno-move-up" title="{texts.move_up}"'
            f' hx-post="{move_url}" hx-vals=\'{{"direction": "up"}}\' hx-target="#steps-body" hx-swap="outerHTML" ',
            "disabled" if pk == ctx.first_id else "",
            ">↑</button>\n",
            f'      <button class="btn btn-sm btn-outline-secondary okno-move-down" title="{texts.move_down}"'
            f' hx-post="{move_url}" hx-vals=\'{{"direction": "down"}}\' hx-target="#steps-body" hx-swap="outerHTML" ',
            "disabled" if pk == ctx.last_id else "",
            ">↓</button>\n",
            f'      <button class="btn btn-sm btn-outline-primary okno-insert" title="{texts.insert}"'
            f' hx-post="{ctx.add_url}" hx-vals=\'{{"after": "{step.position}"}}\' hx-target="#steps-body"'
            ' hx-swap="outerHTML">+</button>\n',
            f"      {ctx.step_actions.get(pk, '')}\n",
            f'      <button class="btn btn-sm btn-outline-danger okno-delete" title="{texts.delete}"'
            f' hx-post="{ctx.delete_url.replace(_ID, str(pk))}" hx-target="#steps-body"'
            f' hx-swap="outerHTML" hx-confirm="{texts.delete_confirm % {"n": step.position}}">×</button>\n',
            "    </div></td>",
        ]
    out.append("\n        </tr>\n        ")
    if not row_only:
        out.append(f'<tr class="okno-risks-row"><td colspan="17" id="risks-{pk}" class="p-0 border-0"></td></tr>')
    out.append("\n")
    return "".join(out)


class _All:
    """A prefetched relation's stand-in: `.all()` gives the loaded list."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def all(self) -> list[Any]:
        return self.items


@dataclass(frozen=True, slots=True)
class RowParty:
    name: str


@dataclass(frozen=True, slots=True)
class RowPerson:
    last_name: str
    first_name: str
    username: str

    def get_username(self) -> str:
        return self.username


@dataclass(frozen=True, slots=True)
class RowRisk:
    number: int
    description: str


@dataclass(frozen=True, slots=True)
class RowAction:
    text: str
    numbers: tuple[int, ...]  # of the risks it answers

    def label(self) -> str:
        """As RollbackAction.label(): "5/6/7/8"."""
        return "/".join(str(number) for number in sorted(self.numbers))


# What a row shows of a step, read as tuples (model instances cost ten times as much to build).
ROW_COLUMNS = (
    "id",
    "revision",
    "position",
    "kind",
    "name",
    "description",
    "expected_result",
    "risk_mitigation",
    "affected_systems",
    "planned_downtime",
    "planned_date",
    "planned_time",
    "duration_text",
    "no_rollback_needed",
    "jira_key",
    "status",
    "executor_id",
    "executor__name",
    "done_by_id",
    "done_by__last_name",
    "done_by__first_name",
    "done_by__username",
)


class RowStep:
    """A step as its row reads it: the attributes of `Step` that render_row and the step extensions use."""

    __slots__ = (*ROW_COLUMNS[:17], "executor", "done_by_id", "done_by", "risks", "rollback_actions")
    id: int
    revision: int
    position: int
    kind: str
    name: str
    description: str
    expected_result: str
    risk_mitigation: str
    affected_systems: str
    planned_downtime: str
    planned_date: datetime.date | None
    planned_time: datetime.time | None
    duration_text: str
    no_rollback_needed: bool
    jira_key: str
    status: str
    executor_id: int | None
    executor: RowParty | None
    done_by_id: int | None
    done_by: RowPerson | None
    risks: _All
    rollback_actions: _All

    def __init__(self, values: Sequence[Any], risks: list[RowRisk], actions: list[RowAction]) -> None:
        for name, value in zip(ROW_COLUMNS[:17], values, strict=False):
            setattr(self, name, value)
        self.executor = RowParty(values[17]) if values[16] is not None else None
        self.done_by_id = values[18]
        self.done_by = RowPerson(values[19], values[20], values[21]) if values[18] is not None else None
        self.risks = _All(risks)
        self.rollback_actions = _All(actions)

    @property
    def pk(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<RowStep {self.pk}>"


def load_rows(plan_id: int, *, after: int = 0, limit: int = PAGE_ROWS) -> list[RowStep]:
    """The steps after position `after`, at most `limit`, as their rows show them: three queries, no models
    (one on PostgreSQL: each step's risks and actions come as JSON arrays in its row)."""
    if connection.vendor == "postgresql":
        return _load_rows_json(plan_id, after=after, limit=limit)
    return _load_rows_queries(plan_id, after=after, limit=limit)


def _load_rows_queries(plan_id: int, *, after: int, limit: int) -> list[RowStep]:
    """load_rows in three queries (SQLite; tests/changeplans/test_rows.py compares it with the JSON one)."""
    values = list(
        Step.objects.filter(plan_id=plan_id, position__gt=after)
        .order_by("position", "id")
        .values_list(*ROW_COLUMNS)[:limit]
    )
    if not values:
        return []
    # The rows' risks and actions by the positions' range, not by a list of hundreds of ids to bind.
    where = {"plan_id": plan_id, "position__gt": after, "position__lte": values[-1][2]}
    steps = Step.objects.filter(**where).values("pk")
    risks: dict[int, list[RowRisk]] = {}
    for step_id, number, description in (
        Risk.objects.filter(step__in=steps)
        .order_by("step_id", "number", "id")
        .values_list("step_id", "number", "description")
    ):
        risks.setdefault(step_id, []).append(RowRisk(number, description))
    # The actions with the numbers of the risks they answer: a row per (action, risk), one query (a LEFT JOIN).
    actions: dict[int, list[tuple[int, str, list[int]]]] = {}
    last_id = None
    for action_id, step_id, text, number in (
        RollbackAction.objects.filter(step__in=steps)
        .order_by("step_id", "position", "id")
        .values_list("id", "step_id", "text", "risks__number")
    ):
        if action_id != last_id:
            actions.setdefault(step_id, []).append((action_id, text, []))
            last_id = action_id
        if number is not None:
            actions[step_id][-1][2].append(number)
    return [
        RowStep(
            row,
            risks.get(row[0], []),
            [RowAction(text, tuple(numbers)) for _id, text, numbers in actions.get(row[0], ())],
        )
        for row in values
    ]


def _json_columns() -> dict[str, RawSQL]:
    """Each step's risks [[number, description], …] and rollback actions [[text, [risk numbers]], …], in the
    order the three-query loader reads them (risk numbers unordered: RowAction.label sorts them)."""
    step, risk, action = Step._meta.db_table, Risk._meta.db_table, RollbackAction._meta.db_table
    through = RollbackAction.risks.through._meta.db_table
    return {
        "risks_json": RawSQL(
            f"SELECT json_agg(json_build_array(r.number, r.description) ORDER BY r.number, r.id)"
            f' FROM {risk} r WHERE r.step_id = "{step}"."id"',
            (),
        ),
        "actions_json": RawSQL(
            "SELECT json_agg(json_build_array(a.text, ARRAY(SELECT k.number"
            f" FROM {through} t JOIN {risk} k ON k.id = t.risk_id WHERE t.rollbackaction_id = a.id))"
            f' ORDER BY a.position, a.id) FROM {action} a WHERE a.step_id = "{step}"."id"',
            (),
        ),
    }


def _json_queryset(plan_id: int, after: int, limit: int) -> Any:
    return (
        Step.objects.filter(plan_id=plan_id, position__gt=after)
        .annotate(**_json_columns())
        .order_by("position", "id")
        .values_list(*ROW_COLUMNS, "risks_json", "actions_json")[:limit]
    )


# In the compiled rows query, where the plan's id and the position go (as announcements._problems_query).
_STAND_IN_PLAN = 2_147_480_005
_STAND_IN_AFTER = 2_147_480_006
_rows_sql: dict[int, tuple[str, tuple[Any, ...]]] = {}


def _rows_query(limit: int) -> tuple[str, tuple[Any, ...]]:
    """The JSON rows query's SQL and parameters, compiled from the ORM once per process and limit (its
    compilation cost about 2 ms a page); every column it reads is a plain PostgreSQL value (no converters)."""
    if limit not in _rows_sql:
        sql, params = _json_queryset(_STAND_IN_PLAN, _STAND_IN_AFTER, limit).query.sql_with_params()
        if list(params).count(_STAND_IN_PLAN) != 1 or list(params).count(_STAND_IN_AFTER) != 1:
            raise AssertionError("the rows query lost its stand-ins")
        _rows_sql[limit] = (sql, tuple(params))
    return _rows_sql[limit]


def _load_rows_json(plan_id: int, *, after: int, limit: int) -> list[RowStep]:
    """load_rows on PostgreSQL: one query."""
    return _rows_from_json(_fetch_rows_json(plan_id, after=after, limit=limit, token=False))


def _fetch_rows_json(plan_id: int, *, after: int, limit: int, token: bool) -> list[tuple[Any, ...]]:
    """The JSON rows query's rows; with `token`, each ends with the plan's rows token read in the same statement
    (one snapshot: the token is exactly that of these rows)."""
    sql, params = _rows_query(limit)
    stand_ins = {_STAND_IN_PLAN: int(plan_id), _STAND_IN_AFTER: int(after)}
    values = [stand_ins.get(p, p) if isinstance(p, int) else p for p in params]
    if token:
        sql = f"SELECT t.*, ({_TOKEN_OF} = %s) FROM ({sql}) AS t"
        values = [int(plan_id), *values]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchall()


def _rows_from_json(values: Iterable[Sequence[Any]]) -> list[RowStep]:
    return [
        RowStep(
            row,
            [RowRisk(number, description) for number, description in row[-2] or ()],
            [RowAction(text, tuple(numbers)) for text, numbers in row[-1] or ()],
        )
        for row in values
    ]


def more_rows(plan: Plan, steps: Sequence[Any], shown: Sequence[Step | RowStep]) -> str:
    """After a part of a long plan's table: the placeholder row that fetches the next part when it loads
    (htmx, swapped by the part, which ends with the next placeholder); "" after the last step."""
    if not shown or not steps or shown[-1].pk == steps[-1].pk:
        return ""
    last = shown[-1].position
    url = escape(f"{reverse('changeplans:plan_rows', args=[plan.pk])}?after={last}")
    text = escape(
        gettext("Loading the next steps: %(shown)s of %(total)s shown…") % {"shown": last, "total": len(steps)}
    )
    return (
        f'<tr id="steps-more" class="okno-steps-more" hx-get="{url}" hx-trigger="load" hx-swap="outerHTML">'
        f'<td colspan="17" class="text-center text-secondary small py-2">{text}</td></tr>\n'
    )


def render_rows(ctx: RowContext, rows: Iterable[Step | RowStep] | ShownRows) -> SafeString:
    """The rows of the step table, each with its risks panel row (the page, the whole `#steps-body`).

    Light rows (load_rows) are rendered once per content: the HTML is kept in Django's cache under a digest of
    everything render_row reads (rows_cache_key); model steps are rendered each time. ShownRows of a plan with a
    rows token: kept under the token (token_cache_key), no row loaded when they are in the cache."""
    if isinstance(rows, ShownRows):
        if rows.token is not None:
            return _render_by_token(ctx, rows)
        rows = rows.load()
    rows = list(rows)
    light = [step for step in rows if isinstance(step, RowStep)]
    if not rows or len(light) != len(rows):
        return mark_safe("".join(render_row(ctx, step) for step in rows))
    key = rows_cache_key(ctx, light)
    try:
        html = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache that is away costs the render, never the page
        html = None
    if html is None:
        html = "".join(render_row(ctx, step) for step in rows)
        try:
            cache.set(key, html, ROWS_CACHE_SECONDS)
        except Exception:  # noqa: BLE001 - as above
            pass
    return mark_safe(html)


# How long rendered rows stay in the cache unused (a change of any input gives a new key, so this is only about
# memory, never about staleness).
ROWS_CACHE_SECONDS = 3600


@functools.cache
def _code_version() -> str:
    """The code a row's HTML comes from (this module, the status classes, names, choices) and the project's
    compiled translations: a deploy that changes any of them changes every key (Redis keeps keys across deploys)."""
    digest = hashlib.blake2b(digest_size=8)
    here = Path(__file__).parent
    for source in (Path(__file__), here / "templatetags" / "okno.py", here / "roles.py", here / "choices.py"):
        digest.update(source.read_bytes())
    for catalog in sorted((Path(settings.BASE_DIR) / "locale").glob("*/LC_MESSAGES/django.mo")):
        digest.update(catalog.read_bytes())
    return digest.hexdigest()


# The 17 plain columns of a row, as a tuple (attrgetter: one C call instead of 17 getattr in a generator).
_row_columns = operator.attrgetter(*ROW_COLUMNS[:17])


def _table_material(ctx: RowContext) -> list[Any]:
    """What every row of a table takes from the page: the code and translations, the language and URL prefix, the
    plan (its URLs), the viewer's right to edit, the highlighted row, the plan's first and last step."""
    return [
        _code_version(),
        get_language(),
        get_script_prefix(),
        ctx.plan.pk,
        ctx.can_edit,
        ctx.highlight,
        ctx.first_id,
        ctx.last_id,
    ]


def rows_cache_key(ctx: RowContext, rows: Sequence[RowStep]) -> str:
    """A digest of every input of render_row for these rows: the step's columns, its executor and who did it,
    its risks and rollback actions, the plan check's marks on it (highlighted fields, derived start), what other
    apps add to it (status and actions HTML), the viewer's right to edit, the highlighted row, the plan's first
    and last step, the plan (its URLs), the language and URL prefix, and the code and translations."""
    material = _table_material(ctx)
    for step in rows:
        pk = step.pk
        timing = ctx.report.timings.get(pk) if not step.planned_time else None
        executor, done_by = step.executor, step.done_by
        material.append(
            (
                _row_columns(step),
                executor.name if executor is not None else None,
                step.done_by_id,
                (done_by.last_name, done_by.first_name, done_by.username) if done_by is not None else None,
                tuple((risk.number, risk.description) for risk in step.risks.all()),
                tuple((action.text, action.numbers) for action in step.rollback_actions.all()),
                tuple(sorted(ctx.warn.get(pk, ()))),
                timing.start_worst if timing is not None else None,
                str(ctx.step_status.get(pk, "")),
                str(ctx.step_actions.get(pk, "")),
            )
        )
    # pickle: exact for these plain values (str, int, bool, date, time, datetime with its zone, None, tuples)
    digest = hashlib.blake2b(pickle.dumps(material, protocol=5), digest_size=20)
    return "okno:rows:" + digest.hexdigest()


# The plan's rows token (migration 0016_rows_token): NULL for a plan nothing was written to since it came.
_TOKEN_OF = "SELECT token::text FROM okno_rows_token WHERE plan_id"


def with_rows_token(queryset: Any) -> Any:
    """The plans with `rows_token` (None when the plan has none yet), on PostgreSQL; unchanged elsewhere."""
    if connection.vendor != "postgresql":
        return queryset
    return queryset.annotate(rows_token=RawSQL(f"{_TOKEN_OF} = {Plan._meta.db_table}.id", (), CharField()))


class ShownRows:
    """The rows a page (or a part of a long plan's table) shows: the `limit` steps after position `after`, known by
    the plan check's light steps (ids and positions) and loaded whole (load_rows) only to be rendered."""

    def __init__(self, plan: Plan, steps: Sequence[Any], *, after: int, limit: int) -> None:
        self.plan_id = plan.pk
        self.token: str | None = getattr(plan, "rows_token", None)
        self.after, self.limit = after, limit
        self.light = [step for step in steps if step.position > after][:limit]

    def __len__(self) -> int:
        return len(self.light)

    def __getitem__(self, index: int) -> Any:
        return self.light[index]

    def __iter__(self) -> Any:
        return iter(self.light)

    def load(self) -> list[RowStep]:
        return load_rows(self.plan_id, after=self.after, limit=self.limit)


def token_cache_key(ctx: RowContext, token: str, ids: Sequence[int]) -> str:
    """The rows' key under the plan's rows token, which the database replaces on every write to what a row shows
    from it (steps, risks, actions and their links, executors' and doers' names): with what the row takes from
    elsewhere (the plan check's marks, other apps' parts, the viewer's right, the language, the code) as in
    rows_cache_key. Marks and parts are those of `ids`, the rows rendered."""
    timings = ctx.report.timings
    material = [*_table_material(ctx), token]
    for pk in ids:
        timing = timings.get(pk)
        material.append(
            (
                pk,
                tuple(sorted(ctx.warn.get(pk, ()))),
                timing.start_worst if timing is not None else None,
                str(ctx.step_status.get(pk, "")),
                str(ctx.step_actions.get(pk, "")),
            )
        )
    digest = hashlib.blake2b(pickle.dumps(material, protocol=5), digest_size=20)
    return "okno:rows-token:" + digest.hexdigest()


# The latest rows rendered or read from the cache in this process, by key (a key names its content, so they are
# never stale): a second look reads no cache either (a 100-step table's 600 KB cost about 1.5 ms to unpickle).
_RECENT: OrderedDict[str, SafeString] = OrderedDict()
_RECENT_LOCK = threading.Lock()
RECENT_CHARS = 8_000_000  # the most characters kept together (a 150-row part of a table is about 1 M)


def _remember(key: str, html: str) -> SafeString:
    safe = mark_safe(html)
    with _RECENT_LOCK:
        _RECENT[key] = safe
        _RECENT.move_to_end(key)
        total = sum(len(kept) for kept in _RECENT.values())
        while total > RECENT_CHARS and len(_RECENT) > 1:
            _key, dropped = _RECENT.popitem(last=False)
            total -= len(dropped)
    return safe


def _recent(key: str) -> SafeString | None:
    with _RECENT_LOCK:
        html = _RECENT.get(key)
        if html is not None:
            _RECENT.move_to_end(key)
        return html


def _render_by_token(ctx: RowContext, shown: ShownRows) -> SafeString:
    assert shown.token is not None
    key = token_cache_key(ctx, shown.token, [step.pk for step in shown.light])
    kept = _recent(key)  # already a SafeString: marking a 600 KB string safe copies it
    if kept is not None:
        return kept
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache that is away costs the render, never the page
        cached = None
    if cached is not None:
        return _remember(key, cached)
    fetched = _fetch_rows_json(shown.plan_id, after=shown.after, limit=shown.limit, token=True)
    loaded = _rows_from_json(row[:-1] for row in fetched)
    html = "".join(render_row(ctx, step) for step in loaded)
    token = fetched[0][-1] if fetched else None
    if token is None:
        return mark_safe(html)
    # kept under the token these rows were read with (a write may have come since)
    key = token_cache_key(ctx, token, [step.pk for step in loaded])
    try:
        cache.set(key, html, ROWS_CACHE_SECONDS)
    except Exception:  # noqa: BLE001 - as above
        pass
    return _remember(key, html)


def render_saved_rows(ctx: RowContext, rows: Iterable[Step | RowStep], main_id: int) -> SafeString:
    """A save's answer (changeplans.views._step_rows_response): the saved step's row, then out of band, each in a
    `<template>`, the rows whose derived start or warnings changed. The risks panel rows stay as they are."""
    html = []
    for step in rows:
        if step.pk == main_id:
            html.append(render_row(ctx, step, row_only=True))
        else:
            html.append(f"<template>{render_row(ctx, step, row_only=True, oob_row=True)}</template>")
    return mark_safe("".join(html))


def lint_items(warnings: Iterable[Any]) -> SafeString:
    """The plan check panel's findings (`plan_detail.html#lint`): the bytes its former `{% for %}` gave, which a
    2,000-step plan with a finding a step took 0.3 s to render. changeplans/lint_panel.py cuts items from them."""
    error, warning = escape(gettext("error")), escape(gettext("warning"))
    html = []
    for w in warnings:
        is_error = w.level == "error"
        target = w.target
        message = escape(w.message)
        text = f'<a href="#{escape(target)}" data-okno-finding="{escape(target)}">{message}</a>' if target else message
        html.append(
            f'\n        <li class="okno-lint-{escape(w.level)}" data-code="{escape(w.code)}"><span class="badge '
            f'{"text-bg-danger" if is_error else "text-bg-warning"}">{error if is_error else warning}</span> '
            f"{text}</li>\n      "
        )
    return mark_safe("".join(html))


# A plan check panel with fewer findings than this is rendered each time (a cache round trip costs more).
LINT_CACHE_MIN = 100


def page_lint_items(warnings: Sequence[Any]) -> SafeString:
    """lint_items for the page: a long list's HTML is kept in the cache under a digest of every finding's level,
    code, target and message, the language and the code version (as render_rows; 8 ms for 2,000 findings)."""
    if len(warnings) < LINT_CACHE_MIN:
        return lint_items(warnings)
    material: list[Any] = [_code_version(), get_language()]
    material += [(w.level, w.code, w.target, str(w.message)) for w in warnings]
    key = "okno:lint:" + hashlib.blake2b(pickle.dumps(material, protocol=5), digest_size=20).hexdigest()
    try:
        html = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache that is away costs the render, never the page
        html = None
    if html is None:
        html = str(lint_items(warnings))
        try:
            cache.set(key, html, ROWS_CACHE_SECONDS)
        except Exception:  # noqa: BLE001 - as above
            pass
    return mark_safe(html)
