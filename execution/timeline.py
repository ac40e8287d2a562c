"""Planned vs actual: the data of the board's timeline (a Gantt chart) and the projected end of the work.

`build(plan, steps, now)` is pure: the steps come prefetched (executor, risks, rollback_actions, as
for lint_plan), `now` is passed in, no query runs. Arithmetic is in UTC (lint.py explains why);
datetimes handed out are in the plan's time zone.

Projection: the counted steps (lint's "counted": not announcements, inside the window) form groups
of steps planned to start together (lanes). Groups run one after another from `now`; a group waits
for its planned start when its steps have their own start time and none has started yet. A group
takes as long as its longest remaining member: done, skipped or rolled back steps take nothing, a
step in progress its minimum/maximum less the time it has run (at least 0), any other step its
whole minimum (best case) or maximum (worst case).
"""

import datetime
import math
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from changeplans.choices import PlanStatus, StepStatus
from changeplans.durations import format_minutes
from changeplans.lint import lint_plan

UTC = datetime.UTC
FINISHED = (StepStatus.DONE, StepStatus.SKIPPED, StepStatus.ROLLED_BACK)
PLAN_RUNNING = (PlanStatus.IN_PROGRESS,)
PLAN_ENDED = (PlanStatus.COMPLETED, PlanStatus.COMPLETED_WITH_ROLLBACK, PlanStatus.FAILED)

# SVG geometry (viewBox units; the SVG scales to the width of its box).
LABEL_WIDTH = 44
CHART_WIDTH = 900
RIGHT_PAD = 32  # room for half of the last tick's label
TOP = 38  # two lines of tick labels above the bars
ROW_HEIGHT = 30
MIN_SVG_WIDTH_PX = 720  # below this the box scrolls sideways (phones)


def _minutes(first, last):
    return (last.astimezone(UTC) - first.astimezone(UTC)).total_seconds() / 60


def _ceil_minutes(first, last):
    return math.ceil(_minutes(first, last) - 1e-9)


@dataclass
class Bar:
    step_id: int
    number: int
    name: str
    row: int
    lane: int
    status: str
    status_label: str
    # planned (best start → best end, worst end) and actual (start → end, or now while running)
    planned_start: datetime.datetime | None = None
    planned_end_best: datetime.datetime | None = None
    planned_end_worst: datetime.datetime | None = None
    actual_start: datetime.datetime | None = None
    actual_end: datetime.datetime | None = None
    running: bool = False
    overrun_minutes: int = 0  # in progress longer than duration_max by this much
    # geometry (viewBox units)
    y: float = 0
    plan_x: float = 0
    plan_best_w: float = 0
    plan_worst_w: float = 0
    actual_x: float = 0
    actual_w: float = 0


@dataclass
class Overrun:
    step_id: int
    number: int
    name: str
    elapsed_minutes: int
    max_minutes: int

    @property
    def message(self):
        return _("Step %(number)s has been running for %(elapsed)s — longer than its maximum of %(max)s") % {
            "number": self.number,
            "elapsed": format_minutes(self.elapsed_minutes),
            "max": format_minutes(self.max_minutes),
        }


@dataclass
class Tick:
    x: float
    label: str  # the time ("21:00"), or the day ("21.03") or month ("03.2025") on long charts
    sub: str = ""  # under it: the date (or year) where it changes, so each label stays short


