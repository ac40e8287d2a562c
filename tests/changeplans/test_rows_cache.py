"""The plan page's rendered rows are kept in the cache under a digest of everything a row shows
(changeplans.rows.rows_cache_key): a second look renders nothing, and every change a row shows gives a new key,
so the page is never stale (issue 16). Each test changes one input and compares the page with a render from an
empty cache."""

import datetime
import re
import uuid
from unittest import mock

import pytest
from django.urls import reverse

from changeplans import rows, services
from changeplans.models import Plan, Risk, RollbackAction, Step
from runbooks.models import StepAutomation
from tests.factories import PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author)
    party = PartyFactory(name="Дежурный ООФИС")
    for position in (1, 2, 3):
        step = StepFactory(plan=plan, position=position, name=f"Шаг {position}", executor=party)
        risk = RiskFactory(step=step, number=1, description=f"Риск {position}")
        RollbackActionFactory(step=step, text=f"Откат {position}").risks.add(risk)
    return plan


def steps_body(client, plan):
    html = client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    return re.search(r'<tbody id="steps-body".*?</tbody>', html, re.S).group(0)


def fresh_keys():
    """Every key new, as in an empty cache, without emptying the shared one (Redis in the tests)."""
    salt = uuid.uuid4().hex
    return mock.patch.object(rows, "_code_version", lambda: salt)


def page_rows(client, plan):
    """The rows as the page shows them now, after checking they are what an empty cache renders."""
    shown = steps_body(client, plan)
    with fresh_keys():
        assert shown == steps_body(client, plan), "the cached rows are stale"
    return shown


def first_step(plan):
    return Step.objects.get(plan=plan, position=1)


def test_a_second_look_renders_no_row(author_client, plan, monkeypatch):
    salt = uuid.uuid4().hex  # keys no earlier run left in the cache
    monkeypatch.setattr(rows, "_code_version", lambda: salt)
    rendered = []
    render_row = rows.render_row
    monkeypatch.setattr(rows, "render_row", lambda ctx, step, **kw: rendered.append(step.pk) or render_row(ctx, step))
    first = steps_body(author_client, plan)
    assert len(rendered) == 3
    assert steps_body(author_client, plan) == first
    assert len(rendered) == 3  # the second page came from the cache


def test_an_edited_cell_shows(author_client, author, plan):
    page_rows(author_client, plan)
    step = first_step(plan)
    services.update_step_cell(step.pk, actor=author, field="name", value="Новое имя", revision=step.revision)
    assert "Новое имя" in page_rows(author_client, plan)


def test_a_save_of_the_same_value_shows_the_new_revision(author_client, author, plan):
    page_rows(author_client, plan)
    step = first_step(plan)
    services.update_step_cell(step.pk, actor=author, field="name", value=step.name, revision=step.revision)
    assert f'data-revision="{step.revision + 1}"' in page_rows(author_client, plan)


def test_risks_and_rollback_actions_show(author_client, plan):
    page_rows(author_client, plan)
    step = first_step(plan)
    Risk.objects.filter(step=step).update(description="Риск, изменённый в администрировании")
    assert "Риск, изменённый в администрировании" in page_rows(author_client, plan)
    RollbackAction.objects.filter(step=step).update(text="Другой откат")
    assert "Другой откат" in page_rows(author_client, plan)
    action = RollbackAction.objects.get(step=step)
    action.risks.add(RiskFactory(step=step, number=7, description="Ещё риск"))
    assert "1/7. Другой откат" in page_rows(author_client, plan)


def test_a_renamed_executor_and_who_did_it_show(author_client, plan):
    page_rows(author_client, plan)
    step = first_step(plan)
    step.executor.name = "ООО «ПрофСофт»"
    step.executor.save()
    assert "ООО «ПрофСофт»" in page_rows(author_client, plan)
    doer = UserFactory(username="doer", last_name="Петров", first_name="И.")
    Step.objects.filter(pk=step.pk).update(status="done", done_by=doer)
    shown = page_rows(author_client, plan)
    assert 'data-status="done"' in shown and "Петров И." in shown
    doer.last_name = "Сидоров"
    doer.save()
    assert "Сидоров И." in page_rows(author_client, plan)


