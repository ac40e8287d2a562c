"""The plan check kept by generation (changeplans/lint_data.py, migration 0014_lint_generation): every write to what
the check reads bumps the plan's generation, whoever writes; a kept check is never shown for another state; a
save updates the kept check for its step and its answer is the page after it."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse

from changeplans import lint_data, services
from changeplans.lint import check_plan
from changeplans.models import Plan, Risk, RollbackAction, Step
from tests.changeplans.test_cell_save_fast import risks_data
from tests.changeplans.test_save_scale import HX, bulk_plan, cell, check_answer, middle, page_of, rows_of
from tests.factories import StepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def generation(plan):
    return lint_data.with_generation(Plan.objects.filter(pk=plan.pk)).get().lint_generation


def test_every_write_to_what_the_check_reads_bumps_the_generation(author):
    plan = bulk_plan(author, 5)
    other = bulk_plan(author, 3)
    steps = list(plan.steps.order_by("position"))
    step = steps[2]
    writes = [
        lambda: Step.objects.filter(pk=step.pk).update(duration_min=99),
        lambda: Step.objects.filter(pk=step.pk).update(planned_time=datetime.time(23, 0)),
        lambda: Step.objects.filter(pk=step.pk).update(executor=None),
        lambda: Step.objects.filter(pk=step.pk).update(risk_mitigation="1. Новое"),
        lambda: Step.objects.filter(pk=step.pk).update(no_rollback_needed=True),
        lambda: Step.objects.filter(pk=step.pk).update(planned_downtime="до 5 мин"),
        lambda: Step.objects.filter(pk=step.pk).update(kind="announcement"),
        lambda: plan.steps.update(position=100 + Step.objects.get(pk=step.pk).position),  # every step at once
        lambda: Risk.objects.filter(step=step, number=1).update(mitigation=""),
        lambda: Risk.objects.create(step=step, number=7, description="Ещё"),
        lambda: Risk.objects.filter(step=step, number=7).delete(),
        lambda: RollbackAction.objects.filter(step=step).update(text="нет"),
        lambda: RollbackAction.objects.create(step=step, position=5, text="Вернуть"),
        lambda: StepFactory(plan=plan, position=50),
        lambda: Step.objects.filter(pk=steps[0].pk).delete(),  # with its risks and actions
        lambda: Step.objects.filter(pk=steps[1].pk).update(plan=other),  # moved to another plan: both change
    ]
    for write in writes:
        before, before_other = generation(plan), generation(other)
        write()
        assert generation(plan) > before, write
    assert generation(other) > before_other


def test_writes_the_check_does_not_read_leave_it(author):
    plan = bulk_plan(author, 4)
    step = middle(plan)
    step.save()  # stores the downtime's minutes (bulk_plan writes in bulk, without them): a change the check reads
    start = generation(plan)
    Step.objects.filter(pk=step.pk).update(name="Другое имя", description="Текст", status="done", revision=9)
    Risk.objects.filter(step=step).update(description="Другой риск")
    step.refresh_from_db()
    step.save()  # every column written again with the same values
    assert generation(plan) == start


def test_a_kept_check_is_never_the_check_of_another_state(author):
    plan = bulk_plan(author, 12)
    fresh = lint_data.with_generation(Plan.objects.filter(pk=plan.pk)).get()
    steps, report = lint_data.current(fresh)
    assert lint_data.current(fresh)[1] is report  # the same generation: kept
    ids = [step.id for step in steps]
    for write in (
        lambda: Step.objects.filter(pk=ids[5]).update(duration_min=300, duration_max=300),
        lambda: Risk.objects.filter(step_id=ids[2], number=2).update(mitigation="Теперь есть"),
        lambda: RollbackAction.objects.filter(step_id=ids[3]).delete(),
    ):
        write()  # behind the services' back
        fresh = lint_data.with_generation(Plan.objects.filter(pk=plan.pk)).get()
        steps, report = lint_data.current(fresh)
        assert report == check_plan(fresh, lint_data.load_lint_steps(plan.pk)).report
    fresh.downtime_text, fresh.downtime_max_minutes = "5 мин", 5  # the header is part of the key
    assert lint_data.current(fresh)[1] == check_plan(fresh, lint_data.load_lint_steps(plan.pk)).report


def test_a_save_tells_the_generations_around_its_own_writes(author):
    plan = bulk_plan(author, 6)
    step = middle(plan)
    start = generation(plan)
    saved = services.update_step_cell(
        step.pk, actor=author, field="duration_text", value="17 мин", revision=step.revision
    )
    change = saved.lint_change
    assert (change.before, change.after) == (start, generation(plan)) and change.after > change.before
    assert change.columns == lint_data.columns_of(Step.objects.get(pk=step.pk)) and change.risks is None
    named = services.update_step_cell(step.pk, actor=author, field="name", value="Имя", revision=saved.revision)
    assert named.lint_change.before == named.lint_change.after  # nothing the check reads


@pytest.fixture
def kept_saves(monkeypatch):
    """The saves whose answer came from the kept check (lint_data.after_save), and those checked anew."""
    seen = {"kept": 0, "anew": 0}
    after_save = lint_data.after_save

    def spy(plan, change):
        result = after_save(plan, change)
        seen["kept" if result is not None else "anew"] += 1
        return result

    monkeypatch.setattr(lint_data, "after_save", spy)
    return seen


def test_saves_update_the_kept_check_and_answer_with_the_page_after(author_client, author, kept_saves):
    plan = bulk_plan(author, 40, window_hours=3)
    steps = list(plan.steps.order_by("position"))
    # check_answer opens the page first: it keeps the check, so even the first save updates it
    check_answer(author_client, plan, cell(author_client, steps[5], "duration_text", "25 мин"))
    for value in ("5 мин", "2 часа", "10 мин"):
        check_answer(author_client, plan, cell(author_client, steps[5], "duration_text", value))
    check_answer(author_client, plan, cell(author_client, steps[4], "executor", "Петров П.П."))
    check_answer(author_client, plan, cell(author_client, steps[4], "planned_downtime", "до 50 мин"))
    url = reverse("changeplans:step_risks", args=[steps[6].pk])
    check_answer(author_client, plan, lambda: author_client.post(url, risks_data(steps[6], "Новый риск"), **HX))
    assert kept_saves == {"kept": 7, "anew": 0}


def test_a_write_behind_the_services_back_is_never_hidden_by_the_kept_check(author_client, author, kept_saves):
    plan = bulk_plan(author, 30, window_hours=3)
    steps = list(plan.steps.order_by("position"))
    check_answer(author_client, plan, cell(author_client, steps[5], "duration_text", "25 мин"))
    assert kept_saves == {"kept": 1, "anew": 0}  # the page kept the check, the save updated it
    page_of(author_client, plan)  # the same generation: the page shows (and keeps) that check
    Step.objects.filter(pk=steps[20].pk).update(duration_min=200, duration_max=200)  # e.g. the admin
    answer = cell(author_client, steps[5], "duration_text", "5 мин")().content.decode()
    assert kept_saves == {"kept": 1, "anew": 1}  # the kept check was of the generation before that write
    after = page_of(author_client, plan)
    assert steps[5].pk in rows_of(answer)
    for pk, row in rows_of(answer).items():
        assert row == rows_of(after)[pk]  # every row the answer sends is the row of the state after the write
    # that page kept the check of the new generation: the next save updates it
    check_answer(author_client, plan, cell(author_client, steps[5], "duration_text", "15 мин"))
    assert kept_saves == {"kept": 2, "anew": 1}


def test_a_write_after_the_save_and_before_its_answer_is_shown(author, kept_saves):
    """The answer reads the plan after the save: a later generation than the save's means another write came."""
    plan = bulk_plan(author, 8)
    step = middle(plan)
    fresh = lint_data.with_generation(Plan.objects.filter(pk=plan.pk)).get()
    lint_data.current(fresh)  # kept
    saved = services.update_step_cell(
        step.pk, actor=author, field="duration_text", value="9 мин", revision=step.revision
    )
    Step.objects.filter(pk=plan.steps.order_by("position").first().pk).update(duration_min=1)
    fresh = lint_data.with_generation(Plan.objects.filter(pk=plan.pk)).get()
    assert lint_data.after_save(fresh, saved.lint_change) is None
    assert lint_data.current(fresh)[1] == check_plan(fresh, lint_data.load_lint_steps(plan.pk)).report


def test_no_generation_on_other_databases(author, monkeypatch):
    plan = bulk_plan(author, 3)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert lint_data.lock_generation(plan.pk) is None
    assert not hasattr(lint_data.with_generation(Plan.objects.filter(pk=plan.pk)).get(), "lint_generation")


def test_without_generations_saves_check_the_plan_as_before(author_client, author, kept_saves, monkeypatch):
    """SQLite's path (no triggers): the step as it was is prefetched and the plan checked from light rows."""
    monkeypatch.setattr(lint_data, "generations", lambda: False)
    plan = bulk_plan(author, 30, window_hours=3)
    steps = list(plan.steps.order_by("position"))
    for value in ("25 мин", "5 мин"):
        check_answer(author_client, plan, cell(author_client, steps[5], "duration_text", value))
    url = reverse("changeplans:step_risks", args=[steps[6].pk])
    check_answer(author_client, plan, lambda: author_client.post(url, risks_data(steps[6], "Новый риск"), **HX))
    assert kept_saves == {"kept": 0, "anew": 3}
