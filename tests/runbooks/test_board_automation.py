"""The board's automation pieces and the plan page's rehearsal: who sees what, the endpoints' permissions,
and query counts that do not grow with the number of automated steps."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from approvals.models import ApprovalRow
from changeplans.choices import PlanStatus, StepStatus
from changeplans.models import Plan, Step
from runbooks.choices import RunStatus
from runbooks.models import AutomationRun
from tests.factories import StepFactory
from tests.runbooks.automation_fixtures import automate, make_plan

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def board_html(client, plan):
    response = client.get(f"/plans/{plan.pk}/board/?part=steps", **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_operators_see_the_run_button_others_see_the_command(client, running_plan, operator, duty):
    step = Step.objects.get(plan=running_plan, position=1)
    automate(step, ["printf", "%s\\n", "{{ node }}"], params={"node": "worker-1"})
    client.force_login(operator)
    html = board_html(client, running_plan)
    assert "worker-1" in html and f"/automation/steps/{step.pk}/run/" in html
    client.force_login(duty)
    html = board_html(client, running_plan)
    assert "worker-1" in html and f"/automation/steps/{step.pk}/run/" not in html
    response = client.post(f"/automation/steps/{step.pk}/run/", **HTMX)
    assert response.status_code == 403 and "только операторы" in response.content.decode()
    assert not AutomationRun.objects.exists()


def test_running_from_the_board_endpoint(client, running_plan, operator, django_capture_on_commit_callbacks):
    step = Step.objects.get(plan=running_plan, position=2)
    automate(step, ["printf", "done-%s\\n", "{{ node }}"], params={"node": "worker-2"})
    client.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/automation/steps/{step.pk}/run/", **HTMX)
    assert response.status_code == 200
    run = AutomationRun.objects.get(step=step)
    assert run.status == RunStatus.SUCCEEDED and run.log == "done-worker-2"
    step.refresh_from_db()
    assert step.status == StepStatus.DONE
    page = client.get(f"/automation/runs/{run.pk}/")
    assert page.status_code == 200 and "done-worker-2" in page.content.decode()
    log = client.get(f"/automation/runs/{run.pk}/log.txt")
    assert "done-worker-2" in log.content.decode() and "printf" in log.content.decode()
    client.logout()
    assert client.get(f"/automation/runs/{run.pk}/").status_code == 302  # to the login page


def test_board_queries_do_not_grow_with_automated_steps(client, author, duty, operator):
    from execution import transitions

    counts = []
    for size in (2, 12):
        plan = make_plan(author)
        for n in range(1, size + 1):
            automate(StepFactory(plan=plan, position=n), ["true"])
        transitions.start_plan(plan.pk, actor=duty)
        client.force_login(operator)
        board_html(client, plan)
        with CaptureQueriesContext(connection) as ctx:
            board_html(client, plan)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_rehearsal_before_the_window_is_shown_to_approvers(
    client, author, approver, operator, django_capture_on_commit_callbacks
):
    plan = make_plan(author, status=PlanStatus.IN_REVIEW)
    one = StepFactory(plan=plan, position=1, name="Проверка узлов")
    two = StepFactory(plan=plan, position=2, name="Перезагрузка")
    automate(
        one,
        ["printf", "real\\n"],
        spec={"argv": ["printf", "real\\n"], "dry_run_argv": ["printf", "dry %s\\n", "{{ node }}"]},
        params={"node": "worker-1"},
    )
    automate(two, ["printf", "reboot\\n"])
    # The approver is on the plan's sign-off matrix: rehearsal results are shown to those with a stake.
    ApprovalRow.objects.create(plan=plan, position=1, person_name="Согласующий", user=approver)
    client.force_login(approver)
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="rehearsal"' in page and "репетиции ещё не было" in page
    assert client.post(f"/automation/plans/{plan.pk}/rehearse/").status_code == 302
    assert not AutomationRun.objects.exists()  # an approver may not start one
    client.force_login(author)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/automation/plans/{plan.pk}/rehearse/")
    runs = {run.step_id: run for run in AutomationRun.objects.filter(mode="rehearsal")}
    assert runs[one.pk].status == RunStatus.SUCCEEDED and runs[one.pk].log == "dry worker-1"
    assert runs[two.pk].status == RunStatus.SKIPPED  # no dry run defined: nothing ran
    one.refresh_from_db()
    assert one.status == StepStatus.PENDING  # a rehearsal never moves the steps
    client.force_login(approver)
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="rehearsal-runs"' in page and "dry" in page and 'id="rehearsal-stale"' not in page
    # The automation changes after the rehearsal: approvers are told the results are for an older text.
    one.automation.params = {"node": "worker-9"}
    one.automation.save()
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="rehearsal-stale"' in page


def test_a_started_plan_is_not_rehearsed(client, running_plan, author, operator):
    automate(Step.objects.get(plan=running_plan, position=1), ["true"])
    client.force_login(operator)
    client.post(f"/automation/plans/{running_plan.pk}/rehearse/")
    assert not AutomationRun.objects.exists()
    assert Plan.objects.get(pk=running_plan.pk).status == PlanStatus.IN_PROGRESS
