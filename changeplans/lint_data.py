"""What the plan check reads of every step, loaded light: a save checks the whole plan without loading it whole.

`lint_plan` reads a handful of a step's columns, its risks' numbers and whether each has a mitigation, and its
rollback actions' texts (changeplans/lint.py). `load_lint_steps` fetches exactly that as plain tuples in three
queries whatever the plan's size (no model instances, no executors, no rollback-to-risk links), and
`LintStep` offers the few attributes and the `.risks.all()` / `.rollback_actions.all()` that the checks call,
so `lint_plan(plan, steps=load_lint_steps(plan.pk))` gives the same report as on fully prefetched steps
(tests/changeplans/test_save_scale.py holds this on every kind of finding).
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar, cast

from django.db import connection
from django.db.models import BigIntegerField, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.translation import get_language

from .lint import Checked, LintReport, check_plan, lint_plan, recheck_step
from .models import Risk, RollbackAction, Step

if TYPE_CHECKING:
    from .models import Plan

# The step columns the plan check reads (changeplans/lint.py: schedule, window, order, slack, contents, downtime).
STEP_COLUMNS = (
    "id",
    "position",
    "kind",
    "planned_date",
    "planned_time",
    "duration_text",
    "duration_min",
    "duration_max",
    "planned_downtime",
    "planned_downtime_max_minutes",
    "executor_id",
    "no_rollback_needed",
    "risk_mitigation",
)

T = TypeVar("T")


class Related(Generic[T]):
    """A prefetched relation's stand-in: `.all()` gives the loaded list."""

    __slots__ = ("items",)

    def __init__(self, items: list[T]) -> None:
        self.items = items

    def all(self) -> list[T]:
        return self.items


class LintRisk(NamedTuple):
    number: int
    mitigation: str


class LintAction(NamedTuple):
    text: str


class LintStep:
    """One step as the plan check sees it; `pk` and `position` also serve the plan page's row and panel tags."""

    __slots__ = (*STEP_COLUMNS, "risks", "rollback_actions", "_key")

    id: int
    position: int
    kind: str
    planned_date: datetime.date | None
    planned_time: datetime.time | None
    duration_text: str
    duration_min: int | None
    duration_max: int | None
    planned_downtime: str
    planned_downtime_max_minutes: int | None
    executor_id: int | None
    no_rollback_needed: bool
    risk_mitigation: str
    risks: Related[LintRisk]
    rollback_actions: Related[LintAction]

    def __init__(self, columns: Iterable[Any], risks: list[LintRisk], actions: list[LintAction]) -> None:
        row = tuple(columns)
        for name, value in zip(STEP_COLUMNS, row, strict=True):
            setattr(self, name, value)
        self.risks = Related(risks)
        self.rollback_actions = Related(actions)
        self._key = (row, tuple(risks), tuple(actions))  # named tuples: compared by value

    @property
    def pk(self) -> int:
        return self.id

    def planned_start(self, tz: datetime.tzinfo) -> datetime.datetime | None:
        """As Step.planned_start."""
        if not (self.planned_date and self.planned_time):
            return None
        return datetime.datetime.combine(self.planned_date, self.planned_time).replace(tzinfo=tz)

    def __eq__(self, other: object) -> bool:
        # A template compares a row's Step with these ({% if step == steps.0 %}): the same step is equal.
        if isinstance(other, LintStep | Step):
            return self.pk == other.pk
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<LintStep {self.id} #{self.position}>"

    def key(self) -> tuple[Any, ...]:
        """Everything the plan check reads of this step, comparable: equal keys give equal findings."""
        return self._key


def load_lint_steps(plan_id: int) -> list[LintStep]:
    """The plan's steps in position order, with what the plan check reads: three queries whatever the size."""
    risks: dict[int, list[LintRisk]] = {}
    for step_id, number, mitigation in (
        Risk.objects.filter(step__plan_id=plan_id)
        .order_by("step_id", "number", "id")
        .values_list("step_id", "number", "mitigation")
    ):
        risks.setdefault(step_id, []).append(LintRisk(number, mitigation))
    actions: dict[int, list[LintAction]] = {}
    for step_id, text in (
        RollbackAction.objects.filter(step__plan_id=plan_id)
        .order_by("step_id", "position", "id")
        .values_list("step_id", "text")
    ):
        actions.setdefault(step_id, []).append(LintAction(text))
    rows = Step.objects.filter(plan_id=plan_id).order_by("position", "id").values_list(*STEP_COLUMNS)
    return [LintStep(row, risks.get(row[0], []), actions.get(row[0], [])) for row in rows]


def lint_step_of(step: Step) -> LintStep:
    """A fetched step (risks and rollback actions prefetched, as selectors.steps_queryset) as the check sees it."""
    return LintStep(
        (getattr(step, name) for name in STEP_COLUMNS),
        [LintRisk(risk.number, risk.mitigation) for risk in step.risks.all()],
        [LintAction(action.text) for action in step.rollback_actions.all()],
    )


