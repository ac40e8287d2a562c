"""Issue 11, finding 1: nothing a person wrote runs, not even as a rehearsal, before a second person with
the right role approved that exact content (the plan's sign-off, or an operator's «Approve automation»)."""

import re
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone, translation

from approvals import services as approvals
from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import PlanEvent
from execution import transitions
from runbooks import four_eyes, rehearsal, runs
from runbooks.choices import RunStatus
from runbooks.models import ApprovalVia, AutomationApproval, AutomationRun, StepAutomation
from runbooks.services import save_step_automation
from tests.approvals.factories import plan_with_matrix
from tests.factories import StepFactory, UserFactory
from tests.runbooks.automation_fixtures import automate, make_plan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def tmp_path():
    """A folder the command may write to: runs execute as the runner's own user (docs/runner.md), which
    cannot enter pytest's private temporary folders."""
    folder = Path(tempfile.mkdtemp(prefix="okno-four-eyes-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _writes(path):
    """A dry-run argv an attacker would write: arbitrary Python (here: it leaves a marker file)."""
    return ["python3", "-c", f"open({str(path)!r}, 'w').write('ran')"]


def _draft_with_code(author, marker):
    plan = make_plan(author, status=PlanStatus.DRAFT)
    step = StepFactory(plan=plan, position=1, name="Шаг 1")
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={
            "kind": "shell",
            "spec": {"argv": ["true"], "dry_run_argv": _writes(marker)},
            "params": {},
            "timeout_seconds": 60,
        },
    )
    return plan, step


def _rehearse(plan, actor, capture):
    with capture(execute=True):
        rehearsed = rehearsal.request_rehearsal(plan.pk, actor=actor)
    return AutomationRun.objects.get(rehearsal=rehearsed)


def test_an_author_rehearsing_code_on_their_own_draft_runs_nothing(
    author, tmp_path, django_capture_on_commit_callbacks
):
    # Given: an author's draft whose dry run is `python3 -c …`
    marker = tmp_path / "ran"
    plan, _ = _draft_with_code(author, marker)
    # When: the author rehearses it
    run = _rehearse(plan, author, django_capture_on_commit_callbacks)
    # Then: nothing ran; the step is recorded as skipped, saying why
    assert not marker.exists()
    assert run.status == RunStatus.SKIPPED
    assert "second person" in run.summary and run.summary in run.log
    # and the rehearsal did not pass: the approvers are told it waits for approval
    latest = rehearsal.latest(plan.pk)
    assert latest["unapproved"] == 1 and not latest["ok"]


def test_an_operators_approval_lets_the_rehearsal_run_that_exact_content(
    author, operator, tmp_path, django_capture_on_commit_callbacks
):
    marker = tmp_path / "ran"
    plan, step = _draft_with_code(author, marker)
    made = four_eyes.approve_automation(plan.pk, actor=operator)
    assert [a.via for a in made] == [ApprovalVia.OPERATOR] and made[0].approved_by == operator
    assert PlanEvent.objects.filter(
        plan=plan, object_type="automationapproval", actor=operator, to_status="approved"
    ).exists()

    run = _rehearse(plan, author, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED and marker.read_text() == "ran", (run.summary, run.log)
    assert run.approval == made[0]

    # Any change of the content voids the approval: the fingerprint is compared at run time.
    marker.unlink()
    other = tmp_path / "other"
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={
            "kind": "shell",
            "spec": {"argv": ["true"], "dry_run_argv": _writes(other)},
            "params": {},
            "timeout_seconds": 60,
        },
    )
    run = _rehearse(plan, author, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SKIPPED and not other.exists()
    # Also a change made behind the editor's back (the admin, SQL): the stored fingerprint no longer matches.
    four_eyes.approve_automation(plan.pk, actor=operator)
    StepAutomation.objects.filter(step=step).update(params={"x": "1"})
    run = _rehearse(plan, author, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SKIPPED and not other.exists()


def test_who_may_approve_automation(author, operator, tmp_path, admin_user):
    plan, step = _draft_with_code(author, tmp_path / "ran")
    nobody = UserFactory(username="nobody")
    approver = UserFactory(username="approver1", roles=["approver"])
    author_operator = UserFactory(username="author_operator", roles=["author", "operator"])
    for user in (nobody, approver):
        with pytest.raises(four_eyes.ApprovalRefused, match="Only an operator"):
            four_eyes.approve_automation(plan.pk, actor=user)
    # The plan's author, even with the operator role, is not a second pair of eyes.
    plan.author = author_operator
    plan.save(update_fields=["author"])
    with pytest.raises(four_eyes.ApprovalRefused, match="author"):
        four_eyes.approve_automation(plan.pk, actor=author_operator)
    # Nor whoever last saved the automation (an administrator editing it, here).
    save_step_automation(
        plan.pk,
        step.pk,
        actor=admin_user,
        data={
            "kind": "shell",
            "spec": {"argv": ["true"], "dry_run_argv": ["echo", "hi"]},
            "params": {},
            "timeout_seconds": 60,
        },
    )
    with pytest.raises(four_eyes.ApprovalRefused, match="last saved"):
        four_eyes.approve_automation(plan.pk, actor=admin_user)
    assert not AutomationApproval.objects.exists()
    four_eyes.approve_automation(plan.pk, actor=operator)
    with pytest.raises(four_eyes.ApprovalRefused, match="already approved"):
        four_eyes.approve_automation(plan.pk, actor=operator)


def test_a_production_run_of_unapproved_content_is_refused_and_fails_the_step(
    running_plan, operator, tmp_path, django_capture_on_commit_callbacks
):
    marker = tmp_path / "ran"
    step = running_plan.steps.get(position=1)
    automate(step, _writes(marker), approved=False)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step.pk, actor=operator)
    run.refresh_from_db()
    step.refresh_from_db()
    assert not marker.exists()
    assert run.status == RunStatus.REFUSED and "sign-off" in run.summary
    assert step.status == StepStatus.FAILED and "sign-off" in step.comment


def test_an_operators_approval_is_for_rehearsals_only(
    running_plan, operator, tmp_path, django_capture_on_commit_callbacks
):
    marker = tmp_path / "ran"
    step = running_plan.steps.get(position=1)
    automation = automate(step, _writes(marker), approved=False)
    AutomationApproval.objects.create(
        automation=automation,
        content_hash=four_eyes.content_hash(automation),
        via=ApprovalVia.OPERATOR,
        approved_by=operator,
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step.pk, actor=operator)
    run.refresh_from_db()
    assert run.status == RunStatus.REFUSED and not marker.exists()


def test_the_scheduler_does_not_start_unapproved_content(author, duty, tmp_path):
    from notifications import scheduler
    from notifications.models import ScheduledAction

    marker = tmp_path / "ran"
    plan = make_plan(author)
    step = StepFactory(plan=plan, position=1, name="Шаг 1", planned_date=timezone.localdate(), planned_time=None)
    automate(step, _writes(marker), approved=False, start_at_planned_time=True)
    transitions.start_plan(plan.pk, actor=duty)
    runs.schedule_plan(plan.pk)  # on_plan_changed runs after commit; here directly
    assert ScheduledAction.objects.get(key=f"runbooks:step:{step.pk}:run").state == "pending"
    scheduler.run_due(now=timezone.now() + timedelta(seconds=5))
    run = AutomationRun.objects.get(step=step)
    if run.status == RunStatus.QUEUED:  # on_commit hand-over does not run inside the test transaction
        runs.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.REFUSED and run.started_by is None and not marker.exists()


def test_the_sign_off_approves_the_content_of_the_version_signed(
    tmp_path, operator, django_capture_on_commit_callbacks
):
    # Given: a plan with code under sign-off
    plan, author, signers, duty = plan_with_matrix(2)
    marker = tmp_path / "ran"
    step = plan.steps.get(position=1)
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={"kind": "shell", "spec": {"argv": _writes(marker)}, "params": {}, "timeout_seconds": 60},
    )
    version = approvals.submit_plan(plan.pk, actor=author)
    assert "open(" in version.snapshot["steps"][0]["automation"]  # the signers see the whole content
    rows = list(plan.approval_rows.order_by("position"))
    approvals.approve_row(rows[0].pk, actor=signers[0], version=version.number)
    assert not AutomationApproval.objects.exists()  # not yet: the plan is not approved
    approvals.approve_row(rows[1].pk, actor=signers[1], version=version.number)
    approvals.acknowledge_row(rows[2].pk, actor=duty, version=version.number)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    # Then: the content the signers saw is approved, by whom, on which version
    approval = AutomationApproval.objects.get()
    assert approval.via == ApprovalVia.SIGN_OFF and approval.version == version
    assert "Согласующий1" in approval.signers and "Согласующий2" in approval.signers
    # And the work runs it in production
    plan.window_start = timezone.now() - timedelta(minutes=1)
    plan.save(update_fields=["window_start"])
    transitions.start_plan(plan.pk, actor=duty)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step.pk, actor=operator)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and marker.exists() and run.approval == approval


