"""Paste a block copied from Excel, LibreOffice or a Word table into the step table (issue 13).

One request, one transaction under the plan lock: every cell is read as if it were typed into its cell
(`StepCellForm` of that column, the same parsers of times, dates and durations); readable cells are saved,
unreadable ones keep their value and come back in the report with the reason. Rows below the table become
new steps. The risks and rollback columns take the seed's numbered lists ("1. …", "5/6/7/8 …").
"""

import csv
import dataclasses
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.text import clean_text, normalize_newlines

from . import versioning
from .choices import EventKind, StepKind, StepStatus
from .forms import StepCellForm
from .history import record_event
from .limits import MAX_SMALL_NUMBER
from .models import Party, Plan, Risk, RollbackAction, Step
from .permissions import edit_refusal
from .services import STEP_CELL_FIELDS, get_or_create_party, history_value

# The risks and rollback columns (the grid's data-field); history names the rollback change "rollback_actions".
RISKS = "risks"
ROLLBACK = "rollback"
ALIASES = {"rollback_actions": ROLLBACK}
# Columns the table shows but a paste never writes: the number follows the order, the status the board.
READ_ONLY_COLUMNS = ("position", "status")
# Longest text of a cell quoted back in the report.
QUOTE_CHARS = 80
# What the seed writes in the rollback or risks column when there is none.
_NOTHING = {"нет", "-", "—", "–", "no", "none", "не требуется", "нет рисков"}
# "3. text", "3) text": a numbered risk.
_RISK_LINE = re.compile(r"^\s*(\d{1,5})\s*[.)]\s*(.*)$")
# "1. text", "2) text", "5/6/7/8 text", "5, 6. text": a rollback action and the risks it answers.
_ACTION_LINE = re.compile(r"^\s*(\d{1,5}(?:\s*[/,]\s*\d{1,5})+\s*[.)]?|\d{1,5}\s*[.)])\s*(.*)$")


class PasteTooLarge(ValidationError):
    """The block has more rows or cells than one paste may hold (OKNO_PASTE_MAX_ROWS, OKNO_PASTE_MAX_CELLS)."""


@dataclass(frozen=True)
class CellProblem:
    """A pasted cell that was not saved (or saved only in part, `saved`), and why."""

    row: int  # the row of the block, from 1
    step_id: int
    position: int
    field: str
    column: str  # the column's name in the user's language
    text: str
    reason: str
    saved: bool = False


@dataclass
class PasteReport:
    """What a paste did: counts for the toast, problems per cell, notes per column."""

    rows: int
    columns: int
    pasted: int = 0  # cells read and saved (whether or not the value changed)
    problems: list[CellProblem] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    added: list[int] = dataclasses.field(default_factory=list)  # ids of the new steps
    changed: list[int] = dataclasses.field(default_factory=list)  # ids of the steps whose cells changed

    @property
    def unreadable(self) -> int:
        return sum(1 for problem in self.problems if not problem.saved)

    def summary(self) -> str:
        """«Вставлено: 18 ячеек, 2 не распознаны» for the toast."""
        text = ngettext("Pasted: %(n)d cell", "Pasted: %(n)d cells", self.pasted) % {"n": self.pasted}
        if self.unreadable:
            text += ", " + ngettext("%(n)d not recognised", "%(n)d not recognised", self.unreadable) % {
                "n": self.unreadable
            }
        return text


def parse_tsv(text: str) -> list[list[str]]:
    """Rows of cells from the tab-separated text spreadsheets put on the clipboard.

    Excel and LibreOffice quote a cell that holds a line break, a tab or a quote ("a ""b"" c") and double
    the quotes inside: Python's `excel-tab` dialect reads exactly that. The last line break is not a row.
    """
    text = text or ""
    rows = [
        [normalize_newlines(cell) for cell in row] for row in csv.reader(io.StringIO(text, newline=""), "excel-tab")
    ]
    return [row or [""] for row in rows]


def column_label(key: str) -> str:
    """The name of a column as the user reads it."""
    if key == RISKS:
        return _("Possible risks")
    if key == ROLLBACK:
        return _("What to do if something goes wrong")
    if key == "status":
        return _("Status")
    if key == "position":
        return _("No.")
    try:
        return capfirst(str(Step._meta.get_field(key).verbose_name))
    except FieldDoesNotExist:  # a column this version does not know: named as the page sent it
        return key


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def _kind_codes() -> dict[str, str]:
    """A step kind as pasted: its label in any language of the site ("Рассылка", "Announcement") or its code."""
    codes = {code.lower(): code for code in StepKind.values}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            codes.update({str(label).lower(): code for code, label in StepKind.choices})
    return codes


