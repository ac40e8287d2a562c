import datetime

import pytest
from django.utils import timezone

from approvals import services
from changeplans import services as plan_services
from changeplans.models import Plan
from notifications.models import ScheduledAction
from tests.approvals.factories import plan_with_matrix

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_cancelling_a_plan_cancels_its_reminders():
    plan, author, _, _ = plan_with_matrix(1)
    start = timezone.now() + datetime.timedelta(days=3)
    Plan.objects.filter(pk=plan.pk).update(window_start=start, window_end=start + datetime.timedelta(hours=3))
    services.submit_plan(plan.pk, actor=author)
    assert ScheduledAction.objects.filter(state="pending").exists()
    plan_services.cancel_plan(plan.pk, actor=author, comment="Перенос")
    assert not ScheduledAction.objects.filter(state="pending").exists()
