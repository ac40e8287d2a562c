"""Plan lint: the computed schedule of a work plan (best and worst case) and what is wrong with it.

Arithmetic runs in UTC so that a window over midnight or a DST change stays right; the datetimes
returned are aware and in the plan's time zone. Do not subtract two of them that share the plan's
tzinfo across a DST change (Python then compares wall clocks): use the minute totals given here.
"""

import datetime
import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .choices import StepKind
from .durations import format_minutes, parse_duration

UTC = datetime.timezone.utc
ERROR = "error"
WARNING = "warning"
DATETIME_FORMAT = "%d.%m.%Y %H:%M"


@dataclass(frozen=True)
class LintWarning:
    code: str
    level: str  # ERROR | WARNING
    message: str
    step_id: int | None = None
    field: str | None = None  # the Step field the warning is about, for highlighting a cell

    @property
    def is_error(self):
        return self.level == ERROR


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

    def warnings_for(self, step_id):
        return [warning for warning in self.warnings if warning.step_id == step_id]

    @property
    def plan_warnings(self):
        """Warnings about the plan as a whole (not tied to one step)."""
        return [warning for warning in self.warnings if warning.step_id is None]

    @property
    def errors(self):
        return [warning for warning in self.warnings if warning.level == ERROR]

    @property
    def has_errors(self):
        return any(warning.level == ERROR for warning in self.warnings)

    @property
    def codes(self):
        return [warning.code for warning in self.warnings]


def _fmt(moment, tz):
    return moment.astimezone(tz).strftime(DATETIME_FORMAT)


def _fmt_span(first, last, tz):
    """"20.03.2025 20:00–23:05" on one date, both in full otherwise; a single moment when equal."""
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


def _downtime_minutes(text):
    """Planned downtime of a step in minutes, or None for "нет", empty or unreadable text."""
    try:
        duration = parse_duration(text)
    except ValidationError:
        return None
    return duration.max_minutes if duration else None


def _outside_field(step, derived, window_start, window_end, tz):
    """The cell to highlight: the date when it is not one of the window's dates, else the time."""
    if derived:
        return "planned_time" if step.planned_time is None else "planned_date"
    on_window_dates = window_start.astimezone(tz).date() <= step.planned_date <= window_end.astimezone(tz).date()
    return "planned_time" if on_window_dates else "planned_date"


def _fetch_steps(plan):
    return list(plan.steps.select_related("executor").prefetch_related("risks", "rollback_actions").order_by("position", "id"))