def test_the_plan_checks_highlights_show(author_client, plan):
    before = page_rows(author_client, plan)
    # a window that starts a day later changes no step: the stated start times before it are highlighted
    Plan.objects.filter(pk=plan.pk).update(
        window_start=plan.window_start + datetime.timedelta(days=1),
        window_end=plan.window_end + datetime.timedelta(days=1),
    )
    assert page_rows(author_client, plan).count("okno-warn") > before.count("okno-warn")


def test_a_derived_start_shows(author_client, plan):
    # without a date and time the first step starts with the window: its row shows that derived start
    Step.objects.filter(plan=plan, position=1).update(planned_time=None, planned_date=None)
    before = page_rows(author_client, plan)
    assert "≈" in before
    # an earlier window changes no step, only the derived start the plan check gives the first one
    Plan.objects.filter(pk=plan.pk).update(window_start=plan.window_start - datetime.timedelta(hours=1))
    after = page_rows(author_client, plan)
    assert re.findall("≈[0-9:]+", after) != re.findall("≈[0-9:]+", before)


def test_the_viewer_and_the_language_decide(client, author, plan):
    client.force_login(author)
    mine = page_rows(client, plan)
    client.force_login(UserFactory(username="reader"))
    theirs = steps_body(client, plan)  # the cache holds the author's rows: they must not be served
    assert "okno-row-actions" in mine and "okno-row-actions" not in theirs
    assert theirs == page_rows(client, plan)
    # a reader's rows carry no per-viewer parts: only the language tells them apart
    client.cookies["django_language"] = "en"
    english = steps_body(client, plan)
    assert english != theirs and ">NOT DONE<" in english
    assert english == page_rows(client, plan)


def test_a_new_step_and_automation_show(author_client, author, plan):
    before = page_rows(author_client, plan)
    last = Step.objects.get(plan=plan, position=3)
    assert re.search(rf'<tr id="step-{last.pk}".*?okno-move-down[^>]*disabled', before, re.S)
    services.add_step(plan.pk, actor=author)
    after = page_rows(author_client, plan)
    # the former last step may move down now
    assert not re.search(rf'<tr id="step-{last.pk}"(?:(?!<tr id="step-).)*okno-move-down[^>]*disabled', after, re.S)
    StepAutomation.objects.create(step=first_step(plan), kind="shell", spec={"argv": ["true"]}, params={})
    assert "okno-automation-badge" in page_rows(author_client, plan)


def test_a_long_plan_checks_findings_come_from_the_cache_and_follow_each_change(monkeypatch):
    from django.utils import translation

    from changeplans.lint import LintWarning

    salt = uuid.uuid4().hex
    monkeypatch.setattr(rows, "_code_version", lambda: salt)
    findings = [
        LintWarning("slack", "warning", f"Шаг {n}: нет запаса", step_id=n, field="duration_text") for n in range(150)
    ]
    rendered = []
    lint_items = rows.lint_items
    monkeypatch.setattr(rows, "lint_items", lambda warnings: rendered.append(1) or lint_items(warnings))
    with translation.override("ru"):
        first = rows.page_lint_items(findings)
        assert first == lint_items(findings) and rows.page_lint_items(findings) == first
        assert len(rendered) == 1  # the second came from the cache
        changed = [
            [*findings[:-1], LintWarning("slack", "warning", "Другой текст", step_id=149, field="duration_text")],
            [*findings[:-1], LintWarning("slack", "error", "Шаг 149: нет запаса", step_id=149, field="duration_text")],
            [
                *findings[:-1],
                LintWarning("other", "warning", "Шаг 149: нет запаса", step_id=149, field="duration_text"),
            ],
            [*findings[:-1], LintWarning("slack", "warning", "Шаг 149: нет запаса", step_id=149, field="name")],
            findings[:-1],
        ]
        for warnings in changed:
            assert rows.page_lint_items(warnings) == lint_items(warnings) != first
    with translation.override("en"):
        assert rows.page_lint_items(findings) == lint_items(findings) != first
