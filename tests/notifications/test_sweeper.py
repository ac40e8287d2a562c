"""The sweeper shared by the e-mail outbox and the webhook deliveries (notifications/sweeper.py): rows
another sweeper holds are passed over, not waited for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import sweeper
from notifications.choices import EmailState
from notifications.models import OutboundEmail, WebhookDelivery
from tests.waiting import lock_waits_fail, row_locked_elsewhere

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def failed_row(model, key):
    """A row whose last attempt failed and whose back-off has passed: due to be put back in the queue."""
    fields = {
        OutboundEmail: {"to": "a@example.org", "subject": "Тема", "text": "Текст"},
        WebhookDelivery: {"subject": "service:1", "url": "https://hooks.example.org/x", "body": "{}"},
    }[model]
    return model.objects.create(
        key=key,
        state=EmailState.FAILED,
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(minutes=1),
        **fields,
    )


@pytest.mark.parametrize("model", [OutboundEmail, WebhookDelivery], ids=["email", "webhook"])
def test_a_row_another_sweeper_holds_is_passed_over_without_waiting(model):
    """SKIP LOCKED in `sweep`: of two sweepers running at once (two beat ticks, two workers), the second
    takes the rows the first does not hold, and neither waits for the other.

    Break it by hand: in notifications/sweeper.py, change `select_for_update(skip_locked=True)` to
    `select_for_update()`. The second sweeper then waits for the row the first holds; lock_timeout turns that
    wait into an OperationalError and the test fails at once (without it the sweep would only come later and
    put the held row back in the queue under the holder's feet)."""
    # Given two failed rows due again, and another sweeper holding the first one's lock
    held, free = failed_row(model, "test:sweep:held"), failed_row(model, "test:sweep:free")
    delivered = []

    def deliver(row_id):
        delivered.append(row_id)
        return True

    with row_locked_elsewhere(model, held.pk), lock_waits_fail():
        # When this sweeper runs
        result = sweeper.sweep(model, deliver, now=timezone.now(), stuck_seconds=600, max_attempts=5, limit=100)
    # Then it put back and delivered only the free row; the held one is left as the holder had it
    assert result == {"requeued": 1, "gave_up": 0, "sent": 1, "not_sent": 0}
    assert delivered == [free.pk]
    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.state, held.attempts) == (EmailState.FAILED, 1)
    assert free.state == EmailState.QUEUED
