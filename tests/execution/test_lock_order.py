"""One lock order between the web process and the workers: scheduled rows first, then the plan or step.

A worker runs a scheduled row holding its lock and its handler then locks the plan (run_step) or the plan and
step (step_overrun). A re-sync after a tick (sync_plan, _watch_step) that locked the plan or step first and then
its rows waited for the worker while the worker waited for it: PostgreSQL broke the deadlock by failing one
(seen in CI). Each test holds a row as a worker would, lets the re-sync run into it, and checks that the re-sync
waits on the row without holding the plan or step the worker needs next.
"""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from changeplans.choices import PlanStatus, StepKind, StepStatus
from changeplans.models import Plan, Step
from execution import automatic_steps, overrun
from notifications.choices import ScheduleState
from notifications.models import ScheduledAction
from tests.factories import PlanFactory, StepFactory
from tests.waiting import FAILURE_DEADLINE_SECONDS, backend_waits_for_a_lock, row_locked_elsewhere, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_thread(work):
    """Run `work` on a connection of its own; returns the thread, its backend pid and its outcome."""
    backend, outcome = {}, {}

    def run():
        try:
            connection.ensure_connection()
            backend["pid"] = connection.connection.info.backend_pid
            work()
            outcome["done"] = True
        except BaseException as exc:  # noqa: BLE001 (reported in the test's thread)
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="re-sync")
    thread.start()
    return thread, backend, outcome


def lockable_now(model, pk):
    """The row is free: no other transaction holds it (NOWAIT fails at once instead of waiting)."""
    try:
        with transaction.atomic():
            model.objects.select_for_update(nowait=True).get(pk=pk)
    except DatabaseError:
        return False
    return True


def runs_into_the_row_without_holding(row, model, pk, work):
    with row_locked_elsewhere(ScheduledAction, row.pk):
        thread, backend, outcome = in_thread(work)
        wait_until(
            lambda: outcome or ("pid" in backend and backend_waits_for_a_lock(backend["pid"])),
            message="the re-sync to wait for the held row",
        )
        assert not outcome, outcome
        # The worker holding the row would lock this next: it must be free.
        assert lockable_now(model, pk), "the re-sync holds what the worker needs next: a deadlock"
    thread.join(FAILURE_DEADLINE_SECONDS)
    assert outcome == {"done": True}


def test_a_plan_resync_waits_for_a_running_step_row_before_locking_the_plan(author):
    start = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    plan = PlanFactory(author=author, window_start=start, window_end=start + timedelta(hours=2))
    local = start.astimezone(plan.tz)
    step = StepFactory(
        plan=plan,
        position=1,
        kind=StepKind.BANNER_ON,
        name="Баннер",
        planned_date=local.date(),
        planned_time=local.time(),
    )
    Plan.objects.filter(pk=plan.pk).update(status=PlanStatus.APPROVED)
    automatic_steps.sync_plan(plan.pk)
    row = ScheduledAction.objects.get(key=automatic_steps.step_key(step.pk))
    # A worker has claimed the row and runs it (run_step: the row held, the plan next).
    ScheduledAction.objects.filter(pk=row.pk).update(state=ScheduleState.QUEUED, claimed_at=timezone.now())

    runs_into_the_row_without_holding(row, Plan, plan.pk, lambda: automatic_steps.sync_plan(plan.pk))


def test_an_overrun_watch_waits_for_the_overrun_row_before_locking_the_step(author):
    start = timezone.now().replace(microsecond=0)
    plan = PlanFactory(
        author=author, window_start=start, window_end=start + timedelta(hours=2), status=PlanStatus.IN_PROGRESS
    )
    step = StepFactory(plan=plan, position=1, kind=StepKind.WORK, name="Работы", duration_max=30)
    Step.objects.filter(pk=step.pk).update(status=StepStatus.IN_PROGRESS, actual_start=start)
    overrun.on_step_changed(plan.pk, step.pk)
    row = ScheduledAction.objects.get(key=overrun.step_key(step.pk))
    # A worker runs the overrun row (step_overrun: the row held, the plan and the step next).
    ScheduledAction.objects.filter(pk=row.pk).update(state=ScheduleState.QUEUED, claimed_at=timezone.now())

    runs_into_the_row_without_holding(row, Step, step.pk, lambda: overrun.on_step_changed(plan.pk, step.pk))
