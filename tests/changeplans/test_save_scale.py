"""Saves at any plan size (issue 16): a save checks the plan from light rows (changeplans/lint_data.py), reuses
the check of the state before it, loads whole only the rows it sends and updates only the findings that changed
(changeplans/lint_panel.py). The answer, applied to the page as it was, gives the page as it is after the save.
"""

import datetime
import random
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from changeplans import lint, lint_data, lint_panel
from changeplans.choices import StepKind
from changeplans.lint import LintWarning, lint_plan
from changeplans.models import Plan, Risk, RollbackAction, Step
from changeplans.selectors import load_plan
from tests.changeplans.test_cell_save_fast import risks_data
from tests.factories import PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}
DAY = datetime.date(2025, 3, 20)


# --- builders ---------------------------------------------------------------------------------------------------


def bulk_plan(author, count, *, window_hours=None, chain=False):
    """`count` steps ten minutes apart from 20:00 (a few without a time of their own; with `chain` all but the
    first), two risks and a rollback action each, written in bulk (a 500-step plan in a second)."""
    start = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=PlanFactory.window_start.tzinfo)
    hours = window_hours if window_hours is not None else count * 10 // 60 + 2
    plan = PlanFactory(author=author, window_end=start + datetime.timedelta(hours=hours), downtime_text="30 мин")
    party = PartyFactory()
    steps = []
    for index in range(count):
        moment = start + datetime.timedelta(minutes=10 * index)
        timed = index == 0 if chain else index % 7 != 3
        step = Step(
            plan=plan,
            position=index + 1,
            name=f"Мероприятие-{index + 1:04d}",
            executor=party if index % 11 else None,
            planned_date=moment.date() if timed else None,
            planned_time=moment.time() if timed else None,
            planned_downtime="до 15 мин" if index % 5 == 0 else "нет",
            risk_mitigation="1. Проверить заранее" if index % 4 == 0 else "",
        )
        step.set_duration("5-10 мин" if index % 3 else "10 мин")
        steps.append(step)
    Step.objects.bulk_create(steps)
    steps = list(plan.steps.order_by("position"))
    risks = [
        Risk(step=step, number=number, description=f"Риск {number}", mitigation="" if number == 2 else "Проверить")
        for step in steps
        for number in (1, 2)
    ]
    Risk.objects.bulk_create(risks)
    actions = RollbackAction.objects.bulk_create(
        [
            RollbackAction(step=step, position=1, text="по плану" if step.position % 9 == 0 else "Вернуть как было")
            for step in steps
        ]
    )
    links = RollbackAction.risks.through
    by_step = {}
    for risk in Risk.objects.filter(step__plan=plan):
        by_step.setdefault(risk.step_id, []).append(risk.pk)
    links.objects.bulk_create(
        [
            links(rollbackaction_id=action.pk, risk_id=risk_id)
            for action in actions
            for risk_id in by_step[action.step_id]
        ]
    )
    return plan


def set_duration(step, text):
    """As the cell editor stores it; an unreadable text is kept without minutes (an import or a bulk write)."""
    try:
        step.set_duration(text)
    except ValidationError:
        step.duration_text, step.duration_min, step.duration_max = text, None, None


def every_finding_plan(author):
    """A plan that makes most rules of the plan check speak (with the others below: every kind of finding)."""
    plan = PlanFactory(author=author, downtime_text="10 мин", stated_duration_text="1 час")
    plan.full_clean(exclude=["status"])
    plan.save()

    def step(position, time, duration="5 мин", **fields):
        made = StepFactory(
            plan=plan,
            position=position,
            planned_time=datetime.time(*time) if time else None,
            planned_date=fields.pop("date", DAY if time else None),
            **fields,
        )
        set_duration(made, duration)
        made.save()
        return made

    step(1, (16, 0), kind=StepKind.ANNOUNCEMENT)
    risky = step(2, (20, 0), "1 час", no_rollback_needed=False, risk_mitigation="1. Первое\n2. Второе")
    for number in (1, 2, 3):
        RiskFactory(step=risky, number=number, mitigation="")
    RollbackActionFactory(step=risky, text="Откат по плану.")
    step(3, (21, 0), "2 часа", executor=None)  # no slack after a long step; overruns
    step(4, (20, 30), planned_downtime="до 20 мин")  # out of order; over the plan's downtime
    step(5, (20, 40), planned_downtime="когда-нибудь")  # before step 4's… unreadable downtime
    step(6, None, "")  # no time, no duration
    step(7, None, "сколько-то")  # unreadable duration
    no_date = step(8, (23, 0))
    Step.objects.filter(pk=no_date.pk).update(planned_date=None)
    step(9, (10, 0), date=datetime.date(2025, 3, 27), no_rollback_needed=False)  # outside the window, no rollback
    risk_step = step(10, (22, 0), risk_mitigation="")
    RiskFactory(step=risk_step, number=1, mitigation="")
    return plan


