"""The durable scheduler: what must happen at a time is a ScheduledNotification row.

A frequent dispatcher (`run_due`: Celery beat every 10 s, or `manage.py run_scheduler`) claims due rows
one at a time with SELECT … FOR UPDATE SKIP LOCKED and hands each to the handler registered for its
kind. The handler runs in the same transaction that marks the row done, so what it writes (outbox
rows) commits together with "done": a crash before the commit leaves the row pending, a crash after
it has nothing left to do. Handlers must only write to the database (e.g. `enqueue_email`); the
e-mails go out after the commit. No Celery ETA is involved (see NOTES.md, Known traps).
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import conf
from .choices import ScheduleState
from .models import ScheduledNotification

logger = logging.getLogger(__name__)

_handlers = {}


def register(kind):
    """Decorator: `@register("approvals.reminder")` def handler(payload) -> None."""

    def decorator(function):
        _handlers[kind] = function
        return function

    return decorator


def handler_for(kind):
    return _handlers.get(kind)


def schedule(key, due_at, kind, payload=None):
    """Create the row for `key` if it is new; a second call with the same key does nothing."""
    row, _created = ScheduledNotification.objects.get_or_create(key=key, defaults={"due_at": due_at, "kind": kind, "payload": payload or {}})
    return row


def cancel(prefix, *, exclude=()):
    """Cancel the pending rows whose key starts with `prefix` (except the keys in `exclude`). Returns how many."""
    rows = ScheduledNotification.objects.filter(state=ScheduleState.PENDING, key__startswith=prefix)
    if exclude:
        rows = rows.exclude(key__in=list(exclude))
    return rows.update(state=ScheduleState.CANCELLED, done_at=timezone.now())


def _claim_next(now, seen):
    # SKIP LOCKED: a row another dispatcher is handling is not ours; we move on to the next one.
    return (
        ScheduledNotification.objects.select_for_update(skip_locked=True)
        .filter(state=ScheduleState.PENDING, due_at__lte=now)
        .exclude(pk__in=seen)
        .order_by("due_at", "id")
        .first()
    )


def run_due(now=None, *, limit=500):
    """Hand every due pending row to its handler and mark it done. Returns the number of rows handled."""
    now = now or timezone.now()
    seen = []  # a row that failed in this pass waits for its back-off, not for the next loop
    while len(seen) < limit:
        with transaction.atomic():
            row = _claim_next(now, seen)
            if row is None:
                break
            _run_one(row)
        seen.append(row.pk)
    return len(seen)


def _run_one(row):
    handler = handler_for(row.kind)
    row.attempts += 1
    try:
        if handler is None:
            raise LookupError(f"no handler registered for {row.kind!r}")
        with transaction.atomic():  # a failing handler's writes roll back; the attempt is still recorded
            handler(row.payload)
    except Exception as exc:  # record any handler failure, retry with back-off, give up at the cap
        logger.exception("Scheduled notification %s (%s) failed", row.pk, row.kind)
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= conf.get("OKNO_SCHEDULER_MAX_ATTEMPTS"):
            row.state, row.done_at = ScheduleState.FAILED, timezone.now()
        else:
            row.due_at = timezone.now() + timedelta(seconds=conf.get("OKNO_SCHEDULER_RETRY_SECONDS") * 2 ** (row.attempts - 1))
        row.save(update_fields=["attempts", "last_error", "state", "done_at", "due_at"])
        return
    row.state, row.done_at, row.last_error = ScheduleState.DONE, timezone.now(), ""
    row.save(update_fields=["attempts", "last_error", "state", "done_at"])
