"""The board's timeline: planned and actual bars, the projected end and its flags, with time passed in."""

import datetime
import re
import zoneinfo

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import Plan, Step
from changeplans.selectors import steps_queryset
from execution import timeline
from tests.factories import PlanFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
UTC = datetime.UTC


def nsk(day, hour, minute=0):
    return datetime.datetime(2025, 3, day, hour, minute, tzinfo=NSK)


def make_plan(window_start, window_end, steps):
    """steps: (position, "HH:MM" or None, min, max)."""
    plan = PlanFactory(window_start=window_start, window_end=window_end)
    for position, start, low, high in steps:
        date = time = None
        if start:
            hour, minute = map(int, start[0].split(":"))
            date, time = start[1], datetime.time(hour, minute)
        StepFactory(
            plan=plan,
            position=position,
            name=f"Шаг номер {position}",
            planned_date=date,
            planned_time=time,
            duration_text=f"{low}-{high} мин",
            duration_min=low,
            duration_max=high,
        )
    return plan


def set_state(step, status, start=None, end=None):
    # Tests place a step in time; the services are covered in test_overrun.py.
    Step.objects.filter(pk=step.pk).update(status=status, actual_start=start, actual_end=end)


def load(plan):
    plan = Plan.objects.get(pk=plan.pk)
    return plan, list(steps_queryset().filter(plan=plan))


def started(plan, at):
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.IN_PROGRESS, started_at=at)


@pytest.fixture
def evening():
    # 20:00–23:05 like the seed: 1 at 20:00 (30–60), 2 and 3 in parallel at 21:00 (20–30 and 40–60),
    # 4 after them (10–20).
    day = datetime.date(2025, 3, 20)
    return make_plan(
        nsk(20, 20),
        nsk(20, 23, 5),
        [(1, ("20:00", day), 30, 60), (2, ("21:00", day), 20, 30), (3, ("21:00", day), 40, 60), (4, None, 10, 20)],
    )


def test_before_the_start_there_is_no_projection(evening):
    plan, steps = load(evening)
    with CaptureQueriesContext(connection) as queries:
        result = timeline.build(plan, steps, now=nsk(20, 12))
    assert len(queries) == 0
    assert [bar.number for bar in result.bars] == [1, 2, 3, 4]
    assert [bar.lane for bar in result.bars] == [0, 0, 1, 0]
    # Not started: no forecast (issue 15); the planned bars show the plan.
    assert (result.projected_best, result.projected_worst) == (None, None) and result.summary == ""
    assert (result.planned_end_best, result.planned_end_worst) == (nsk(20, 21, 50), nsk(20, 22, 20))
    assert result.late_minutes == 0 and result.overruns == []
    assert all(bar.actual_start is None for bar in result.bars)


def test_a_step_in_progress_counts_its_remaining_time_and_overruns_show(evening):
    started(evening, nsk(20, 20))
    plan, steps = load(evening)
    first = next(s for s in steps if s.position == 1)
    set_state(first, StepStatus.DONE, nsk(20, 20), nsk(20, 21, 10))  # 70 min: 10 over its maximum, finished
    second = next(s for s in steps if s.position == 2)
    set_state(second, StepStatus.DONE, nsk(20, 21, 10), nsk(20, 21, 30))
    third = next(s for s in steps if s.position == 3)
    set_state(third, StepStatus.IN_PROGRESS, nsk(20, 21, 10))
    plan, steps = load(plan)

    # At 22:25 step 3 has run 75 min (max 60): remaining 0; then step 4: 10–20 min.
    result = timeline.build(plan, steps, now=nsk(20, 22, 25))

    assert (result.projected_best, result.projected_worst) == (nsk(20, 22, 35), nsk(20, 22, 45))
    assert result.late_minutes == 0
    assert [(o.number, o.elapsed_minutes, o.max_minutes) for o in result.overruns] == [(3, 75, 60)]
    with translation.override("en"):
        assert result.overruns[0].message == "Step 3 has been running for 1 h 15 min — longer than its maximum of 1 h"
    bar3 = result.bars[2]
    assert bar3.running and bar3.actual_end == nsk(20, 22, 25) and bar3.overrun_minutes == 15
    assert result.bars[0].actual_end == nsk(20, 21, 10) and not result.bars[0].running

    # At 23:00 it is still running: the worst case (23:20) passes the window end (23:05) by 15 min.
    late = timeline.build(plan, steps, now=nsk(20, 23, 0))
    assert (late.projected_best, late.projected_worst) == (nsk(20, 23, 10), nsk(20, 23, 20))
    assert late.late_minutes == 15 and late.late_best_minutes == 5
    with translation.override("en"):
        assert late.summary == "Projected end: 23:10–23:20, window until 23:05 — 15 min late"


def test_an_in_progress_step_within_its_time_keeps_its_planned_worst_end(evening):
    started(evening, nsk(20, 20))
    plan, steps = load(evening)
    set_state(next(s for s in steps if s.position == 1), StepStatus.IN_PROGRESS, nsk(20, 20, 5))
    plan, steps = load(plan)

    result = timeline.build(plan, steps, now=nsk(20, 20, 20))

    # Step 1: 15 min run, 15–45 left → 20:35–21:05; step 2/3 wait for 21:00 (best) / follow at 21:05 (worst).
    assert result.projected_best == nsk(20, 21, 50)
    assert result.projected_worst == nsk(20, 21, 5) + datetime.timedelta(minutes=80)
    assert result.overruns == [] and result.now_x is not None


def test_a_plan_crossing_midnight():
    # 23:00 on 20 March to 02:00 on 21 March (Novosibirsk); the window is over midnight, so is the projection.
    plan = make_plan(
        nsk(20, 23),
        nsk(21, 2),
        [
            (1, ("23:00", datetime.date(2025, 3, 20)), 60, 90),
            (2, None, 30, 60),
            (3, ("01:00", datetime.date(2025, 3, 21)), 20, 20),
        ],
    )
    started(plan, nsk(20, 23))
    plan, steps = load(plan)
    set_state(steps[0], StepStatus.DONE, nsk(20, 23, 0), nsk(21, 0, 40))
    set_state(steps[1], StepStatus.IN_PROGRESS, nsk(21, 0, 40))
    plan, steps = load(plan)

    result = timeline.build(plan, steps, now=nsk(21, 1, 50))

    # Step 2 has run 70 min (max 60): 0 left; step 3 (20 min) from now: 02:10 — 10 min after the window.
    assert result.projected_best == result.projected_worst == nsk(21, 2, 10)
    assert result.late_minutes == 10
    assert [o.number for o in result.overruns] == [2]
    with translation.override("en"):
        # The window starts on 20.03: times of the next day carry their date.
        assert result.summary == "Projected end: 02:10 21.03, window until 02:00 21.03 — 10 min late"
    assert result.projected_worst.tzinfo == NSK
    # Bars and lines are placed in order on the axis.
    assert (
        result.bars[0].actual_x
        < result.bars[1].actual_x
        < result.now_x
        < result.window_end_x
        < result.projected_worst_x
    )
    labels = [(tick.label, tick.sub) for tick in result.ticks]
    assert ("00:00", "21.03") in labels and ("23:00", "20.03") in labels


def test_a_finished_plan_reports_its_actual_end(evening):
    plan, steps = load(evening)
    times = [
        (nsk(20, 20), nsk(20, 20, 50)),
        (nsk(20, 20, 50), nsk(20, 21, 15)),
        (nsk(20, 20, 50), nsk(20, 21, 40)),
        (nsk(20, 21, 40), nsk(20, 21, 55)),
    ]
    for step, (start, end) in zip(steps, times, strict=True):
        set_state(step, StepStatus.DONE, start, end)
    Plan.objects.filter(pk=plan.pk).update(
        status=PlanStatus.COMPLETED, started_at=nsk(20, 20), finished_at=nsk(20, 21, 56)
    )
    plan, steps = load(plan)

    result = timeline.build(plan, steps, now=nsk(21, 9))

    assert result.projection_is_final and result.projected_worst == nsk(20, 21, 56)
    assert result.now_x is None  # the next morning is off the chart
    with translation.override("en"):
        assert result.summary == "Finished: 21:56, window until 23:05 — within the window"


def test_the_partial_draws_the_bars(evening):
    started(evening, nsk(20, 20))
    plan, steps = load(evening)
    set_state(steps[0], StepStatus.DONE, nsk(20, 20), nsk(20, 21, 10))
    set_state(steps[1], StepStatus.FAILED, nsk(20, 21, 10), nsk(20, 21, 20))
    set_state(steps[2], StepStatus.IN_PROGRESS, nsk(20, 21, 10))
    plan, steps = load(plan)
    result = timeline.build(plan, steps, now=nsk(20, 23, 0))

    with translation.override("en"):
        html = render_to_string("execution/timeline.html", {"timeline": result})

    assert html.count('class="okno-tl-plan"') == 4
    actual = re.findall(r'<rect class="okno-tl-actual okno-tl-(\w+)"', html)
    assert actual == ["done", "failed", "in_progress"]
    assert html.count('class="okno-tl-now"') == 1 and html.count('class="okno-tl-window-end"') == 1
    assert 'class="okno-tl-projected okno-tl-late"' in html
    for number in ("1", "2", "3", "4"):
        assert re.search(rf'<text[^>]*class="okno-tl-label"[^>]*>{number}</text>', html), number
    # The failed step 2 counts in full (a retry): 23:00 + 20–30 + 10–20.
    assert "Projected end: 23:30–23:50, window until 23:05 — 45 min late" in html
    assert "Step 3 has been running for 1 h 50 min — longer than its maximum of 1 h" in html
