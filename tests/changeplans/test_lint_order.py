"""The plan check as a careful reviewer (issue 13, item 7): timed steps in order, the stated total against the
computed one, and every finding links to its cell."""

import datetime
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import translation

from changeplans.choices import StepKind
from changeplans.lint import lint_plan
from changeplans.models import Plan, Step
from tests.changeplans.test_lint import add_step, fetched_steps
from tests.factories import PlanFactory, RiskFactory, RollbackActionFactory

pytestmark = pytest.mark.django_db

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")

ORDER_CODES = {"steps_out_of_order", "step_starts_before_previous_ends"}


def order_findings(plan):
    positions = {step.id: step.position for step in plan.steps.all()}
    with translation.override("en"):
        found = [w for w in lint_plan(plan).warnings if w.code in ORDER_CODES]
    assert all(w.level == "warning" for w in found)
    return [(w.code, positions[w.step_id], w.field) for w in found], [w.message for w in found]


# --- timed steps follow in order --------------------------------------------


def test_a_step_that_starts_before_the_previous_ends_is_found_naming_both():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="30 мин")
    add_step(plan, 2, "20:20", duration="10 мин")

    found, (message,) = order_findings(plan)

    assert found == [("step_starts_before_previous_ends", 2, "planned_time")]
    assert message == "Step 2 starts at 20.03.2025 20:20, before step 1 ends (20.03.2025 20:30)."


def test_the_worst_case_end_counts():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="1-2 ч")
    add_step(plan, 2, "21:30")

    found, (message,) = order_findings(plan)

    assert found == [("step_starts_before_previous_ends", 2, "planned_time")]
    assert "before step 1 ends (20.03.2025 21:00–22:00)" in message


def test_a_step_earlier_than_the_one_before_it_is_out_of_order():
    plan = PlanFactory()
    add_step(plan, 1, "21:00")
    add_step(plan, 2, "20:30")

    found, (message,) = order_findings(plan)

    assert found == [("steps_out_of_order", 2, "planned_time")]
    assert message.startswith("Step 2 starts at 20.03.2025 20:30, earlier than step 1 before it (20.03.2025 21:00)")


def test_the_date_cell_is_named_when_the_day_differs():
    plan = PlanFactory(window_end=datetime.datetime(2025, 3, 21, 3, 0, tzinfo=NSK))
    add_step(plan, 1, "01:00", date=datetime.date(2025, 3, 21))
    add_step(plan, 2, "22:00")

    found, _messages = order_findings(plan)

    assert found == [("steps_out_of_order", 2, "planned_date")]


@pytest.mark.parametrize(
    "second",
    [
        pytest.param("20:30", id="starts-right-at-the-end"),
        pytest.param("20:45", id="starts-after-the-end"),
        pytest.param(None, id="no-time-follows-by-definition"),
    ],
)
def test_steps_in_order_are_fine(second):
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="30 мин")
    add_step(plan, 2, second)

    assert order_findings(plan) == ([], [])


def test_parallel_steps_are_not_out_of_order_and_the_next_waits_for_the_longest():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="5 мин")
    add_step(plan, 2, "20:00", duration="30 мин")  # runs together with step 1
    add_step(plan, 3, "20:10")  # after step 1, but step 2 still runs

    found, (message,) = order_findings(plan)

    assert found == [("step_starts_before_previous_ends", 3, "planned_time")]
    assert "before step 2 ends" in message


def test_a_step_without_time_is_the_step_before_too():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="30 мин")
    add_step(plan, 2, None, duration="30 мин")  # 20:30–21:00
    add_step(plan, 3, "20:45")

    found, (message,) = order_findings(plan)

    assert found == [("step_starts_before_previous_ends", 3, "planned_time")]
    assert "before step 2 ends (20.03.2025 21:00)" in message


def test_announcements_and_steps_outside_the_window_are_not_checked_for_order():
    plan = PlanFactory()
    add_step(plan, 1, "20:00", duration="30 мин")
    add_step(plan, 2, "16:00", kind=StepKind.ANNOUNCEMENT)  # before the window, as announcements go
    add_step(plan, 3, "20:05", date=datetime.date(2025, 3, 27))  # outside the window: already an error
    add_step(plan, 4, "20:30")

    assert order_findings(plan) == ([], [])


# --- the stated total duration ----------------------------------------------


def stated_plan(stated):
    """Computed total 1 h 30 min – 2 h 30 min; the window is 3 h 5 min."""
    plan = PlanFactory(stated_duration_text=stated)
    plan.full_clean(exclude=["status"])
    plan.save()
    add_step(plan, 1, "20:00", duration="1-2 ч")
    add_step(plan, 2, None, duration="30 мин")
    return plan


