"""An edit that would reset signatures asks first (issue 13): nothing is saved until the user confirms."""

import pytest
from django.urls import reverse
from django.utils import translation

from approvals import services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans import versioning
from changeplans.choices import PlanStatus
from changeplans.models import Plan, Step
from tests.approvals.factories import plan_with_matrix

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HX = {"HTTP_HX_REQUEST": "true"}


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def statuses(plan):
    return [row.status for row in rows(plan)]


@pytest.fixture
def approved(client):
    """An approved plan: two approvers signed, the duty group acknowledged (3 signatures); its author logged in."""
    plan, author, approvers, duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    for row, user in zip(rows(plan), [*approvers, duty], strict=True):
        if user is duty:
            services.acknowledge_row(row.pk, actor=duty, version=1)
        else:
            services.approve_row(row.pk, actor=user, version=1)
    plan = Plan.objects.get(pk=plan.pk)
    assert plan.status == PlanStatus.APPROVED
    client.force_login(author)
    return plan


def cell_post(client, step, field, value, **extra):
    data = {"value": value, "revision": step.revision, "original": getattr(step, field), **extra}
    return client.post(reverse("changeplans:step_cell", args=[step.pk, field]), data, **HX)


def test_the_question_in_english_and_russian(approved):
    with translation.override("en"):
        assert versioning.reset_question(approved, 9) == (
            "This change will reset 9 signatures and return the plan to review."
        )
    with translation.override("ru"):
        assert versioning.reset_question(approved, 9) == (
            "Это изменение сбросит 9 подписей и вернёт план на согласование."
        )
        assert (
            versioning.reset_question(Plan(status=PlanStatus.IN_REVIEW), 1)
            == "Это изменение сбросит 1 подпись: план будут подписывать заново."
        )


def test_the_count_is_the_decided_rows(approved):
    assert versioning.signatures_to_reset(approved) == 3
    draft, _author, _users, _duty = plan_with_matrix(2)
    assert versioning.signatures_to_reset(draft) == 0


def test_material_cell_edit_of_an_approved_plan_asks_and_saves_nothing(client, approved):
    step = approved.steps.get()
    before = statuses(approved)
    response = cell_post(client, step, "name", "Перезагрузить сервер")
    assert response.status_code == 409
    html = response.content.decode()
    assert "Это изменение сбросит 3 подписи и вернёт план на согласование" in html
    assert "Сохранить и сбросить подписи" in html
    assert "Перезагрузить сервер" in html  # what the user typed stays in the editor
    assert 'name="confirm_reset"' not in html and "confirm_reset" in html  # the button adds it
    assert response["HX-Retarget"] == f"#cell-{step.pk}-name"
    assert Step.objects.get(pk=step.pk).name == "Шаг 1"
    assert statuses(approved) == before
    assert Plan.objects.get(pk=approved.pk).status == PlanStatus.APPROVED
    assert approved.versions.count() == 1


def test_confirmed_material_cell_edit_saves_and_resets(client, approved):
    step = approved.steps.get()
    response = cell_post(client, step, "name", "Перезагрузить сервер", confirm_reset="1")
    assert response.status_code == 200
    assert Step.objects.get(pk=step.pk).name == "Перезагрузить сервер"
    assert statuses(approved) == [ApprovalStatus.PENDING, ApprovalStatus.PENDING, ApprovalStatus.NOT_ACKNOWLEDGED]
    assert Plan.objects.get(pk=approved.pk).status == PlanStatus.IN_REVIEW
    assert approved.versions.count() == 2


def test_non_material_cell_edit_of_an_approved_plan_does_not_ask(client, approved):
    step = approved.steps.get()
    response = cell_post(client, step, "jira_key", "OPS-42")
    assert response.status_code == 200
    assert Step.objects.get(pk=step.pk).jira_key == "OPS-42"
    assert Plan.objects.get(pk=approved.pk).status == PlanStatus.APPROVED
    assert ApprovalStatus.PENDING not in statuses(approved)


def test_saving_the_same_value_does_not_ask(client, approved):
    step = approved.steps.get()
    assert cell_post(client, step, "name", step.name).status_code == 200
    assert Plan.objects.get(pk=approved.pk).status == PlanStatus.APPROVED


def test_draft_saves_without_asking(client):
    plan, author, _users, _duty = plan_with_matrix(2)
    client.force_login(author)
    step = plan.steps.get()
    assert cell_post(client, step, "name", "Новое имя").status_code == 200
    assert Step.objects.get(pk=step.pk).name == "Новое имя"


