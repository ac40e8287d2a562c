"""The plan page's matrix rows are one query compiled once per process (approvals.selectors._MATRIX_ROWS) with
the plan, the viewer and today's date put in at each call: each viewer and each day gets their own answer."""

import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from approvals.models import ApprovalRow, Delegation
from approvals.selectors import matrix_context
from tests.approvals.factories import plan_with_matrix
from tests.factories import PlanFactory, UserFactory

pytestmark = pytest.mark.django_db


def delegated(plan, user):
    return {row.user_id: bool(getattr(row, "delegated", False)) for row in matrix_context(plan, user)["rows"]}


def test_each_viewer_and_day_get_their_own_delegations():
    plan, author, approvers, _duty = plan_with_matrix(2)
    other_plan = PlanFactory(author=author)
    ApprovalRow.objects.create(plan=other_plan, position=1, person_name="Согласующий1 А.А.", user=approvers[0])
    deputy, stranger = UserFactory(username="deputy"), UserFactory(username="stranger")
    today = timezone.localdate()
    Delegation.objects.create(principal=approvers[0], deputy=deputy, starts_on=today, ends_on=today)
    for _ in range(2):  # compiled on the first call, reused on the second
        assert delegated(plan, deputy)[approvers[0].pk] is True
        assert delegated(plan, deputy)[approvers[1].pk] is False
        assert not any(delegated(plan, stranger).values())
        assert [row.plan_id for row in matrix_context(other_plan, stranger)["rows"]] == [other_plan.pk]
        assert delegated(other_plan, deputy) == {approvers[0].pk: True}
    tomorrow = today + datetime.timedelta(days=1)
    with mock.patch.object(timezone, "localdate", return_value=tomorrow):
        assert not any(delegated(plan, deputy).values())  # the delegation was for today only
    rows = matrix_context(plan, AnonymousUser())["rows"]
    assert {row.user_id for row in rows} >= {approver.pk for approver in approvers}
    assert not any(row.mine for row in rows)
