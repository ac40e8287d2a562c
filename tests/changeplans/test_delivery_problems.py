"""The plan page's delivery problems: five counts in one prepared query (changeplans.announcements), each counted
for its own plan only (issue 16)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from changeplans.announcements import delivery_problems
from notifications.choices import EmailState, ScheduleState
from notifications.models import OutboundEmail, ScheduledAction, WebhookDelivery
from tests.factories import PlanFactory

pytestmark = pytest.mark.django_db


def email(plan, n, state, retry):
    OutboundEmail.objects.create(
        key=f"mail:{plan.pk}:{n}",
        group=f"plan:{plan.pk}:announcement",
        state=state,
        next_attempt_at=timezone.now() if retry else None,
        to="ops@example.org",
        subject="s",
        text="t",
    )


def webhook(plan, n, state, retry):
    WebhookDelivery.objects.create(
        key=f"hook:{plan.pk}:{n}",
        group=f"plan:{plan.pk}:step:1",
        state=state,
        next_attempt_at=timezone.now() if retry else None,
        subject="service:1",
        url="https://example.org/hook",
        body="{}",
    )


def action(plan, n, state):
    ScheduledAction.objects.create(
        key=f"action:{plan.pk}:{n}", kind="k", subject=f"plan:{plan.pk}", due_at=timezone.now(), state=state
    )


def test_each_count_is_its_plans_own():
    first = PlanFactory()
    # plans 1 and 12, say: "plan:1:" must not count the deliveries of "plan:12:"
    other = PlanFactory()
    other.pk = int(f"{first.pk}2")
    other.save(force_insert=True)
    assert delivery_problems(first.pk) is None
    email(first, 1, EmailState.FAILED, retry=False)
    webhook(first, 2, EmailState.FAILED, retry=False)
    email(first, 3, EmailState.FAILED, retry=True)
    action(first, 4, ScheduleState.FAILED)
    action(first, 5, ScheduleState.FAILED)
    email(first, 6, EmailState.SENT, retry=False)  # not a problem
    action(first, 7, ScheduleState.DONE)
    for n in range(3):
        email(other, 10 + n, EmailState.FAILED, retry=False)
        webhook(other, 20 + n, EmailState.FAILED, retry=True)
        action(other, 30 + n, ScheduleState.FAILED)
    with CaptureQueriesContext(connection) as captured:
        assert delivery_problems(first.pk) == {"failed": 2, "retrying": 1, "failed_actions": 2}
    assert len(captured) == 1
    assert delivery_problems(other.pk) == {"failed": 3, "retrying": 3, "failed_actions": 3}