def test_in_review_without_decided_rows_does_not_ask(client):
    plan, author, _users, _duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    client.force_login(author)
    step = plan.steps.get()
    assert cell_post(client, step, "name", "Новое имя").status_code == 200
    assert Step.objects.get(pk=step.pk).name == "Новое имя"
    assert plan.versions.count() == 2


def test_in_review_with_one_signature_asks_without_return_to_review(client):
    plan, author, approvers, _duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    services.approve_row(rows(plan)[0].pk, actor=approvers[0], version=1)
    client.force_login(author)
    response = cell_post(client, plan.steps.get(), "name", "Новое имя")
    assert response.status_code == 409
    assert "Это изменение сбросит 1 подпись: план будут подписывать заново." in response.content.decode()
    assert rows(plan)[0].status == ApprovalStatus.APPROVED


@pytest.mark.parametrize(
    ("name", "data"),
    [("step_add", {}), ("step_add", {"after": "1"}), ("step_delete", {}), ("step_move", {"direction": "up"})],
)
def test_step_buttons_ask_first(client, approved, name, data):
    step = approved.steps.get()
    Step.objects.create(plan=approved, position=2, name="Шаг 2")  # a second step to move and delete
    # The plan's last version does not have the second step yet: record it as the approved content.
    approved.versions.update(snapshot=versioning.snapshot(approved))
    target = approved.pk if name == "step_add" else Step.objects.get(plan=approved, position=2).pk
    url = reverse(f"changeplans:{name}", args=[target])
    count = approved.steps.count()
    response = client.post(url, data, **HX)
    assert response.status_code == 409
    assert "сбросит 3 подписи и вернёт план на согласование" in response.content.decode()
    assert response["HX-Retarget"] == "this"
    assert approved.steps.count() == count
    assert [s.pk for s in approved.steps.order_by("position")][0] == step.pk
    assert Plan.objects.get(pk=approved.pk).status == PlanStatus.APPROVED
    response = client.post(url, {**data, "confirm_reset": "1"}, **HX)
    assert response.status_code == 200
    assert Plan.objects.get(pk=approved.pk).status == PlanStatus.IN_REVIEW


@pytest.mark.parametrize(
    ("edited", "value"), [("title", "Новое название плана"), ("stated_duration_text", "4 ч 30 мин")]
)
def test_header_save_asks_and_keeps_the_typed_values(client, approved, edited, value):
    url = reverse("changeplans:plan_header", args=[approved.pk])
    form = client.get(url + "?edit=1", **HX).context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            value = field.widget.format_value(value)
            if value is not None:
                data[name] = value
    data[edited] = value  # the stated total is signed like the title: approvers read it
    response = client.post(url, data, **HX)
    assert response.status_code == 409, response.content.decode()[:2000]
    assert value in response.content.decode()
    assert getattr(Plan.objects.get(pk=approved.pk), edited) != value
    response = client.post(url, {**data, "confirm_reset": "1"}, **HX)
    assert response.status_code == 200
    plan = Plan.objects.get(pk=approved.pk)
    assert getattr(plan, edited) == value
    assert plan.status == PlanStatus.IN_REVIEW


def test_risks_save_asks_first(client, approved):
    step = approved.steps.get()
    url = reverse("changeplans:step_risks", args=[step.pk])
    data = {
        "revision": step.revision,
        "risk_mitigation": "Проверить заранее",
        "no_rollback_needed": "on",
        "risk-TOTAL_FORMS": "1",
        "risk-INITIAL_FORMS": "0",
        "risk-0-number": "1",
        "risk-0-description": "Сбой сервера",
        "risk-0-mitigation": "",
        "action-TOTAL_FORMS": "0",
        "action-INITIAL_FORMS": "0",
    }
    response = client.post(url, data, **HX)
    assert response.status_code == 409, response.content.decode()[:2000]
    assert "Сбой сервера" in response.content.decode()
    assert not step.risks.exists()
    response = client.post(url, {**data, "confirm_reset": "1"}, **HX)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert step.risks.count() == 1
    assert Plan.objects.get(pk=approved.pk).status == PlanStatus.IN_REVIEW


def test_services_called_directly_are_not_asked(approved):
    from changeplans import services as plan_services

    step = approved.steps.get()
    plan_services.update_step_cell(step.pk, actor=approved.author, field="name", value="X", revision=step.revision)
    assert Plan.objects.get(pk=approved.pk).status == PlanStatus.IN_REVIEW
