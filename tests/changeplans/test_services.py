import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from changeplans import services
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import PlanEvent, Step
from tests.factories import PlanFactory, RiskFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author)
    for position in range(1, 4):
        StepFactory(plan=plan, position=position, name=f"Шаг {position}")
    return plan


def names(plan):
    return list(plan.steps.order_by("position").values_list("name", flat=True))


def test_create_plan_records_history(author):
    service = ServiceFactory()
    start = datetime.datetime(2025, 3, 20, 13, tzinfo=datetime.UTC)
    plan = services.create_plan(
        actor=author,
        data={"title": "Работы", "window_start": start, "window_end": start + datetime.timedelta(hours=3)},
        services=[service],
    )
    assert plan.status == PlanStatus.DRAFT
    assert list(plan.services.all()) == [service]
    event = PlanEvent.objects.get(plan=plan)
    assert (event.kind, event.actor, event.to_status) == (EventKind.CREATED, author, "draft")


def test_only_authors_create_plans(approver):
    start = datetime.datetime(2025, 3, 20, 13, tzinfo=datetime.UTC)
    with pytest.raises(PermissionDenied):
        services.create_plan(
            actor=approver,
            data={"title": "x", "window_start": start, "window_end": start + datetime.timedelta(hours=1)},
        )


def test_update_cell_saves_and_records_old_and_new(plan, author):
    step = plan.steps.get(position=2)
    services.update_step_cell(step.pk, actor=author, field="name", value="Новое имя", revision=step.revision)
    step.refresh_from_db()
    assert step.name == "Новое имя" and step.revision == 2
    event = PlanEvent.objects.get(plan=plan, kind=EventKind.EDITED)
    assert event.changes == {"name": ["Шаг 2", "Новое имя"]}
    assert event.actor == author


def test_update_duration_keeps_min_and_max(plan, author):
    step = plan.steps.get(position=1)
    services.update_step_cell(step.pk, actor=author, field="duration_text", value="2-3 часа", revision=step.revision)
    step.refresh_from_db()
    assert (step.duration_text, step.duration_min, step.duration_max) == ("2-3 часа", 120, 180)


def test_stale_revision_is_a_conflict_and_changes_nothing(plan, author):
    step = plan.steps.get(position=1)
    services.update_step_cell(step.pk, actor=author, field="name", value="Первая правка", revision=1)
    with pytest.raises(services.EditConflict) as caught:
        services.update_step_cell(step.pk, actor=author, field="name", value="Вторая правка", revision=1)
    assert caught.value.current.name == "Первая правка"
    step.refresh_from_db()
    assert step.name == "Первая правка"


def test_other_author_cannot_edit(plan, other_author):
    step = plan.steps.first()
    with pytest.raises(PermissionDenied):
        services.update_step_cell(step.pk, actor=other_author, field="name", value="x", revision=step.revision)


def test_admin_can_edit_any_draft(plan, admin_user):
    step = plan.steps.first()
    services.update_step_cell(step.pk, actor=admin_user, field="name", value="Админ", revision=step.revision)
    assert Step.objects.get(pk=step.pk).name == "Админ"


def test_plan_in_progress_is_not_editable(plan, author):
    plan.submit()
    plan.approve()
    plan.start()
    plan.save()
    step = plan.steps.first()
    with pytest.raises(PermissionDenied):
        services.update_step_cell(step.pk, actor=author, field="name", value="x", revision=step.revision)


def test_insert_after_moves_later_steps_down(plan, author):
    services.add_step(plan.pk, actor=author, after_position=1, name="Вставка")
    assert names(plan) == ["Шаг 1", "Вставка", "Шаг 2", "Шаг 3"]
    assert list(plan.steps.order_by("position").values_list("position", flat=True)) == [1, 2, 3, 4]


def test_delete_closes_the_gap(plan, author):
    services.delete_step(plan.steps.get(position=2).pk, actor=author)
    assert names(plan) == ["Шаг 1", "Шаг 3"]
    assert list(plan.steps.order_by("position").values_list("position", flat=True)) == [1, 2]
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.STEP_DELETED).count() == 1


