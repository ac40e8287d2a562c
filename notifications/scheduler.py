"""The durable scheduler: what must happen at a time is a ScheduledAction row.

States: pending → queued (a dispatcher handed it to a worker) → done | failed; pending/queued →
cancelled (and back to pending when a plan is approved again).

- `dispatch()` (Celery beat every second) claims pending rows due within the look-ahead with
  SELECT … FOR UPDATE SKIP LOCKED, marks them queued, commits, and publishes one `execute` task per
  row with an ETA of its due time: seconds ahead at most, never hours (NOTES.md, known traps). It
  also hands out again rows left queued too long (a worker died, a publish was lost).
- `execute(row_id)` locks the row, runs its handler and marks it done in one transaction: a crash
  before the commit leaves it queued for the next hand-out; a second delivery of the same task finds
  it done. Handlers only write to the database (outbox rows, banners); e-mails go out after commit.
- `run_due()` does both in this process (tests, `manage.py run_scheduler` without Celery).
"""

import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common import workers
from common.retry import backoff

from .choices import ScheduleState
from .models import ScheduledAction

logger = logging.getLogger(__name__)

Payload = dict[str, Any]  # a row's payload: a JSON object the handler of its kind understands
Handler = Callable[[Payload], str | None]  # returns the result shown on the row
HandlerT = TypeVar("HandlerT", bound=Handler)

_handlers: dict[str, Handler] = {}
OPEN_STATES = (ScheduleState.PENDING, ScheduleState.QUEUED)


def register(kind: str) -> Callable[[HandlerT], HandlerT]:
    """Decorator: `@register("<app>.<kind>")` def handler(payload) -> str | None (the result shown)."""

    def decorator(function: HandlerT) -> HandlerT:
        _handlers[kind] = function
        return function

    return decorator


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


def schedule(
    key: str,
    due_at: datetime,
    kind: str,
    payload: Payload | None = None,
    *,
    subject: str = "",
) -> ScheduledAction:
    """Create the row for `key` if it is new; a second call with the same key does nothing."""
    row, _created = ScheduledAction.objects.get_or_create(
        key=key,
        defaults={"due_at": due_at, "kind": kind, "payload": payload or {}, "subject": subject},
    )
    return row


def put(
    key: str,
    due_at: datetime,
    kind: str,
    payload: Payload | None = None,
    *,
    subject: str = "",
    active: bool = True,
) -> ScheduledAction | None:
    """Make the row for `key` pending at `due_at` (or cancelled when not `active`), unless it has fired.

    Moving a plan's times moves its rows; a row already queued, done or failed is left alone.
    """
    row = ScheduledAction.objects.select_for_update().filter(key=key).first()
    state = ScheduleState.PENDING if active else ScheduleState.CANCELLED
    if row is None:
        if not active:
            return None
        return ScheduledAction.objects.create(key=key, due_at=due_at, kind=kind, payload=payload or {}, subject=subject)
    if row.state in (ScheduleState.PENDING, ScheduleState.CANCELLED) and (row.state, row.due_at, row.payload) != (
        state,
        due_at,
        payload or {},
    ):
        row.state, row.due_at, row.payload = state, due_at, payload or {}
        row.done_at = None if active else timezone.now()
        row.save(update_fields=["state", "due_at", "payload", "done_at"])
    return row


def lock_rows(*, subject: str = "", keys: Collection[str] = ()) -> None:
    """Lock the rows of `subject` or with `keys`, in id order, before the caller locks what their handlers lock.

    A worker runs a row holding its lock and its handler then locks the plan or step; a caller that locks the
    plan first and then puts its rows would wait for the worker while the worker waits for it (a deadlock).
    Locking the rows first keeps one order: scheduled rows, then plans and steps."""
    rows = ScheduledAction.objects.select_for_update()
    rows = rows.filter(subject=subject) if subject else rows.filter(key__in=list(keys))
    list(rows.order_by("pk").values_list("pk", flat=True))


def cancel(prefix: str, *, exclude: Collection[str] = ()) -> int:
    """Cancel the open rows whose key starts with `prefix` (except the keys in `exclude`). Returns how many."""
    rows = ScheduledAction.objects.filter(state__in=OPEN_STATES, key__startswith=prefix)
    if exclude:
        rows = rows.exclude(key__in=list(exclude))
    return rows.update(state=ScheduleState.CANCELLED, done_at=timezone.now())


def fire_now(key: str) -> bool:
    """Make a pending row due now and have it run at once (the duty officer pressed the button)."""
    now = timezone.now()
    updated = ScheduledAction.objects.filter(key=key, state=ScheduleState.PENDING).update(due_at=now)
    if updated:
        transaction.on_commit(kick, robust=True)
    return bool(updated)


