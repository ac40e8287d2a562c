import pytest
from django_fsm import TransitionNotAllowed

from changeplans.choices import EventKind, PlanStatus, StepStatus
from changeplans.models import PlanEvent
from tests.factories import PlanFactory, StepFactory

pytestmark = pytest.mark.django_db


def test_plan_status_cannot_be_assigned_directly():
    plan = PlanFactory()
    with pytest.raises(AttributeError):
        plan.status = PlanStatus.APPROVED


def test_step_status_cannot_be_assigned_directly():
    step = StepFactory()
    with pytest.raises(AttributeError):
        step.status = StepStatus.DONE


def test_plan_transitions_follow_the_state_machine():
    plan = PlanFactory()
    with pytest.raises(TransitionNotAllowed):
        plan.start()
    plan.submit()
    plan.approve()
    plan.start()
    assert plan.status == PlanStatus.IN_PROGRESS
    with pytest.raises(TransitionNotAllowed):
        plan.cancel()


def test_step_retry_clears_actual_times():
    step = StepFactory()
    step.start()
    step.fail()
    assert step.actual_start and step.actual_end
    step.retry()
    assert step.status == StepStatus.PENDING and step.actual_start is None


def test_history_is_append_only(author):
    plan = PlanFactory(author=author)
    event = PlanEvent.objects.create(plan=plan, actor=author, kind=EventKind.CREATED)
    event.comment = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        PlanEvent.objects.filter(pk=event.pk).update(comment="x")
    with pytest.raises(PermissionError):
        PlanEvent.objects.filter(pk=event.pk).delete()
    assert PlanEvent.objects.get(pk=event.pk).comment == ""


def test_planned_start_uses_the_plans_time_zone():
    step = StepFactory()
    start = step.planned_start(step.plan.tz)
    assert start.utcoffset().total_seconds() == 7 * 3600
    assert start.hour == 20
