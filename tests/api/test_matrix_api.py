"""The sign-off matrix and its decisions through the API (api/views_matrix.py, docs/api.md "Sign-off").

Refusals are compared with the page's answer for the same person (status and reason), and a refused decision
writes the same REFUSED history entry as the page's, with "(api)" instead of "(web)".
"""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.choices import TokenScope
from approvals import services as approvals
from approvals.choices import ApprovalStatus, RowKind
from approvals.models import ApprovalRow, MatrixTemplate, MatrixTemplateRow
from changeplans.choices import EventKind, PlanStatus, Role
from changeplans.models import PlanEvent
from tests.api.test_steps_api import api_client, call, page_client, page_reason
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def plan(author):
    plan = PlanFactory(author=author)
    StepFactory(plan=plan, position=1)
    return plan


@pytest.fixture
def duty_group(duty):
    return Group.objects.get(name=Role.DUTY_OFFICER)


def matrix_url(plan, action=""):
    return reverse("api:plan_matrix", args=[plan.pk]) + (f"{action}/" if action else "")


def row_url(row, action=""):
    return reverse("api:matrix_row", args=[row.pk]) + (f"{action}/" if action else "")


def in_review(plan, author, approver, duty_group, *more_approvers):
    """The plan submitted with rows: the approver(s), then the duty officers' acknowledgement."""
    for position, user in enumerate([approver, *more_approvers], start=1):
        ApprovalRow.objects.create(plan=plan, position=position, person_name=user.username, user=user)
    ApprovalRow.objects.create(
        plan=plan,
        position=len(more_approvers) + 2,
        kind=RowKind.ACKNOWLEDGEMENT,
        person_name="Дежурный",
        group=duty_group,
        status=ApprovalStatus.NOT_ACKNOWLEDGED,
    )
    return approvals.submit_plan(plan.pk, actor=author)


# --- reading ------------------------------------------------------------------------------------------------------


def test_matrix_says_what_each_caller_may_do(plan, author, approver, duty, duty_group):
    version = in_review(plan, author, approver, duty_group)
    as_approver = call(api_client(approver), "get", matrix_url(plan)).json()
    assert as_approver["version"] == version.number and as_approver["plan_status"] == PlanStatus.IN_REVIEW
    first, ack = as_approver["rows"]
    assert (first["can_sign"], first["who"], first["status"]) == (True, f"user:{approver.pk}", "pending")
    assert (ack["kind"], ack["can_acknowledge"], ack["mine"]) == ("acknowledgement", False, False)
    as_duty = call(api_client(duty, TokenScope.READ), "get", matrix_url(plan)).json()
    assert [r["can_acknowledge"] for r in as_duty["rows"]] == [False, True]
    assert [r["can_sign"] for r in as_duty["rows"]] == [False, False]
    as_author = call(api_client(author), "get", matrix_url(plan)).json()
    assert as_author["can_edit_matrix"] is False and as_author["can_submit"] is False


def test_matrix_queries_do_not_grow_with_the_rows(author, approver):
    client = api_client(approver)
    call(client, "get", reverse("api:root"))  # the token's "last used" is written once a minute: not counted
    counts = []
    for count in (5, 60):
        plan = PlanFactory(author=author)
        for n in range(1, count + 1):
            ApprovalRow.objects.create(plan=plan, position=n, person_name=f"У{n}", user=UserFactory())
        with CaptureQueriesContext(connection) as queries:
            response = call(client, "get", matrix_url(plan))
        assert response.status_code == 200 and len(response.json()["rows"]) == count
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- building -------------------------------------------------------------------------------------------------------


def test_author_builds_the_matrix(plan, author, approver, duty_group):
    client = api_client(author)
    added = call(client, "post", matrix_url(plan), {"job_title": "инженер", "who": f"user:{approver.pk}"})
    assert added.status_code == 201, added.content
    row = ApprovalRow.objects.get(pk=added.json()["id"])
    assert (row.user, row.kind, row.stage) == (approver, RowKind.APPROVAL, 1)
    ack = call(client, "post", matrix_url(plan), {"who": f"group:{duty_group.pk}", "kind": "acknowledgement"})
    assert ack.status_code == 201 and ack.json()["status"] == ApprovalStatus.NOT_ACKNOWLEDGED
    changed = call(client, "patch", row_url(row), {"stage": 2})
    assert changed.status_code == 200 and changed.json()["stage"] == 2 and changed.json()["job_title"] == "инженер"
    assert call(client, "delete", row_url(row)).status_code == 204
    assert list(plan.approval_rows.values_list("position", "kind")) == [(1, RowKind.ACKNOWLEDGEMENT)]
    comments = PlanEvent.objects.filter(plan=plan, kind=EventKind.EDITED).values_list("comment", flat=True)
    assert any("добавлена" in c or "added" in c for c in comments)


def test_building_refusals_as_on_the_page(plan, author, other_author, approver):
    # Someone else's plan: 403, the page's reason
    body = {"who": f"user:{approver.pk}"}
    response = call(api_client(other_author), "post", matrix_url(plan), body)
    page = page_client(other_author).post(reverse("approvals:matrix_row_add", args=[plan.pk]), body)
    assert (response.status_code, response.json()["detail"]) == (page.status_code, page_reason(page))
    assert response.status_code == 403
    # Nobody by that id: 422, the page's reason
    body = {"who": "user:999999"}
    response = call(api_client(author), "post", matrix_url(plan), body)
    page = page_client(author).post(reverse("approvals:matrix_row_add", args=[plan.pk]), body)
    assert (response.status_code, response.json()["detail"]) == (page.status_code, page_reason(page))
    assert response.status_code == 422
    # The author approving their own plan: 422, the page's reason
    body = {"who": f"user:{author.pk}"}
    response = call(api_client(author), "post", matrix_url(plan), body)
    page = page_client(author).post(reverse("approvals:matrix_row_add", args=[plan.pk]), body)
    assert (response.status_code, response.json()["detail"]) == (page.status_code, page_reason(page))