def parse_risks(text: str) -> list[tuple[int, str]]:
    """A numbered list of risks ("1. …\\n2. …") as (number, description); unnumbered text is risk 1.

    Lines that do not start with a number continue the risk above; "нет" or an empty cell means no risks.
    """
    text = clean_text(text)
    if text.lower().rstrip(".") in _NOTHING or not text:
        return []
    items: list[list[Any]] = []
    lead: list[str] = []
    for line in text.split("\n"):
        if match := _RISK_LINE.match(line):
            items.append([int(match[1]), [match[2].strip()]])
        elif items:
            items[-1][1].append(line.strip())
        else:
            lead.append(line.strip())
    if not items:
        return [(1, text)]
    if lead:  # a heading above the first number stays with it: nothing pasted is dropped
        items[0][1] = [*lead, *items[0][1]]
    risks = [(number, "\n".join(lines).strip()) for number, lines in items]
    numbers = [number for number, _text in risks]
    if any(not 0 < number <= MAX_SMALL_NUMBER for number in numbers):
        raise ValidationError(_("Risk numbers run from 1 to %(max)d.") % {"max": MAX_SMALL_NUMBER})
    twice = sorted({number for number in numbers if numbers.count(number) > 1})
    if twice:
        raise ValidationError(_("Risk number %(numbers)s appears twice.") % {"numbers": ", ".join(map(str, twice))})
    if any(not description for _number, description in risks):
        raise ValidationError(_("A numbered risk has no text."))
    return risks


def parse_rollback(text: str) -> tuple[list[tuple[list[int], str, str]], bool]:
    """Rollback actions as the seed numbers them: ([(risk numbers, text, the line as written)], no rollback needed).

    "1. …" answers risk 1, "5/6/7/8 …" risks 5 to 8; lines without a leading number continue the action
    above; unnumbered text is one action. "нет" means no rollback is needed.
    """
    text = clean_text(text)
    if not text:
        return [], False
    if text.lower().rstrip(".") in _NOTHING:
        return [], True
    items: list[list[Any]] = []
    for line in text.split("\n"):
        match = _ACTION_LINE.match(line)
        if match and match[2].strip():
            numbers = [int(n) for n in re.findall(r"\d+", match[1])]
            items.append([numbers, [match[2].strip()], [line.strip()]])
        elif items:
            items[-1][1].append(line.strip())
            items[-1][2].append(line.strip())
        elif line.strip():
            items.append([[], [line.strip()], [line.strip()]])
    return [(numbers, "\n".join(body).strip(), "\n".join(raw).strip()) for numbers, body, raw in items], False


def check_size(rows: Sequence[Sequence[object]]) -> None:
    """Refuse a block larger than one paste may hold, with the figures."""
    max_rows, max_cells = settings.OKNO_PASTE_MAX_ROWS, settings.OKNO_PASTE_MAX_CELLS
    cells = sum(len(row) for row in rows)
    if len(rows) > max_rows:
        raise PasteTooLarge(
            ngettext(
                "The block has %(rows)d row; at most %(max)d can be pasted at once. Paste it in parts.",
                "The block has %(rows)d rows; at most %(max)d can be pasted at once. Paste it in parts.",
                len(rows),
            )
            % {"rows": len(rows), "max": max_rows}
        )
    if cells > max_cells:
        raise PasteTooLarge(
            ngettext(
                "The block has %(cells)d cell; at most %(max)d can be pasted at once. Paste it in parts.",
                "The block has %(cells)d cells; at most %(max)d can be pasted at once. Paste it in parts.",
                cells,
            )
            % {"cells": cells, "max": max_cells}
        )


@dataclass
class _StepEdit:
    """What the paste does to one step (an existing one or a new one)."""

    step: Step
    row: int
    new: bool = False
    changes: dict[str, list[object]] = dataclasses.field(default_factory=dict)
    risks: list[tuple[int, str]] | None = None  # None: the risks column was not pasted
    actions: list[tuple[list[int], str, str]] | None = None
    no_rollback: bool = False


