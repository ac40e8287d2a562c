"""One definition of an administrator (changeplans.roles.is_administrator): the `admin` group or a superuser.

A group administrator may do in sign-off what a superuser may (give a plan a matrix template, submit it,
see the submit button), and nothing more: an administrator never signs or acknowledges someone else's row.
To break the rule by hand: in approvals.conditions.prepares_plan, put `user.is_superuser` back for
`is_administrator(user)` (the old rule): the group administrator's submit and template tests fail; make it
return True for every signed-in user: the normal user's tests fail.
"""

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from approvals import selectors, services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow, MatrixTemplate, MatrixTemplateRow
from changeplans import services as plan_services
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from changeplans.permissions import can_cancel_plan, can_edit_plan
from changeplans.roles import is_administrator
from tests.approvals.factories import plan_with_matrix
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def group_admin():
    """In the `admin` group, not a superuser (and not staff: no Django admin site)."""
    return UserFactory(username="group-admin", roles=["admin"])


@pytest.fixture
def superuser():
    """A superuser outside the `admin` group."""
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def other_author():
    """An author, but not of the plan."""
    return UserFactory(username="other-author", roles=["author"])


def _template():
    template = MatrixTemplate.objects.create(name="PROD")
    boss = UserFactory(username="boss", roles=["approver"])
    MatrixTemplateRow.objects.create(template=template, position=1, person_name="Матвеев И.Б.", user=boss)
    return template


def test_who_is_an_administrator(group_admin, superuser, other_author):
    approver = UserFactory(username="approver", roles=["approver", "operator", "duty_officer"])
    assert is_administrator(group_admin) and is_administrator(superuser)
    assert not is_administrator(other_author) and not is_administrator(approver)
    assert not is_administrator(AnonymousUser())


@pytest.mark.parametrize("who", ["group_admin", "superuser"])
def test_an_administrator_submits_and_templates_a_plan_of_another_author(request, who):
    admin = request.getfixturevalue(who)
    plan, author, approvers, duty = plan_with_matrix(2)
    template = _template()
    # The matrix part of the plan page offers the submit button and the builder (whose template form lists them).
    signoff = selectors.matrix_context(plan, admin)
    assert signoff["can_submit"] and signoff["submit_refusal"] is None and signoff["can_edit_matrix"]
    assert selectors.matrix_templates() == [template]

    services.apply_template(plan.pk, actor=admin, template_id=template.pk)
    assert list(ApprovalRow.objects.filter(plan=plan).values_list("person_name", flat=True)) == ["Матвеев И.Б."]
    version = services.submit_plan(plan.pk, actor=admin)

    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_REVIEW and version.number == 1
    assert PlanEvent.objects.filter(
        plan=plan, actor=admin, kind=EventKind.TRANSITION, to_status=PlanStatus.IN_REVIEW
    ).exists()


def test_a_group_administrator_submits_from_the_page(client, group_admin):
    plan, author, approvers, duty = plan_with_matrix(2)
    client.force_login(group_admin)
    response = client.post(reverse("approvals:plan_submit", args=[plan.pk]), **HX)
    assert response.status_code == 200 and json.loads(response["HX-Trigger"])["okno:toast"]["level"] == "success"
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW


@pytest.mark.parametrize("who", ["other_author", "approver"])
def test_a_normal_user_still_cannot_submit_or_template_another_authors_plan(client, request, who):
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    user = a1 if who == "approver" else request.getfixturevalue(who)
    template = _template()
    signoff = selectors.matrix_context(plan, user)
    assert not signoff["can_submit"] and not signoff["can_edit_matrix"]
    with pytest.raises(PermissionDenied):
        services.submit_plan(plan.pk, actor=user)
    with pytest.raises(PermissionDenied):
        services.apply_template(plan.pk, actor=user, template_id=template.pk)
    client.force_login(user)
    assert client.post(reverse("approvals:plan_submit", args=[plan.pk]), **HX).status_code == 403
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.DRAFT
    names = list(ApprovalRow.objects.filter(plan=plan).values_list("person_name", flat=True))
    assert names == ["Согласующий1 А.А.", "Согласующий2 А.А.", "Дежурный НЭС"]


@pytest.mark.parametrize("who", ["group_admin", "superuser"])
def test_an_administrator_does_not_sign_or_acknowledge_rows_of_others(request, who):
    admin = request.getfixturevalue(who)
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    r1, r2, ack = ApprovalRow.objects.filter(plan=plan).order_by("position")
    with pytest.raises(PermissionDenied):
        services.approve_row(r1.pk, actor=admin, version=1)
    with pytest.raises(PermissionDenied):
        services.acknowledge_row(ack.pk, actor=admin, version=1)
    assert [row.status for row in ApprovalRow.objects.filter(plan=plan).order_by("position")] == [
        ApprovalStatus.PENDING,
        ApprovalStatus.PENDING,
        ApprovalStatus.NOT_ACKNOWLEDGED,
    ]
    assert selectors.waiting_rows(admin).count() == 0
    assert not any(row.mine for row in selectors.matrix_context(Plan.objects.get(pk=plan.pk), admin)["rows"])


def test_the_same_administrator_edits_and_cancels_in_changeplans(group_admin, superuser, other_author):
    plan, author, approvers, duty = plan_with_matrix(2)
    for admin in (group_admin, superuser):
        assert can_edit_plan(admin, plan) and can_cancel_plan(admin, plan)
    assert not can_edit_plan(other_author, plan) and not can_cancel_plan(other_author, plan)
    with pytest.raises(PermissionDenied):
        plan_services.cancel_plan(plan.pk, actor=other_author, comment="не нужен")
    plan_services.cancel_plan(plan.pk, actor=group_admin, comment="не нужен")
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.CANCELLED


def test_the_plan_page_knows_who_may_cancel(client, group_admin, other_author):
    plan, author, approvers, duty = plan_with_matrix(2)
    url = reverse("changeplans:plan_detail", args=[plan.pk])
    for user, expected in ((author, True), (group_admin, True), (other_author, False), (approvers[0], False)):
        client.force_login(user)
        assert client.get(url).context["can_cancel"] is expected