def lint_plan(plan, steps=None):
    """The schedule and the warnings of a plan.

    `steps`: the plan's steps, already fetched with executor, risks and rollback_actions; then no
    query is run. Without it the steps are fetched here.
    """
    if steps is None:
        steps = _fetch_steps(plan)
    steps = sorted(steps, key=lambda step: (step.position, step.id or 0))
    tz = plan.tz
    window_start = plan.window_start.astimezone(UTC)
    window_end = plan.window_end.astimezone(UTC)
    window_span = _fmt_span(window_start, window_end, tz)

    warnings = []
    plan_warnings = []

    def warn(code, level, message, step=None, field=None):
        target = plan_warnings if step is None else warnings
        target.append(LintWarning(code, level, message, step.id if step is not None else None, field))

    if not steps:
        warn("no_steps", ERROR, _("The plan has no steps."))

    # Internal schedule, all in UTC: step id -> dict.
    rows = {}
    scheduled = []  # steps already placed, in position order
    for step in steps:
        number = step.position
        low, high, duration_problem = _durations(step)
        if duration_problem == "missing":
            warn("step_without_duration", WARNING, _("Step %(number)s: no duration; it is counted as 0 min.") % {"number": number}, step, "duration_text")
        elif duration_problem == "unreadable":
            warn(
                "step_without_duration",
                WARNING,
                _("Step %(number)s: cannot read the duration “%(text)s”; it is counted as 0 min.") % {"number": number, "text": step.duration_text},
                step,
                "duration_text",
            )

        own_start = step.planned_start(tz)
        predecessor_group = []
        if own_start is not None:
            start_best = start_worst = own_start.astimezone(UTC)
            derived = False
        else:
            derived = True
            if scheduled:
                # The previous step, and every earlier step that started together with it.
                previous = rows[scheduled[-1].id]
                key = (previous["start_best"], previous["start_worst"])
                predecessor_group = [s for s in scheduled if (rows[s.id]["start_best"], rows[s.id]["start_worst"]) == key]
                start_best = max(rows[s.id]["end_best"] for s in predecessor_group)
                start_worst = max(rows[s.id]["end_worst"] for s in predecessor_group)
                follows = _step_numbers(predecessor_group)
                if len(predecessor_group) == 1:
                    assumption = _("it is assumed to start after step %(previous)s, at %(start)s") % {"previous": follows, "start": _fmt_span(start_best, start_worst, tz)}
                else:
                    assumption = _("it is assumed to start after steps %(previous)s, at %(start)s") % {"previous": follows, "start": _fmt_span(start_best, start_worst, tz)}
            else:
                start_best = start_worst = window_start
                assumption = _("it is assumed to start with the window, at %(start)s") % {"start": _fmt(window_start, tz)}
            if step.planned_time is None:
                warn("step_without_start_time", WARNING, _("Step %(number)s: no start time; %(assumption)s.") % {"number": number, "assumption": assumption}, step, "planned_time")
            else:
                warn("step_without_date", WARNING, _("Step %(number)s: no start date; %(assumption)s.") % {"number": number, "assumption": assumption}, step, "planned_date")

        is_announcement = step.kind == StepKind.ANNOUNCEMENT
        if is_announcement:
            # Announcements go out before the window, never after it; they are not part of the work's end.
            outside = start_best >= window_end
        elif derived and start_best >= window_end and any(rows[s.id]["counted"] for s in predecessor_group):
            # Work that spills over the window's end: counted, so the overrun warnings report it.
            outside = False
        else:
            outside = not (window_start <= start_best < window_end)
        if outside:
            warn(
                "step_outside_window",
                ERROR,
                _("Step %(number)s: start %(start)s is outside the work window %(window)s.") % {"number": number, "start": _fmt(start_best, tz), "window": window_span},
                step,
                _outside_field(step, derived, window_start, window_end, tz),
            )

        worst_predecessor = max(predecessor_group, key=lambda s: rows[s.id]["end_worst"], default=None)
        rows[step.id] = {
            "start_best": start_best,
            "start_worst": start_worst,
            "end_best": start_best + datetime.timedelta(minutes=low),
            "end_worst": start_worst + datetime.timedelta(minutes=high),
            "derived": derived,
            "counted": not outside and not is_announcement,
            "predecessor": worst_predecessor.id if derived and worst_predecessor is not None else None,
        }
        scheduled.append(step)

        _check_contents(step, plan, warn)

    # Lanes: steps that start at the same moment, numbered in position order.
    lanes = {}
    for step in steps:
        row = rows[step.id]
        key = (row["start_best"], row["start_worst"])
        row["lane"] = lanes.get(key, 0)
        lanes[key] = row["lane"] + 1

    counted = [step for step in steps if rows[step.id]["counted"]]
    start = min((rows[s.id]["start_best"] for s in counted), default=window_start)
    end_best = max((rows[s.id]["end_best"] for s in counted), default=None)
    end_worst = max((rows[s.id]["end_worst"] for s in counted), default=None)

    if end_worst is not None and end_worst > window_end:
        late = [s for s in counted if rows[s.id]["end_worst"] > window_end]
        warn(
            "worst_case_overruns_window",
            WARNING,
            _("In the worst case the work ends at %(end)s, %(overrun)s after the window closes at %(window_end)s (steps ending after it: %(steps)s).")
            % {"end": _fmt(end_worst, tz), "overrun": format_minutes(_minutes_between(window_end, end_worst)), "window_end": _fmt(window_end, tz), "steps": _step_numbers(late)},
        )
    if end_best is not None and end_best > window_end:
        late = [s for s in counted if rows[s.id]["end_best"] > window_end]
        warn(
            "best_case_overruns_window",
            ERROR,
            _("Even in the best case the work ends at %(end)s, %(overrun)s after the window closes at %(window_end)s (steps ending after it: %(steps)s).")
            % {"end": _fmt(end_best, tz), "overrun": format_minutes(_minutes_between(window_end, end_best)), "window_end": _fmt(window_end, tz), "steps": _step_numbers(late)},
        )

    # Critical path: back from the latest worst-case end through the steps it follows.
    critical_path = []
    if counted:
        last = max(counted, key=lambda s: rows[s.id]["end_worst"])
        step_id = last.id
        while step_id is not None and rows[step_id]["counted"]:
            critical_path.append(step_id)
            step_id = rows[step_id]["predecessor"]
        critical_path.reverse()
    on_path = set(critical_path)

    def local(moment):
        return moment.astimezone(tz) if moment is not None else None

    timings = {
        step.id: StepTiming(
            step_id=step.id,
            start_best=local(rows[step.id]["start_best"]),
            start_worst=local(rows[step.id]["start_worst"]),
            end_best=local(rows[step.id]["end_best"]),
            end_worst=local(rows[step.id]["end_worst"]),
            lane=rows[step.id]["lane"],
            start_is_derived=rows[step.id]["derived"],
            counted=rows[step.id]["counted"],
            critical=step.id in on_path,
        )
        for step in steps
    }
    return LintReport(
        warnings=warnings + plan_warnings,
        timings=timings,
        start=local(start),
        end_best=local(end_best),
        end_worst=local(end_worst),
        total_best_minutes=_minutes_between(start, end_best) if end_best is not None else None,
        total_worst_minutes=_minutes_between(start, end_worst) if end_worst is not None else None,
        window_minutes=_minutes_between(window_start, window_end),
        critical_path=critical_path,
    )


def _check_contents(step, plan, warn):
    """Warnings about what a step says rather than when it runs."""
    number = step.position
    if step.executor_id is None:
        warn("step_without_executor", WARNING, _("Step %(number)s: no responsible executor.") % {"number": number}, step, "executor")
    if not step.no_rollback_needed and not step.rollback_actions.all():
        warn(
            "step_without_rollback",
            WARNING,
            _("Step %(number)s: no actions if something goes wrong (or mark that none are needed).") % {"number": number},
            step,
            "rollback_actions",
        )
    if not (step.risk_mitigation or "").strip():
        bare = [risk.number for risk in step.risks.all() if not (risk.mitigation or "").strip()]
        if bare:
            risks = ", ".join(str(n) for n in sorted(bare))
            warn(
                "risk_without_mitigation",
                WARNING,
                ngettext("Step %(number)s: risk %(risks)s has no mitigation.", "Step %(number)s: risks %(risks)s have no mitigation.", len(bare))
                % {"number": number, "risks": risks},
                step,
                "risk_mitigation",
            )
    if plan.downtime_max_minutes is not None and step.planned_downtime:
        downtime = _downtime_minutes(step.planned_downtime)
        if downtime is not None and downtime > plan.downtime_max_minutes:
            warn(
                "downtime_exceeds",
                WARNING,
                _("Step %(number)s: planned downtime %(downtime)s is longer than the plan's possible downtime %(limit)s.")
                % {"number": number, "downtime": format_minutes(downtime), "limit": format_minutes(plan.downtime_max_minutes)},
                step,
                "planned_downtime",
            )
