"""The plan check as a careful reviewer: no slack after a risky or long step, a rollback that says nothing,
numbered risks without a numbered mitigation line."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from changeplans.lint import lint_plan
from changeplans.models import Plan
from tests.changeplans.test_lint import add_step, fetched_steps
from tests.factories import PlanFactory, RiskFactory, RollbackActionFactory

pytestmark = pytest.mark.django_db


def with_risks(step, *numbers, mitigation=""):
    for number in numbers:
        RiskFactory(step=step, number=number, description=f"Риск {number}", mitigation=mitigation)
    return step


def review(plan, code):
    """The findings of one code as (step position, field), and their messages in English."""
    positions = {step.id: step.position for step in plan.steps.all()}
    with translation.override("en"):
        found = [w for w in lint_plan(plan).warnings if w.code == code]
    assert all(w.level == "warning" for w in found)
    return [(positions[w.step_id], w.field) for w in found], [w.message for w in found]


# --- no slack after a step with risks or a long step ------------------------

# (first step: start, duration, risks; next step: start or None for "follows") -> is the first step flagged
SLACK_CASES = [
    pytest.param("20:00", "30 мин", (1,), "20:30", True, id="risks-next-starts-at-the-worst-end"),
    pytest.param("20:00", "20-30 мин", (1,), "20:30", True, id="risks-worst-case-end-counts"),
    pytest.param("20:00", "60 мин", (), "21:00", True, id="long-step-without-risks"),
    pytest.param("20:00", "1-2 ч", (), "22:00", True, id="long-in-the-worst-case"),
    pytest.param("20:00", "30 мин", (1,), "20:40", False, id="ten-minutes-of-slack"),
    pytest.param("20:00", "1-2 ч", (), "21:00", False, id="next-starts-at-the-best-end-overlaps-not-this-rule"),
    pytest.param("20:00", "30 мин", (), "20:30", False, id="short-step-without-risks"),
    pytest.param("20:00", "59 мин", (), "20:59", False, id="under-an-hour-without-risks"),
    pytest.param("20:00", "30 мин", (1,), None, False, id="next-follows-without-a-time"),
]


@pytest.mark.parametrize(("start", "duration", "risks", "next_start", "flagged"), SLACK_CASES)
def test_no_slack_after_a_risky_or_long_step(start, duration, risks, next_start, flagged):
    plan = PlanFactory()
    with_risks(add_step(plan, 1, start, duration=duration), *risks, mitigation="Проверить заранее")
    add_step(plan, 2, next_start, duration="5 мин")

    found, messages = review(plan, "no_slack_after_step")

    assert found == ([(1, "duration_text")] if flagged else [])
    if flagged:
        kind = "with risks" if risks else "long step"
        assert kind in messages[0] and messages[0].startswith("Step 1: no slack")


def test_no_slack_skips_a_parallel_step_and_looks_at_the_next_timed_one():
    plan = PlanFactory()
    with_risks(add_step(plan, 1, "20:00", duration="30 мин"), 1, mitigation="Проверить")
    add_step(plan, 2, "20:00", duration="10 мин")  # runs alongside step 1
    add_step(plan, 3, "20:30", duration="5 мин")

    assert review(plan, "no_slack_after_step")[0] == [(1, "duration_text")]


def test_no_slack_message_in_russian():
    plan = PlanFactory()
    with_risks(add_step(plan, 1, "20:00", duration="30 мин"), 1, mitigation="Проверить")
    add_step(plan, 2, "20:30")

    with translation.override("ru"):
        (finding,) = [w for w in lint_plan(plan).warnings if w.code == "no_slack_after_step"]

    assert "нет запаса времени" in finding.message and "20.03.2025 20:30" in finding.message


# --- a rollback that says nothing -------------------------------------------

ROLLBACK_CASES = [
    pytest.param("откат по плану", (1,), True, id="rollback-per-plan"),
    pytest.param("  Откат по плану. ", (1,), True, id="case-spaces-and-punctuation"),
    pytest.param("По ситуации", (1,), True, id="as-the-situation-requires"),
    pytest.param("по обстановке!", (1,), True, id="as-things-stand"),
    pytest.param("Нет", (1, 2), True, id="no"),
    pytest.param("-", (1,), True, id="dash"),
    pytest.param("—", (1,), True, id="em-dash"),
    pytest.param("Откатить DaemonSet calico командой kubectl delete", (1,), False, id="a-real-rollback"),
    pytest.param("Откат по плану B: вернуть flannel из бэкапа", (1,), False, id="a-phrase-inside-a-real-text"),
    pytest.param("нет", (), False, id="step-without-risks"),
]


@pytest.mark.parametrize(("text", "risks", "flagged"), ROLLBACK_CASES)
def test_rollback_that_says_nothing(text, risks, flagged):
    plan = PlanFactory()
    step = with_risks(add_step(plan, 1, no_rollback_needed=False), *risks, mitigation="Проверить")
    RollbackActionFactory(step=step, text=text)

    found, messages = review(plan, "rollback_says_nothing")

    assert found == ([(1, "rollback_actions")] if flagged else [])
    if flagged:
        assert f"“{text.strip()}”" in messages[0]


def test_one_empty_rollback_action_among_real_ones_is_flagged():
    plan = PlanFactory()
    step = with_risks(add_step(plan, 1, no_rollback_needed=False), 1, 2, mitigation="Проверить")
    RollbackActionFactory(step=step, position=1, text="Вернуть flannel из бэкапа")
    RollbackActionFactory(step=step, position=2, text="по ситуации")

    assert review(plan, "rollback_says_nothing")[0] == [(1, "rollback_actions")]


# --- numbered risks without a numbered mitigation ---------------------------

# (risk numbers, mitigation text, risks with their own mitigation) -> uncovered risk numbers
NUMBERED_CASES = [
    pytest.param((1, 2, 3), "1. Проверить PDB\n2) Собрать конфигурацию", (), [3], id="risk-3-has-no-line"),
    pytest.param((1, 2, 3, 4), "1. Проверить PDB", (), [2, 3, 4], id="several-missing"),
    pytest.param((1, 2, 3), "1. Проверить\n2. Собрать\n3) Мониторинг", (), [], id="all-covered"),
    pytest.param((1, 2, 3), "1/2. Проверить\n3, 4) Мониторинг", (), [], id="a-line-for-several-risks"),
    pytest.param((1, 2, 3), "1. Проверить\n2. Собрать", (3,), [], id="risk-with-its-own-mitigation"),
    pytest.param((1, 2), "- Проверить PDB;\n- Собрать конфигурацию", (), [], id="not-numbered-not-this-rule"),
    pytest.param((1, 2), "Перенести на 20.03.2025 при сбое", (), [], id="a-date-is-not-a-number"),
]


@pytest.mark.parametrize(("numbers", "mitigation", "own", "uncovered"), NUMBERED_CASES)
def test_numbered_risks_without_a_numbered_mitigation(numbers, mitigation, own, uncovered):
    plan = PlanFactory()
    step = add_step(plan, 1, risk_mitigation=mitigation)
    for number in numbers:
        RiskFactory(step=step, number=number, mitigation="Своя минимизация" if number in own else "")

    found, messages = review(plan, "risk_without_numbered_mitigation")

    assert found == ([(1, "risk_mitigation")] if uncovered else [])
    if uncovered:
        assert ", ".join(map(str, uncovered)) in messages[0]
        assert ("risks" if len(uncovered) > 1 else "risk ") in messages[0]


# --- the new checks keep lint pure ------------------------------------------


def test_the_review_checks_run_no_queries(django_assert_num_queries):
    plan = PlanFactory()
    step = with_risks(
        add_step(plan, 1, "20:00", duration="30 мин", risk_mitigation="1. Проверить", no_rollback_needed=False), 1, 2
    )
    RollbackActionFactory(step=step, text="по ситуации")
    add_step(plan, 2, "20:30")
    plan = Plan.objects.get(pk=plan.pk)
    steps = fetched_steps(plan)

    with django_assert_num_queries(0):
        report = lint_plan(plan, steps=steps)

    assert {"no_slack_after_step", "rollback_says_nothing", "risk_without_numbered_mitigation"} <= set(report.codes)


def test_the_plan_page_links_each_review_finding_and_highlights_its_cell(author_client, author):
    plan = PlanFactory(author=author)
    step = with_risks(
        add_step(plan, 1, "20:00", duration="30 мин", risk_mitigation="1. Проверить", no_rollback_needed=False), 1, 2
    )
    RollbackActionFactory(step=step, text="по ситуации")
    add_step(plan, 2, "20:30")

    html = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()

    for code, cell in (
        ("no_slack_after_step", "duration_text"),
        ("rollback_says_nothing", "rollback"),
        ("risk_without_numbered_mitigation", "risk_mitigation"),
    ):
        item = re.search(rf'<li [^>]*data-code="{code}">(.*?)</li>', html, re.S)
        assert item and f'href="#cell-{step.pk}-{cell}"' in item[1]
        assert f'id="cell-{step.pk}-{cell}"' in html
    row = re.search(rf'<tr id="step-{step.pk}".*?</tr>', html, re.S)[0]
    highlighted = re.findall(r'class="okno-cell (okno-[\w-]+)[^"]*okno-warn', row)
    assert sorted(highlighted) == ["okno-f-duration_text", "okno-f-risk_mitigation", "okno-rollback"]
