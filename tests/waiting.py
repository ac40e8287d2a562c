"""Synchronise tests on events, not on the clock.

A test that sleeps "long enough" is slow when the machine is idle and flaky when it is loaded. Wait for
the thing itself instead: `wait_until(predicate)` polls until the predicate holds. Its deadline only
bounds a failure (a hang); a passing test never reaches it, so it is generous on purpose.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

FAILURE_DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.02


def wait_until(predicate: Callable[[], T], *, timeout: float = FAILURE_DEADLINE_SECONDS, message: str = "") -> T:
    """Poll `predicate` until it returns something truthy and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            what = message or getattr(predicate, "__name__", "the condition")
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def backend_waits_for_a_lock(pid: int) -> bool:
    """True while the PostgreSQL backend `pid` waits for a lock another transaction holds."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


@contextmanager
def row_locked_elsewhere(model: type, pk: int) -> Iterator[None]:
    """Inside the block another connection (a thread of its own) holds `SELECT … FOR UPDATE` on the row.

    Needs `django_db(transaction=True)`: the other connection sees only committed rows."""
    locked, release, failure = threading.Event(), threading.Event(), []

    def hold() -> None:
        from django.db import connection, transaction

        try:
            with transaction.atomic():
                model.objects.select_for_update().get(pk=pk)
                locked.set()
                release.wait(FAILURE_DEADLINE_SECONDS)
        except BaseException as exc:  # noqa: BLE001 (reported in the test's thread)
            failure.append(exc)
            locked.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold, name="lock-holder", daemon=True)
    holder.start()
    try:
        locked.wait(FAILURE_DEADLINE_SECONDS)
        if failure:
            raise failure[0]
        assert locked.is_set(), "the other connection never got the row lock"
        yield
    finally:
        release.set()
        holder.join(FAILURE_DEADLINE_SECONDS)


@contextmanager
def lock_waits_fail(timeout: str = "1s") -> Iterator[None]:
    """Inside the block a lock wait on this test's connection is an error, not a pause.

    PostgreSQL's lock_timeout turns "waited for a row another transaction holds" into an event (an
    OperationalError): a test of SKIP LOCKED then fails when the skip is gone instead of passing slower.
    Code that skips never waits, so the value only decides how soon the broken case fails."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{timeout}'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def finished_runs(log: str, task: str) -> int:
    """How many runs of the Celery task `task` a worker's log (-l INFO) says finished."""
    return sum(1 for line in log.splitlines() if f"Task {task}[" in line and " succeeded in " in line)


def after_more_passes(
    celery: Any, names: tuple[str, ...], task: str = "notifications.dispatch", count: int = 3
) -> None:
    """Wait until the workers `names` (tests/integration's `celery` fixture) finished `count` more runs of
    `task` each, on average, than now.

    Stands in for "room for a duplicate to show up" after the last expected result: whatever was due or in
    flight has been looked at again since, by the very passes that would have produced a duplicate."""

    def total() -> int:
        return sum(finished_runs(celery.log(name), task) for name in names)

    start = total()
    wait_until(lambda: total() >= start + count * len(names), timeout=60, message=f"{count} more {task} passes")
