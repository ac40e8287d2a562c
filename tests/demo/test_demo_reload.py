"""Reloading the demo (`make run` again, issue 15 item 12): the automation demo's window is open each time."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from changeplans.choices import PlanStatus
from demo.plans import local_minute
from demo.runbooks import load_automation_demo
from execution import transitions
from runbooks import four_eyes
from runbooks.models import StepAutomation

pytestmark = pytest.mark.django_db


def test_a_reload_a_day_later_opens_the_window_again():
    # Given the automation demo loaded yesterday, never started
    yesterday = timezone.now() - datetime.timedelta(days=1)
    first = load_automation_demo(now=yesterday)
    assert first.window_end < timezone.now()
    # When the demo is loaded again today
    now = timezone.now()
    again = load_automation_demo(now=now)
    # Then it is the same plan, its window opens now and its steps follow, five minutes apart as loaded
    start = local_minute(now)
    assert again.pk == first.pk
    assert (again.window_start, again.window_end) == (start, start + (first.window_end - first.window_start))
    assert not transitions.is_early(again, now=now)
    tz = start.tzinfo
    moments = [
        datetime.datetime.combine(step.planned_date, step.planned_time, tzinfo=tz)
        for step in again.steps.order_by("position")
    ]
    assert moments == [start + datetime.timedelta(minutes=5 * i) for i in range(len(moments))]
    # and its automations keep the sign-off's approval (only times moved)
    for automation in StepAutomation.objects.filter(step__plan=again):
        assert four_eyes.approval_of(automation, production=True) is not None


def test_a_started_plan_is_left_as_it_is():
    yesterday = timezone.now() - datetime.timedelta(days=1)
    plan = load_automation_demo(now=yesterday)
    transitions.start_plan(plan.pk, actor=get_user_model().objects.get(username="operator"))
    again = load_automation_demo()
    assert again.status == PlanStatus.IN_PROGRESS
    assert (again.window_start, again.window_end) == (plan.window_start, plan.window_end)
