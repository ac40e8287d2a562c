"""A group is what several deliveries (e-mails, webhook calls) do together, e.g. one announcement step.

When the last delivery of a group is sent or given up, the listeners hear `(group, ok)`; `ok` is False
if any delivery failed for good. A listener may hear the same group twice (two deliveries ending at
once both see it settled), so it must be idempotent.
"""

import logging

from django.db.models import Q

from .choices import EmailState

logger = logging.getLogger(__name__)

listeners = []

_OPEN = Q(state__in=(EmailState.QUEUED, EmailState.SENDING)) | Q(state=EmailState.FAILED, next_attempt_at__isnull=False)


def _tables():
    from .models import OutboundEmail, WebhookDelivery

    return (OutboundEmail, WebhookDelivery)


def status(group):
    """(open, failed, total) deliveries of the group."""
    open_ = failed = total = 0
    for model in _tables():
        rows = model.objects.filter(group=group)
        total += rows.count()
        open_ += rows.filter(_OPEN).count()
        failed += rows.filter(state=EmailState.FAILED, next_attempt_at__isnull=True).count()
    return open_, failed, total


def check(group):
    """Tell the listeners if every delivery of `group` has ended. Never raises."""
    if not group:
        return
    try:
        open_, failed, total = status(group)
        if open_ or not total:
            return
        for listener in listeners:
            listener(group, failed == 0)
    except Exception:  # a listener's problem must not undo a delivery already recorded
        logger.exception("Settling delivery group %s failed", group)
