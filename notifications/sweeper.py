"""The sweeper shared by the e-mail outbox and the webhook deliveries (rows with the same life cycle)."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q

from . import groups
from .choices import EmailState


def sweep(model, deliver, *, now, stuck_seconds, max_attempts, limit):
    """Requeue failed rows whose back-off has passed and rows stuck in "sending", give up at the cap,
    deliver what is queued."""
    stuck_before = now - timedelta(seconds=stuck_seconds)
    requeued = gave_up = 0
    settled = set()
    with transaction.atomic():
        candidates = (
            model.objects.select_for_update(skip_locked=True)
            .filter(
                Q(state=EmailState.FAILED, next_attempt_at__lte=now)
                | Q(state=EmailState.SENDING, claimed_at__lt=stuck_before)
            )
            .order_by("id")[:limit]
        )
        for row in candidates:
            if row.state == EmailState.SENDING:
                row.last_error = f"stuck in sending since {row.claimed_at.isoformat()}"
            if row.attempts >= max_attempts:
                row.state, row.next_attempt_at = EmailState.FAILED, None
                gave_up += 1
                settled.add(row.group)
            else:
                row.state, row.next_attempt_at = EmailState.QUEUED, now
                requeued += 1
            row.save(update_fields=["state", "next_attempt_at", "last_error"])
    for group in settled:
        groups.check(group)
    due = list(
        model.objects.filter(state=EmailState.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    sent = sum(1 for row_id in due if deliver(row_id))
    return {"requeued": requeued, "gave_up": gave_up, "sent": sent, "not_sent": len(due) - sent}