def test_a_plan_under_sign_off_keeps_its_matrix(plan, author, approver, duty_group):
    in_review(plan, author, approver, duty_group)
    row = plan.approval_rows.get(position=1)
    response = call(api_client(author), "patch", row_url(row), {"stage": 3})
    page = page_client(author).post(
        reverse("approvals:matrix_row_update", args=[row.pk]),
        {"who": f"user:{approver.pk}", "kind": "approval", "stage": 3},
    )
    assert (response.status_code, response.json()["detail"]) == (page.status_code, page_reason(page))
    assert response.status_code == 409 and response.json()["code"] == "matrix_locked"


def test_apply_a_template(plan, author, approver):
    template = MatrixTemplate.objects.create(name="Шаблон")
    MatrixTemplateRow.objects.create(template=template, position=1, person_name="Согласующий", user=approver)
    response = call(api_client(author), "post", matrix_url(plan, "apply-template"), {"template": template.pk})
    assert response.status_code == 200 and [r["who"] for r in response.json()["rows"]] == [f"user:{approver.pk}"]
    missing = call(api_client(author), "post", matrix_url(plan, "apply-template"), {"template": 999999})
    page = page_client(author).post(reverse("approvals:plan_apply_template", args=[plan.pk]), {"template": 999999})
    assert (missing.status_code, missing.json()["detail"]) == (page.status_code, page_reason(page))


# --- decisions ----------------------------------------------------------------------------------------------------


def test_approve_and_acknowledge_approve_the_plan(plan, author, approver, duty, duty_group):
    version = in_review(plan, author, approver, duty_group)
    rows = list(plan.approval_rows.order_by("position"))
    signed = call(
        api_client(approver), "post", row_url(rows[0], "approve"), {"version": version.number, "comment": "Ок"}
    )
    assert signed.status_code == 200 and signed.json()["rows"][0]["status"] == ApprovalStatus.APPROVED
    assert signed.json()["rows"][0]["decided_by"] and signed.json()["rows"][0]["version"] == version.number
    event = PlanEvent.objects.filter(object_type="approvalrow", object_id=rows[0].pk).latest("pk")
    assert event.comment == f"версия {version.number}, api: Ок"
    done = call(api_client(duty), "post", row_url(rows[1], "acknowledge"), {"version": version.number})
    assert done.status_code == 200 and done.json()["plan_status"] == PlanStatus.APPROVED


def test_a_refused_decision_is_recorded_as_on_the_page(plan, author, approver, duty_group):
    version = in_review(plan, author, approver, duty_group)
    row = plan.approval_rows.get(position=1)
    intruder = UserFactory(username="intruder", roles=["approver"])
    response = call(api_client(intruder), "post", row_url(row, "approve"), {"version": version.number})
    page = page_client(intruder).post(
        reverse("approvals:row_decide", args=[row.pk, "approve"]), {"version": version.number}
    )
    assert (response.status_code, response.json()["detail"]) == (page.status_code, page_reason(page))
    assert response.status_code == 403 and response.json()["code"] == "refused"
    refused = list(PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED).order_by("pk"))
    reason = response.json()["detail"]
    assert [(e.actor, e.comment) for e in refused] == [(intruder, f"{reason} (api)"), (intruder, f"{reason} (web)")]


def test_the_author_may_not_approve(plan, author, approver, duty_group):
    version = in_review(plan, author, approver, duty_group)
    row = plan.approval_rows.get(position=1)
    response = call(api_client(author), "post", row_url(row, "approve"), {"version": version.number})
    assert response.status_code == 403
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, actor=author).count() == 1


def test_stale_version_and_reject_without_reason(plan, author, approver, duty_group):
    version = in_review(plan, author, approver, duty_group)
    row = plan.approval_rows.get(position=1)
    client = api_client(approver)
    stale = call(client, "post", row_url(row, "approve"), {"version": version.number + 1})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    no_reason = call(client, "post", row_url(row, "reject"), {"version": version.number})
    page = page_client(approver).post(
        reverse("approvals:row_decide", args=[row.pk, "reject"]), {"version": version.number}
    )
    assert (
        (no_reason.status_code, no_reason.json()["detail"])
        == (page.status_code, page_reason(page))
        == (
            422,
            no_reason.json()["detail"],
        )
    )
    rejected = call(client, "post", row_url(row, "reject"), {"version": version.number, "comment": "Нет отката"})
    assert rejected.status_code == 200 and rejected.json()["plan_status"] == PlanStatus.REJECTED
    assert call(client, "post", row_url(row, "approve"), {"version": "x"}).status_code == 400


def test_a_decision_replays_with_an_idempotency_key(plan, author, approver, duty_group):
    version = in_review(plan, author, approver, duty_group)
    row = plan.approval_rows.get(position=1)
    client = api_client(approver)
    body = {"version": version.number}
    first = call(client, "post", row_url(row, "approve"), body, **{"Idempotency-Key": "sign-1"})
    again = call(client, "post", row_url(row, "approve"), body, **{"Idempotency-Key": "sign-1"})
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    # Without the key the second approval is refused: the row is already decided
    assert call(client, "post", row_url(row, "approve"), body).status_code == 403
    approvals_written = PlanEvent.objects.filter(object_type="approvalrow", to_status=ApprovalStatus.APPROVED)
    assert approvals_written.count() == 1