@dataclass
class Timeline:
    plan_id: int
    time_zone: str
    now: datetime.datetime
    window_start: datetime.datetime
    window_end: datetime.datetime
    bars: list[Bar]
    planned_end_best: datetime.datetime | None
    planned_end_worst: datetime.datetime | None
    projected_best: datetime.datetime | None
    projected_worst: datetime.datetime | None
    projection_is_final: bool  # nothing is left: the "projection" is the actual end
    overruns: list[Overrun]
    late_minutes: int  # projected worst end after the window end (0: within the window)
    late_best_minutes: int  # even the best case ends this much after the window
    running: bool  # the plan is in progress
    # geometry
    axis_start: datetime.datetime | None = None
    axis_end: datetime.datetime | None = None
    width: float = LABEL_WIDTH + CHART_WIDTH + RIGHT_PAD
    height: float = 0
    chart_bottom: float = 0
    ticks: list[Tick] = field(default_factory=list)
    now_x: float | None = None
    window_start_x: float | None = None
    window_end_x: float | None = None
    projected_best_x: float | None = None
    projected_worst_x: float | None = None
    projected_w: float = 0
    min_width_px: int = MIN_SVG_WIDTH_PX

    @property
    def is_late(self):
        return self.late_minutes > 0

    @property
    def has_projection(self):
        return self.projected_worst is not None

    def clock(self, moment):
        """HH:MM in the plan's zone, with the date when it is not the window's first day (and the year when
        that is not the current one)."""
        if moment is None:
            return ""
        local = moment.astimezone(self.window_start.tzinfo)
        if local.date() == self.window_start.date():
            return local.strftime("%H:%M")
        if local.year != self.now.year:
            return local.strftime("%H:%M %d.%m.%Y")
        return local.strftime("%H:%M %d.%m")

    @property
    def summary(self):
        """ "Прогноз окончания: 22:15–23:15, окно до 23:05 — на 10 мин позже"."""
        if not self.has_projection:
            return ""
        best, worst = self.clock(self.projected_best), self.clock(self.projected_worst)
        span = best if best == worst else f"{best}–{worst}"
        window_end = self.clock(self.window_end)
        if self.projection_is_final:
            text = _("Finished: %(end)s, window until %(window_end)s") % {"end": span, "window_end": window_end}
        else:
            text = _("Projected end: %(span)s, window until %(window_end)s") % {"span": span, "window_end": window_end}
        if self.late_minutes > 0:
            return _("%(text)s — %(late)s late") % {"text": text, "late": format_minutes(self.late_minutes)}
        return _("%(text)s — within the window") % {"text": text}


def _remaining(step, timing, now):
    """(best, worst) minutes the step still needs."""
    if step.status in FINISHED:
        return 0.0, 0.0
    low, high = _step_durations(step, timing)
    if step.status == StepStatus.IN_PROGRESS and step.actual_start is not None:
        ran = _minutes(step.actual_start, now)
        return max(0.0, low - ran), max(0.0, high - ran)
    return float(low), float(high)


def _step_durations(step, timing):
    # lint's numbers: its best/worst ends minus starts are the durations it counted.
    low = _minutes(timing.start_best, timing.end_best)
    high = _minutes(timing.start_worst, timing.end_worst)
    return low, high


def _project(plan, steps, report, now):
    """(best, worst, final) projected end in UTC, or (None, None, False) when there is nothing to project."""
    counted = [step for step in steps if report.timings[step.id].counted]
    if not counted:
        return None, None, False
    if all(step.status in FINISHED for step in counted) or plan.status in PLAN_ENDED:
        ends = [step.actual_end for step in counted if step.actual_end is not None]
        if plan.finished_at is not None:
            ends.append(plan.finished_at)
        end = max((moment.astimezone(UTC) for moment in ends), default=None)
        return end, end, end is not None
    if plan.rollback_started_at is not None:
        return None, None, False  # rollback actions carry no durations: no forecast
    groups = {}
    for step in counted:
        timing = report.timings[step.id]
        groups.setdefault((timing.start_best, timing.start_worst), []).append(step)
    if plan.started_at is None and not any(step.actual_start for step in counted):
        return None, None, False  # not started: no forecast (the planned bars say what is planned)
    best = worst = now.astimezone(UTC)
    for (start_best, start_worst), members in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1])):
        untouched = all(step.actual_start is None and step.status not in FINISHED for step in members)
        if untouched and not any(report.timings[step.id].start_is_derived for step in members):
            best = max(best, start_best.astimezone(UTC))
            worst = max(worst, start_worst.astimezone(UTC))
        need = [_remaining(step, report.timings[step.id], now) for step in members]
        best += datetime.timedelta(minutes=max(low for low, _high in need))
        worst += datetime.timedelta(minutes=max(high for _low, high in need))
    return best, worst, False


