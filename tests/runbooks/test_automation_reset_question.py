"""The automation editor asks before a save or delete that resets signatures (issue 13), like the step table.

Break it by hand: in runbooks/views_automation.py, call `versioning.confirm_resets(True)`; the first post then
saves and resets the signatures without asking, and the tests below fail.
"""

import pytest
from django.urls import reverse

from approvals import services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans.choices import PlanStatus
from changeplans.models import Plan
from runbooks.models import StepAutomation
from tests.approvals.factories import plan_with_matrix
from tests.factories import StepFactory
from tests.runbooks.automation_fixtures import automate

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SHELL = {"kind": "shell", "spec": "argv: [df, -h, /]\n", "params": "", "timeout_seconds": "60"}


@pytest.fixture
def approved(client):
    """An approved plan with one automated step, 3 signatures; its author logged in."""
    plan, author, approvers, duty = plan_with_matrix(2)
    step = StepFactory(plan=plan, position=1)
    automate(step, ["true"], approved=False)
    services.submit_plan(plan.pk, actor=author)
    rows = list(ApprovalRow.objects.filter(plan=plan).order_by("position"))
    for row, user in zip(rows, [*approvers, duty], strict=True):
        if user is duty:
            services.acknowledge_row(row.pk, actor=duty, version=1)
        else:
            services.approve_row(row.pk, actor=user, version=1)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED
    client.force_login(author)
    return plan, step


def editor(plan, step):
    return reverse("automation_editor:step_automation", args=[plan.pk, step.pk])


def opened_at(client, plan, step):
    form = client.get(editor(plan, step)).context["form"]
    return {name: form.initial.get(name, "") for name in ("revision", "original")}


def decided(plan):
    return (
        ApprovalRow.objects.filter(plan=plan)
        .exclude(status__in=[ApprovalStatus.PENDING, ApprovalStatus.NOT_ACKNOWLEDGED])
        .count()
    )


def test_a_save_asks_first_and_keeps_what_was_typed(client, approved):
    plan, step = approved
    response = client.post(editor(plan, step), {**opened_at(client, plan, step), **SHELL})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="automation-reset"' in html and 'name="confirm_reset" value="1"' in html
    assert "df, -h, /" in html  # the typed spec is still in the form
    assert StepAutomation.objects.get(step=step).spec == {"argv": ["true"]}
    assert decided(plan) == 3 and Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED


def test_a_confirmed_save_saves_and_resets(client, approved):
    plan, step = approved
    data = {**opened_at(client, plan, step), **SHELL, "confirm_reset": "1"}
    response = client.post(editor(plan, step), data)
    assert response.status_code == 302
    assert StepAutomation.objects.get(step=step).spec == {"argv": ["df", "-h", "/"]}
    assert decided(plan) == 0 and Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW


def test_a_delete_asks_first_then_deletes_when_confirmed(client, approved):
    plan, step = approved
    opened = opened_at(client, plan, step)
    response = client.post(editor(plan, step), {**opened, "delete": "1"})
    assert response.status_code == 409
    html = response.content.decode()
    assert 'form="automation-delete-confirm"' in html and 'id="automation-delete-confirm"' in html
    assert StepAutomation.objects.filter(step=step).exists() and decided(plan) == 3

    response = client.post(editor(plan, step), {**opened, "delete": "1", "confirm_reset": "1"})
    assert response.status_code == 302
    assert not StepAutomation.objects.filter(step=step).exists()
    assert decided(plan) == 0
