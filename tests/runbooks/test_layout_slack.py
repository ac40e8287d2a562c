"""A plan from a runbook leaves slack after steps with risks and long steps, so the plan check has nothing
to say about it: every runbook of the shipped (demo) library, laid out one step after another."""

import datetime
import zoneinfo

import pytest

from changeplans.lint import lint_plan
from demo.runbooks import load_runbook_demo
from runbooks import definition, instantiate, library
from runbooks.models import Runbook

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")
START = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
SAMPLE = {
    "cluster": "prod-k8s",
    "node_list": "worker-1\nworker-2",
    "version": "1.30.4",
    "namespace": "default",
    "integer": "3",
    "string": "app-2025-03-20",
}
SHIPPED = sorted(path.stem for path in library.shipped_files())


def values(version):
    """A value of the right type for every parameter the runbook has no default for."""
    out = {}
    for param in version.definition["parameters"]:
        if param.get("default") not in (None, ""):
            continue
        out[param["name"]] = param["choices"][0] if param["type"] == "choice" else SAMPLE[param["type"]]
    return out


@pytest.fixture
def demo_library(db):
    assert load_runbook_demo() == len(SHIPPED)


@pytest.mark.parametrize("slug", SHIPPED)
def test_a_plan_from_every_shipped_runbook_passes_the_plan_check(demo_library, author, slug):
    version = Runbook.objects.get(slug=slug).current
    plan = instantiate.create_plan(version, values(version), actor=author, window_start=START)
    report = lint_plan(plan)
    assert "no_slack_after_step" not in report.codes, [w.message for w in report.warnings]
    assert not report.has_errors, [w.message for w in report.errors]
    assert "worst_case_overruns_window" not in report.codes
    # The slack is there: every step with risks or 60 min and more ends before the next one starts.
    steps = list(plan.steps.order_by("position"))
    timed = [s for s in steps if s.kind != "announcement" and s.planned_time]
    for step, following in zip(timed, timed[1:], strict=False):
        needs = step.risks.exists() or (step.duration_max or 0) >= 60
        gap = (following.planned_start(plan.tz) - step.planned_start(plan.tz)).total_seconds() / 60
        expected = definition.slack_minutes(None, step.duration_max or 0) if needs else 0
        assert gap == (step.duration_max or 0) + expected, step.name


def test_the_runbook_chooses_its_slack(demo_library, author):
    source = """title: t
plan: {slack: 10 мин}
steps:
  - {name: one, duration: 30 мин, risks: [a]}
  - {name: two, duration: 90 мин}
  - {name: three, duration: 5 мин}
  - {name: four, duration: 5 мин}
"""
    version = library.create_runbook(source, actor=author)
    plan = instantiate.create_plan(version, {}, actor=author, window_start=START)
    times = list(plan.steps.order_by("position").values_list("planned_time", flat=True))
    # 30 min with a risk + 10; 90 min (long) + 10; 5 min without risks: none.
    assert times == [datetime.time(20, 0), datetime.time(20, 40), datetime.time(22, 20), datetime.time(22, 25)]
    assert plan.window_end == START + datetime.timedelta(minutes=150)

    none = library.create_runbook(source.replace("10 мин}", '"0"}').replace("title: t", "title: u"), actor=author)
    plan = instantiate.create_plan(none, {}, actor=author, window_start=START)
    assert "no_slack_after_step" in lint_plan(plan).codes  # slack 0: back to back, and the check says so
