"""The step's kind ("Вид": work, announcement, banner on/off, completion notice) is a cell of the grid (issue 13,
item 2): its own column, a select of the Russian labels, and an edit that respects what the kind drives."""

import re

import pytest
from django.urls import reverse

from changeplans import services
from changeplans.choices import PlanStatus, StepKind, StepStatus
from changeplans.models import Plan, Step
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
LABELS = ["Работы", "Рассылка", "Установка баннера", "Снятие баннера", "Рассылка о завершении"]


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author, title="Установка Calico")
    StepFactory(plan=plan, position=1, name="Рассылка о работах", kind=StepKind.ANNOUNCEMENT)
    StepFactory(plan=plan, position=2, name="Установить Calico")
    return plan


def cell_url(step):
    return reverse("changeplans:step_cell", args=[step.pk, "kind"])


def test_the_kind_is_its_own_column_after_the_number(author_client, plan):
    html = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()

    thead = re.search(r"<thead.*?</thead>", html, re.S)[0]
    headers = re.findall(r"<th[^>]*>(.*?)</th>", thead, re.S)
    assert headers[1] == "Вид" and headers[2] == "Наименование мероприятия"
    first, second = plan.steps.order_by("position")
    assert re.search(rf'<td id="cell-{first.pk}-kind"[^>]*>Рассылка</td>', html)
    assert re.search(rf'<td id="cell-{second.pk}-kind"[^>]*>Работы</td>', html)
    # Every row has as many cells as the table has columns.
    row = re.search(rf'<tr id="step-{second.pk}".*?</tr>', html, re.S)[0]
    assert len(re.findall(r"<td[ >]", row)) == len(headers)


def test_the_editor_is_a_select_of_the_russian_labels(author_client, plan):
    step = plan.steps.get(position=1)

    html = author_client.get(cell_url(step), **HX).content.decode()

    assert '<select name="value"' in html
    assert re.findall(r"<option [^>]*>(.*?)</option>", html) == LABELS
    assert re.search(r'<option value="announcement" selected>Рассылка</option>', html)


def test_changing_the_kind_saves_and_names_it_in_the_history(author_client, plan):
    step = plan.steps.get(position=2)

    response = author_client.post(cell_url(step), {"value": "banner_on", "revision": step.revision}, **HX)

    assert response.status_code == 200
    assert re.search(rf'<td id="cell-{step.pk}-kind"[^>]*>Установка баннера</td>', response.content.decode())
    assert Step.objects.get(pk=step.pk).kind == StepKind.BANNER_ON
    assert plan.events.order_by("-id").first().changes == {"kind": ["work", "banner_on"]}
    page = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert "Вид: Работы → Установка баннера" in page


def test_an_unknown_kind_is_refused_at_the_cell(author_client, plan):
    step = plan.steps.get(position=2)

    response = author_client.post(cell_url(step), {"value": "reboot", "revision": step.revision}, **HX)

    assert response.status_code == 422
    assert "Выберите корректный вариант" in response.content.decode()
    assert Step.objects.get(pk=step.pk).kind == StepKind.WORK


def test_another_role_cannot_change_the_kind(client, plan, approver):
    step = plan.steps.get(position=2)
    client.force_login(approver)

    response = client.post(cell_url(step), {"value": "banner_on", "revision": step.revision}, **HX)

    assert response.status_code == 403
    assert Step.objects.get(pk=step.pk).kind == StepKind.WORK


def test_the_kind_of_a_step_that_has_run_cannot_change(author, plan):
    from django.core.exceptions import ValidationError

    step = plan.steps.get(position=1)
    Step.objects.filter(pk=step.pk).update(status=StepStatus.DONE)  # the announcement went out

    with pytest.raises(ValidationError, match="Шаг уже выполнялся"):
        services.update_step_cell(step.pk, actor=author, field="kind", value="work", revision=step.revision)

    assert Step.objects.get(pk=step.pk).kind == StepKind.ANNOUNCEMENT


def test_changing_the_kind_of_an_approved_plan_asks_first_then_unschedules_the_announcement(
    client, django_capture_on_commit_callbacks
):
    from approvals import services as approvals
    from approvals.models import ApprovalRow
    from execution import automatic_steps
    from notifications.choices import ScheduleState
    from notifications.models import ScheduledAction
    from tests.approvals.factories import plan_with_matrix

    # Given an approved plan whose step is an announcement, scheduled to go out
    plan, author, (first,), duty = plan_with_matrix(1)
    step = plan.steps.get()
    Step.objects.filter(pk=step.pk).update(kind=StepKind.ANNOUNCEMENT)
    approvals.submit_plan(plan.pk, actor=author)
    approval, acknowledgement = ApprovalRow.objects.filter(plan=plan).order_by("position")
    approvals.approve_row(approval.pk, actor=first, version=1)
    approvals.acknowledge_row(acknowledgement.pk, actor=duty, version=1)
    automatic_steps.sync_plan(plan.pk)
    row = ScheduledAction.objects.get(key=automatic_steps.step_key(step.pk))
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED and row.state == ScheduleState.PENDING
    client.force_login(author)
    step.refresh_from_db()

    # When the author makes it a work step: first the question, nothing saved
    data = {"value": "work", "revision": step.revision}
    asked = client.post(cell_url(step), data, **HX)
    assert asked.status_code == 409 and "сбросит 2 подписи" in asked.content.decode()
    assert Step.objects.get(pk=step.pk).kind == StepKind.ANNOUNCEMENT

    # Then, confirmed: saved, the plan goes back for sign-off and the announcement is no longer scheduled
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(cell_url(step), {**data, "confirm_reset": "1"}, **HX)
    assert saved.status_code == 200
    assert Step.objects.get(pk=step.pk).kind == StepKind.WORK
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW
    row.refresh_from_db()
    assert row.state == ScheduleState.CANCELLED


def test_the_user_guide_promises_the_cell(author_client, plan):
    # docs/user-guide.md: "choose the kind in the step's "Вид" cell" — the cell is editable for the author.
    step = plan.steps.get(position=2)
    html = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    cell = re.search(rf'<td id="cell-{step.pk}-kind"[^>]*>', html)[0]
    assert f'hx-get="{cell_url(step)}"' in cell

    intruder = UserFactory(username="intruder", roles=["author"])
    author_client.force_login(intruder)
    other = author_client.get(reverse("changeplans:plan_detail", args=[plan.pk])).content.decode()
    assert f'hx-get="{cell_url(step)}"' not in other