def lint_plan_key(plan: Plan) -> tuple[Any, ...]:
    """What the plan check reads of the plan's header."""
    return (
        plan.window_start,
        plan.window_end,
        plan.time_zone,
        plan.downtime_text,
        plan.downtime_max_minutes,
        plan.stated_duration_text,
        plan.stated_duration_minutes,
    )


# The last reports, by everything they were computed from (content-addressed: an edit anywhere makes a new key,
# so a report is never stale). A save's "before" check is the previous save's "after" (or the page's check).
_REPORTS: OrderedDict[_Key, LintReport] = OrderedDict()
_REPORTS_LOCK = threading.Lock()
CACHED_STEPS = 20_000  # the most steps the cached reports cover together (a few MB)


def checked(plan: Plan, steps: Sequence[LintStep | Step]) -> LintReport:
    """`lint_plan(plan, steps)`, reusing the report of the same content in this process (language included).

    Reports are shared: read them, never change them.
    """
    key = _Key((get_language(), plan.pk, lint_plan_key(plan), tuple(_step_key(step) for step in steps)))
    with _REPORTS_LOCK:
        report = _REPORTS.get(key)
        if report is not None:
            _REPORTS.move_to_end(key)
            return report
    report = lint_plan(plan, steps=steps)
    with _REPORTS_LOCK:
        _REPORTS[key] = report
        covered = sum(len(cached.value[3]) for cached in _REPORTS)
        while covered > CACHED_STEPS and len(_REPORTS) > 1:
            oldest, _report = _REPORTS.popitem(last=False)
            covered -= len(oldest.value[3])
    return report


class _Key:
    """A cache key whose hash is computed once (a 2,000-step plan's key takes milliseconds to hash)."""

    __slots__ = ("hash", "value")

    def __init__(self, value: tuple[Any, ...]) -> None:
        self.value, self.hash = value, hash(value)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.hash == other.hash and self.value == other.value


def row_marks(report: LintReport) -> dict[int, tuple[datetime.datetime | None, frozenset[str]]]:
    """step id → what its row shows from the plan check: the (derived) start and the highlighted fields.

    Kept with the report (reports are reused: the "after" of one save is the "before" of the next).
    """
    marks: dict[int, tuple[datetime.datetime | None, frozenset[str]]] | None = getattr(report, "_row_marks", None)
    if marks is None:
        fields: dict[int, set[str]] = {}
        for warning in report.warnings:
            if warning.step_id is not None and warning.field:
                fields.setdefault(warning.step_id, set()).add(warning.field)
        empty: frozenset[str] = frozenset()
        marks = {
            pk: (timing.start_worst, frozenset(fields[pk]) if pk in fields else empty)
            for pk, timing in report.timings.items()
        }
        report._row_marks = marks  # type: ignore[attr-defined]
    return marks


def _step_key(step: LintStep | Step) -> tuple[Any, ...]:
    return (step if isinstance(step, LintStep) else lint_step_of(step)).key()


# --- the plan check kept per plan, updated by a save for the edited step (docs/architecture.md, Saves) -----------
#
# On PostgreSQL, triggers count every write to what the plan check reads of a plan's steps, risks and rollback
# actions in `okno_lint_generation` (migration 0014_lint_generation), in the same transaction as the write, whoever
# writes. The check of a plan is kept in the process by that generation, the language, the plan's creation and its
# header (lint_plan_key): a kept check is the check of the plan as it is whenever its key matches. A cell or risks
# save reads the generation before and after its writes while it holds the generation's row lock (no other write
# can come between), so the check after it is the check before it with one step changed (lint.recheck_step).

_GENERATION = "SELECT generation FROM okno_lint_generation WHERE plan_id = changeplans_plan.id"


class LintChange(NamedTuple):
    """What a save of one step wrote (services.update_step_cell, save_step_risks): the plan's generation before
    and after, the step's columns (STEP_COLUMNS) before and after, and its risks and rollback actions before and
    after (None: unchanged by the save)."""

    before: int
    after: int
    was_columns: tuple[Any, ...]
    columns: tuple[Any, ...]
    was_risks: list[LintRisk] | None = None
    risks: list[LintRisk] | None = None
    was_actions: list[LintAction] | None = None
    actions: list[LintAction] | None = None

    def was(self, steps: Sequence[LintStep]) -> LintStep | None:
        """The step before the save as the check reads it, its risks and actions (if unchanged) from `steps`."""
        now = next((step for step in steps if step.id == self.columns[0]), None)
        if now is None:
            return None
        return LintStep(
            self.was_columns,
            self.was_risks if self.was_risks is not None else list(now.risks.all()),
            self.was_actions if self.was_actions is not None else list(now.rollback_actions.all()),
        )


def generations() -> bool:
    """Whether this database counts generations (PostgreSQL)."""
    return connection.vendor == "postgresql"


