"""Running a step's automation from the board, in this process (the real Celery worker: tests/integration)."""

import os
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from changeplans.choices import StepStatus
from changeplans.models import PlanEvent, Step
from runbooks import runs
from runbooks.choices import RunStatus
from runbooks.models import AutomationRun, RunLine, Secret
from runbooks.runners.base import Outcome, Redactor
from tests.runbooks.automation_fixtures import automate, make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def step(plan, n):
    return Step.objects.get(plan=plan, position=n)


def run_now(step_id, actor, capture):
    with capture(execute=True):
        run = runs.request_run(step_id, actor=actor)
    run.refresh_from_db()
    return run


def test_operator_runs_a_command_and_its_exit_decides_the_step(
    running_plan, operator, django_capture_on_commit_callbacks
):
    s = step(running_plan, 1)
    automate(s, ["printf", "%s\\n", "первая", "вторая", "{{ node }}"], params={"node": "worker-1"})
    run = run_now(s.pk, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED and run.exit_code == 0
    assert list(RunLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True)) == [
        "первая",
        "вторая",
        "worker-1",
    ]
    assert run.log == "первая\nвторая\nworker-1"
    assert run.command == "printf '%s\\n' 'первая' 'вторая' worker-1"
    s.refresh_from_db()
    assert s.status == StepStatus.DONE and s.started_by == operator and s.done_by == operator
    statuses = list(
        PlanEvent.objects.filter(object_type="automationrun", object_id=run.pk).values_list("to_status", flat=True)
    )
    assert statuses == ["queued", "running", "succeeded"]