def _problem(edit: _StepEdit, key: str, text: str, reason: str, *, saved: bool = False) -> CellProblem:
    return CellProblem(
        row=edit.row,
        step_id=edit.step.pk,
        position=edit.step.position,
        field=key,
        column=column_label(key),
        text=_quote(text),
        reason=reason,
        saved=saved,
    )


def _lock(anchor_step_id: int, actor: User) -> tuple[Plan, list[Step]]:
    """Lock the plan's steps, then the plan (the order every step editor takes), and check the actor."""
    plan_id = Step.objects.values_list("plan_id", flat=True).get(pk=anchor_step_id)
    steps = list(
        Step.objects.select_for_update(of=("self",))
        .filter(plan_id=plan_id)
        .select_related("executor")
        .order_by("position", "id")
    )
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    refusal = edit_refusal(actor, plan)
    if refusal:
        raise PermissionDenied(refusal)
    return plan, steps


def _columns(fields: Sequence[str], width: int, report: PasteReport) -> list[str | None]:
    """The column each pasted column lands in (None: skipped, with a note why)."""
    columns: list[str | None] = []
    seen: set[str] = set()
    for key in list(fields)[:width]:
        key = ALIASES.get(key, key)
        if key in READ_ONLY_COLUMNS:
            report.notes.append(
                _("The column “%(column)s” is not filled by pasting: it was skipped.") % {"column": column_label(key)}
            )
            columns.append(None)
        elif (key in STEP_CELL_FIELDS or key in (RISKS, ROLLBACK)) and key not in seen:
            seen.add(key)
            columns.append(key)
        else:
            report.notes.append(
                _("The column “%(column)s” cannot be pasted into: it was skipped.") % {"column": column_label(key)}
            )
            columns.append(None)
    beyond = width - len(columns)
    if beyond > 0:
        report.notes.append(
            ngettext(
                "%(n)d column of the block lies beyond the table's last column and was not pasted.",
                "%(n)d columns of the block lie beyond the table's last column and were not pasted.",
                beyond,
            )
            % {"n": beyond}
        )
    return columns


def _read_cell(
    edit: _StepEdit,
    key: str,
    text: str,
    report: PasteReport,
    *,
    kinds: Mapping[str, str],
    parties: dict[str, Party | None],
) -> None:
    """Read one pasted cell into the step (not saved yet); a problem in the report when it cannot be read."""
    step = edit.step
    if key == RISKS:
        try:
            edit.risks = parse_risks(text)
        except ValidationError as exc:
            report.problems.append(_problem(edit, key, text, " ".join(exc.messages)))
        else:
            report.pasted += 1
        return
    if key == ROLLBACK:
        edit.actions, edit.no_rollback = parse_rollback(text)
        report.pasted += 1
        return
    typed = kinds.get(text.strip().lower(), text) if key == "kind" else text
    form = StepCellForm(key, data={"value": typed, "revision": step.revision, "original": ""})
    if not form.is_valid():
        reason = " ".join(str(message) for message in form.errors.get("value", form.errors.get("__all__", [])))
        report.problems.append(_problem(edit, key, text, reason))
        return
    value = form.cleaned_data["value"]
    if key == "executor" and not isinstance(value, Party):
        # Text as typed (a picker's Typed or a str): one look-up per distinct name in the block, not per cell.
        name = str(getattr(value, "text", value) or "").strip().lower()
        if name not in parties:
            parties[name] = get_or_create_party(value)
        value = parties[name]
    if key == "kind" and value != step.kind and step.status != StepStatus.PENDING:
        # As update_step_cell: a step that has run keeps its kind.
        report.problems.append(_problem(edit, key, text, _("The step has already run: its kind can no longer change.")))
        return
    old = getattr(step, key)
    if key == "duration_text":
        step.set_duration(value)
    else:
        setattr(step, key, value)
    report.pasted += 1
    if old != getattr(step, key):
        edit.changes[key] = [history_value(old), history_value(getattr(step, key))]


def _new_steps(plan: Plan, steps: list[Step], count: int, first_row: int) -> list[_StepEdit]:
    """`count` new steps after the last one, named and dated as `add_step` does (one query)."""
    if count <= 0:
        return []
    position = steps[-1].position if steps else 0
    date = steps[-1].planned_date if steps else plan.window_start.astimezone(plan.tz).date()
    new = Step.objects.bulk_create(
        Step(plan=plan, position=position + n, name=_("New step"), planned_date=date) for n in range(1, count + 1)
    )
    return [_StepEdit(step=step, row=first_row + n, new=True) for n, step in enumerate(new, start=1)]