def build(plan, steps, now):
    """The timeline of `plan` at `now` (aware). `steps`: the plan's steps, prefetched as lint_plan wants them."""
    tz = plan.tz
    steps = sorted(steps, key=lambda step: (step.position, step.id or 0))
    report = lint_plan(plan, steps=steps)
    now_utc = now.astimezone(UTC)

    bars, overruns = [], []
    for step in steps:
        timing = report.timings[step.id]
        if not timing.counted and step.actual_start is None:
            continue  # announcements and steps outside the window stay off the chart unless they ran
        running = step.status == StepStatus.IN_PROGRESS and step.actual_start is not None
        bar = Bar(
            step_id=step.id,
            number=step.position,
            name=step.name,
            row=len(bars),
            lane=timing.lane,
            status=step.status,
            status_label=step.get_status_display(),
            planned_start=timing.start_best,
            planned_end_best=timing.end_best,
            planned_end_worst=timing.end_worst,
            actual_start=step.actual_start.astimezone(tz) if step.actual_start else None,
            actual_end=(
                step.actual_end.astimezone(tz) if step.actual_end else (now.astimezone(tz) if running else None)
            ),
            running=running,
        )
        if running and step.duration_max is not None:
            elapsed = _minutes(step.actual_start, now_utc)
            if elapsed > step.duration_max:
                bar.overrun_minutes = math.ceil(elapsed - step.duration_max)
                overruns.append(Overrun(step.id, step.position, step.name, math.floor(elapsed), step.duration_max))
        bars.append(bar)

    best, worst, final = _project(plan, steps, report, now_utc)
    window_end = plan.window_end.astimezone(UTC)
    late = max(0, _ceil_minutes(window_end, worst)) if worst is not None else 0
    late_best = max(0, _ceil_minutes(window_end, best)) if best is not None else 0
    timeline = Timeline(
        plan_id=plan.pk,
        time_zone=plan.time_zone,
        now=now.astimezone(tz),
        window_start=plan.window_start.astimezone(tz),
        window_end=plan.window_end.astimezone(tz),
        bars=bars,
        planned_end_best=report.end_best,
        planned_end_worst=report.end_worst,
        projected_best=best.astimezone(tz) if best else None,
        projected_worst=worst.astimezone(tz) if worst else None,
        projection_is_final=final,
        overruns=overruns,
        late_minutes=late,
        late_best_minutes=late_best,
        running=plan.status in PLAN_RUNNING,
    )
    _layout(timeline)
    return timeline


def _layout(timeline):
    """Positions of bars, lines and ticks in viewBox units."""
    moments = [timeline.window_start, timeline.window_end]
    for bar in timeline.bars:
        moments += [
            m for m in (bar.planned_start, bar.planned_end_worst, bar.actual_start, bar.actual_end) if m is not None
        ]
    moments += [m for m in (timeline.projected_best, timeline.projected_worst) if m is not None]
    if timeline.running:
        moments.append(timeline.now)
    start = min(moments, key=lambda m: m.astimezone(UTC))
    end = max(moments, key=lambda m: m.astimezone(UTC))
    span = max(_minutes(start, end), 1.0)
    timeline.axis_start, timeline.axis_end = start, end

    def x(moment):
        return round(LABEL_WIDTH + CHART_WIDTH * _minutes(start, moment) / span, 1)

    def width(first, last):
        return round(max(CHART_WIDTH * _minutes(first, last) / span, 1.5), 1)

    for bar in timeline.bars:
        bar.y = TOP + bar.row * ROW_HEIGHT
        if bar.planned_start is not None:
            bar.plan_x = x(bar.planned_start)
            bar.plan_best_w = width(bar.planned_start, bar.planned_end_best)
            bar.plan_worst_w = width(bar.planned_start, bar.planned_end_worst)
        if bar.actual_start is not None:
            bar.actual_x = x(bar.actual_start)
            bar.actual_w = width(bar.actual_start, bar.actual_end or bar.actual_start)
    timeline.chart_bottom = TOP + len(timeline.bars) * ROW_HEIGHT
    timeline.height = timeline.chart_bottom + 8

    def inside(moment):
        return moment is not None and 0 <= _minutes(start, moment) <= span

    timeline.now_x = x(timeline.now) if inside(timeline.now) else None
    timeline.window_start_x = x(timeline.window_start)
    timeline.window_end_x = x(timeline.window_end)
    timeline.projected_best_x = x(timeline.projected_best) if inside(timeline.projected_best) else None
    timeline.projected_worst_x = x(timeline.projected_worst) if inside(timeline.projected_worst) else None
    if timeline.projected_best_x is not None and timeline.projected_worst_x is not None:
        timeline.projected_w = round(max(timeline.projected_worst_x - timeline.projected_best_x, 2.0), 1)

    timeline.ticks = _ticks(timeline, start, end, x)


