import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from approvals import services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow, Delegation
from changeplans import services as plan_services
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from tests.approvals.factories import plan_with_matrix
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def test_submit_approve_acknowledge_approves_the_plan():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    version = services.submit_plan(plan.pk, actor=author)
    assert version.number == 1 and Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW
    r1, r2, ack = rows(plan)
    services.approve_row(r1.pk, actor=a1, version=1, comment="ок")
    services.approve_row(r2.pk, actor=a2, version=1)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW  # the duty officer has not acknowledged
    services.acknowledge_row(ack.pk, actor=duty, version=1)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED
    r1.refresh_from_db()
    assert (r1.status, r1.decided_by, r1.version.number, r1.comment) == (ApprovalStatus.APPROVED, a1, 1, "ок")


def test_author_cannot_approve_and_the_refusal_is_recorded():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    ApprovalRow.objects.filter(pk=rows(plan)[0].pk).update(user=author)
    services.submit_plan(plan.pk, actor=author)
    with pytest.raises(PermissionDenied):
        services.approve_row(rows(plan)[0].pk, actor=author, version=1)
    assert rows(plan)[0].status == ApprovalStatus.PENDING
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, actor=author).exists()


def test_approver_signs_only_own_row():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    with pytest.raises(PermissionDenied):
        services.approve_row(rows(plan)[1].pk, actor=a1, version=1)


def test_rejection_needs_a_reason_and_returns_the_plan():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    with pytest.raises(ValidationError):
        services.reject_row(rows(plan)[0].pk, actor=a1, version=1, comment="  ")
    services.reject_row(rows(plan)[0].pk, actor=a1, version=1, comment="Нет плана отката для шага 1")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REJECTED
    assert PlanEvent.objects.filter(plan=plan, to_status="rejected", comment="Нет плана отката для шага 1").exists()


def test_material_edit_makes_a_new_version_and_resets_signatures():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    services.approve_row(rows(plan)[0].pk, actor=a1, version=1)
    step = plan.steps.get()
    plan_services.update_step_cell(
        step.pk, actor=author, field="duration_text", value="2-3 часа", revision=step.revision
    )
    assert plan.versions.count() == 2
    assert rows(plan)[0].status == ApprovalStatus.PENDING
    with pytest.raises(services.StaleVersion):
        services.approve_row(rows(plan)[1].pk, actor=a2, version=1)
    services.approve_row(rows(plan)[1].pk, actor=a2, version=2)


def test_non_material_edit_changes_nothing():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    services.approve_row(rows(plan)[0].pk, actor=a1, version=1)
    step = plan.steps.get()
    plan_services.update_step_cell(step.pk, actor=author, field="jira_key", value="OPS-7", revision=step.revision)
    assert plan.versions.count() == 1 and rows(plan)[0].status == ApprovalStatus.APPROVED


def test_approved_plan_goes_back_to_review_on_material_edit():
    plan, author, (a1,), duty = plan_with_matrix(1)
    services.submit_plan(plan.pk, actor=author)
    services.approve_row(rows(plan)[0].pk, actor=a1, version=1)
    services.acknowledge_row(rows(plan)[1].pk, actor=duty, version=1)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.APPROVED
    step = plan.steps.get()
    plan_services.update_step_cell(step.pk, actor=author, field="name", value="Другое имя", revision=step.revision)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW
    assert [r.status for r in rows(plan)] == [ApprovalStatus.PENDING, ApprovalStatus.NOT_ACKNOWLEDGED]


def test_sequential_stages():
    plan, author, (a1, a2), duty = plan_with_matrix(2, stages=[1, 2])
    services.submit_plan(plan.pk, actor=author)
    with pytest.raises(PermissionDenied):
        services.approve_row(rows(plan)[1].pk, actor=a2, version=1)
    services.approve_row(rows(plan)[0].pk, actor=a1, version=1)
    services.approve_row(rows(plan)[1].pk, actor=a2, version=1)


def test_deputy_signs_for_the_principal_within_the_dates():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    deputy = UserFactory(username="deputy", last_name="Иванов", first_name="П.С.", roles=["approver"])
    today = timezone.localdate()
    Delegation.objects.create(
        principal=a1,
        deputy=deputy,
        starts_on=today - datetime.timedelta(days=1),
        ends_on=today + datetime.timedelta(days=1),
    )
    services.submit_plan(plan.pk, actor=author)
    row = services.approve_row(rows(plan)[0].pk, actor=deputy, version=1)
    assert (row.decided_by, row.on_behalf_of) == (deputy, a1)
    Delegation.objects.all().delete()
    with pytest.raises(PermissionDenied):
        services.approve_row(rows(plan)[1].pk, actor=deputy, version=1)


def test_only_the_duty_group_acknowledges():
    plan, author, (a1,), duty = plan_with_matrix(1)
    services.submit_plan(plan.pk, actor=author)
    with pytest.raises(PermissionDenied):
        services.acknowledge_row(rows(plan)[1].pk, actor=a1, version=1)
    services.acknowledge_row(rows(plan)[1].pk, actor=duty, version=1)


def test_a_signer_made_curator_afterwards_does_not_complete_the_sign_off():
    plan, author, (a1,), duty = plan_with_matrix(1)
    services.submit_plan(plan.pk, actor=author)
    services.approve_row(rows(plan)[0].pk, actor=a1, version=1)
    Plan.objects.filter(pk=plan.pk).update(curator=a1)  # not material: no new version
    services.acknowledge_row(rows(plan)[1].pk, actor=duty, version=1)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW
