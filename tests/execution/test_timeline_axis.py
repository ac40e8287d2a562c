"""The timeline's axis for any window (issue 15, item 1): readable labels, never crowded; no forecast before
the start."""

import datetime
import zoneinfo

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import Plan, Step
from changeplans.selectors import steps_queryset
from execution import timeline
from tests.factories import PlanFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
NOW = datetime.datetime(2026, 12, 6, 17, 0, tzinfo=NSK)
# Wide enough for the longest label ("03.2025", "00:00") at 13 px with a gap: viewBox units.
MIN_GAP = 80


def plan_over(start, end, started=None):
    """A plan from start to end with a step at the start; started: the plan started then (in progress)."""
    plan = PlanFactory(window_start=start, window_end=end)
    local = start.astimezone(NSK)
    step = StepFactory(
        plan=plan,
        position=1,
        name="Шаг",
        planned_date=local.date(),
        planned_time=local.time(),
        duration_text="30-60 мин",
        duration_min=30,
        duration_max=60,
    )
    if started:
        Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.IN_PROGRESS, started_at=started)
        Step.objects.filter(pk=step.pk).update(status=StepStatus.IN_PROGRESS, actual_start=started)
    plan = Plan.objects.get(pk=plan.pk)
    return timeline.build(plan, list(steps_queryset().filter(plan=plan)), NOW)


def at(year, month, day, hour=0, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=NSK)


CASES = {
    "one hour": (at(2026, 12, 6, 20), at(2026, 12, 6, 21), None),
    "evening": (at(2026, 12, 6, 20), at(2026, 12, 6, 23, 5), None),
    "over midnight": (at(2026, 12, 6, 23), at(2026, 12, 7, 2), None),
    "two days": (at(2026, 12, 6, 8), at(2026, 12, 8, 8), None),
    "three weeks": (at(2026, 12, 1), at(2026, 12, 22), None),
    "far future": (at(2031, 5, 1, 20), at(2031, 5, 1, 23), None),
    "past, running 20 months": (at(2025, 3, 20, 20), at(2025, 3, 20, 23, 5), at(2025, 3, 20, 20)),
    "years": (at(2019, 1, 1), at(2029, 1, 1), None),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_axis_is_readable_for_any_window(case):
    start, end, started = CASES[case]
    result = plan_over(start, end, started)
    xs = [tick.x for tick in result.ticks]
    assert len(xs) >= 2, f"{case}: {result.ticks}"
    assert xs == sorted(xs)
    gaps = [b - a for a, b in zip(xs, xs[1:], strict=False)]
    assert min(gaps) >= MIN_GAP, f"{case}: labels crowd: {[(t.x, t.label, t.sub) for t in result.ticks]}"
    assert all(timeline.LABEL_WIDTH <= x <= timeline.LABEL_WIDTH + timeline.CHART_WIDTH for x in xs)
    assert all(len(tick.label) <= 7 for tick in result.ticks), result.ticks  # short labels: "21:00", "03.2025"


def test_labels_carry_the_date_and_the_year_where_they_change():
    result = plan_over(*CASES["over midnight"])
    labels = [(tick.label, tick.sub) for tick in result.ticks]
    assert labels[0] == ("23:00", "06.12")
    assert ("00:00", "07.12") in labels and ("01:00", "") in labels
    far = plan_over(*CASES["far future"])
    assert far.ticks[0].sub == "01.05.2031"  # not the current year: the year is said
    months = plan_over(*CASES["past, running 20 months"])
    assert {tick.label for tick in months.ticks} >= {"01.2026", "07.2026"}


def test_a_plan_not_started_has_no_forecast():
    result = plan_over(at(2025, 3, 20, 20), at(2025, 3, 20, 23, 5))
    assert not result.has_projection and result.summary == "" and result.late_minutes == 0
    assert result.now_x is None  # the chart is the window, not the 20 months since
    with translation.override("ru"):
        html = render_to_string("execution/timeline.html", {"timeline": result})
    assert 'class="okno-tl-projected' not in html and "okno-tl-summary" not in html
    assert "прогноз" not in html.lower()  # nor in the legend


def test_the_summary_says_the_year_when_it_is_not_the_current_one():
    start = at(2025, 3, 20, 20)
    result = plan_over(start, at(2025, 3, 20, 23, 5), started=start)
    with translation.override("en"):
        assert "20.03.2025" not in result.clock(start)  # the window's first day: the time alone
        assert result.clock(NOW) == "17:00 06.12"
        assert result.clock(at(2025, 3, 21, 1)) == "01:00 21.03.2025"
