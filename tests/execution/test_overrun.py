"""Overrun alerts: a step past its maximum (time moved with run_due(now=…), no sleep) and a projection past
the window.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent, Step
from execution import overrun, transitions
from notifications import scheduler
from notifications.choices import ScheduleState
from notifications.models import OutboundEmail, ScheduledAction
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.postgres]


@pytest.fixture
def people(db):
    curator = UserFactory(username="curator", last_name="Хасанов", first_name="А.И.")
    duty = UserFactory(username="duty", roles=["duty_officer"])
    acknowledging = UserFactory(username="shift", roles=[])
    UserFactory(username="bystander", roles=["author"])
    return curator, duty, acknowledging


def running_plan(curator, acknowledging, *, window_minutes=300, steps=((180, 180), (30, 60))):
    """An approved plan whose window opened 10 minutes ago, started by the duty officer."""
    now = timezone.now().replace(microsecond=0)
    start = now - timedelta(minutes=10)
    plan = PlanFactory(
        curator=curator,
        window_start=start,
        window_end=start + timedelta(minutes=window_minutes),
        status=PlanStatus.APPROVED,
    )
    local = start.astimezone(plan.tz)
    for position, (low, high) in enumerate(steps, start=1):
        first = position == 1
        StepFactory(
            plan=plan,
            position=position,
            name=f"Работа {position}",
            duration_text=f"{low}-{high} мин",
            duration_min=low,
            duration_max=high,
            planned_date=local.date() if first else None,
            planned_time=local.time() if first else None,
        )
    ApprovalRow.objects.create(
        plan=plan,
        position=1,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурный смены",
        user=acknowledging,
        status=ApprovalStatus.ACKNOWLEDGED,
    )
    plan.start()
    plan.started_at = now
    plan.save()
    return Plan.objects.get(pk=plan.pk)


def start(step, actor, callbacks):
    with callbacks(execute=True):
        transitions.start_step(transitions.lock_step(step.pk), actor=actor)
    return Step.objects.get(pk=step.pk)


def alert_events(plan, kind):
    return list(PlanEvent.objects.filter(plan=plan, kind=EventKind.ALERT, changes__alert=kind).order_by("id"))


def test_a_step_past_its_maximum_alerts_the_board_and_mails_curator_and_duty(
    people, django_capture_on_commit_callbacks, settings, client
):
    settings.LANGUAGE_CODE = "en"
    curator, duty, acknowledging = people
    plan = running_plan(curator, acknowledging)
    step = plan.steps.get(position=1)

    # Given step 1 (max 3 h) started by the duty officer
    step = start(step, duty, django_capture_on_commit_callbacks)
    row = ScheduledAction.objects.get(key=f"overrun:step:{step.pk}")
    assert row.state == ScheduleState.PENDING and row.kind == overrun.STEP_OVERRUN
    assert row.due_at == step.actual_start + timedelta(hours=3)
    # Nothing is due before its maximum
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduler.run_due(now=step.actual_start + timedelta(minutes=179)) == 0
    assert alert_events(plan, overrun.ALERT_STEP) == []

    # When the clock passes the maximum
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=step.actual_start + timedelta(hours=3, minutes=10))

    # Then the history has the alert
    [event] = alert_events(plan, overrun.ALERT_STEP)
    assert event.object_id == step.pk and event.actor is None
    assert event.comment == "Step 1 has been running for 3 h — longer than its maximum of 3 h"
    assert event.changes["max_minutes"] == 180
    # and the curator, the duty officer and the acknowledging officer got one e-mail each (not the bystander)
    sent = sorted(mail.outbox, key=lambda m: m.to[0])
    assert [m.to for m in sent] == [["curator@example.org"], ["duty@example.org"], ["shift@example.org"]]
    assert sent[0].subject == f"Step 1 is running longer than planned: {plan.title}"
    assert "Step 1 has been running for 3 h — longer than its maximum of 3 h." in sent[0].body
    assert "Hello, Хасанов А.И.!" in sent[0].body
    html = sent[0].alternatives[0][0]
    assert "longer than its maximum of 3 h" in html and f"/plans/{plan.pk}/" in html
    assert ScheduledAction.objects.get(pk=row.pk).state == ScheduleState.DONE

    # And the board's alerts report it (the timeline at a moment past the maximum)
    with translation.override("en"):
        found = overrun.alerts(plan, now=step.actual_start + timedelta(hours=3, minutes=10))
    assert [(a["kind"], a["step_id"]) for a in found][:1] == [(overrun.ALERT_STEP, step.pk)]
    assert found[0]["message"] == "Step 1 has been running for 3 h 10 min — longer than its maximum of 3 h"
    assert found[0]["at"] == event.at

    # And the board page shows it to the duty officer
    client.force_login(duty)
    page = client.get(f"/plans/{plan.pk}/board/").content.decode()
    assert (
        'class="alert alert-danger py-1 px-2 small mb-2 okno-board-alert" role="alert" data-kind="step_overrun"' in page
    )
    assert "Step 1 has been running for 3 h — longer than its maximum of 3 h" in page

    # Running the handler again sends nothing twice
    overrun.step_overrun({"plan_id": plan.pk, "step_id": step.pk})
    assert OutboundEmail.objects.filter(key__startswith=f"overrun-step:{step.pk}:").count() == 3


def test_a_step_that_ends_in_time_cancels_its_row(people, django_capture_on_commit_callbacks):
    curator, duty, acknowledging = people
    plan = running_plan(curator, acknowledging)
    step = start(plan.steps.get(position=1), duty, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_step(transitions.lock_step(step.pk), actor=duty)

    assert ScheduledAction.objects.get(key=f"overrun:step:{step.pk}").state == ScheduleState.CANCELLED
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduler.run_due(now=step.actual_start + timedelta(hours=4)) == 0
    assert alert_events(plan, overrun.ALERT_STEP) == [] and mail.outbox == []
    assert overrun.alerts(plan) == []


def test_a_row_that_fires_after_the_step_ended_does_nothing(people, django_capture_on_commit_callbacks):
    curator, duty, acknowledging = people
    plan = running_plan(curator, acknowledging)
    step = start(plan.steps.get(position=1), duty, django_capture_on_commit_callbacks)
    # The step finished but its after-commit hook never ran (a crash): the row is still pending.
    with django_capture_on_commit_callbacks(execute=False):
        transitions.finish_step(transitions.lock_step(step.pk), actor=duty)

    with django_capture_on_commit_callbacks(execute=True):
        assert scheduler.run_due(now=step.actual_start + timedelta(hours=4)) == 1

    assert alert_events(plan, overrun.ALERT_STEP) == [] and mail.outbox == []
    assert ScheduledAction.objects.get(key=f"overrun:step:{step.pk}").state == ScheduleState.DONE


def test_a_projection_past_the_window_alerts_once_per_band(people, django_capture_on_commit_callbacks, settings):
    settings.LANGUAGE_CODE = "en"
    curator, duty, acknowledging = people
    # The window closes 3 h 20 min after it opened (10 min ago); step 1 takes 3 h, step 2 30–60 min.
    plan = running_plan(curator, acknowledging, window_minutes=200)

    # When step 1 starts now: worst end = now + 3 h + 1 h = window end + 50 min (band 4)
    step = start(plan.steps.get(position=1), duty, django_capture_on_commit_callbacks)

    [event] = alert_events(plan, overrun.ALERT_PROJECTION)
    late = event.changes["late_minutes"]
    assert 49 <= late <= 51 and event.changes["band"] == overrun.band(late) == 4
    assert "after the window closes at" in event.comment
    projection_mails = OutboundEmail.objects.filter(key__startswith=f"overrun-projection:{plan.pk}:4:")
    assert sorted(projection_mails.values_list("to", flat=True)) == [
        "curator@example.org",
        "duty@example.org",
        "shift@example.org",
    ]
    subject = projection_mails.first().subject
    assert subject.startswith("The work may end") and plan.title in subject
    assert any("window until" in m.body for m in mail.outbox)

    # The same lateness again (another change): no new alert, no new mail
    count = len(mail.outbox)
    assert overrun.check_projection(plan.pk) is None
    assert len(alert_events(plan, overrun.ALERT_PROJECTION)) == 1 and len(mail.outbox) == count

    # Later, past step 1's maximum by 20 min, the worst case is 20 min further (70 min late): band 5, alerted again
    later = step.actual_start + timedelta(hours=3, minutes=20)
    with django_capture_on_commit_callbacks(execute=True):
        second = overrun.check_projection(plan.pk, now=later)
    assert second is not None and second.changes["band"] == 5
    assert OutboundEmail.objects.filter(key__startswith=f"overrun-projection:{plan.pk}:5:").count() == 3
    # Board alerts at that moment: the overrunning step and the projection
    kinds = [a["kind"] for a in overrun.alerts(plan, now=later)]
    assert kinds == [overrun.ALERT_STEP, overrun.ALERT_PROJECTION]


def test_while_a_step_overruns_the_projection_is_checked_again_without_any_tick(
    people, django_capture_on_commit_callbacks, settings
):
    settings.LANGUAGE_CODE = "en"
    curator, duty, acknowledging = people
    # Window end = step 1's start + 3 h 50 min; step 1 takes 3 h, step 2 up to 1 h: 10 min to spare at the start.
    plan = running_plan(curator, acknowledging, window_minutes=260)
    step = start(plan.steps.get(position=1), duty, django_capture_on_commit_callbacks)
    assert alert_events(plan, overrun.ALERT_PROJECTION) == []

    # When nobody ticks anything and the clock reaches 3 h 35 min (step 1 is 35 min over: 25 min late)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=step.actual_start + timedelta(hours=3, minutes=35))

    # Then the step overrun fired, and the 5-minute re-checks saw the worst case pass the window (band 1)
    # and grow (band 2)
    assert len(alert_events(plan, overrun.ALERT_STEP)) == 1
    bands = [event.changes["band"] for event in alert_events(plan, overrun.ALERT_PROJECTION)]
    assert bands == [1, 2]
    checks = ScheduledAction.objects.filter(kind=overrun.PROJECTION_CHECK, subject=f"plan:{plan.pk}:overrun")
    assert checks.filter(state=ScheduleState.DONE).count() >= 4
    # one check waits for the next mark; once the step ends, that one finds nothing and schedules no more
    assert checks.filter(state=ScheduleState.PENDING).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_step(transitions.lock_step(step.pk), actor=duty)
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due(now=step.actual_start + timedelta(hours=5))
    assert checks.filter(state=ScheduleState.PENDING).count() == 0


def test_a_projection_within_the_window_raises_nothing(people, django_capture_on_commit_callbacks, settings):
    settings.LANGUAGE_CODE = "en"
    curator, duty, acknowledging = people
    plan = running_plan(curator, acknowledging, window_minutes=300)
    start(plan.steps.get(position=1), duty, django_capture_on_commit_callbacks)
    assert alert_events(plan, overrun.ALERT_PROJECTION) == [] and mail.outbox == []
    assert overrun.band(0) == 0 and overrun.band(1) == 1 and overrun.band(15) == 1 and overrun.band(16) == 2
