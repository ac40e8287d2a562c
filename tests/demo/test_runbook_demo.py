"""The automation demo of `make run`: an approved plan whose steps run on this machine (shell, Ansible on
localhost, a long cancellable step) — rehearsed by its author and run from the board by an operator."""

import pytest
from django.contrib.auth import get_user_model

from approvals.choices import ApprovalStatus
from changeplans.choices import PlanStatus, StepStatus
from demo.runbooks import DEMO_AUTOMATION_TITLE, load_automation_demo
from execution import transitions
from runbooks import four_eyes, rehearsal, runners, runs
from runbooks.choices import RunMode, RunStatus
from runbooks.models import ApprovalVia, AutomationRun, StepAutomation

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def plan():
    return load_automation_demo()


def test_an_approved_plan_whose_window_is_open(plan):
    assert plan.title == DEMO_AUTOMATION_TITLE and plan.status == PlanStatus.APPROVED
    assert not transitions.is_early(plan)  # the window opens as the demo loads
    assert {row.status for row in plan.approval_rows.all()} <= {ApprovalStatus.APPROVED, ApprovalStatus.ACKNOWLEDGED}
    assert [s.automation.kind if hasattr(s, "automation") else None for s in plan.steps.order_by("position")] == [
        "shell",
        "ansible",
        "shell",
        None,
    ]
    for automation in StepAutomation.objects.filter(step__plan=plan):
        runners.get(automation.kind).check(automation.spec)  # a valid spec, as the editor would accept it
        # Four eyes: the demo's sign-off approved the automation content of the version it signed.
        approval = four_eyes.approval_of(automation, production=True)
        assert approval is not None and approval.via == ApprovalVia.SIGN_OFF and approval.signers


def test_loading_twice_returns_the_same_plan(plan):
    assert load_automation_demo().pk == plan.pk
    assert StepAutomation.objects.filter(step__plan=plan).count() == 3


def test_the_author_rehearses_and_the_operator_runs_the_steps(plan, django_capture_on_commit_callbacks):
    author, operator = plan.author, User.objects.get(username="operator")
    with django_capture_on_commit_callbacks(execute=True):
        rehearsal.request_rehearsal(plan.pk, actor=author)
    rehearsed = {
        run.step.position: run
        for run in AutomationRun.objects.filter(plan=plan, mode=RunMode.REHEARSAL).select_related("step")
    }
    assert rehearsed[1].status == RunStatus.SUCCEEDED and "Filesystem" in rehearsed[1].log
    assert rehearsed[2].status == RunStatus.SUCCEEDED and "--check" in rehearsed[2].command
    assert rehearsed[3].status == RunStatus.SKIPPED  # no dry run defined for the countdown: nothing ran

    assert transitions.start_refusal(operator, plan) is None
    transitions.start_plan(plan.pk, actor=operator)
    for position in (1, 2):
        step = plan.steps.get(position=position)
        with django_capture_on_commit_callbacks(execute=True):
            run = runs.request_run(step.pk, actor=operator)
        run.refresh_from_db()
        step.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, run.summary
        assert step.status == StepStatus.DONE
    assert "Привет от Okno" in AutomationRun.objects.get(step__plan=plan, step__position=2, mode=RunMode.PRODUCTION).log