def test_move_and_reorder(plan, author):
    services.move_step(plan.steps.get(position=3).pk, actor=author, offset=-1)
    assert names(plan) == ["Шаг 1", "Шаг 3", "Шаг 2"]
    services.move_step(plan.steps.get(position=1).pk, actor=author, offset=-1)
    assert names(plan) == ["Шаг 1", "Шаг 3", "Шаг 2"]


def test_reorder_with_a_stale_list_is_a_conflict(plan, author):
    ids = list(plan.steps.order_by("position").values_list("pk", flat=True))
    services.add_step(plan.pk, actor=author)
    with pytest.raises(services.EditConflict):
        services.reorder_steps(plan.pk, actor=author, step_ids=list(reversed(ids)))
    assert names(plan)[:3] == ["Шаг 1", "Шаг 2", "Шаг 3"]


def test_save_risks_links_rollback_to_numbered_risks(plan, author):
    step = plan.steps.first()
    risks = [{"id": None, "number": n, "description": f"Риск {n}", "mitigation": ""} for n in range(1, 9)]
    actions = [{"id": None, "text": "Устранить причину и перезапустить узел/кластер.", "risk_numbers": [5, 6, 7, 8]}]
    services.save_step_risks(
        step.pk,
        actor=author,
        revision=step.revision,
        risks=risks,
        rollback_actions=actions,
        risk_mitigation="Мониторинг",
    )
    step.refresh_from_db()
    assert step.risks.count() == 8 and step.risk_mitigation == "Мониторинг"
    assert step.rollback_actions.get().label() == "5/6/7/8"


def test_renumbering_risks_keeps_their_ids(plan, author):
    step = plan.steps.first()
    first, second = RiskFactory(step=step, number=1, description="A"), RiskFactory(step=step, number=2, description="B")
    risks = [{"id": first.pk, "number": 2, "description": "A"}, {"id": second.pk, "number": 1, "description": "B"}]
    services.save_step_risks(step.pk, actor=author, revision=step.revision, risks=risks, rollback_actions=[])
    assert dict(step.risks.values_list("pk", "number")) == {first.pk: 2, second.pk: 1}


def test_rollback_naming_unknown_risk_is_refused_and_rolled_back(plan, author):
    step = plan.steps.first()
    with pytest.raises(ValidationError):
        services.save_step_risks(
            step.pk,
            actor=author,
            revision=step.revision,
            risks=[{"number": 1, "description": "A"}],
            rollback_actions=[{"text": "x", "risk_numbers": [9]}],
        )
    assert step.risks.count() == 0


def test_cancel_needs_a_reason_and_records_it(plan, author):
    with pytest.raises(ValidationError):
        services.cancel_plan(plan.pk, actor=author, comment=" ")
    services.cancel_plan(plan.pk, actor=author, comment="Перенос")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
    event = PlanEvent.objects.get(plan=plan, kind=EventKind.TRANSITION)
    assert (event.from_status, event.to_status, event.comment) == ("draft", "cancelled", "Перенос")


def test_stranger_cannot_cancel(plan):
    stranger = UserFactory(username="stranger", roles=["approver"])
    with pytest.raises(PermissionDenied):
        services.cancel_plan(plan.pk, actor=stranger, comment="x")


def test_edits_of_different_cells_of_one_step_do_not_conflict(plan, author):
    # Given two editors opened on the same step at revision 1
    step = plan.steps.first()
    services.update_step_cell(step.pk, actor=author, field="name", value="Имя", revision=1, original="Шаг 1")
    # When the second editor saves another cell with the stale revision, it is saved
    services.update_step_cell(step.pk, actor=author, field="jira_key", value="OPS-1", revision=1, original="")
    step.refresh_from_db()
    assert (step.name, step.jira_key) == ("Имя", "OPS-1")
    # But a stale editor of the same cell is a conflict
    with pytest.raises(services.EditConflict):
        services.update_step_cell(step.pk, actor=author, field="name", value="Другое", revision=1, original="Шаг 1")
