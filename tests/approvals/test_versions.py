"""Plan versions: what is material, the readable diff, a version per submission, append-only history."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from approvals import services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans import services as plan_services
from changeplans import versioning
from changeplans.choices import Availability, EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent, PlanService, PlanVersion, Step
from tests.approvals.factories import plan_with_matrix
from tests.factories import PartyFactory, RiskFactory, RollbackActionFactory, ServiceFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def fresh(plan):
    return Plan.objects.get(pk=plan.pk)


@pytest.fixture
def plan():
    """A draft with a service, one step with a risk and a rollback action."""
    plan, _author, _users, _duty = plan_with_matrix(1)
    PlanService.objects.create(plan=plan, service=ServiceFactory(name="www.example.org", display_name="Инфосайт"))
    step = plan.steps.get()
    risk = RiskFactory(step=step, number=1, description="Сбой", mitigation="Проверить заранее")
    RollbackActionFactory(step=step, position=1, text="Откатить").risks.set([risk])
    Step.objects.filter(pk=step.pk).update(no_rollback_needed=False)
    return plan


# --- what is material ----------------------------------------------------------------------------

NOT_MATERIAL_STEP = {"jira_key": "OPS-77", "comment": "опечатка исправлена"}
NOT_MATERIAL_PLAN = {
    "mailing_list": "it-all@example.org",
    "announcement_intro": "Другой текст рассылки",
    "announcement_subject": "Другая тема",
    "jira_url": "https://jira.example.org/browse/OPS-1",
}

MATERIAL_STEP = {
    "name": "Другое мероприятие",
    "description": "Другое описание",
    "expected_result": "Другой результат",
    "risk_mitigation": "Другая минимизация",
    "affected_systems": "Prod среда",
    "planned_downtime": "10 мин",
    "planned_date": datetime.date(2025, 3, 21),
    "planned_time": datetime.time(21, 30),
    "duration_text": "2-3 часа",
    "no_rollback_needed": True,
}
MATERIAL_PLAN = {
    "title": "Другое название",
    "goal": "Другая цель",
    "downtime_text": "30 мин",
    "client_impact": True,
    "banner_needed": True,
    "time_zone": "Europe/Moscow",
    "window_start": datetime.datetime(2025, 3, 20, 12, 0, tzinfo=datetime.UTC),
    "window_end": datetime.datetime(2025, 3, 20, 18, 0, tzinfo=datetime.UTC),
}


@pytest.mark.parametrize("field", sorted(NOT_MATERIAL_STEP))
def test_step_fields_that_are_not_material(plan, field):
    before = versioning.snapshot(plan)
    Step.objects.filter(plan=plan).update(**{field: NOT_MATERIAL_STEP[field]})
    assert versioning.snapshot(plan) == before


@pytest.mark.parametrize("field", sorted(NOT_MATERIAL_PLAN))
def test_plan_fields_that_are_not_material(plan, field):
    before = versioning.snapshot(plan)
    Plan.objects.filter(pk=plan.pk).update(**{field: NOT_MATERIAL_PLAN[field]})
    assert versioning.snapshot(plan) == before


def test_curator_is_not_material(plan):
    before = versioning.snapshot(plan)
    Plan.objects.filter(pk=plan.pk).update(curator=UserFactory(username="new_curator"))
    assert versioning.snapshot(plan) == before


@pytest.mark.parametrize("field", sorted(MATERIAL_STEP))
def test_step_fields_that_are_material(plan, field):
    before = versioning.snapshot(plan)
    Step.objects.filter(plan=plan).update(**{field: MATERIAL_STEP[field]})
    assert versioning.snapshot(plan) != before


def test_step_executor_is_material(plan):
    before = versioning.snapshot(plan)
    Step.objects.filter(plan=plan).update(executor=PartyFactory(name="ООО «Другой подрядчик»"))
    assert versioning.snapshot(plan) != before


@pytest.mark.parametrize("field", sorted(MATERIAL_PLAN))
def test_plan_fields_that_are_material(plan, field):
    before = versioning.snapshot(plan)
    Plan.objects.filter(pk=plan.pk).update(**{field: MATERIAL_PLAN[field]})
    assert versioning.snapshot(plan) != before


@pytest.mark.parametrize("change", ["risk_text", "risk_mitigation", "risk_added", "rollback_text", "rollback_added"])
def test_risks_and_rollback_are_material(plan, change):
    step = plan.steps.get()
    before = versioning.snapshot(plan)
    if change == "risk_text":
        step.risks.update(description="Другой сбой")
    elif change == "risk_mitigation":
        step.risks.update(mitigation="Другая защита")
    elif change == "risk_added":
        RiskFactory(step=step, number=2, description="Второй риск")
    elif change == "rollback_text":
        step.rollback_actions.update(text="Откатить иначе")
    else:
        RollbackActionFactory(step=step, position=2, text="Ещё одно действие")
    assert versioning.snapshot(plan) != before


@pytest.mark.parametrize("change", ["added", "removed", "availability"])
def test_services_are_material(plan, change):
    before = versioning.snapshot(plan)
    if change == "added":
        PlanService.objects.create(plan=plan, service=ServiceFactory(name="lk.example.org", display_name="ЛК"))
    elif change == "removed":
        PlanService.objects.filter(plan=plan).delete()
    else:
        PlanService.objects.filter(plan=plan).update(availability=Availability.DEGRADED)
    assert versioning.snapshot(plan) != before


def test_steps_added_deleted_and_reordered_are_material(plan):
    before = versioning.snapshot(plan)
    second = StepFactory(plan=plan, position=2, name="Шаг 2")
    added = versioning.snapshot(plan)
    assert added != before
    Step.objects.filter(pk=second.pk).update(position=0)
    assert versioning.snapshot(plan) != added
    second.delete()
    assert versioning.snapshot(plan) == before


def test_snapshot_query_count_does_not_grow_with_steps(plan):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one_step:
        versioning.snapshot(plan)
    for position in range(2, 12):
        step = StepFactory(plan=plan, position=position)
        RiskFactory(step=step, number=1)
        RollbackActionFactory(step=step, position=1)
    with CaptureQueriesContext(connection) as eleven_steps:
        versioning.snapshot(plan)
    assert len(eleven_steps) == len(one_step)


# --- the same rules through the editing services of a plan under sign-off -----------------------


def submitted(plan):
    author = plan.author
    services.submit_plan(plan.pk, actor=author)
    first = rows(plan)[0]
    services.approve_row(first.pk, actor=first.user, version=1)
    return author


def test_non_material_cell_edit_keeps_the_version_and_signatures(plan):
    author = submitted(plan)
    step = plan.steps.get()
    plan_services.update_step_cell(step.pk, actor=author, field="jira_key", value="OPS-9", revision=step.revision)
    assert plan.steps.get().jira_key == "OPS-9"
    assert plan.versions.count() == 1
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.VERSION).count() == 1
    assert rows(plan)[0].status == ApprovalStatus.APPROVED


@pytest.mark.parametrize("field", ["mailing_list", "announcement_intro", "announcement_subject", "jira_url"])
def test_non_material_header_edit_keeps_the_version_and_signatures(plan, field):
    author = submitted(plan)
    current = fresh(plan)
    plan_services.update_plan_header(
        plan.pk, actor=author, data={field: NOT_MATERIAL_PLAN[field]}, revision=current.revision
    )
    assert getattr(fresh(plan), field) == NOT_MATERIAL_PLAN[field]
    assert plan.versions.count() == 1
    assert rows(plan)[0].status == ApprovalStatus.APPROVED


@pytest.mark.parametrize("field", ["name", "description", "planned_time", "duration_text", "executor", "kind"])
def test_material_cell_edit_makes_a_version_and_resets(plan, field):
    author = submitted(plan)
    step = plan.steps.get()
    value = {
        "planned_time": datetime.time(23, 0),
        "duration_text": "2-3 часа",
        "executor": "ООО «Другой подрядчик»",
        "kind": "banner_on",
    }.get(field, "Новый текст")
    plan_services.update_step_cell(step.pk, actor=author, field=field, value=value, revision=step.revision)
    assert list(plan.versions.values_list("number", flat=True)) == [1, 2]
    assert rows(plan)[0].status == ApprovalStatus.PENDING


def test_material_header_edit_makes_a_version(plan):
    author = submitted(plan)
    current = fresh(plan)
    later = current.window_end + datetime.timedelta(hours=1)
    plan_services.update_plan_header(plan.pk, actor=author, data={"window_end": later}, revision=current.revision)
    assert plan.versions.count() == 2
    assert rows(plan)[0].status == ApprovalStatus.PENDING


def test_services_edit_makes_a_version(plan):
    author = submitted(plan)
    current = fresh(plan)
    other = ServiceFactory(name="lk.example.org", display_name="ЛК")
    plan_services.update_plan_header(plan.pk, actor=author, data={}, revision=current.revision, services=[other])
    assert plan.versions.count() == 2


def test_risks_edit_makes_a_version(plan):
    author = submitted(plan)
    step = plan.steps.get()
    plan_services.save_step_risks(
        step.pk,
        actor=author,
        revision=step.revision,
        risks=[
            {"number": 1, "description": "Сбой", "mitigation": "Проверить заранее"},
            {"number": 2, "description": "Новый риск", "mitigation": ""},
        ],
        rollback_actions=[{"text": "Откатить", "risk_numbers": [1, 2]}],
    )
    assert plan.versions.count() == 2


def test_saving_the_same_risks_again_makes_no_version(plan):
    author = submitted(plan)
    step = plan.steps.get()
    risk = step.risks.get()
    action = step.rollback_actions.get()
    plan_services.save_step_risks(
        step.pk,
        actor=author,
        revision=step.revision,
        risks=[{"id": risk.pk, "number": 1, "description": "Сбой", "mitigation": "Проверить заранее"}],
        rollback_actions=[{"id": action.pk, "text": "Откатить", "risk_numbers": [1]}],
    )
    assert plan.versions.count() == 1
    assert rows(plan)[0].status == ApprovalStatus.APPROVED


def test_steps_added_deleted_reordered_make_versions(plan):
    author = submitted(plan)
    added = plan_services.add_step(plan.pk, actor=author, name="Новый шаг")
    assert plan.versions.count() == 2
    first = plan.steps.get(position=1)
    plan_services.reorder_steps(plan.pk, actor=author, step_ids=[added.pk, first.pk])
    assert plan.versions.count() == 3
    plan_services.delete_step(added.pk, actor=author)
    assert plan.versions.count() == 4


# --- the readable diff ---------------------------------------------------------------------------


def test_diff_of_a_changed_step_text_marks_removed_and_added_words(plan):
    Step.objects.filter(plan=plan).update(name="Миграция на Calico сегодня")
    old = versioning.snapshot(plan)
    Step.objects.filter(plan=plan).update(name="Миграция на Cilium сегодня")

    with translation.override("en"):
        changes = versioning.diff(old, versioning.snapshot(plan))
        label = str(Step._meta.get_field("name").verbose_name)
        where = gettext("Step %(n)s") % {"n": 1}

    assert len(changes) == 1
    (change,) = changes
    assert (change["where"], change["what"], change["old"], change["new"]) == (
        where,
        label,
        "Миграция на Calico сегодня",
        "Миграция на Cilium сегодня",
    )
    assert str(change["html"]) == "Миграция на <del>Calico</del> <ins>Cilium</ins> сегодня"


def test_diff_escapes_the_plans_text(plan):
    old = versioning.snapshot(plan)
    Step.objects.filter(plan=plan).update(description='<script>alert("x")</script>')
    (change,) = versioning.diff(old, versioning.snapshot(plan))
    assert "<script>" not in change["html"] and "&lt;script&gt;" in change["html"]


def test_diff_of_added_and_deleted_steps(plan):
    old = versioning.snapshot(plan)
    first = plan.steps.get()
    StepFactory(plan=plan, position=2, name="Проверить мониторинг")

    with translation.override("en"):
        added = versioning.diff(old, versioning.snapshot(plan))
        first.delete()
        Step.objects.filter(plan=plan).update(position=1)
        mixed = versioning.diff(old, versioning.snapshot(plan))
        added_label, deleted_label = gettext("added"), gettext("deleted")

    assert [(c["where"], c["what"], c["new"]) for c in added] == [("Step 2", added_label, "Проверить мониторинг")]
    assert "<ins>Проверить мониторинг</ins>" in added[0]["html"]
    # Step 1 was deleted and the new step took its number.
    assert sorted((c["where"], c["what"]) for c in mixed) == [("Step 1", added_label), ("Step 1", deleted_label)]
    deleted = next(c for c in mixed if c["what"] == deleted_label)
    assert deleted["old"] == "Шаг 1" and "<del>Шаг 1</del>" in deleted["html"]


def test_diff_of_reordered_steps(plan):
    first = plan.steps.get()
    second = StepFactory(plan=plan, position=2, name="Шаг 2")
    old = versioning.snapshot(plan)
    Step.objects.filter(pk=first.pk).update(position=2)
    Step.objects.filter(pk=second.pk).update(position=1)

    with translation.override("en"):
        changes = versioning.diff(old, versioning.snapshot(plan))
        number = gettext("No.")

    assert sorted((c["where"], c["what"], c["old"], c["new"]) for c in changes) == [
        ("Step 1", number, "2", "1"),
        ("Step 2", number, "1", "2"),
    ]


def test_diff_of_header_and_services(plan):
    old = versioning.snapshot(plan)
    Plan.objects.filter(pk=plan.pk).update(title="Новое название")
    PlanService.objects.filter(plan=plan).update(availability=Availability.DEGRADED)

    with translation.override("en"):
        changes = versioning.diff(old, versioning.snapshot(plan))
        header, services_label = gettext("Header"), gettext("affected services")
        title_label = str(Plan._meta.get_field("title").verbose_name)

    assert {(c["where"], c["what"]) for c in changes} == {(header, title_label), (header, services_label)}


def test_diff_of_identical_snapshots_is_empty(plan):
    assert versioning.diff(versioning.snapshot(plan), versioning.snapshot(plan)) == []


def test_diff_between_stored_versions(plan):
    # The approver compares the version they signed with the current one.
    author = submitted(plan)
    step = plan.steps.get()
    plan_services.update_step_cell(
        step.pk, actor=author, field="duration_text", value="2-3 часа", revision=step.revision
    )
    v1, v2 = plan.versions.order_by("number")
    (change,) = versioning.diff(v1.snapshot, v2.snapshot)
    assert (change["old"], change["new"]) == ("5 мин", "2-3 часа")


# --- a version per submission, with its history row ---------------------------------------------


def test_each_submission_freezes_a_numbered_version_and_records_it(plan):
    author = plan.author
    first_row = rows(plan)[0]
    with translation.override("en"):
        v1 = services.submit_plan(plan.pk, actor=author)
        services.reject_row(first_row.pk, actor=first_row.user, version=1, comment="Нет времени окончания")
        assert fresh(plan).status == PlanStatus.REJECTED
        Step.objects.filter(plan=plan).update(name="Исправленный шаг")
        v2 = services.submit_plan(plan.pk, actor=author)

    assert (v1.number, v2.number) == (1, 2)
    assert list(PlanVersion.objects.filter(plan=plan).values_list("number", "created_by")) == [
        (1, author.pk),
        (2, author.pk),
    ]
    assert v1.snapshot["steps"][0]["name"] == "Шаг 1"
    assert v2.snapshot["steps"][0]["name"] == "Исправленный шаг"
    assert v2.snapshot == versioning.snapshot(plan)
    events = list(PlanEvent.objects.filter(plan=plan, kind=EventKind.VERSION).order_by("id"))
    assert [(e.comment, e.actor) for e in events] == [("Version 1", author), ("Version 2", author)]
    # The resubmission cleared the rejection.
    assert all(not row.is_decided for row in rows(plan))


def test_material_edit_records_the_new_version_and_the_resets(plan):
    with translation.override("en"):
        author = submitted(plan)
    step = plan.steps.get()
    with translation.override("en"):
        plan_services.update_step_cell(step.pk, actor=author, field="name", value="Другое", revision=step.revision)

    version_events = PlanEvent.objects.filter(plan=plan, kind=EventKind.VERSION).order_by("id")
    assert [e.comment for e in version_events] == ["Version 1", "Version 2"]
    reset = PlanEvent.objects.get(
        plan=plan, kind=EventKind.TRANSITION, object_type="approvalrow", to_status=ApprovalStatus.PENDING
    )
    assert (reset.from_status, reset.comment, reset.actor) == (ApprovalStatus.APPROVED, "Reset by version 2", author)


def test_versions_cannot_be_numbered_twice(plan):
    from django.db import IntegrityError, transaction

    services.submit_plan(plan.pk, actor=plan.author)
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanVersion.objects.create(plan=plan, number=1, snapshot={})


# --- the history of approval transitions is append-only ------------------------------------------


def test_approval_transition_events_cannot_be_changed_or_deleted(plan):
    submitted(plan)
    event = PlanEvent.objects.get(
        plan=plan, kind=EventKind.TRANSITION, object_type="approvalrow", to_status=ApprovalStatus.APPROVED
    )
    original = (event.actor_id, event.comment, event.at)

    event.comment = "подделка"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        PlanEvent.objects.filter(pk=event.pk).update(actor=None)
    with pytest.raises(PermissionError):
        PlanEvent.objects.filter(plan=plan).delete()

    event = PlanEvent.objects.get(pk=event.pk)
    assert (event.actor_id, event.comment, event.at) == original


def test_admin_cannot_change_or_delete_approval_events(plan, client):
    submitted(plan)
    event = PlanEvent.objects.get(
        plan=plan, kind=EventKind.TRANSITION, object_type="approvalrow", to_status=ApprovalStatus.APPROVED
    )
    comment = event.comment
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)

    change_url = reverse("admin:changeplans_planevent_change", args=[event.pk])
    delete_url = reverse("admin:changeplans_planevent_delete", args=[event.pk])
    assert client.post(change_url, {"comment": "подделка", "kind": event.kind}).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:changeplans_planevent_changelist")
    client.post(changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})

    assert PlanEvent.objects.get(pk=event.pk).comment == comment