# Tick steps: minutes within a day, then days, then calendar months. At most MAX_TICKS labels, each at
# least CHART_WIDTH / MAX_TICKS apart: the longest label ("03.2025", "21:00") fits with room to spare.
MINUTE_STEPS = (15, 30, 60, 120, 180, 360, 720)
DAY_STEPS = (1, 2, 7, 14)
MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120)
MAX_TICKS = 10


def _ticks(timeline, start, end, x):
    """Ticks on whole local hours, days or months for any span (an hour to years), labels never crowded."""
    tz = timeline.window_start.tzinfo
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    span = max(_minutes(start, end), 1.0)
    this_year = timeline.now.year
    moments = []
    for minutes in MINUTE_STEPS:
        if span / minutes <= MAX_TICKS:
            midnight = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
            first = math.ceil(_minutes(midnight, local_start) / minutes - 1e-9)
            moments = _stepping(midnight, lambda n, m=minutes: datetime.timedelta(minutes=n * m), first, end)
            kind = "time"
            break
    else:
        for days in DAY_STEPS:
            if span / (days * 1440) <= MAX_TICKS:
                day0 = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
                if day0 < local_start:
                    day0 += datetime.timedelta(days=1)
                if days == 7:
                    day0 += datetime.timedelta(days=(-day0.weekday()) % 7)  # Mondays
                moments = _days(day0, days, local_end, tz)
                kind = "day"
                break
        else:
            months = next((m for m in MONTH_STEPS if span / (m * 30.44 * 1440) <= MAX_TICKS), MONTH_STEPS[-1])
            moments = _months(local_start, local_end, months, tz)
            kind = "month"
    ticks, previous = [], None
    for moment in moments:
        local = moment.astimezone(tz)
        if kind == "time":
            label = local.strftime("%H:%M")
            day = local.strftime("%d.%m") if local.year == this_year else local.strftime("%d.%m.%Y")
            sub = day if previous is None or local.date() != previous.date() else ""
        elif kind == "day":
            label = local.strftime("%d.%m")
            sub = (
                str(local.year)
                if (previous is None and local.year != this_year)
                or (previous is not None and local.year != previous.year)
                else ""
            )
        else:
            label, sub = local.strftime("%m.%Y"), ""
        ticks.append(Tick(x(moment), label, sub))
        previous = local
    return ticks


def _stepping(origin, delta, first, end):
    """origin + delta(n) for n from `first` while not after `end` (wall-clock steps within a day)."""
    moments, n = [], first
    while True:
        # Local wall time (not UTC arithmetic): 21:00 stays 21:00 across a DST change.
        moment = (origin.replace(tzinfo=None) + delta(n)).replace(tzinfo=origin.tzinfo)
        if moment.astimezone(UTC) > end.astimezone(UTC):
            return moments
        moments.append(moment)
        n += 1


def _days(first, days, last, tz):
    moments, day = [], first.replace(tzinfo=None)
    while (moment := day.replace(tzinfo=tz)).astimezone(UTC) <= last.astimezone(UTC):
        moments.append(moment)
        day += datetime.timedelta(days=days)
    return moments


def _months(first, last, months, tz):
    year, month = first.year, first.month
    if (first.day, first.hour, first.minute, first.second) != (1, 0, 0, 0):
        month += 1
    # Whole multiples of the step (January, April, July… for 3): the labels read as a calendar.
    month = month + (-(month - 1)) % months
    moments = []
    while True:
        year += (month - 1) // 12
        month = (month - 1) % 12 + 1
        moment = datetime.datetime(year, month, 1, tzinfo=tz)
        if moment.astimezone(UTC) > last.astimezone(UTC):
            return moments
        moments.append(moment)
        month += months
