"""Four eyes through a deputy: a deputy (Delegation) may not sign a row for the plan's own author or curator.

The rule lives in approvals/conditions.py `sign_refusal`: after the delegation is found, the principal the
deputy signs for must not be the plan's author or curator. Break it by hand: in `sign_refusal`, change
`if on_behalf_of.pk in (plan.author_id, plan.curator_id):` to `if False:`. The author's deputy can then
approve the author's own row, and every test below that expects a refusal fails.
"""

import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from approvals import services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow, Delegation
from changeplans.choices import EventKind
from changeplans.models import Plan, PlanEvent
from tests.approvals.factories import plan_with_matrix
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
HX = {"HTTP_HX_REQUEST": "true"}


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def refusal_reason():
    with translation.override("ru"):
        return gettext("You cannot approve a plan you authored or curate.")


def deputy_for(principal):
    deputy = UserFactory(
        username=f"deputy_of_{principal.username}", last_name="Заместитель", first_name="З.З.", roles=["approver"]
    )
    today = timezone.localdate()
    Delegation.objects.create(
        principal=principal,
        deputy=deputy,
        starts_on=today - datetime.timedelta(days=1),
        ends_on=today + datetime.timedelta(days=1),
    )
    return deputy


@pytest.fixture
def authors_row_and_deputy():
    """A plan in review whose first approval row names its own author, and the author's deputy for today."""
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    ApprovalRow.objects.filter(pk=rows(plan)[0].pk).update(user=author)
    services.submit_plan(plan.pk, actor=author)
    return plan, rows(plan)[0], deputy_for(author)


@pytest.mark.parametrize("decide", ["approve", "reject"])
def test_the_authors_deputy_may_not_sign_the_authors_row(authors_row_and_deputy, decide):
    plan, row, deputy = authors_row_and_deputy
    # When the author's deputy signs the author's row
    with translation.override("ru"), pytest.raises(PermissionDenied) as refused:
        if decide == "approve":
            services.approve_row(row.pk, actor=deputy, version=1)
        else:
            services.reject_row(row.pk, actor=deputy, version=1, comment="Не согласен")
    # Then it is refused with the four-eyes reason, the row is untouched, and the attempt is on record
    assert str(refused.value.reason) == refusal_reason()
    row.refresh_from_db()
    assert (row.status, row.decided_by, row.on_behalf_of) == (ApprovalStatus.PENDING, None, None)
    event = PlanEvent.objects.get(plan=plan, kind=EventKind.REFUSED, actor=deputy)
    assert event.object_id == row.pk and event.comment.startswith(refusal_reason())


def test_the_curators_deputy_may_not_sign_the_curators_row():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    Plan.objects.filter(pk=plan.pk).update(curator=a1)  # approver 1 curates: their row may not be signed for them
    deputy = deputy_for(a1)
    services.submit_plan(plan.pk, actor=author)
    with translation.override("ru"), pytest.raises(PermissionDenied) as refused:
        services.approve_row(rows(plan)[0].pk, actor=deputy, version=1)
    assert str(refused.value.reason) == refusal_reason()
    assert rows(plan)[0].status == ApprovalStatus.PENDING


def test_the_same_deputy_signs_for_a_principal_who_is_neither_author_nor_curator(authors_row_and_deputy):
    # The refusal is about whose row it is, not about the deputy: a second delegation to another approver works.
    plan, authors_row, deputy = authors_row_and_deputy
    other_row = rows(plan)[1]
    today = timezone.localdate()
    Delegation.objects.create(principal=other_row.user, deputy=deputy, starts_on=today, ends_on=today)
    row = services.approve_row(other_row.pk, actor=deputy, version=1)
    assert (row.status, row.decided_by, row.on_behalf_of) == (ApprovalStatus.APPROVED, deputy, other_row.user)


def test_the_page_refuses_the_authors_deputy_with_403(client, authors_row_and_deputy):
    plan, row, deputy = authors_row_and_deputy
    client.force_login(deputy)
    url = reverse("approvals:row_decide", args=[row.pk, "approve"])
    # As htmx: 403, nothing swapped, the reason in a toast
    response = client.post(url, {"version": 1, "part": "matrix"}, **HX)
    assert response.status_code == 403 and response["HX-Reswap"] == "none"
    toast = json.loads(response["HX-Trigger"])["okno:toast"]
    assert (toast["level"], toast["text"]) == ("danger", refusal_reason())
    # As a plain form: the 403 page
    assert client.post(url, {"version": 1}).status_code == 403
    assert rows(plan)[0].status == ApprovalStatus.PENDING
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, actor=deputy).count() == 2
