"""Plan lint: the computed schedule of a work plan (best and worst case) and what is wrong with it.

Arithmetic runs in UTC so that a window over midnight or a DST change stays right; the datetimes
returned are aware and in the plan's time zone. Do not subtract two of them that share the plan's
tzinfo across a DST change (Python then compares wall clocks): use the minute totals given here.

`lint_plan` composes pure checks, none of which runs a query:

- `check_schedule`: when each step starts and ends (its own date and time, or after its predecessors);
- `check_window`: which steps start outside the work window (those are left out of the end projection);
- `check_overrun`: whether the counted work ends after the window closes, in the worst and best case;
- `find_critical_path`: the steps that make the worst-case end;
- `check_slack`: a step with risks or a long one that the next timed step leaves no room after;
- `check_order`: a step with its own time that starts before the step before it has ended;
- `check_contents`: what a step says rather than when it runs;
- `check_downtime`: the steps' planned downtime against the plan's possible downtime;
- `check_stated_duration`: the header's stated total duration against the computed one.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, ngettext

from .choices import StepKind
from .durations import downtime_or_none, format_minutes, parse_duration, parse_total_duration

if TYPE_CHECKING:
    from .lint_data import LintStep
    from .models import Plan, Step

UTC = datetime.UTC
ERROR = "error"
WARNING = "warning"
DATETIME_FORMAT = "%d.%m.%Y %H:%M"
LONG_STEP_MINUTES = 60  # a step this long in the worst case needs slack after it even without risks
STATED_DURATION_TOLERANCE_MINUTES = 5  # "3 часа" for a computed 3 h 5 min is not a mismatch
# The cell of the step table a finding's field is shown in, where its id differs from the field's name.
CELL_OF_FIELD = {"rollback_actions": "rollback"}

# Rollback texts that say nothing about how to undo a step, compared after `_plain_words`;
# "-" and "—" become "" there.
VACUOUS_ROLLBACK = frozenset(
    {
        "",
        "нет",
        "откат по плану",
        "по плану",
        "по ситуации",
        "действовать по ситуации",
        "по обстановке",
        "действовать по обстановке",
    }
)
# A numbered line of a mitigation text: "1. …", "2) …", "3/4. …", "5, 6) …".
NUMBERED_LINE = re.compile(r"^\s*(\d{1,3}(?:\s*[,/]\s*\d{1,3})*)\s*[.)](?:\s|$)", re.MULTILINE)


# The texts translated during one lint_plan call: a 2,000-step plan asks for the same few texts thousands of times.
_translated: ContextVar[dict[str, str] | None] = ContextVar("okno_lint_translated", default=None)


def _(message: str) -> str:
    """gettext, remembered for the rest of the lint_plan call it is made in."""
    memo = _translated.get()
    if memo is None:
        return gettext(message)
    text = memo.get(message)
    if text is None:
        text = memo[message] = gettext(message)
    return text


@dataclass(frozen=True)
class LintWarning:
    code: str
    level: str  # ERROR | WARNING
    message: str
    step_id: int | None = None
    field: str | None = None  # the Step field the warning is about, for highlighting a cell
    anchor: str | None = None  # the element id a finding without a step cell links to (e.g. the header's total)

    def __post_init__(self) -> None:
        # Not a field (equality and repr stay the fields'): how the page finds the finding, made once; a save
        # compares the findings before and after it by this (lint_panel.changes), thousands on a long plan.
        object.__setattr__(self, "address", (self.code, self._target()))

    address: tuple[str, str | None] = dataclasses.field(init=False, repr=False, compare=False)

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    @property
    def target(self) -> str | None:
        """The id of the element the plan check links this finding to: its cell, else its row or the anchor."""
        return self.address[1]

    def _target(self) -> str | None:
        if self.anchor:
            return self.anchor
        if self.step_id is not None and self.field:
            return f"cell-{self.step_id}-{CELL_OF_FIELD.get(self.field, self.field)}"
        if self.step_id is not None:
            return f"step-{self.step_id}"
        return None


@dataclass
class StepTiming:
    step_id: int
    start_best: datetime.datetime | None
    start_worst: datetime.datetime | None
    end_best: datetime.datetime | None
    end_worst: datetime.datetime | None
    lane: int = 0  # index among the steps that start at the same moment
    start_is_derived: bool = False  # no date/time of its own: follows its predecessor
    counted: bool = True  # False when left out of the end projection (outside the window, announcements)
    critical: bool = False  # on the worst-case critical path


@dataclass
class LintReport:
    warnings: list[LintWarning]
    timings: dict[int, StepTiming]
    start: datetime.datetime | None
    end_best: datetime.datetime | None
    end_worst: datetime.datetime | None
    total_best_minutes: int | None
    total_worst_minutes: int | None
    window_minutes: int
    critical_path: list[int] = field(default_factory=list)

    def warnings_for(self, step_id: int | None) -> list[LintWarning]:
        return [warning for warning in self.warnings if warning.step_id == step_id]

    @property
    def plan_warnings(self) -> list[LintWarning]:
        """Warnings about the plan as a whole (not tied to one step)."""
        return [warning for warning in self.warnings if warning.step_id is None]

    @property
    def errors(self) -> list[LintWarning]:
        return [warning for warning in self.warnings if warning.level == ERROR]

    @property
    def has_errors(self) -> bool:
        return any(warning.level == ERROR for warning in self.warnings)

    @property
    def codes(self) -> list[str]:
        return [warning.code for warning in self.warnings]


@dataclass(frozen=True)
class Window:
    """The plan's work window in UTC, and the time zone its moments are shown in."""

    start: datetime.datetime
    end: datetime.datetime
    tz: datetime.tzinfo

    @classmethod
    def of(cls, plan: Plan) -> Window:
        return cls(start=plan.window_start.astimezone(UTC), end=plan.window_end.astimezone(UTC), tz=plan.tz)

    def __contains__(self, moment: datetime.datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def span(self) -> str:
        return _fmt_span(self.start, self.end, self.tz)


@dataclass(frozen=True)
class Slot:
    """Where the schedule puts one step, in UTC."""

    start_best: datetime.datetime
    start_worst: datetime.datetime
    end_best: datetime.datetime
    end_worst: datetime.datetime
    derived: bool  # no date/time of its own: starts after `follows`
    follows: tuple[int, ...] = ()  # the ids of the steps it starts after (the previous step and those starting with it)
    predecessor: int | None = None  # the one of `follows` that ends last in the worst case
    lane: int = 0

    @property
    def starts(self) -> tuple[datetime.datetime, datetime.datetime]:
        return self.start_best, self.start_worst


# Findings about single steps, by step id, each list in the order the check found them.
StepFindings = dict[int, list[LintWarning]]


def _fmt(moment, tz):
    return moment.astimezone(tz).strftime(DATETIME_FORMAT)


def _fmt_span(first, last, tz):
    """ "20.03.2025 20:00–23:05" on one date, both in full otherwise; a single moment when equal."""
    first, last = first.astimezone(tz), last.astimezone(tz)
    if first == last:
        return first.strftime(DATETIME_FORMAT)
    if first.date() == last.date():
        return f"{first.strftime(DATETIME_FORMAT)}–{last.strftime('%H:%M')}"
    return f"{first.strftime(DATETIME_FORMAT)}–{last.strftime(DATETIME_FORMAT)}"


def _minutes_between(first, last):
    return math.ceil((last - first).total_seconds() / 60)


def _step_numbers(steps):
    return ", ".join(str(step.position) for step in steps)


def _durations(step):
    """(min, max, problem): problem is None, "missing" or "unreadable"; a missing duration counts as 0."""
    if step.duration_min is not None or step.duration_max is not None:
        low = step.duration_min if step.duration_min is not None else step.duration_max
        high = step.duration_max if step.duration_max is not None else step.duration_min
        return low, max(low, high), None
    if not (step.duration_text or "").strip():
        return 0, 0, "missing"
    # Stored minutes are missing but there is a text (e.g. saved without set_duration): read it.
    try:
        duration = parse_duration(step.duration_text)
    except ValidationError:
        return 0, 0, "unreadable"
    return duration.min_minutes, duration.max_minutes, None


def _downtime_minutes(step):
    """The most minutes of downtime a step plans ("до 40 мин" → 40, "нет" → 0); None for an empty or unreadable text."""
    if step.planned_downtime_max_minutes is not None:
        return step.planned_downtime_max_minutes
    # Stored minutes are missing (unreadable text, or saved by a bulk write): read the text.
    return downtime_or_none(step.planned_downtime)


def _outside_field(step, derived, window):
    """The cell to highlight: the date when it is not one of the window's dates, else the time."""
    if derived:
        return "planned_time" if step.planned_time is None else "planned_date"
    on_window_dates = (
        window.start.astimezone(window.tz).date() <= step.planned_date <= window.end.astimezone(window.tz).date()
    )
    return "planned_time" if on_window_dates else "planned_date"


def _fetch_steps(plan):
    return list(
        plan.steps.select_related("executor").prefetch_related("risks", "rollback_actions").order_by("position", "id")
    )


def lint_plan(plan: Plan, steps: Iterable[Step | LintStep] | None = None) -> LintReport:
    """The schedule and the warnings of a plan.

    `steps`: the plan's steps, already fetched with executor, risks and rollback_actions, or as the light rows of
    `lint_data.load_lint_steps`; then no query is run. Without it the steps are fetched here.
    """
    return check_plan(plan, steps).report


def check_plan(plan: Plan, steps: Iterable[Step | LintStep] | None = None) -> Checked:
    """`lint_plan` with what it was computed from, for `recheck_step` to update it after an edit of one step."""
    if steps is None:
        steps = _fetch_steps(plan)
    steps = sorted(steps, key=lambda step: (step.position, step.id or 0))
    token = _translated.set({})
    try:
        return _lint(plan, steps)
    finally:
        _translated.reset(token)


@dataclass(frozen=True)
class Checked:
    """A plan check and its parts, by step: what `recheck_step` needs to redo only what an edit changes.

    Shared between requests: never changed, a recheck makes a new one (sharing the unchanged parts).
    """

    report: LintReport
    steps: list[Step | LintStep]  # in position order
    index: dict[int, int]  # step id → its index in `steps`
    window: Window
    slots: dict[int, Slot]
    counted: list[Step | LintStep]  # the steps counted in the end projection, in order
    counted_index: dict[int, int]
    next_timed: dict[int, Slot | None]  # check_slack's "next timed step" of each step
    followers: dict[int, list[int]]  # step id → the steps that start after it (whose Slot.follows has it)
    parts: dict[int, StepParts]  # each step's findings by check
    findings: list[tuple[LintWarning, ...]]  # each step's findings in one tuple, aligned with `steps`
    downtime_findings: tuple[LintWarning, ...]  # check_downtime's (plan-wide)


@dataclass(frozen=True)
class StepParts:
    """One step's findings, by the check that made them (in the order the report lists them)."""

    schedule: tuple[LintWarning, ...]
    window: tuple[LintWarning, ...]
    order: tuple[LintWarning, ...]
    slack: tuple[LintWarning, ...]
    contents: tuple[LintWarning, ...]

    def all(self) -> tuple[LintWarning, ...]:
        return self.schedule + self.window + self.order + self.slack + self.contents


def _lint(plan: Plan, steps: list[Step | LintStep]) -> Checked:
    window = Window.of(plan)

    slots, schedule_findings = check_schedule(steps, window)
    counted_ids, window_findings = check_window(steps, slots, window)
    next_timed = _next_later_timed(steps, slots)
    slack_findings = check_slack(steps, slots, window, next_timed)
    counted = [step for step in steps if step.id in counted_ids]
    order_findings = check_order(counted, slots, window)
    critical_path = find_critical_path(counted, slots)

    # A step's findings stay together: its schedule, the window, its order, the slack after it, its contents.
    parts = {
        step.id: StepParts(
            tuple(schedule_findings[step.id]),
            tuple(window_findings[step.id]),
            tuple(order_findings.get(step.id, ())),
            tuple(slack_findings[step.id]),
            tuple(check_contents(step, plan)),
        )
        for step in steps
    }
    findings = [parts[step.id].all() for step in steps]
    downtime_findings = tuple(check_downtime(steps, plan))
    followers: dict[int, list[int]] = {}
    for step in steps:
        for followed in slots[step.id].follows:
            followers.setdefault(followed, []).append(step.id)
    report = _report(
        steps,
        slots,
        counted_ids,
        critical_path,
        window,
        _warnings(findings, steps, counted, slots, window, downtime_findings),
    )
    report.warnings += check_stated_duration(plan, report)
    return Checked(
        report=report,
        steps=steps,
        index={step.id: i for i, step in enumerate(steps)},
        window=window,
        slots=slots,
        counted=counted,
        counted_index={step.id: i for i, step in enumerate(counted)},
        next_timed=next_timed,
        followers=followers,
        parts=parts,
        findings=findings,
        downtime_findings=downtime_findings,
    )


def recheck_step(checked: Checked, plan: Plan, step: Step | LintStep) -> tuple[Checked, set[int]] | None:
    """The check after an edit of one step, computed from the check before it (`checked`, of the same header).

    Only for an edit that leaves every start where it was: the step keeps its position, kind, date and time (a
    duration, the contents, risks and rollback may change). Its end moves; what reads its end is redone — the
    step's own findings, the steps that start after it (their start must not move: else None), the order check
    of the next timed step, the end projection, the critical path, the overrun — and the rest is shared with
    `checked`. Returns the new check and the ids of the steps whose findings or timings may differ; None when
    the edit may move other steps' starts: then only a whole check will do. Identical to `check_plan` on the
    new steps (tests/changeplans/test_lint_recheck.py applies random edits and compares).
    """
    i = checked.index.get(step.id)
    if i is None or Window.of(plan) != checked.window:
        return None
    old = checked.steps[i]
    if (old.position, old.kind, old.planned_date, old.planned_time) != (
        step.position,
        step.kind,
        step.planned_date,
        step.planned_time,
    ):
        return None
    token = _translated.set({})
    try:
        return _recheck(checked, plan, i, old, step)
    finally:
        _translated.reset(token)


def _recheck(checked, plan, i, old, step):
    window, k = checked.window, step.id
    steps = list(checked.steps)
    steps[i] = step
    slots = dict(checked.slots)
    low, high, problem = _durations(step)
    before = slots[k]
    slots[k] = dataclasses.replace(
        before,
        end_best=before.start_best + datetime.timedelta(minutes=low),
        end_worst=before.start_worst + datetime.timedelta(minutes=high),
    )
    touched = {k}
    # The steps that start after this one: their start is the latest end of the steps they follow.
    for j in checked.followers.get(k, ()):
        slot = slots[j]
        if (max(slots[f].end_best for f in slot.follows), max(slots[f].end_worst for f in slot.follows)) != slot.starts:
            return None  # a start moves: the steps after it may change groups and lanes
        predecessor = max(slot.follows, key=lambda f: slots[f].end_worst)
        if predecessor != slot.predecessor:
            slots[j] = dataclasses.replace(slot, predecessor=predecessor)
            touched.add(j)

    parts = dict(checked.parts)
    findings = list(checked.findings)
    kept = checked.parts[k]
    parts[k] = StepParts(
        # the duration's finding is redone; the derived start's (if any) depends on the start alone
        tuple(_duration_findings(step, problem)) + tuple(w for w in kept.schedule if w.code != "step_without_duration"),
        kept.window,
        kept.order,
        tuple(_slack_findings(step, slots[k], checked.next_timed[k], window)),
        tuple(check_contents(step, plan)),
    )
    findings[i] = parts[k].all()

    counted = checked.counted
    ci = checked.counted_index.get(k)
    if ci is not None:
        counted = list(counted)
        counted[ci] = step
        # The order check of the first counted step after the steps that start with this one reads their ends.
        starts, first, last = slots[k].starts, ci, ci
        while first > 0 and slots[counted[first - 1].id].starts == starts:
            first -= 1
        while last + 1 < len(counted) and slots[counted[last + 1].id].starts == starts:
            last += 1
        if last + 1 < len(counted) and not slots[counted[last + 1].id].derived:
            after = counted[last + 1]
            found = _order_finding(after, counted[first : last + 1], slots, window)
            order = (found,) if found is not None else ()
            if order != parts[after.id].order:
                parts[after.id] = dataclasses.replace(parts[after.id], order=order)
                findings[checked.index[after.id]] = parts[after.id].all()
                touched.add(after.id)

    downtime_findings = checked.downtime_findings
    if _downtime_minutes(step) != _downtime_minutes(old):
        downtime_findings = tuple(check_downtime(steps, plan))
    critical_path = find_critical_path(counted, slots)
    on_path = set(critical_path) ^ set(checked.report.critical_path)
    report = _report(
        steps,
        slots,
        checked.counted_index,
        critical_path,
        window,
        _warnings(findings, steps, counted, slots, window, downtime_findings),
        reuse=checked.report,
        changed=touched | on_path,
    )
    report.warnings += check_stated_duration(plan, report)
    recheck = dataclasses.replace(
        checked,
        report=report,
        steps=steps,
        slots=slots,
        counted=counted,
        parts=parts,
        findings=findings,
        downtime_findings=downtime_findings,
    )
    return recheck, touched


def _warnings(findings, steps, counted, slots, window, downtime_findings):
    """The report's findings before the stated-duration check: every step's, then the plan's."""
    warnings = list(itertools.chain.from_iterable(findings))
    if not steps:
        warnings.append(LintWarning("no_steps", ERROR, _("The plan has no steps.")))
    warnings += check_overrun(counted, slots, window)
    warnings += downtime_findings
    return warnings


def check_schedule(steps: Sequence[Step], window: Window) -> tuple[dict[int, Slot], StepFindings]:
    """Place the steps (in position order) in time.

    A step with its own date and time starts then. One without follows the previous step and every
    earlier step that started together with it (the first step without one starts with the window).
    Steps that start at the same moment get lanes in position order.
    """
    slots: dict[int, Slot] = {}
    findings: StepFindings = {}
    by_start: dict[tuple[datetime.datetime, datetime.datetime], list[Step]] = {}  # steps placed, by their starts
    previous = None
    for step in steps:
        low, high, duration_problem = _durations(step)
        findings[step.id] = _duration_findings(step, duration_problem)
        own_start = step.planned_start(window.tz)
        follows: list[Step] = []
        if own_start is not None:
            start_best = start_worst = own_start.astimezone(UTC)
        elif previous is not None:
            follows = by_start[previous.starts]
            start_best = max(slots[s.id].end_best for s in follows)
            start_worst = max(slots[s.id].end_worst for s in follows)
            findings[step.id].append(
                _derived_start_finding(step, _follows_assumption(follows, start_best, start_worst, window.tz))
            )
        else:
            start_best = start_worst = window.start
            assumption = _("it is assumed to start with the window, at %(start)s") % {
                "start": _fmt(window.start, window.tz)
            }
            findings[step.id].append(_derived_start_finding(step, assumption))

        worst_predecessor = max(follows, key=lambda s: slots[s.id].end_worst, default=None)
        placed = by_start.setdefault((start_best, start_worst), [])
        previous = slots[step.id] = Slot(
            start_best=start_best,
            start_worst=start_worst,
            end_best=start_best + datetime.timedelta(minutes=low),
            end_worst=start_worst + datetime.timedelta(minutes=high),
            derived=own_start is None,
            follows=tuple(s.id for s in follows),
            predecessor=worst_predecessor.id if worst_predecessor is not None else None,
            lane=len(placed),
        )
        placed.append(step)
    return slots, findings


def _duration_findings(step, problem):
    number = step.position
    if problem == "missing":
        message = _("Step %(number)s: no duration; it is counted as 0 min.") % {"number": number}
    elif problem == "unreadable":
        message = _("Step %(number)s: cannot read the duration “%(text)s”; it is counted as 0 min.") % {
            "number": number,
            "text": step.duration_text,
        }
    else:
        return []
    return [LintWarning("step_without_duration", WARNING, message, step.id, "duration_text")]


def _follows_assumption(follows, start_best, start_worst, tz):
    values = {"previous": _step_numbers(follows), "start": _fmt_span(start_best, start_worst, tz)}
    if len(follows) == 1:
        return _("it is assumed to start after step %(previous)s, at %(start)s") % values
    return _("it is assumed to start after steps %(previous)s, at %(start)s") % values


def _derived_start_finding(step, assumption):
    values = {"number": step.position, "assumption": assumption}
    if step.planned_time is None:
        return LintWarning(
            "step_without_start_time",
            WARNING,
            _("Step %(number)s: no start time; %(assumption)s.") % values,
            step.id,
            "planned_time",
        )
    return LintWarning(
        "step_without_date",
        WARNING,
        _("Step %(number)s: no start date; %(assumption)s.") % values,
        step.id,
        "planned_date",
    )


def check_window(steps: Sequence[Step], slots: dict[int, Slot], window: Window) -> tuple[set[int], StepFindings]:
    """The steps that start outside the window (an error each) and the ids of the steps counted in the end projection.

    Announcements go out before the window, never after it, and never count towards the work's end.
    A step without its own start that follows counted work past the window's end is counted: the
    overrun warnings report it instead.
    """
    counted: set[int] = set()
    findings: StepFindings = {}
    for step in steps:
        slot = slots[step.id]
        is_announcement = step.kind == StepKind.ANNOUNCEMENT
        if is_announcement:
            outside = slot.start_best >= window.end
        elif slot.derived and slot.start_best >= window.end and any(step_id in counted for step_id in slot.follows):
            outside = False
        else:
            outside = slot.start_best not in window
        findings[step.id] = [_outside_finding(step, slot, window)] if outside else []
        if not outside and not is_announcement:
            counted.add(step.id)
    return counted, findings


def _outside_finding(step, slot, window):
    return LintWarning(
        "step_outside_window",
        ERROR,
        _("Step %(number)s: start %(start)s is outside the work window %(window)s.")
        % {"number": step.position, "start": _fmt(slot.start_best, window.tz), "window": window.span},
        step.id,
        _outside_field(step, slot.derived, window),
    )


def check_overrun(counted: Sequence[Step], slots: dict[int, Slot], window: Window) -> list[LintWarning]:
    """The counted work ending after the window closes: a warning in the worst case, an error even in the best."""
    findings = []
    end_worst = max((slots[s.id].end_worst for s in counted), default=None)
    if end_worst is not None and end_worst > window.end:
        late = [s for s in counted if slots[s.id].end_worst > window.end]
        findings.append(
            LintWarning(
                "worst_case_overruns_window",
                WARNING,
                _(
                    "In the worst case the work ends at %(end)s, %(overrun)s after the window closes at %(window_end)s "
                    "(steps ending after it: %(steps)s)."
                )
                % _overrun_values(end_worst, late, window),
                anchor=_last_duration_cell(late, slots, "end_worst"),
            )
        )
    end_best = max((slots[s.id].end_best for s in counted), default=None)
    if end_best is not None and end_best > window.end:
        late = [s for s in counted if slots[s.id].end_best > window.end]
        findings.append(
            LintWarning(
                "best_case_overruns_window",
                ERROR,
                _(
                    "Even in the best case the work ends at %(end)s, %(overrun)s after the window closes at "
                    "%(window_end)s (steps ending after it: %(steps)s)."
                )
                % _overrun_values(end_best, late, window),
                anchor=_last_duration_cell(late, slots, "end_best"),
            )
        )
    return findings


def _last_duration_cell(steps, slots, end):
    """The duration cell of the step that ends last: where an overrun is fixed."""
    last = max(steps, key=lambda s: getattr(slots[s.id], end))
    return f"cell-{last.id}-duration_text"


def _overrun_values(end, late, window):
    return {
        "end": _fmt(end, window.tz),
        "overrun": format_minutes(_minutes_between(window.end, end)),
        "window_end": _fmt(window.end, window.tz),
        "steps": _step_numbers(late),
    }


def find_critical_path(counted: Sequence[Step], slots: dict[int, Slot]) -> list[int]:
    """Step ids from the start to the latest worst-case end, back through the counted steps each one follows."""
    if not counted:
        return []
    counted_ids = {step.id for step in counted}
    path = []
    step_id: int | None = max(counted, key=lambda s: slots[s.id].end_worst).id
    while step_id is not None and step_id in counted_ids:
        path.append(step_id)
        step_id = slots[step_id].predecessor
    path.reverse()
    return path


def check_slack(
    steps: Sequence[Step], slots: dict[int, Slot], window: Window, next_timed: dict[int, Slot | None] | None = None
) -> StepFindings:
    """A step with risks or a long one (worst case) ending exactly when the next timed step begins: no room for trouble.

    The next timed step is the first later one with its own date and time that starts after this one
    (steps starting together run in parallel; steps without a time follow by definition).
    """
    if next_timed is None:
        next_timed = _next_later_timed(steps, slots)
    return {step.id: _slack_findings(step, slots[step.id], next_timed[step.id], window) for step in steps}


def _slack_findings(step, slot, following, window):
    has_risks = bool(step.risks.all())
    if not has_risks and _minutes_between(slot.start_worst, slot.end_worst) < LONG_STEP_MINUTES:
        return []
    if following is None or following.start_best != slot.end_worst:
        return []
    values = {"number": step.position, "end": _fmt(slot.end_worst, window.tz)}
    if has_risks:
        message = _("Step %(number)s: no slack after a step with risks; the next step starts right at %(end)s.")
    else:
        message = _("Step %(number)s: no slack after a long step; the next step starts right at %(end)s.")
    return [LintWarning("no_slack_after_step", WARNING, message % values, step.id, "duration_text")]


def _next_later_timed(steps: Sequence[Step], slots: dict[int, Slot]) -> dict[int, Slot | None]:
    """step id → the slot of the first later step with its own start that starts after it (best case), or None.

    One pass from the end with a stack of the timed steps still "visible" (each starts later than every step
    above it): linear for a plan in order, n log n at worst, where a search per step was quadratic.
    """
    found: dict[int, Slot | None] = {}
    stack: list[Slot] = []  # the top (end of the list) is the nearest; starts grow towards the bottom
    for step in reversed(steps):
        slot = slots[step.id]
        start = slot.start_best
        # The first from the top that starts later: starts grow downwards, so search by bisection.
        low, high = 0, len(stack)  # stack[i].start_best > start for i < high … find the topmost such
        while low < high:
            middle = (low + high) // 2
            if stack[middle].start_best > start:
                low = middle + 1
            else:
                high = middle
        found[step.id] = stack[low - 1] if low else None
        if not slot.derived:
            while stack and stack[-1].start_best <= start:
                stack.pop()
            stack.append(slot)
    return found


def check_order(counted: Sequence[Step], slots: dict[int, Slot], window: Window) -> StepFindings:
    """A step with its own time that starts before the step before it ends: the timed steps are out of order.

    In the plan's order, each counted step with its own date and time must start no earlier than the
    worst-case end of the step before it (the latest-ending of the steps that started together with
    that one); steps that start at the same moment as the one before run in parallel and are not checked.
    Each finding names both steps.
    """
    findings: StepFindings = {}
    group: list[Step] = []  # the latest steps that started together, in position order
    for step in counted:
        slot = slots[step.id]
        if group and slot.starts == slots[group[0].id].starts:
            group.append(step)
            continue
        if group and not slot.derived:
            found = _order_finding(step, group, slots, window)
            if found is not None:
                findings[step.id] = [found]
        group = [step]
    return findings


def _order_finding(step, group, slots, window):
    """check_order's finding of a timed `step` after `group` (the steps before it that started together), or None."""
    slot = slots[step.id]
    before = max(group, key=lambda s: slots[s.id].end_worst)
    previous = slots[before.id]
    finding = None
    if slot.start_best < slots[group[0].id].start_best:
        finding = (
            "steps_out_of_order",
            _(
                "Step %(number)s starts at %(start)s, earlier than step %(previous)s before it "
                "(%(previous_start)s): timed steps must follow in the plan's order."
            ),
        )
    elif slot.start_best < previous.end_worst:
        finding = (
            "step_starts_before_previous_ends",
            _("Step %(number)s starts at %(start)s, before step %(previous)s ends (%(end)s)."),
        )
    if finding is None:  # the texts only for a finding: formatting moments is most of this check's time
        return None
    values = {
        "number": step.position,
        "start": _fmt(slot.start_best, window.tz),
        "previous": before.position,
        "previous_start": _fmt_span(previous.start_best, previous.start_worst, window.tz),
        "end": _fmt_span(previous.end_best, previous.end_worst, window.tz),
    }
    moved_day = step.planned_date != previous.start_best.astimezone(window.tz).date()
    field = "planned_date" if moved_day else "planned_time"
    return LintWarning(finding[0], WARNING, finding[1] % values, step.id, field)


def _plain_words(text):
    """Lower case, ё as е, punctuation dropped, spaces collapsed: "  Откат по плану. " -> "откат по плану"."""
    words = re.sub(r"[^\w\s]|_", " ", (text or "").lower().replace("ё", "е"))
    return " ".join(words.split())


def _numbered_lines(text):
    """The numbers that lines of the text start with ("1. …", "2) …", "3/4. …"), or an empty set."""
    return {int(number) for match in NUMBERED_LINE.finditer(text or "") for number in re.findall(r"\d+", match[1])}


def check_contents(step: Step, plan: Plan) -> list[LintWarning]:
    """Warnings about what a step says rather than when it runs."""
    findings = []
    number = step.position

    def warn(code, message, field):
        findings.append(LintWarning(code, WARNING, message, step.id, field))

    if step.executor_id is None:
        warn("step_without_executor", _("Step %(number)s: no responsible executor.") % {"number": number}, "executor")
    if not step.no_rollback_needed and not step.rollback_actions.all():
        warn(
            "step_without_rollback",
            _("Step %(number)s: no actions if something goes wrong (or mark that none are needed).")
            % {"number": number},
            "rollback_actions",
        )
    if not (step.risk_mitigation or "").strip():
        bare = [risk.number for risk in step.risks.all() if not (risk.mitigation or "").strip()]
        if bare:
            risks = ", ".join(str(n) for n in sorted(bare))
            warn(
                "risk_without_mitigation",
                ngettext(
                    "Step %(number)s: risk %(risks)s has no mitigation.",
                    "Step %(number)s: risks %(risks)s have no mitigation.",
                    len(bare),
                )
                % {"number": number, "risks": risks},
                "risk_mitigation",
            )
    risks = step.risks.all()
    vacuous = [
        action.text.strip() for action in step.rollback_actions.all() if _plain_words(action.text) in VACUOUS_ROLLBACK
    ]
    if risks and vacuous:
        warn(
            "rollback_says_nothing",
            _("Step %(number)s: the rollback “%(text)s” says nothing; the step has risks, say how to undo it.")
            % {"number": number, "text": vacuous[0]},
            "rollback_actions",
        )
    numbered = _numbered_lines(step.risk_mitigation)
    if numbered:
        uncovered = sorted(r.number for r in risks if r.number not in numbered and not (r.mitigation or "").strip())
        if uncovered:
            warn(
                "risk_without_numbered_mitigation",
                ngettext(
                    "Step %(number)s: the mitigation is numbered, but risk %(risks)s has no line with its number.",
                    "Step %(number)s: the mitigation is numbered, but risks %(risks)s have no line with their number.",
                    len(uncovered),
                )
                % {"number": number, "risks": ", ".join(str(n) for n in uncovered)},
                "risk_mitigation",
            )
    downtime = _downtime_minutes(step)
    if downtime is None and (step.planned_downtime or "").strip():
        warn(
            "downtime_unreadable",
            _(
                "Step %(number)s: cannot read the planned downtime “%(text)s”; it is left out of the downtime check "
                "(write e.g. “до 40 мин” or “нет”)."
            )
            % {"number": number, "text": step.planned_downtime},
            "planned_downtime",
        )
    if plan.downtime_max_minutes is not None:
        if downtime is not None and downtime > plan.downtime_max_minutes:
            warn(
                "downtime_exceeds",
                _(
                    "Step %(number)s: planned downtime %(downtime)s is longer than the plan's possible downtime "
                    "%(limit)s."
                )
                % {
                    "number": number,
                    "downtime": format_minutes(downtime),
                    "limit": format_minutes(plan.downtime_max_minutes),
                },
                "planned_downtime",
            )
    return findings


def check_downtime(steps: Sequence[Step], plan: Plan) -> list[LintWarning]:
    """The steps' planned downtime (the most each names) against the plan's possible downtime.

    A single step above it is a finding of that step (check_contents); here: steps that each fit but
    add up to more, and steps that plan downtime in a plan whose header states none.
    """
    planned = [(step, minutes) for step in steps if (minutes := _downtime_minutes(step))]
    if not planned:
        return []
    total = sum(minutes for _step, minutes in planned)
    values = {"total": format_minutes(total), "steps": _step_numbers(step for step, _minutes in planned)}
    limit = plan.downtime_max_minutes
    if not (plan.downtime_text or "").strip():
        if len(planned) == 1:  # not ngettext: the numbers are listed, "шаги 1, …, 21" is no singular
            message = _("Step %(steps)s plans downtime (%(total)s), but the header states no possible downtime.")
        else:
            message = _("Steps %(steps)s plan downtime (%(total)s in all), but the header states no possible downtime.")
        return [LintWarning("downtime_not_stated", WARNING, message % values, anchor="plan-downtime")]
    if limit is None or total <= limit or any(minutes > limit for _step, minutes in planned):
        return []
    message = _(
        "The planned downtime of steps %(steps)s adds up to %(total)s, more than the plan's possible downtime "
        "%(limit)s."
    )
    values["limit"] = format_minutes(limit)
    return [LintWarning("downtime_total_exceeds", WARNING, message % values, anchor="plan-downtime")]


def check_stated_duration(plan: Plan, report: LintReport) -> list[LintWarning]:
    """The header's stated total duration against the computed one (best to worst case) and the window's length.

    It matches when it lies within the computed range or equals the window (give or take a few minutes).
    """
    stated = plan.stated_duration_minutes
    if stated is None and (plan.stated_duration_text or "").strip():
        try:
            stated = parse_total_duration(plan.stated_duration_text)
        except ValidationError:
            stated = None
    best, worst = report.total_best_minutes, report.total_worst_minutes
    if stated is None or best is None or worst is None:
        return []
    tolerance = STATED_DURATION_TOLERANCE_MINUTES
    if best - tolerance <= stated <= worst + tolerance or abs(stated - report.window_minutes) <= tolerance:
        return []
    computed = format_minutes(best) if best == worst else f"{format_minutes(best)} – {format_minutes(worst)}"
    message = _(
        "The stated total duration %(stated)s differs from the computed %(computed)s (the window is %(window)s)."
    ) % {"stated": format_minutes(stated), "computed": computed, "window": format_minutes(report.window_minutes)}
    return [LintWarning("stated_duration_differs", WARNING, message, anchor="plan-total")]


def _report(steps, slots, counted_ids, critical_path, window, warnings, reuse=None, changed=()):
    """The report, its moments in the plan's time zone.

    `reuse`: a report whose step timings are kept except those of the steps in `changed` (recheck_step).
    """
    counted = [slots[step.id] for step in steps if step.id in counted_ids]
    start = min((slot.start_best for slot in counted), default=window.start)
    end_best = max((slot.end_best for slot in counted), default=None)
    end_worst = max((slot.end_worst for slot in counted), default=None)
    on_path = set(critical_path)

    converted: dict[datetime.datetime, datetime.datetime] = {}  # one step's end is often the next one's start

    def local(moment):
        if moment is None:
            return None
        shown = converted.get(moment)
        if shown is None:
            shown = converted[moment] = moment.astimezone(window.tz)
        return shown

    def timing(step_id):
        slot = slots[step_id]
        return StepTiming(
            step_id=step_id,
            start_best=local(slot.start_best),
            start_worst=local(slot.start_worst),
            end_best=local(slot.end_best),
            end_worst=local(slot.end_worst),
            lane=slot.lane,
            start_is_derived=slot.derived,
            counted=step_id in counted_ids,
            critical=step_id in on_path,
        )

    if reuse is None:
        timings = {step.id: timing(step.id) for step in steps}
    else:
        timings = dict(reuse.timings)
        for step_id in changed:
            timings[step_id] = timing(step_id)
    return LintReport(
        warnings=warnings,
        timings=timings,
        start=local(start),
        end_best=local(end_best),
        end_worst=local(end_worst),
        total_best_minutes=_minutes_between(start, end_best) if end_best is not None else None,
        total_worst_minutes=_minutes_between(start, end_worst) if end_worst is not None else None,
        window_minutes=_minutes_between(window.start, window.end),
        critical_path=critical_path,
    )