@pytest.mark.parametrize(
    ("stated", "found"),
    [
        ("2 ч", False),  # within the computed range
        ("1 ч 30 мин", False),
        ("2 ч 30 мин", False),
        ("2 ч 33 мин", False),  # a few minutes over is rounding
        ("3 ч 05 мин", False),  # the window's length
        ("Общая продолжительность работ: 4 ч 30 мин", True),
        ("1 ч", True),
        ("", False),
    ],
)
def test_the_stated_total_is_compared_with_the_computed_one(stated, found):
    plan = stated_plan(stated)

    with translation.override("en"):
        warnings = [w for w in lint_plan(plan).warnings if w.code == "stated_duration_differs"]

    assert bool(warnings) is found
    if found:
        (warning,) = warnings
        assert warning.level == "warning" and warning.step_id is None and warning.target == "plan-total"
        assert "from the computed 1 h 30 min – 2 h 30 min (the window is 3 h 5 min)" in warning.message


def test_the_stated_total_message_names_both_figures_in_russian():
    plan = stated_plan("4 ч 30 мин")

    with translation.override("ru"):
        (warning,) = [w for w in lint_plan(plan).warnings if w.code == "stated_duration_differs"]

    assert warning.message == (
        "Заявленная общая продолжительность 4 ч 30 мин расходится с расчётной: "
        "1 ч 30 мин – 2 ч 30 мин (окно — 3 ч 5 мин)."
    )


# --- every finding links to its cell ----------------------------------------


@pytest.fixture
def plan_with_findings(author):
    plan = PlanFactory(author=author, downtime_text="до 10 мин", stated_duration_text="5 ч")
    plan.full_clean(exclude=["status"])
    plan.save()
    risky = add_step(plan, 1, "20:00", duration="2-4 ч", risk_mitigation="1. Проверить", no_rollback_needed=False)
    Step.objects.filter(pk=risky.pk).update(executor=None)
    RiskFactory(step=risky, number=1, description="Риск 1", mitigation="")
    RiskFactory(step=risky, number=2, description="Риск 2", mitigation="")
    RollbackActionFactory(step=risky, text="по ситуации")
    add_step(plan, 2, "21:00", planned_downtime="на время перезагрузки")
    add_step(plan, 3, None, duration="", planned_downtime="до 30 мин")
    add_step(plan, 4, "20:10", date=datetime.date(2025, 3, 27))
    return plan


def test_every_finding_on_the_plan_page_links_to_an_element_of_the_page(author_client, plan_with_findings):
    plan = plan_with_findings

    html = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()

    items = re.findall(r'<li class="okno-lint-\w+" data-code="(\w+)">(.*?)</li>', html, re.S)
    codes = {code for code, _item in items}
    assert {
        "step_starts_before_previous_ends",
        "downtime_unreadable",
        "downtime_exceeds",
        "stated_duration_differs",
        "worst_case_overruns_window",
        "step_without_executor",
        "rollback_says_nothing",
        "risk_without_numbered_mitigation",
        "step_without_duration",
        "step_outside_window",
    } <= codes
    for code, item in items:
        link = re.search(r'<a href="#([\w-]+)" data-okno-finding="([\w-]+)">', item)
        assert link and link[1] == link[2], code
        assert f'id="{link[1]}"' in html, (code, link[1])
    by_code = {code: re.search(r'href="#([\w-]+)"', item)[1] for code, item in items}
    steps = {step.position: step.pk for step in plan.steps.all()}
    assert by_code["step_starts_before_previous_ends"] == f"cell-{steps[2]}-planned_time"
    assert by_code["rollback_says_nothing"] == f"cell-{steps[1]}-rollback"
    assert by_code["step_without_executor"] == f"cell-{steps[1]}-executor"
    assert by_code["downtime_unreadable"] == f"cell-{steps[2]}-planned_downtime"
    assert by_code["step_outside_window"] == f"cell-{steps[4]}-planned_date"
    assert by_code["stated_duration_differs"] == "plan-total"
    # An overrun is fixed at the step that ends last: its duration cell.
    assert by_code["worst_case_overruns_window"] == f"cell-{steps[1]}-duration_text"


def test_the_plan_check_stays_query_free_with_the_new_rules(plan_with_findings, django_assert_num_queries):
    plan = Plan.objects.get(pk=plan_with_findings.pk)
    steps = fetched_steps(plan)

    with django_assert_num_queries(0):
        report = lint_plan(plan, steps=steps)

    assert {"step_starts_before_previous_ends", "stated_duration_differs", "downtime_unreadable"} <= set(report.codes)