def _save_risks(edits: Sequence[_StepEdit], report: PasteReport) -> None:
    """Write the pasted risks and rollback actions of all steps in a fixed number of queries."""
    risk_edits = [e for e in edits if e.risks is not None]
    action_edits = [e for e in edits if e.actions is not None]
    if not risk_edits and not action_edits:
        return
    # The steps' risks and actions as they are (new steps have none).
    existing_ids = [e.step.pk for e in (*risk_edits, *action_edits) if not e.new]
    risks_of: dict[int, dict[int, Risk]] = {}
    for risk in Risk.objects.filter(step_id__in=existing_ids):
        risks_of.setdefault(risk.step_id, {})[risk.number] = risk
    actions_of: dict[int, list[RollbackAction]] = {}
    for action in (
        RollbackAction.objects.filter(step_id__in=existing_ids).prefetch_related("risks").order_by("position", "id")
    ):
        actions_of.setdefault(action.step_id, []).append(action)

    # Risks: matched by number (a kept number keeps its own mitigation and its rollback ties).
    doomed: list[int] = []
    changed_risks: list[Risk] = []
    created_risks: list[Risk] = []
    for edit in risk_edits:
        assert edit.risks is not None
        have = risks_of.get(edit.step.pk, {})
        before = [f"{n}. {r.description}" for n, r in sorted(have.items())]
        wanted = dict(edit.risks)
        doomed += [risk.pk for number, risk in have.items() if number not in wanted]
        kept: dict[int, Risk] = {}
        for number, description in edit.risks:
            found = have.get(number)
            if found is None:
                found = Risk(step=edit.step, number=number, description=description)
                created_risks.append(found)
            elif found.description != description:
                found.description = description
                changed_risks.append(found)
            kept[number] = found
        risks_of[edit.step.pk] = kept
        after = [f"{n}. {d}" for n, d in sorted(edit.risks)]
        if before != after:
            edit.changes[RISKS] = [len(before), len(after)]
    if doomed:
        Risk.objects.filter(pk__in=doomed).delete()
    if changed_risks:
        Risk.objects.bulk_update(changed_risks, ["description"])
    if created_risks:
        Risk.objects.bulk_create(created_risks)

    # Rollback actions: matched by position; their ties to risks are rewritten.
    stale_actions: list[int] = []
    changed_actions: list[RollbackAction] = []
    created_actions: list[RollbackAction] = []
    ties: list[tuple[RollbackAction, list[Risk]]] = []
    for edit in action_edits:
        assert edit.actions is not None
        have_actions = actions_of.get(edit.step.pk, [])
        step_risks = risks_of.get(edit.step.pk, {})
        before_actions = [(sorted(r.number for r in a.risks.all()), a.text) for a in have_actions]
        after_actions: list[tuple[list[int], str]] = []
        for index, (numbers, text, raw) in enumerate(edit.actions):
            missing = [n for n in numbers if n not in step_risks]
            if missing and step_risks:
                # Numbers of risks the step does not have: saved as written, tied to nothing.
                report.problems.append(
                    _problem(
                        edit,
                        ROLLBACK,
                        raw,
                        ngettext(
                            "The step has no risk %(numbers)s: the action is saved as written, tied to no risk.",
                            "The step has no risks %(numbers)s: the action is saved as written, tied to no risk.",
                            len(missing),
                        )
                        % {"numbers": ", ".join(map(str, missing))},
                        saved=True,
                    )
                )
            if missing:
                numbers, text = [], raw  # a plain enumeration (no risks at all) stays as written
            action = have_actions[index] if index < len(have_actions) else None
            if action is None:
                action = RollbackAction(step=edit.step, position=index + 1, text=text)
                created_actions.append(action)
            elif action.text != text or action.position != index + 1:
                action.text, action.position = text, index + 1
                changed_actions.append(action)
            ties.append((action, [step_risks[n] for n in numbers]))
            after_actions.append((sorted(numbers), text))
        stale_actions += [a.pk for a in have_actions[len(edit.actions) :]]
        if before_actions != after_actions:
            edit.changes["rollback_actions"] = [len(before_actions), len(after_actions)]
        if edit.step.no_rollback_needed != edit.no_rollback:
            edit.changes["no_rollback_needed"] = [edit.step.no_rollback_needed, edit.no_rollback]
            edit.step.no_rollback_needed = edit.no_rollback
    if stale_actions:
        RollbackAction.objects.filter(pk__in=stale_actions).delete()
    if changed_actions:
        RollbackAction.objects.bulk_update(changed_actions, ["text", "position"])
    if created_actions:
        RollbackAction.objects.bulk_create(created_actions)
    Link = RollbackAction.risks.through
    Link.objects.filter(rollbackaction_id__in=[a.pk for a, _r in ties]).delete()
    Link.objects.bulk_create(
        Link(rollbackaction_id=action.pk, risk_id=risk.pk) for action, risks in ties for risk in risks
    )


