"""The dispatcher hands due rows to workers (queued) and `execute` runs each once; `put` keeps rows in line
with a plan.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from notifications import scheduler
from notifications.choices import ScheduleState
from notifications.models import ScheduledAction
from tests.waiting import (
    FAILURE_DEADLINE_SECONDS,
    backend_waits_for_a_lock,
    lock_waits_fail,
    row_locked_elsewhere,
    wait_until,
)

pytestmark = pytest.mark.django_db

ran = []


@scheduler.register("test.dispatch")
def record(payload):
    ran.append(payload["n"])
    return f"recorded {payload['n']}"


@pytest.fixture(autouse=True)
def _clear():
    ran.clear()


def state(key):
    return ScheduledAction.objects.get(key=key)


def test_dispatch_claims_rows_due_within_the_look_ahead_only():
    now = timezone.now()
    scheduler.schedule("d:past", now - timedelta(seconds=5), "test.dispatch", {"n": 1})
    scheduler.schedule("d:soon", now + timedelta(seconds=1), "test.dispatch", {"n": 2})
    scheduler.schedule("d:later", now + timedelta(minutes=5), "test.dispatch", {"n": 3})
    with override_settings(OKNO_SCHEDULER_LOOKAHEAD_SECONDS=2):
        assert scheduler.dispatch(now=now) == 2
        assert scheduler.dispatch(now=now) == 0  # queued rows are not handed out twice
    assert state("d:past").state == state("d:soon").state == ScheduleState.QUEUED
    assert state("d:past").claimed_at == now
    assert state("d:later").state == ScheduleState.PENDING
    assert ran == []  # the dispatcher runs nothing itself


def test_execute_runs_a_due_row_once_and_keeps_its_result():
    row = scheduler.schedule("e:1", timezone.now() - timedelta(seconds=1), "test.dispatch", {"n": 7})
    scheduler.dispatch()
    assert scheduler.execute(row.pk) is True
    assert scheduler.execute(row.pk) is False  # a redelivered task finds it done
    row.refresh_from_db()
    assert ran == [7]
    assert row.state == ScheduleState.DONE and row.attempts == 1 and row.result == "recorded 7"
    assert row.fired_at >= row.due_at


def test_execute_too_early_puts_the_row_back_for_the_dispatcher():
    row = scheduler.schedule("e:early", timezone.now() + timedelta(seconds=30), "test.dispatch", {"n": 8})
    ScheduledAction.objects.filter(pk=row.pk).update(state=ScheduleState.QUEUED, claimed_at=timezone.now())
    assert scheduler.execute(row.pk) is False
    assert state("e:early").state == ScheduleState.PENDING and ran == []


def test_rows_left_queued_too_long_are_handed_out_again():
    now = timezone.now()
    stale = scheduler.schedule("q:stale", now - timedelta(minutes=2), "test.dispatch", {"n": 1})
    fresh = scheduler.schedule("q:fresh", now - timedelta(seconds=1), "test.dispatch", {"n": 2})
    ScheduledAction.objects.filter(pk=stale.pk).update(
        state=ScheduleState.QUEUED, claimed_at=now - timedelta(seconds=61)
    )
    ScheduledAction.objects.filter(pk=fresh.pk).update(
        state=ScheduleState.QUEUED, claimed_at=now - timedelta(seconds=1)
    )
    with override_settings(OKNO_SCHEDULER_CLAIM_TIMEOUT_SECONDS=60):
        assert scheduler.dispatch(now=now) == 1
    assert state("q:stale").claimed_at == now
    assert state("q:fresh").claimed_at == now - timedelta(seconds=1)


def test_cancel_stops_pending_and_queued_rows():
    now = timezone.now()
    pending = scheduler.schedule("c:1:a", now + timedelta(hours=1), "test.dispatch", {"n": 1})
    queued = scheduler.schedule("c:1:b", now - timedelta(seconds=1), "test.dispatch", {"n": 2})
    scheduler.dispatch(now=now)
    assert scheduler.cancel("c:1:") == 2
    assert scheduler.execute(queued.pk) is False
    assert {state(k).state for k in ("c:1:a", "c:1:b")} == {ScheduleState.CANCELLED}
    assert ran == [] and pending.pk


def test_put_moves_cancels_and_revives_but_never_refires():
    now = timezone.now()
    first, later = now + timedelta(hours=1), now + timedelta(hours=2)
    row = scheduler.put("p:1", first, "test.dispatch", {"n": 1})
    assert row.state == ScheduleState.PENDING and row.due_at == first
    assert scheduler.put("p:1", later, "test.dispatch", {"n": 1}).due_at == later  # the plan's times moved
    assert scheduler.put("p:1", later, "test.dispatch", {"n": 1}, active=False).state == ScheduleState.CANCELLED
    assert scheduler.put("p:1", first, "test.dispatch", {"n": 1}).state == ScheduleState.PENDING  # approved again
    assert scheduler.put("p:none", first, "test.dispatch", active=False) is None
    scheduler.run_due(now=first)
    assert ran == [1]
    # Once fired, moving or reviving it changes nothing
    done = scheduler.put("p:1", later, "test.dispatch", {"n": 1})
    assert done.state == ScheduleState.DONE and done.due_at == first


def test_fire_now_makes_a_pending_row_due_and_runs_it_after_commit(django_capture_on_commit_callbacks):
    row = scheduler.schedule("f:1", timezone.now() + timedelta(hours=3), "test.dispatch", {"n": 5})
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduler.fire_now("f:1") is True
    assert ran == [5] and state("f:1").state == ScheduleState.DONE
    assert scheduler.fire_now("f:1") is False and row.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_dispatcher_passes_over_a_row_another_holds_without_waiting():
    """SKIP LOCKED in `dispatch`: a row another dispatcher (or a plan re-sync) holds is not ours this pass.

    Break it by hand: in notifications/scheduler.py `dispatch`, change `select_for_update(skip_locked=True)`
    to `select_for_update()`. The claim then waits for the held row; lock_timeout turns that wait into an
    OperationalError and the test fails (without it the test would only have passed slower).
    """
    # Given two due rows, one of them locked by another connection
    now = timezone.now()
    held = scheduler.schedule("s:held", now - timedelta(seconds=2), "test.dispatch", {"n": 1})
    scheduler.schedule("s:free", now - timedelta(seconds=1), "test.dispatch", {"n": 2})
    with row_locked_elsewhere(ScheduledAction, held.pk), lock_waits_fail():
        # When the dispatcher runs, where waiting for a lock is an error
        claimed = scheduler.dispatch(now=now)
    # Then it claimed the free row only; the held one waits for the next pass
    assert claimed == 1
    assert state("s:free").state == ScheduleState.QUEUED
    assert state("s:held").state == ScheduleState.PENDING
    assert scheduler.dispatch(now=now) == 1 and state("s:held").state == ScheduleState.QUEUED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_execute_waits_for_a_row_someone_holds_instead_of_dropping_it():
    """`execute` must wait (not skip): skipping would drop the task and leave the row for the claim timeout.

    Break it by hand: in `execute`, change `select_for_update()` to `select_for_update(skip_locked=True)`:
    the worker then returns False at once instead of waiting, and the test fails.
    """
    row = scheduler.schedule("w:held", timezone.now() - timedelta(seconds=1), "test.dispatch", {"n": 9})
    ScheduledAction.objects.filter(pk=row.pk).update(state=ScheduleState.QUEUED, claimed_at=timezone.now())
    result, backend = {}, {}

    def run():
        try:
            connection.ensure_connection()
            backend["pid"] = connection.connection.info.backend_pid
            result["ran"] = scheduler.execute(row.pk)
        finally:
            connection.close()

    # Given a plan re-sync (another connection) holding the row for a moment
    with row_locked_elsewhere(ScheduledAction, row.pk):
        # When a worker executes it
        worker = threading.Thread(target=run)
        worker.start()
        # Then it waits for the lock (PostgreSQL shows its backend waiting), rather than returning
        wait_until(
            lambda: "ran" in result or ("pid" in backend and backend_waits_for_a_lock(backend["pid"])),
            message="the worker to wait for the lock or to return",
        )
        assert "ran" not in result, "execute returned while the row was locked: it skipped instead of waiting"
    worker.join(FAILURE_DEADLINE_SECONDS)
    # and runs the row once the lock is released
    assert result["ran"] is True and ran == [9]
    assert state("w:held").state == ScheduleState.DONE
