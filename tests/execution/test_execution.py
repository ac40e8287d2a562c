"""Board services: who may tick what and when, reasons, rollback mode, finishing, and two people at once."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection
from django.utils import timezone, translation

from changeplans.choices import EventKind, PlanStatus, StepKind, StepStatus
from changeplans.models import Plan, PlanEvent, RollbackAction, Step
from execution import transitions
from tests.factories import PartyFactory, PlanFactory, RiskFactory, RollbackActionFactory, StepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # Messages are asserted in their source language (the Russian catalogue is added separately).
    with translation.override("en"):
        yield


def make_plan(author, status=PlanStatus.APPROVED, starts_in=timedelta(minutes=-5)):
    start = (timezone.now() + starts_in).replace(microsecond=0)
    plan = PlanFactory(author=author, window_start=start, window_end=start + timedelta(hours=3))
    Plan.objects.filter(pk=plan.pk).update(status=status)
    plan.refresh_from_db()
    return plan


@pytest.fixture
def plan(author, engineer):
    plan = make_plan(author)
    StepFactory(plan=plan, position=1, name="Бэкап etcd")
    StepFactory(plan=plan, position=3, name="Проверка")
    step2 = StepFactory(
        plan=plan, position=2, name="Установка Calico", executor=PartyFactory(name="Инженер", user=engineer)
    )
    risks = [RiskFactory(step=step2, number=n, description=f"Риск {n}") for n in (5, 6, 7, 8)]
    action = RollbackActionFactory(step=step2, text="Устранить причину, вернуть Flannel")
    action.risks.set(risks)
    RollbackActionFactory(step=step2, position=2, text="Перезапустить поды")
    return plan


def step(plan, position):
    return Step.objects.get(plan=plan, position=position)


def history_of(obj):
    return list(
        PlanEvent.objects.filter(
            object_type=obj._meta.model_name, object_id=obj.pk, kind=EventKind.TRANSITION
        ).order_by("id")
    )


def start(plan, actor):
    return transitions.start_plan(plan.pk, actor=actor)


# --- starting the plan --------------------------------------------------------------------------------


def test_duty_officer_starts_an_approved_plan_once_the_window_has_come(plan, duty):
    started = start(plan, duty)
    assert started.status == PlanStatus.IN_PROGRESS and started.started_at is not None
    event = history_of(plan)[-1]
    assert (event.actor, event.from_status, event.to_status) == (duty, PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)
    # A second start is a clear conflict naming who started it
    with pytest.raises(transitions.AlreadyChanged, match="Иванов П.С."):
        start(plan, duty)


def test_starting_before_the_window_needs_a_reason(author, duty):
    early = make_plan(author, starts_in=timedelta(hours=1))
    with pytest.raises(ValidationError, match="give a reason"):
        transitions.start_plan(early.pk, actor=duty)
    assert Plan.objects.get(pk=early.pk).status == PlanStatus.APPROVED
    transitions.start_plan(early.pk, actor=duty, override_reason="Окно сдвинули по согласованию")
    assert "Окно сдвинули" in history_of(early)[-1].comment


def test_only_board_roles_start_and_only_an_approved_plan(author, duty, engineer):
    in_review = make_plan(author, status=PlanStatus.IN_REVIEW)
    with pytest.raises(PermissionDenied):
        transitions.start_plan(in_review.pk, actor=engineer)
    with pytest.raises(ValidationError, match="approved"):
        transitions.start_plan(in_review.pk, actor=duty)


# --- ticking steps -------------------------------------------------------------------------------------


def test_tick_sets_who_and_times_and_writes_one_history_entry_per_transition(
    plan, duty, django_capture_on_commit_callbacks
):
    start(plan, duty)
    seen = []
    transitions.on_step_changed.append(lambda plan_id, step_id: seen.append(step_id))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            transitions.tick(step(plan, 1).pk, "start", actor=duty, expected_status=StepStatus.PENDING)
        with django_capture_on_commit_callbacks(execute=True):
            transitions.tick(
                step(plan, 1).pk, "done", actor=duty, comment="Бэкап 1.2 ГБ", expected_status=StepStatus.IN_PROGRESS
            )
    finally:
        transitions.on_step_changed.pop()
    done = step(plan, 1)
    assert done.status == StepStatus.DONE
    assert done.started_by == duty and done.done_by == duty
    assert done.actual_start <= done.actual_end and done.comment == "Бэкап 1.2 ГБ"
    assert [(e.from_status, e.to_status, e.actor) for e in history_of(done)] == [
        (StepStatus.PENDING, StepStatus.IN_PROGRESS, duty),
        (StepStatus.IN_PROGRESS, StepStatus.DONE, duty),
    ]
    assert history_of(done)[-1].comment == "Бэкап 1.2 ГБ"
    assert seen == [done.pk, done.pk]


def test_ticks_only_while_in_progress(plan, duty):
    with pytest.raises(ValidationError, match="in progress"):
        transitions.tick(step(plan, 1).pk, "start", actor=duty)
    assert step(plan, 1).status == StepStatus.PENDING


def test_who_may_tick(plan, duty, operator, engineer, author):
    start(plan, duty)
    # The author without a board role is not the step's responsible: refused
    with pytest.raises(PermissionDenied):
        transitions.tick(step(plan, 1).pk, "start", actor=author)
    # The engineer may tick his own step but not another one
    with pytest.raises(PermissionDenied):
        transitions.tick(step(plan, 1).pk, "start", actor=engineer)
    transitions.tick(step(plan, 2).pk, "start", actor=engineer)
    assert step(plan, 2).started_by == engineer
    # An operator may tick any step
    transitions.tick(step(plan, 1).pk, "start", actor=operator)
    assert step(plan, 1).status == StepStatus.IN_PROGRESS
    assert PlanEvent.objects.filter(plan=plan, actor=author).count() == 0


@pytest.mark.parametrize("action,status", [("failed", StepStatus.IN_PROGRESS), ("skip", StepStatus.PENDING)])
def test_failed_and_skip_need_a_reason(plan, duty, action, status):
    start(plan, duty)
    if status == StepStatus.IN_PROGRESS:
        transitions.tick(step(plan, 1).pk, "start", actor=duty)
    with pytest.raises(ValidationError, match="reason"):
        transitions.tick(step(plan, 1).pk, action, actor=duty, comment="   ")
    assert step(plan, 1).status == status
    transitions.tick(step(plan, 1).pk, action, actor=duty, comment="Диск заполнен")
    assert history_of(step(plan, 1))[-1].comment == "Диск заполнен"


def test_wrong_mark_for_the_state_and_unknown_action(plan, duty):
    start(plan, duty)
    with pytest.raises(transitions.StepStateError):
        transitions.tick(step(plan, 1).pk, "done", actor=duty)  # not started
    with pytest.raises(ValidationError):
        transitions.tick(step(plan, 1).pk, "explode", actor=duty)


def test_retry_brings_a_failed_step_back_to_pending(plan, duty):
    start(plan, duty)
    transitions.tick(step(plan, 1).pk, "start", actor=duty)
    transitions.tick(step(plan, 1).pk, "failed", actor=duty, comment="Таймаут")
    transitions.tick(step(plan, 1).pk, "retry", actor=duty, expected_status=StepStatus.FAILED)
    again = step(plan, 1)
    assert again.status == StepStatus.PENDING and again.actual_start is None and again.started_by is None
    assert [e.to_status for e in history_of(again)] == [StepStatus.IN_PROGRESS, StepStatus.FAILED, StepStatus.PENDING]


def test_stale_expected_status_is_refused_with_who_and_when(plan, duty, operator):
    start(plan, duty)
    transitions.tick(step(plan, 1).pk, "start", actor=duty, expected_status=StepStatus.PENDING)
    transitions.tick(step(plan, 1).pk, "done", actor=duty, expected_status=StepStatus.IN_PROGRESS)
    with pytest.raises(transitions.AlreadyChanged) as caught:
        transitions.tick(step(plan, 1).pk, "done", actor=operator, expected_status=StepStatus.IN_PROGRESS)
    when = timezone.localtime(step(plan, 1).actual_end, plan.tz).strftime("%H:%M")
    assert str(caught.value) == f"The step is already marked “DONE” by Иванов П.С. at {when}."
    assert len(history_of(step(plan, 1))) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_tick_the_same_step_at_once_one_wins(author, engineer, duty, operator):
    # Given a running plan whose step 1 is in progress
    plan = make_plan(author)
    target = StepFactory(plan=plan, position=1)
    transitions.start_plan(plan.pk, actor=duty)
    transitions.tick(target.pk, "start", actor=duty, expected_status=StepStatus.PENDING)
    # When two people press "done" at the same moment (each in its own connection)
    barrier = threading.Barrier(2)
    results = {}

    def press(user):
        try:
            barrier.wait(timeout=10)
            transitions.tick(
                target.pk, "done", actor=user, comment=f"от {user.username}", expected_status=StepStatus.IN_PROGRESS
            )
            results[user.username] = "ok"
        except transitions.AlreadyChanged as exc:
            results[user.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(user,)) for user in (duty, operator)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    close_old_connections()
    # Then exactly one wins, the other is told who was first, and the history has one "done"
    winners = [name for name, value in results.items() if value == "ok"]
    losers = [value for value in results.values() if value != "ok"]
    assert len(winners) == 1 and len(losers) == 1, results
    winner = {"duty": duty, "operator": operator}[winners[0]]
    from changeplans.roles import display_name

    assert display_name(winner) in str(losers[0])
    done_events = PlanEvent.objects.filter(object_type="step", object_id=target.pk, to_status=StepStatus.DONE)
    assert done_events.count() == 1 and done_events.get().actor == winner
    final = Step.objects.get(pk=target.pk)
    assert final.done_by == winner and final.comment == f"от {winner.username}"


# --- rollback ------------------------------------------------------------------------------------------


def fail_step_2(plan, actor):
    transitions.tick(step(plan, 2).pk, "start", actor=actor)
    transitions.tick(step(plan, 2).pk, "failed", actor=actor, comment="Поды Calico в CrashLoopBackOff")


def test_rollback_mode(plan, duty, engineer, author):
    start(plan, duty)
    transitions.tick(step(plan, 1).pk, "start", actor=duty)
    transitions.tick(step(plan, 1).pk, "done", actor=duty)
    fail_step_2(plan, duty)
    first, second = RollbackAction.objects.filter(step=step(plan, 2)).order_by("position")
    assert first.label() == "5/6/7/8"
    # Rollback actions wait for rollback mode
    with pytest.raises(ValidationError, match="rollback mode"):
        transitions.tick_rollback(first.pk, "start", actor=duty)
    # Only board roles switch, with a reason
    with pytest.raises(PermissionDenied):
        transitions.enter_rollback(plan.pk, actor=engineer, reason="x")
    with pytest.raises(ValidationError):
        transitions.enter_rollback(plan.pk, actor=duty, reason="")
    transitions.enter_rollback(plan.pk, actor=duty, reason="Calico не поднялся")
    assert Plan.objects.get(pk=plan.pk).rollback_started_at is not None
    mode = PlanEvent.objects.get(plan=plan, object_type="plan_mode")
    assert (mode.from_status, mode.to_status, mode.comment, mode.actor) == (
        "normal",
        "rollback",
        "Calico не поднялся",
        duty,
    )
    with pytest.raises(transitions.AlreadyChanged):
        transitions.enter_rollback(plan.pk, actor=duty, reason="ещё раз")
    # In rollback mode the steps themselves are no longer ticked
    with pytest.raises(ValidationError, match="rollback mode"):
        transitions.tick(step(plan, 2).pk, "retry", actor=duty)
    with pytest.raises(ValidationError, match="rollback mode"):
        transitions.tick(step(plan, 3).pk, "start", actor=duty)
    # The step's responsible ticks its rollback actions; others without a role cannot
    with pytest.raises(PermissionDenied):
        transitions.tick_rollback(first.pk, "start", actor=author)
    transitions.tick_rollback(first.pk, "start", actor=engineer, expected_status=StepStatus.PENDING)
    with pytest.raises(transitions.AlreadyChanged):
        transitions.tick_rollback(first.pk, "start", actor=duty, expected_status=StepStatus.PENDING)
    transitions.tick_rollback(first.pk, "done", actor=engineer, comment="Flannel вернули")
    with pytest.raises(ValidationError, match="reason"):
        transitions.tick_rollback(second.pk, "skip", actor=duty)
    assert step(plan, 2).status == StepStatus.FAILED
    transitions.tick_rollback(second.pk, "skip", actor=duty, comment="Не понадобилось")
    # Every rollback action finished: the step is rolled back
    assert step(plan, 2).status == StepStatus.ROLLED_BACK
    first.refresh_from_db()
    assert first.status == StepStatus.DONE and first.done_by == engineer and first.comment == "Flannel вернули"
    assert [e.to_status for e in history_of(first)] == [StepStatus.IN_PROGRESS, StepStatus.DONE]
    assert history_of(step(plan, 2))[-1].to_status == StepStatus.ROLLED_BACK


def test_rollback_actions_of_a_step_that_did_not_fail_are_not_ticked(plan, duty):
    start(plan, duty)
    transitions.enter_rollback(plan.pk, actor=duty, reason="Решили откатиться")
    action = RollbackAction.objects.filter(step=step(plan, 2)).first()
    with pytest.raises(ValidationError, match="failed step"):
        transitions.tick_rollback(action.pk, "start", actor=duty)


# --- finishing -----------------------------------------------------------------------------------------


def test_completed_needs_every_step_done_or_skipped(plan, duty, engineer):
    start(plan, duty)
    with pytest.raises(ValidationError, match="1, 2, 3"):
        transitions.finish_plan(plan.pk, actor=duty, outcome="completed")
    transitions.tick(step(plan, 1).pk, "skip", actor=duty, comment="Бэкап сделан заранее")
    transitions.tick(step(plan, 2).pk, "start", actor=engineer)
    transitions.tick(step(plan, 2).pk, "done", actor=engineer)
    transitions.tick(step(plan, 3).pk, "skip", actor=duty, comment="Не нужно")
    with pytest.raises(PermissionDenied):
        transitions.finish_plan(plan.pk, actor=engineer, outcome="completed")
    finished = transitions.finish_plan(plan.pk, actor=duty, outcome="completed", comment="Всё штатно")
    assert finished.status == PlanStatus.COMPLETED and finished.finished_at is not None
    assert history_of(plan)[-1].to_status == PlanStatus.COMPLETED
    with pytest.raises(transitions.AlreadyChanged):
        transitions.finish_plan(plan.pk, actor=duty, outcome="completed")
    # After the end no more ticks
    with pytest.raises(ValidationError):
        transitions.tick(step(plan, 1).pk, "retry", actor=duty)


def test_completed_with_rollback_needs_rollback_mode_and_failed_needs_a_comment(plan, duty):
    start(plan, duty)
    transitions.tick(step(plan, 1).pk, "start", actor=duty)
    fail_step_2(plan, duty)
    with pytest.raises(ValidationError, match="rollback mode"):
        transitions.finish_plan(plan.pk, actor=duty, outcome="completed_with_rollback")
    transitions.enter_rollback(plan.pk, actor=duty, reason="Откат")
    with pytest.raises(ValidationError, match="rollback"):
        transitions.finish_plan(plan.pk, actor=duty, outcome="completed")
    # Step 1 still runs: nothing ends with rollback before it is ended; in rollback mode it may be
    with pytest.raises(ValidationError, match="in progress"):
        transitions.finish_plan(plan.pk, actor=duty, outcome="completed_with_rollback")
    transitions.tick(step(plan, 1).pk, "done", actor=duty)
    with pytest.raises(ValidationError, match="failed"):
        transitions.finish_plan(plan.pk, actor=duty, outcome="failed")
    with pytest.raises(ValidationError):
        transitions.finish_plan(plan.pk, actor=duty, outcome="whatever")
    transitions.finish_plan(plan.pk, actor=duty, outcome="completed_with_rollback", comment="Вернули Flannel")
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.COMPLETED_WITH_ROLLBACK


def test_failed_outcome(plan, duty):
    start(plan, duty)
    transitions.finish_plan(plan.pk, actor=duty, outcome="failed", comment="Кластер недоступен")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FAILED and history_of(plan)[-1].comment == "Кластер недоступен"


# --- automatic steps ------------------------------------------------------------------------------------


def test_okno_itself_ticks_automatic_steps_in_an_approved_plan(author):
    plan = make_plan(author)
    banner = StepFactory(plan=plan, position=1, kind=StepKind.BANNER_ON)
    transitions.tick(banner.pk, "start", actor=None)
    transitions.tick(banner.pk, "done", actor=None, comment="Баннер включён")
    banner.refresh_from_db()
    assert banner.status == StepStatus.DONE and banner.done_by is None and banner.started_by is None
    assert [e.actor for e in history_of(banner)] == [None, None]
    # Not in a plan that is not approved
    draft = make_plan(author, status=PlanStatus.DRAFT)
    other = StepFactory(plan=draft, position=1, kind=StepKind.BANNER_ON)
    with pytest.raises(ValidationError):
        transitions.tick(other.pk, "start", actor=None)


def test_the_status_cannot_be_assigned_directly(plan):
    target = step(plan, 1)
    with pytest.raises(AttributeError):
        target.status = StepStatus.DONE