def with_generation(queryset: QuerySet[Plan]) -> QuerySet[Plan]:
    """The plans with `lint_generation` (0 for a plan nothing was written to since the triggers came), on PostgreSQL."""
    if not generations():
        return queryset
    return queryset.annotate(
        lint_generation=Coalesce(RawSQL(_GENERATION, (), output_field=BigIntegerField()), Value(0))
    )


def lock_generation(plan_id: int) -> int | None:
    """The plan's generation, its row locked until the transaction ends (a save calls it under the plan's lock)."""
    if not generations():
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO okno_lint_generation AS g (plan_id, generation) VALUES (%s, 0) "
            "ON CONFLICT (plan_id) DO UPDATE SET generation = g.generation RETURNING generation",
            [plan_id],
        )
        return int(cursor.fetchone()[0])


def generation(plan_id: int) -> int | None:
    """The plan's generation as this transaction sees it; None without generations."""
    return _generation(plan_id) if generations() else None


def _generation(plan_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT generation FROM okno_lint_generation WHERE plan_id = %s", [plan_id])
        row = cursor.fetchone()
        return int(row[0]) if row else 0


def columns_of(step: Step) -> tuple[Any, ...]:
    return tuple(getattr(step, name) for name in STEP_COLUMNS)


# plan id and language → (key, check); the latest check of each, least recently used first.
_CHECKS: OrderedDict[tuple[int, str], tuple[tuple[Any, ...], Checked]] = OrderedDict()
_CHECKS_LOCK = threading.Lock()
KEPT_STEPS = 6_000  # the most steps the kept checks cover together (a 2,000-step plan's takes about 8 MB)


def _check_key(plan: Plan, generation: int) -> tuple[Any, ...]:
    return (generation, plan.created_at, lint_plan_key(plan))


def _kept(plan: Plan, generation: int) -> Checked | None:
    with _CHECKS_LOCK:
        kept = _CHECKS.get((plan.pk, get_language()))
    if kept is not None and kept[0] == _check_key(plan, generation):
        return kept[1]
    return None


def _keep(plan: Plan, generation: int, check: Checked) -> None:
    key = (plan.pk, get_language())
    with _CHECKS_LOCK:
        _CHECKS[key] = (_check_key(plan, generation), check)
        _CHECKS.move_to_end(key)
        covered = sum(len(kept.steps) for _key, kept in _CHECKS.values())
        while covered > KEPT_STEPS and len(_CHECKS) > 1:
            _oldest, (_key, dropped) = _CHECKS.popitem(last=False)
            covered -= len(dropped.steps)


def forget() -> None:
    """Drop every kept and reused check of this process (benchmarks and tests: the first view after a restart)."""
    with _CHECKS_LOCK:
        _CHECKS.clear()
    with _REPORTS_LOCK:
        _REPORTS.clear()


def current(plan: Plan) -> tuple[Sequence[LintStep], LintReport]:
    """The plan's steps as the check reads them and its report: kept by generation (a plan `with_generation`), else
    loaded and checked (`checked`: reused by content)."""
    generation = getattr(plan, "lint_generation", None)
    if generation is None:
        steps = load_lint_steps(plan.pk)
        return steps, checked(plan, steps)
    kept = _kept(plan, generation)
    if kept is None:
        kept = check_plan(plan, load_lint_steps(plan.pk))
        # Each query sees the data committed when it starts (READ COMMITTED): kept only when no write came
        # between the plan's row and the steps (the generation is still the same), so a kept check is exactly
        # its generation's.
        if _generation(plan.pk) == generation:
            _keep(plan, generation, kept)
    return kept.steps, kept.report  # type: ignore[return-value]


def after_save(plan: Plan, change: LintChange | None) -> tuple[Checked, Checked, set[int]] | None:
    """The checks before and after a save of one step and the ids of the steps whose findings or timings may
    differ, from the kept check before it; None when it is not kept, another write came after the save (the plan,
    read `with_generation` after it, is of another generation) or the edit may move other steps' starts."""
    if change is None or getattr(plan, "lint_generation", None) != change.after:
        return None
    before = _kept(plan, change.before)
    if before is None:
        return None
    index = before.index.get(change.columns[0])
    if index is None:
        return None
    was = cast(LintStep, before.steps[index])  # kept checks are of light steps (`current`)
    step = LintStep(
        change.columns,
        change.risks if change.risks is not None else list(was.risks.all()),
        change.actions if change.actions is not None else list(was.rollback_actions.all()),
    )
    rechecked = recheck_step(before, plan, step)
    if rechecked is None:
        return None
    after, touched = rechecked
    _keep(plan, change.after, after)
    return before, after, touched


def marks_of(check: Checked, step_id: int) -> tuple[datetime.datetime | None, frozenset[str]]:
    """What a step's row shows from the check (as `row_marks`), from its findings alone."""
    timing = check.report.timings.get(step_id)
    fields = frozenset(w.field for w in check.findings[check.index[step_id]] if w.field)
    return (timing.start_worst if timing is not None else None), fields
