"""Rollback mode on the board: skip the remaining rollback actions with one reason; the header after the end
(issue 15, item 5)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import PlanEvent, RollbackAction, Step
from execution import transitions
from tests.execution.test_board_views import HTMX, board_url, make_plan, toast
from tests.factories import RollbackActionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def rolled_back(author, duty):
    """Started; step 1 done, step 2 failed with three rollback actions (the first in progress); rollback mode."""
    plan = make_plan(author)
    transitions.start_plan(plan.pk, actor=duty)
    first, second = Step.objects.get(plan=plan, position=1), Step.objects.get(plan=plan, position=2)
    transitions.tick(first.pk, "start", actor=duty)
    transitions.tick(first.pk, "done", actor=duty)
    RollbackActionFactory(step=second, position=2, text="Вернуть конфигурацию")
    RollbackActionFactory(step=second, position=3, text="Перезапустить поды")
    transitions.tick(second.pk, "start", actor=duty)
    transitions.tick(second.pk, "failed", actor=duty, comment="Сбой")
    transitions.enter_rollback(plan.pk, actor=duty, reason="Откатываем")
    running = second.rollback_actions.order_by("position", "id").first()
    transitions.tick_rollback(running.pk, "start", actor=duty)
    return plan, second, running


def test_skip_the_remaining_rollback_actions_with_one_reason(rolled_back, duty):
    plan, step, running = rolled_back
    skipped = transitions.skip_remaining_rollback(plan.pk, actor=duty, reason="Сервис восстановлен первым действием")
    assert len(skipped) == 2
    statuses = dict(step.rollback_actions.values_list("pk", "status"))
    assert statuses.pop(running.pk) == StepStatus.IN_PROGRESS  # one in progress is left to be finished
    assert set(statuses.values()) == {StepStatus.SKIPPED}
    # One history entry per action, each with the reason and who skipped it
    events = PlanEvent.objects.filter(object_type="rollbackaction", to_status=StepStatus.SKIPPED)
    assert events.count() == 2
    assert {(e.actor, e.comment) for e in events} == {(duty, "Сервис восстановлен первым действием")}
    assert Step.objects.get(pk=step.pk).status == StepStatus.FAILED
    transitions.tick_rollback(running.pk, "done", actor=duty)
    assert Step.objects.get(pk=step.pk).status == StepStatus.ROLLED_BACK
    # Nothing left: a clear refusal
    with pytest.raises(transitions.StepStateError, match="No rollback action is left"):
        transitions.skip_remaining_rollback(plan.pk, actor=duty, reason="Ещё раз")


def test_a_step_whose_actions_are_all_skipped_is_rolled_back(author, duty):
    plan = make_plan(author)
    transitions.start_plan(plan.pk, actor=duty)
    step = Step.objects.get(plan=plan, position=3)
    transitions.tick(step.pk, "start", actor=duty)
    transitions.tick(step.pk, "failed", actor=duty, comment="Сбой")
    transitions.enter_rollback(plan.pk, actor=duty, reason="Откатываем")
    transitions.skip_remaining_rollback(plan.pk, actor=duty, reason="Откат не нужен")
    assert Step.objects.get(pk=step.pk).status == StepStatus.ROLLED_BACK


def test_who_and_when_may_skip_the_remaining_actions(rolled_back, author, duty, engineer):
    plan, step, _running = rolled_back
    with pytest.raises(PermissionDenied):
        transitions.skip_remaining_rollback(plan.pk, actor=engineer, reason="Причина")
    with pytest.raises(ValidationError, match="Give a reason"):
        transitions.skip_remaining_rollback(plan.pk, actor=duty, reason="  ")
    assert not RollbackAction.objects.filter(step=step, status=StepStatus.SKIPPED).exists()
    other = make_plan(author)
    transitions.start_plan(other.pk, actor=duty)
    with pytest.raises(ValidationError, match="rollback mode"):
        transitions.skip_remaining_rollback(other.pk, actor=duty, reason="Причина")


def test_the_board_offers_the_skip_and_counts_outcomes_apart(client, rolled_back, duty):
    plan, step, _running = rolled_back
    client.force_login(duty)
    html = client.get(board_url(plan)).content.decode()
    url = reverse("execution:board_skip_rollback", args=[plan.pk])
    assert 'id="rollback-banner"' in html and f'action="{url}"' in html
    assert "Skip the remaining rollback actions (2)…" in html
    assert '<span id="board-progress">1/3</span>' in html and "failed: 1" in html
    # Without a reason nothing is skipped (422, the form keeps what was typed)
    assert client.post(url, {"reason": ""}, **HTMX).status_code == 422
    response = client.post(url, {"reason": "Сервис восстановлен"}, **HTMX)
    assert response.status_code == 200 and toast(response) == "Rollback actions skipped: 2."
    assert "Skip the remaining rollback" not in response.content.decode()


def test_an_ended_plan_shows_no_rollback_banner_and_a_rolled_back_step_is_not_done(client, rolled_back, duty):
    plan, step, running = rolled_back
    transitions.skip_remaining_rollback(plan.pk, actor=duty, reason="Сервис восстановлен")
    transitions.tick_rollback(running.pk, "done", actor=duty)
    transitions.finish_plan(plan.pk, actor=duty, outcome="completed_with_rollback")
    assert plan.__class__.objects.get(pk=plan.pk).status == PlanStatus.COMPLETED_WITH_ROLLBACK
    client.force_login(duty)
    html = client.get(board_url(plan)).content.decode()
    assert 'id="rollback-banner"' not in html
    assert '<span id="board-progress">1/3</span>' in html and "(rolled back: 1)" in html