def fuzz_plan(author, seed, count=60):
    """Random steps: times in and out of order, parallel groups, steps without times, risks, rollbacks, downtime."""
    rng = random.Random(seed)
    plan = PlanFactory(author=author, downtime_text=rng.choice(["", "30 мин", "1 час"]), stated_duration_text="3 часа")
    plan.full_clean(exclude=["status"])
    plan.save()
    parties = [PartyFactory(), None]
    for position in range(1, count + 1):
        timed = rng.random() < 0.6
        minute = rng.choice([0, 0, 5, 30, 45, 60, 90, 120, 180, 190])
        step = Step(
            plan=plan,
            position=position,
            name=f"Шаг {position}",
            kind=rng.choice([StepKind.WORK] * 6 + [StepKind.ANNOUNCEMENT, StepKind.BANNER_ON]),
            executor=rng.choice(parties),
            planned_date=DAY if timed else rng.choice([None, DAY]),
            planned_time=datetime.time(20 + minute // 60, minute % 60) if timed else None,
            planned_downtime=rng.choice(["", "нет", "до 15 мин", "40 мин", "???"]),
            no_rollback_needed=rng.random() < 0.3,
            risk_mitigation=rng.choice(["", "1. Первое", "- общее"]),
        )
        set_duration(step, rng.choice(["5 мин", "30-60 мин", "1 час", "2-3 часа", "", "долго"]))
        step.save()
        for number in range(1, rng.randint(0, 3) + 1):
            RiskFactory(step=step, number=number, mitigation=rng.choice(["", "Проверить"]))
        for _ in range(rng.randint(0, 2)):
            RollbackActionFactory(step=step, text=rng.choice(["Вернуть как было", "нет", "по ситуации"]))
    return plan


def full_report(plan_id):
    plan = load_plan(plan_id)
    return lint_plan(plan, steps=list(plan.steps.all()))


def light_report(plan_id):
    return lint_plan(Plan.objects.get(pk=plan_id), steps=lint_data.load_lint_steps(plan_id))


# --- the light path checks as the full one ----------------------------------------------------------------------

ALL_CODES = set(re.findall(r'LintWarning\(\s*"([a-z_]+)"', Path(lint.__file__).read_text(encoding="utf-8")))
ALL_CODES |= {"step_without_executor", "step_without_rollback", "risk_without_mitigation", "rollback_says_nothing"}
ALL_CODES |= {
    "risk_without_numbered_mitigation",
    "downtime_unreadable",
    "downtime_exceeds",
    "step_starts_before_previous_ends",
}
ALL_CODES |= {"steps_out_of_order", "step_without_date"}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_light_rows_give_the_same_report(author, language):
    plans = [every_finding_plan(author), PlanFactory(author=author), bulk_plan(author, 120, window_hours=3)]
    plans += [fuzz_plan(author, seed) for seed in range(6)]
    codes = set()
    with translation.override(language):
        for plan in plans:
            full, light = full_report(plan.pk), light_report(plan.pk)
            assert light == full, plan.title
            codes |= set(full.codes)
    assert codes >= ALL_CODES, ALL_CODES - codes  # every kind of finding was compared


def test_the_seed_and_bench_plans_give_the_same_report():
    from bench.data import create_plan
    from demo.plans import load_demo

    for plan in (load_demo(), create_plan(40, label="40")):
        assert light_report(plan.pk) == full_report(plan.pk)


def test_the_next_timed_step_is_found_as_by_looking_at_every_later_step(author):
    """check_slack's stack search against the plain search it replaced, on plans with steps out of order."""
    from changeplans.lint import Window, _next_later_timed, check_schedule

    for seed in range(8):
        plan = fuzz_plan(author, 100 + seed, count=80)
        steps = lint_data.load_lint_steps(plan.pk)
        slots, _findings = check_schedule(steps, Window.of(plan))
        found = _next_later_timed(steps, slots)
        for index, step in enumerate(steps):
            start = slots[step.id].start_best
            later = (
                slots[s.id] for s in steps[index + 1 :] if not slots[s.id].derived and slots[s.id].start_best > start
            )
            assert found[step.id] is next(later, None)


def test_the_cached_check_is_the_check_of_the_same_content(author):
    plan = bulk_plan(author, 12)
    steps = lint_data.load_lint_steps(plan.pk)
    first = lint_data.checked(plan, steps)
    assert lint_data.checked(plan, lint_data.load_lint_steps(plan.pk)) is first  # same content: reused
    with translation.override("en"):
        assert lint_data.checked(plan, steps) is not first  # the messages are in another language
    middle = steps[5]
    Step.objects.filter(pk=middle.pk).update(duration_min=300, duration_max=300)  # behind the services' back
    again = lint_data.checked(plan, lint_data.load_lint_steps(plan.pk))
    assert again is not first and again == light_report(plan.pk)
    Risk.objects.filter(step_id=steps[2].pk, number=2).update(mitigation="Теперь есть")
    assert lint_data.checked(plan, lint_data.load_lint_steps(plan.pk)) == light_report(plan.pk)
    plan.downtime_text, plan.downtime_max_minutes = "5 мин", 5
    assert lint_data.checked(plan, lint_data.load_lint_steps(plan.pk)) == lint_plan(
        plan, steps=lint_data.load_lint_steps(plan.pk)
    )


# --- queries do not grow with the plan -----------------------------------------------------------------------------


def middle(plan):
    steps = list(plan.steps.order_by("position"))
    return steps[len(steps) // 2]


def save_request(client, plan, kind, turn):
    """A prepared save of the plan's middle step (its own queries are not counted)."""
    step = middle(plan)
    step.refresh_from_db()
    if kind == "cell":
        url = reverse("changeplans:step_cell", args=[step.pk, "duration_text"])
        data = {"value": f"{10 + turn} мин", "revision": step.revision, "original": step.duration_text}
        return lambda: client.post(url, data, **HX)
    if kind == "risks":
        url, data = reverse("changeplans:step_risks", args=[step.pk]), risks_data(step, f"Риск {turn}")
        return lambda: client.post(url, data, **HX)
    if kind == "cancel":
        url = reverse("changeplans:step_row", args=[step.pk])
        return lambda: client.get(url, **HX)
    if kind == "move":
        url = reverse("changeplans:step_move", args=[step.pk])
        return lambda: client.post(url, {"direction": "down" if turn % 2 else "up"}, **HX)
    if kind == "add":
        url = reverse("changeplans:step_add", args=[plan.pk])
        return lambda: client.post(url, {"after": str(step.position)}, **HX)
    url = reverse("changeplans:step_delete", args=[step.pk])
    return lambda: client.post(url, **HX)


def queries_of(request):
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert response.status_code == 200, response.content.decode()[:500]
    return len(queries)


@pytest.mark.parametrize("kind", ["cell", "risks", "cancel", "move", "add", "delete"])
def test_the_query_count_of_a_save_is_the_same_at_10_100_and_500_steps(author_client, author, kind):
    plans = {size: bulk_plan(author, size) for size in (10, 100, 500)}
    queries_of(
        save_request(author_client, bulk_plan(author, 3), kind, 0)
    )  # the session's first request caches the user
    # A plan's first save checks it anew; the next one updates the kept check (lint_data.after_save): the same
    # count at every size, each.
    first = {size: queries_of(save_request(author_client, plan, kind, 1)) for size, plan in plans.items()}
    assert len(set(first.values())) == 1, first
    then = {size: queries_of(save_request(author_client, plan, kind, 2)) for size, plan in plans.items()}
    assert len(set(then.values())) == 1, then
    if kind in ("cell", "risks"):
        # The kept check: no step is read for the plan check (three queries), nor the generation again (one).
        assert then[10] == first[10] - 4
    if kind == "cell":
        assert then[10] <= 21, then


# --- the answer, applied to the page before, is the page after -------------------------------------------------

ROW = re.compile(r'<tr id="step-(\d+)".*?</tr>', re.S)
OOB_TRUE = ' hx-swap-oob="true"'


def page_of(client, plan):
    response = client.get(reverse("changeplans:plan_detail", args=[plan.pk]))
    assert response.status_code == 200
    return response.content.decode()


def rows_of(html):
    """Step rows by id, without what only an answer adds (out of band, the highlight of a moved or added row)."""
    return {
        int(match[1]): match[0].replace(OOB_TRUE, "").replace(" okno-highlight", "") for match in ROW.finditer(html)
    }


def panel_of(html):
    """The plan check panel as (badge, summary, [items]), and the total."""
    section = re.search(r'<section id="lint-panel".*?</section>', html, re.S)[0].replace(OOB_TRUE, "")
    badge = re.search(r'<span\b[^>]*id="lint-count"[^>]*>.*?</span>', section, re.S)[0]
    summary = re.search(r'<div class="mb-2">.*?</div>', section, re.S)[0]
    total = re.search(r'<dd [^>]*id="plan-total".*?</dd>', html, re.S)[0].replace(OOB_TRUE, "")
    return badge, summary, re.findall(r"<li\b.*?</li>", section, re.S), total


def item_address(item):
    code = re.search(r'data-code="([^"]+)"', item)[1]
    target = re.search(r'<a href="#[^"]*" data-okno-finding="([^"]+)"', item)
    return code, target[1] if target else None


def selector_address(selector):
    code = re.search(r"li\[data-code='([^']+)'\]", selector)[1]
    target = re.search(r"data-okno-finding='([^']+)'", selector)
    return code, target[1] if target else None


def apply_answer(before_html, answer):
    """What htmx makes of the page: rows replaced by id, the panel's parts and findings, the total."""
    rows = {} if 'id="steps-body"' in answer else rows_of(before_html)  # the whole table, or rows by id
    badge, summary, items, total = panel_of(before_html)
    for pk, row in rows_of(answer).items():
        rows[pk] = row
    whole = re.search(r'<section id="lint-panel"[^>]*hx-swap-oob="true".*?</section>', answer, re.S)
    if whole:
        badge, summary, items, _total = panel_of(whole[0] + '<dd id="plan-total"></dd>')
    for part in re.findall(r"<template>(.*?)</template>", answer, re.S):
        oob = re.search(r'hx-swap-oob="([^"]*)"', part)
        if 'id="lint-panel"' in part:
            continue  # the whole panel, read above
        if 'id="lint-count"' in part:
            badge = part.replace(OOB_TRUE, "")
        elif oob and oob[1] == f"outerHTML:{lint_panel.SUMMARY}":
            summary = part.replace(f' hx-swap-oob="{oob[1]}"', "")
        elif 'id="plan-total"' in part:
            total = part.replace(OOB_TRUE, "")
        elif oob and oob[1].startswith("delete:"):
            gone = selector_address(oob[1])
            assert sum(item_address(item) == gone for item in items) == 1
            items = [item for item in items if item_address(item) != gone]
        elif oob and oob[1].startswith("outerHTML:#lint-panel"):
            key = selector_address(oob[1])
            (index,) = [i for i, item in enumerate(items) if item_address(item) == key]
            items[index] = part.replace(f' hx-swap-oob="{oob[1]}"', "")
        elif oob and part.startswith("<ul "):
            new = re.findall(r"<li\b.*?</li>", part, re.S)
            if oob[1].startswith("afterbegin:"):
                index = 0
            else:
                after = selector_address(oob[1])
                (index,) = [i + 1 for i, item in enumerate(items) if item_address(item) == after]
            items[index:index] = new
    return rows, (badge, summary, items, total)


def check_answer(client, plan, save):
    """Save; the answer applied to the page before equals the page after (rows, plan check, total)."""
    before = page_of(client, plan)
    response = save()
    assert response.status_code == 200, response.content.decode()[:300]
    answer = response.content.decode()
    after = page_of(client, plan)
    rows, panel = apply_answer(before, answer)
    assert rows == rows_of(after)
    assert panel == panel_of(after)
    return answer


def cell(client, step, field, value):
    step.refresh_from_db()
    url = reverse("changeplans:step_cell", args=[step.pk, field])
    return lambda: client.post(url, {"value": value, "revision": step.revision, "original": ""}, **HX)


def test_a_longer_step_overlaps_the_next_and_moves_the_steps_that_follow_it(author_client, author):
    plan = bulk_plan(author, 40, window_hours=3)
    steps = list(plan.steps.order_by("position"))
    answer = check_answer(author_client, plan, cell(author_client, steps[9], "duration_text", "25 мин"))
    assert len(rows_of(answer)) >= 2  # the next step now starts before this one ends: its row is marked
    assert 'id="lint-panel"' not in answer  # the findings that changed, not the panel
    check_answer(author_client, plan, cell(author_client, steps[9], "duration_text", "5 мин"))
    check_answer(author_client, plan, cell(author_client, steps[2], "duration_text", "3 часа"))  # a derived chain moves


def test_a_new_time_moves_the_critical_path_and_the_end(author_client, author):
    plan = bulk_plan(author, 30)
    last = plan.steps.order_by("position").last()
    answer = check_answer(author_client, plan, cell(author_client, last, "planned_time", "23:30"))
    assert 'hx-swap-oob="outerHTML:#lint-panel .card-body > .mb-2"' in answer  # the projected end, not the panel
    check_answer(author_client, plan, cell(author_client, last, "planned_time", ""))


def test_edits_of_risks_executor_rollback_and_downtime(author_client, author):
    plan = every_finding_plan(author)
    steps = list(plan.steps.order_by("position"))
    check_answer(author_client, plan, cell(author_client, steps[2], "executor", "Иванов И.И."))
    check_answer(author_client, plan, cell(author_client, steps[3], "planned_downtime", "нет"))
    check_answer(author_client, plan, cell(author_client, steps[5], "duration_text", "10 мин"))
    check_answer(author_client, plan, cell(author_client, steps[0], "kind", StepKind.WORK))
    step = steps[1]
    url = reverse("changeplans:step_risks", args=[step.pk])
    check_answer(author_client, plan, lambda: author_client.post(url, risks_data(step, "Новый риск"), **HX))
    # Everything fixed at once: many findings go, the panel is updated by its parts or sent whole.
    check_answer(author_client, plan, cell(author_client, steps[8], "planned_date", "20.03.2025"))


def test_the_whole_panel_comes_when_findings_change_order_or_many_change(author_client, author):
    plan = bulk_plan(author, 80, window_hours=24, chain=True)
    first = plan.steps.order_by("position").first()
    answer = check_answer(author_client, plan, cell(author_client, first, "duration_text", "5 часов"))
    assert 'id="lint-panel"' in answer  # the assumed start of every step changed: the whole panel
    check_answer(author_client, plan, cell(author_client, first, "duration_text", "5 мин"))


@pytest.mark.parametrize("kind", ["move", "add", "delete", "cancel"])
def test_moves_inserts_and_deletes_answer_with_the_table_as_it_is(author_client, author, kind):
    plan = bulk_plan(author, 20)
    answer = check_answer(author_client, plan, save_request(author_client, plan, kind, 1))
    if kind != "cancel":
        assert 'id="steps-body"' in answer


def test_changes_by_address():
    def warning(code, step_id, message="m"):
        return LintWarning(code, "warning", message, step_id, "duration_text")

    a, b, c, d = (warning("no_slack_after_step", n) for n in (1, 2, 3, 4))
    found = lint_panel.changes([a, b, c], [a, warning("no_slack_after_step", 2, "другое"), d, c])
    assert found.deleted == [] and found.replaced == [("no_slack_after_step", "cell-2-duration_text")]
    assert found.inserted == [
        (("no_slack_after_step", "cell-2-duration_text"), [("no_slack_after_step", "cell-4-duration_text")])
    ]
    assert lint_panel.changes([a, b], [b, a]) is None  # another order: the whole list
    assert lint_panel.changes([a, a], [a]) is None  # an address twice
    assert lint_panel.changes([], [a]).inserted == [(None, [("no_slack_after_step", "cell-1-duration_text")])]


def test_the_page_keeps_the_check_and_saves_update_it(author_client, author):
    """The page keeps its check by the plan's generation (lint_data.current); the first save after it updates that
    one for its step, and so does the next: nothing is checked anew, nothing by content (lint_data.checked)."""
    plan = bulk_plan(author, 30)
    step = middle(plan)
    lint_data._REPORTS.clear()
    lint_data._CHECKS.clear()
    page_of(author_client, plan)
    ((page_key, page_check),) = lint_data._CHECKS.values()
    page_of(author_client, plan)
    assert list(lint_data._CHECKS.values()) == [(page_key, page_check)]  # the same generation: the same check
    response = cell(author_client, step, "duration_text", "20 мин")()
    assert response.status_code == 200
    ((first_key, first),) = lint_data._CHECKS.values()  # the "after", by generation
    assert first_key[0] > page_key[0] and first.steps is not page_check.steps
    cell(author_client, step, "duration_text", "25 мин")()
    ((key, kept),) = lint_data._CHECKS.values()
    assert key[0] > first_key[0] and kept.steps is not first.steps
    assert not lint_data._REPORTS  # no check of the whole plan by content
    assert kept.report == lint_plan(Plan.objects.get(pk=plan.pk), steps=lint_data.load_lint_steps(plan.pk))