def test_a_changed_automation_after_sign_off_needs_a_new_sign_off(tmp_path):
    plan, author, signers, duty = plan_with_matrix(1)
    step = plan.steps.get(position=1)
    data = {"kind": "shell", "spec": {"argv": ["true"], "dry_run_argv": ["true"]}, "params": {}, "timeout_seconds": 60}
    save_step_automation(plan.pk, step.pk, actor=author, data=data)
    version = approvals.submit_plan(plan.pk, actor=author)
    rows = list(plan.approval_rows.order_by("position"))
    approvals.approve_row(rows[0].pk, actor=signers[0], version=version.number)
    approvals.acknowledge_row(rows[1].pk, actor=duty, version=version.number)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    automation = StepAutomation.objects.get(step=step)
    assert four_eyes.approval_of(automation, production=True) is not None
    # Only the dry-run argv changes (the one-line description does not): still a new version, back to review.
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={**data, "spec": {"argv": ["true"], "dry_run_argv": _writes(tmp_path / "x")}},
    )
    plan.refresh_from_db()
    automation.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW
    assert four_eyes.approval_of(automation) is None


def test_the_plan_page_shows_approval_per_step_and_the_button_to_operators(client, author, operator, tmp_path):
    plan, step = _draft_with_code(author, tmp_path / "ran")
    client.force_login(operator)
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="automation-approvals"' in page and 'data-approved="no"' in page and 'id="approve-automation"' in page
    seen = re.findall(r'name="seen" value="([0-9a-f]{64})"', page)
    assert len(seen) == 1
    # The author changes the dry run while the operator reads the page: what they saw is not what is there.
    save_step_automation(
        plan.pk,
        step.pk,
        actor=author,
        data={
            "kind": "shell",
            "spec": {"argv": ["true"], "dry_run_argv": ["echo", "changed"]},
            "params": {},
            "timeout_seconds": 60,
        },
    )
    client.post(f"/automation/plans/{plan.pk}/approve-automation/", {"seen": seen})
    assert not AutomationApproval.objects.exists()
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    seen = re.findall(r'name="seen" value="([0-9a-f]{64})"', page)
    response = client.post(f"/automation/plans/{plan.pk}/approve-automation/", {"seen": seen})
    assert response.status_code == 302 and AutomationApproval.objects.count() == 1
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'data-approved="operator"' in page and 'id="approve-automation"' not in page
    client.force_login(author)
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="approve-automation"' not in page
    # The author posting the action anyway is refused by the service.
    client.post(f"/automation/plans/{plan.pk}/approve-automation/", {"seen": seen})
    assert AutomationApproval.objects.count() == 1