def _summary(rows: int, columns: int) -> str:
    """«Вставлено из буфера: 3 строки × 6 столбцов» for the history."""
    return _("Pasted from the clipboard: %(rows)s × %(columns)s") % {
        "rows": ngettext("%(n)d row", "%(n)d rows", rows) % {"n": rows},
        "columns": ngettext("%(n)d column", "%(n)d columns", columns) % {"n": columns},
    }


@transaction.atomic
def paste_block(
    anchor_step_id: int, *, actor: User, fields: Sequence[str], rows: Sequence[Sequence[str | None]]
) -> PasteReport:
    """Fill the step table from `rows` (pasted text, None for a cell to leave alone) starting at a cell.

    `anchor_step_id`: the step of the selected cell; `fields`: the visible columns from the selected one
    to the right, in the table's order. Rows go to that step and the ones below; a longer block adds steps
    at the end. Every cell is read as if typed into it; what cannot be read keeps its old value and is
    reported. Raises PermissionDenied for who may not edit the plan, PasteTooLarge for a block over the
    limits, versioning.ResetNotConfirmed when the paste would reset signatures and is not confirmed
    (nothing is saved then). Queries: a few per step that changes, none per cell (bar new executors).
    """
    check_size(rows)
    width = max((len(row) for row in rows), default=0)
    if not rows or width == 0:
        raise ValidationError(_("The clipboard holds nothing to paste."))
    plan, steps = _lock(anchor_step_id, actor)
    report = PasteReport(rows=len(rows), columns=width)
    columns = _columns(fields, width, report)
    anchor = next((index for index, step in enumerate(steps) if step.pk == anchor_step_id), None)
    if anchor is None:  # deleted while the paste waited for the lock
        raise Step.DoesNotExist
    targets = steps[anchor : anchor + len(rows)]
    edits = [_StepEdit(step=step, row=n) for n, step in enumerate(targets, start=1)]
    new_edits = _new_steps(plan, steps, len(rows) - len(targets), len(targets))
    kinds = _kind_codes()
    parties: dict[str, Party | None] = {}
    all_edits = [*edits, *new_edits]
    report.added = [edit.step.pk for edit in new_edits]

    for edit, cells in zip(all_edits, rows, strict=True):
        for key, text in zip(columns, cells, strict=False):
            if key is None or text is None:
                continue
            if edit.new and not text.strip():
                continue  # an empty cell of a new row: the new step's default stays
            _read_cell(edit, key, text, report, kinds=kinds, parties=parties)

    _save_risks(all_edits, report)
    changed = [edit for edit in edits if edit.changes]
    # One UPDATE per step that changed, through save(): what a model derives on save (the downtime's
    # minutes) stays right. Only the pasted fields are written.
    for edit in (e for e in all_edits if e.changes):
        names = {key for key in edit.changes if key not in (RISKS, "rollback_actions")}
        if "duration_text" in names:
            names |= {"duration_min", "duration_max"}
        if not edit.new:
            edit.step.revision += 1
            names.add("revision")
        if names:
            edit.step.save(update_fields=sorted(names))

    comment = _("Pasted from the clipboard")
    for edit in new_edits:
        values = {key: [None, new] for key, (_old, new) in edit.changes.items()}
        record_event(plan, actor=actor, kind=EventKind.STEP_ADDED, obj=edit.step, changes=values, comment=comment)
    for edit in changed:
        record_event(plan, actor=actor, kind=EventKind.EDITED, obj=edit.step, changes=edit.changes, comment=comment)
    report.changed = [edit.step.pk for edit in changed]
    if changed or new_edits:
        record_event(plan, actor=actor, kind=EventKind.EDITED, comment=_summary(len(rows), width))
        Plan.objects.filter(pk=plan.pk).update(revision=F("revision") + 1)
        versioning.after_edit(plan, actor=actor)
    return report