def test_a_failing_command_fails_the_step_with_its_exit_code(
    running_plan, operator, django_capture_on_commit_callbacks
):
    s = step(running_plan, 2)
    automate(s, ["sh_missing_program_okno"])
    run = run_now(s.pk, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED and run.exit_code == 127
    s2 = step(running_plan, 3)
    automate(s2, ["python3", "-c", "import sys; print('boom'); sys.exit(3)"])
    run = run_now(s2.pk, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED and run.exit_code == 3 and run.log == "boom"
    s2.refresh_from_db()
    assert s2.status == StepStatus.FAILED and "Exit code 3" in s2.comment


def test_who_and_when_automation_may_run(author, duty, operator, running_plan, django_capture_on_commit_callbacks):
    s = step(running_plan, 1)
    with pytest.raises(runs.RunRefused, match="no automation"):
        runs.request_run(s.pk, actor=operator)
    automate(s, ["true"])
    with pytest.raises(runs.RunRefused, match="Only operators"):
        runs.request_run(s.pk, actor=duty)
    with pytest.raises(runs.RunRefused, match="Only operators"):
        runs.request_run(s.pk, actor=author)
    approved = make_plan(author)
    other = Step.objects.create(plan=approved, position=1, name="x")
    automate(other, ["true"])
    with pytest.raises(runs.RunRefused, match="only while the work is in progress"):
        runs.request_run(other.pk, actor=operator)
    queued = runs.request_run(s.pk, actor=operator)  # on_commit not run: stays queued
    with pytest.raises(runs.RunRefused, match="already running"):
        runs.request_run(s.pk, actor=operator)
    assert AutomationRun.objects.filter(step=s).count() == 1 and queued.status == RunStatus.QUEUED


def test_injection_through_a_parameter_stays_inert(
    running_plan, operator, django_capture_on_commit_callbacks, tmp_path
):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    s1, s2 = step(running_plan, 1), step(running_plan, 2)
    automate(
        s1,
        ["printf", "%s\\n", "{{ target }}"],
        params={"target": f"; touch {marker}; $(touch {marker}) `touch {marker}`"},
    )
    run = run_now(s1.pk, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED
    assert run.log == f"; touch {marker}; $(touch {marker}) `touch {marker}`"
    assert not marker.exists()
    automate(s2, ["printf", "%s\\n", "{{ node }}"], params={"node": "--server=http://127.0.0.1:1"})
    run = run_now(s2.pk, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.REFUSED and "would be read as an option" in run.summary
    assert (
        run.started_at is not None
        and not RunLine.objects.filter(run=run, text__contains="http://127.0.0.1:1")
        .exclude(text__contains="refused")
        .exists()
    )
    s2.refresh_from_db()
    assert s2.status == StepStatus.FAILED and "would be read as an option" in s2.comment


def test_secrets_are_resolved_inside_the_run_and_redacted_everywhere(
    running_plan, operator, django_capture_on_commit_callbacks
):
    Secret.objects.create(name="db-pass", value="s3cr3t-Value-XYZ")
    s = step(running_plan, 1)
    automate(s, ["sh_not_used"], spec={"argv": ["printf", "token=%s\\n", "{{ secret.db-pass }}"]})
    run = run_now(s.pk, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED
    assert run.log == "token=••••••"
    assert "s3cr3t" not in run.command and "••••••" in run.command
    assert not RunLine.objects.filter(text__contains="s3cr3t").exists()
    assert not PlanEvent.objects.filter(comment__contains="s3cr3t").exists()


def test_a_run_past_its_timeout_is_stopped_and_fails_the_step(
    running_plan, operator, django_capture_on_commit_callbacks
):
    s = step(running_plan, 1)
    automate(s, ["python3", "-c", "import time; print('started', flush=True); time.sleep(60)"], timeout=1)
    started = timezone.now()
    run = run_now(s.pk, operator, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.TIMED_OUT and (timezone.now() - started).total_seconds() < 15
    assert run.log == "started" and "timeout of 1 s" in run.summary
    s.refresh_from_db()
    assert s.status == StepStatus.FAILED


def test_a_queued_run_cancelled_before_a_worker_takes_it(running_plan, operator, duty):
    s = step(running_plan, 1)
    automate(s, ["true"])
    run = runs.request_run(s.pk, actor=operator)
    with pytest.raises(runs.RunRefused, match="Only operators"):
        runs.cancel_run(run.pk, actor=duty)
    runs.cancel_run(run.pk, actor=operator)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert runs.execute_run(run.pk) is None  # the worker that gets it later does nothing
    s.refresh_from_db()
    # A deliberate cancel is not a failure: the step waits again, and the history says who cancelled.
    assert s.status == StepStatus.PENDING and s.actual_start is None and s.started_by is None
    events = PlanEvent.objects.filter(plan=running_plan).order_by("pk")
    assert list(events.filter(object_type="automationrun").values_list("to_status", flat=True)) == [
        "queued",
        "cancelled",
    ]
    last = events.filter(object_type="step", object_id=s.pk).last()
    assert (last.from_status, last.to_status, last.actor) == ("in_progress", "pending", operator)
    assert "cancelled" in last.comment.lower()


def test_a_running_run_cancelled_puts_its_step_back_to_waiting(running_plan, operator):
    s = step(running_plan, 1)
    automate(s, ["true"])
    run = runs.request_run(s.pk, actor=operator)
    assert runs._claim(run.pk) is not None  # a worker has it: the cancel is a request the worker sees
    runs.cancel_run(run.pk, actor=operator)
    ended = runs._finish(run.pk, Outcome(status=RunStatus.CANCELLED, exit_code=-15), Redactor(), "")
    assert ended.status == RunStatus.CANCELLED and ended.summary.startswith("Cancelled by")
    s.refresh_from_db()
    assert s.status == StepStatus.PENDING and s.done_by is None
    assert not PlanEvent.objects.filter(object_type="step", object_id=s.pk, to_status=StepStatus.FAILED).exists()
    # The step can be run again.
    again = runs.request_run(s.pk, actor=operator)
    assert again.status == RunStatus.QUEUED


def test_a_run_whose_worker_stopped_beating_is_reported_lost_not_rerun(running_plan, operator):
    s = step(running_plan, 1)
    automate(s, ["true"])
    run = runs.request_run(s.pk, actor=operator)
    AutomationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    RunLine.objects.create(run=run, seq=1, text="half way")
    assert runs.sweep() == {"lost": 1, "rehanded": 0}
    run.refresh_from_db()
    assert run.status == RunStatus.LOST and run.log == "half way"
    s.refresh_from_db()
    assert s.status == StepStatus.FAILED and "stopped answering" in s.comment
    assert runs.sweep() == {"lost": 0, "rehanded": 0}


def test_automation_that_starts_at_the_planned_time(author, duty, operator):
    from execution import transitions
    from notifications import scheduler
    from notifications.models import ScheduledAction

    plan = make_plan(author)
    s = Step.objects.create(plan=plan, position=1, name="Авто", planned_date=timezone.localdate(), planned_time=None)
    automate(s, ["printf", "auto\\n"], start_at_planned_time=True)
    assert not ScheduledAction.objects.filter(key__startswith="runbooks:").exists()
    transitions.start_plan(plan.pk, actor=duty)
    runs.schedule_plan(plan.pk)  # on_plan_changed runs after commit; here directly
    row = ScheduledAction.objects.get(key=f"runbooks:step:{s.pk}:run")
    assert row.state == "pending"
    scheduler.run_due(now=timezone.now() + timedelta(seconds=5))
    run = AutomationRun.objects.get(step=s)
    assert run.started_by is None
    if run.status == RunStatus.QUEUED:  # on_commit hand-over does not run inside the test transaction
        runs.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.log == "auto"
    os.environ.get("CI")  # keep flake8 quiet about os when the CI branch below is dropped


def test_an_inline_playbook_keeps_ansible_variables_and_takes_no_parameters():
    from runbooks.runners.base import fill, secret_names

    spec = {
        "playbook_yaml": "- hosts: all\n  tasks: [{debug: {msg: '{{ item }} {{ node }}'}}]",
        "limit": "{{ node }}",
        "extra_vars": {"node": "{{ node }}"},
    }
    filled = fill(spec, {"node": "worker-1"})
    assert filled["playbook_yaml"] == spec["playbook_yaml"]  # Ansible's own {{ }}: not ours to fill
    assert filled["limit"] == "worker-1" and filled["extra_vars"] == {"node": "worker-1"}
    assert secret_names({"playbook_yaml": "{{ secret.x }}"}) == set()


# --- the run's status moves only through its transitions ----------------------------------------------


def _queued_run(plan):
    s = step(plan, 1)
    return AutomationRun.objects.create(plan=plan, step=s, kind="shell", timeout_seconds=5)


def test_the_run_status_cannot_be_assigned(running_plan):
    run = _queued_run(running_plan)
    with pytest.raises(AttributeError):
        run.status = RunStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("from_status", "transition"),
    [
        (RunStatus.QUEUED, "succeed"),  # a run ends only after a worker claimed it
        (RunStatus.QUEUED, "lose"),
        (RunStatus.SUCCEEDED, "claim"),  # an ended run is never started again
        (RunStatus.SUCCEEDED, "cancel"),
        (RunStatus.CANCELLED, "fail"),
        (RunStatus.RUNNING, "claim"),  # a second worker does not take a run another one claimed
    ],
)
def test_an_illegal_transition_raises(running_plan, from_status, transition):
    from django_fsm import TransitionNotAllowed

    s = step(running_plan, 1)
    run = AutomationRun.objects.create(plan=running_plan, step=s, kind="shell", timeout_seconds=5, status=from_status)
    args = ("worker-1",) if transition == "claim" else ()
    with pytest.raises(TransitionNotAllowed):
        getattr(run, transition)(*args)
    assert AutomationRun.objects.get(pk=run.pk).status == from_status


def test_a_runner_outcome_names_an_ending_transition(running_plan):
    run = _queued_run(running_plan)
    run.claim("worker-1")
    assert run.status == RunStatus.RUNNING and run.started_at and run.worker == "worker-1"
    run.ending(RunStatus.SKIPPED)()
    assert run.status == RunStatus.SKIPPED and run.finished_at
    with pytest.raises(ValueError):
        run.ending(RunStatus.RUNNING)


def test_a_second_claim_of_the_same_run_finds_it_taken(running_plan):
    # Given a queued run that one worker claimed; when a second worker is handed the same run, it does nothing
    run = _queued_run(running_plan)
    assert runs._claim(run.pk).status == RunStatus.RUNNING
    assert runs._claim(run.pk) is None