def kick() -> None:
    """Run a dispatch pass now instead of at the next beat tick."""
    workers.hand_over("notifications.tasks.dispatch", run_due)


# --- the dispatcher (Celery) --------------------------------------------------------------------------


def dispatch(now: datetime | None = None, *, limit: int = 500) -> int:
    """Claim due rows, mark them queued and publish their `execute` tasks after commit. Returns how many."""
    from .tasks import execute as execute_task

    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.OKNO_SCHEDULER_LOOKAHEAD_SECONDS)
    stale = now - timedelta(seconds=settings.OKNO_SCHEDULER_CLAIM_TIMEOUT_SECONDS)
    with transaction.atomic():
        rows = list(
            ScheduledAction.objects.select_for_update(skip_locked=True)
            .filter(
                Q(state=ScheduleState.PENDING, due_at__lte=horizon)
                | Q(state=ScheduleState.QUEUED, claimed_at__lt=stale)
            )
            .order_by("due_at", "id")
            .values_list("pk", "due_at", "state")[:limit]
        )
        if not rows:
            return 0
        again = [pk for pk, _due, state in rows if state == ScheduleState.QUEUED]
        if again:
            logger.warning(
                "Handing out again %d scheduled actions left queued since before %s", len(again), stale.isoformat()
            )
        ScheduledAction.objects.filter(pk__in=[pk for pk, _due, _state in rows]).update(
            state=ScheduleState.QUEUED, claimed_at=now
        )
    for pk, due_at, _state in rows:
        # ETA of seconds at most (the look-ahead); a row already due runs at once.
        execute_task.apply_async((pk,), eta=due_at if due_at > now else None)
    return len(rows)


def execute(row_id: int) -> bool:
    """Run one queued row whose time has come. Harmless when called twice or by two workers. True if it ran."""
    with transaction.atomic():
        # Wait for a lock someone holds (a plan re-sync touching the row, a second delivery of this task):
        # skipping would drop the task and leave the row for the claim timeout. After the wait the row
        # is read again, so a second delivery finds it done.
        row = ScheduledAction.objects.select_for_update().filter(pk=row_id, state=ScheduleState.QUEUED).first()
        if row is None:
            return False  # done or cancelled
        if row.due_at > timezone.now() + timedelta(seconds=0.05):
            # Early (a redelivered task, a moved row): the dispatcher hands it out again at its time.
            row.state = ScheduleState.PENDING
            row.save(update_fields=["state"])
            return False
        _run_one(row)
    return True


# --- in-process (tests, manage.py run_scheduler) ------------------------------------------------------


def _claim_next(now: datetime, seen: Collection[int]) -> ScheduledAction | None:
    # SKIP LOCKED: a row another dispatcher is handling is not ours; we move on to the next one.
    return (
        ScheduledAction.objects.select_for_update(skip_locked=True)
        .filter(state__in=OPEN_STATES, due_at__lte=now)
        .exclude(pk__in=seen)
        .order_by("due_at", "id")
        .first()
    )


def run_due(now: datetime | None = None, *, limit: int = 500) -> int:
    """Hand every due open row to its handler in this process. Returns the number of rows handled."""
    now = now or timezone.now()
    seen: list[int] = []  # a row that failed in this pass waits for its back-off, not for the next loop
    while len(seen) < limit:
        with transaction.atomic():
            row = _claim_next(now, seen)
            if row is None:
                break
            _run_one(row)
        seen.append(row.pk)
    return len(seen)


def _run_one(row: ScheduledAction) -> None:
    handler = handler_for(row.kind)
    row.attempts += 1
    row.fired_at = timezone.now()
    fields = ["attempts", "fired_at", "last_error", "state", "done_at", "due_at", "result"]
    try:
        if handler is None:
            raise LookupError(f"no handler registered for {row.kind!r}")
        with transaction.atomic():  # a failing handler's writes roll back; the attempt is still recorded
            result = handler(row.payload)
    except Exception as exc:  # record any handler failure, retry with back-off, give up at the cap
        logger.exception("Scheduled action %s (%s) failed", row.pk, row.kind)
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= settings.OKNO_SCHEDULER_MAX_ATTEMPTS:
            row.state, row.done_at = ScheduleState.FAILED, timezone.now()
        else:
            row.state = ScheduleState.PENDING
            row.due_at = timezone.now() + backoff(settings.OKNO_SCHEDULER_RETRY_SECONDS, row.attempts)
        row.save(update_fields=fields)
        return
    row.state, row.done_at, row.last_error = ScheduleState.DONE, timezone.now(), ""
    row.result = str(result or "")[:2000]
    row.save(update_fields=fields)
