"""One-click sign-off links: signed, bound to approver/row/version, expiring, confirmed by POST, used once."""

import re
import time

import pytest
from django.test import override_settings
from django.urls import reverse

from approvals import links, services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans import services as plan_services
from changeplans.choices import EventKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from tests.approvals.factories import plan_with_matrix

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def submitted():
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    services.submit_plan(plan.pk, actor=author)
    r1, r2, ack = ApprovalRow.objects.filter(plan=plan).order_by("position")
    return plan, author, (a1, a2), (r1, r2)


def sign_path(row, user, version=1, **kwargs):
    return reverse("approval_links:confirm", args=[links.make_token(row.pk, user.pk, version, **kwargs)])


def status_of(row):
    return ApprovalRow.objects.get(pk=row.pk).status


def test_token_round_trip_and_tampering():
    token = links.make_token(5, 7, 2)
    assert links.read_token(token) == links.Link(row_id=5, user_id=7, version=2)
    payload, timestamp, signature = token.split(":")
    forged = links.make_token(6, 7, 2).split(":")[0]
    with pytest.raises(links.BadLink):
        links.read_token(f"{forged}:{timestamp}:{signature}")
    with pytest.raises(links.BadLink):
        links.read_token(token[:-2])


def test_anonymous_is_sent_to_login_and_back(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    path = sign_path(r1, a1)
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login")) and "next=" in response.url
    client.post(reverse("login"), {"username": a1.username, "password": "okno-test-password"})
    assert client.get(path).status_code == 200


def test_get_shows_the_plan_and_changes_nothing(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    client.force_login(a1)
    events = PlanEvent.objects.filter(plan=plan).count()
    response = client.get(sign_path(r1, a1))
    assert response.status_code == 200
    content = response.content.decode()
    assert plan.title in content and 'value="approve"' in content and 'value="reject"' in content
    assert status_of(r1) == ApprovalStatus.PENDING
    assert PlanEvent.objects.filter(plan=plan).count() == events
    assert "no-cache" in response.headers["Cache-Control"] or "max-age=0" in response.headers["Cache-Control"]


def test_post_approves_once_and_a_second_use_is_refused(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    client.force_login(a1)
    path = sign_path(r1, a1)
    response = client.post(path, {"decision": "approve", "comment": "Согласовано по почте"})
    assert response.status_code == 200
    row = ApprovalRow.objects.get(pk=r1.pk)
    assert (row.status, row.decided_by, row.version.number, row.comment) == (
        ApprovalStatus.APPROVED,
        a1,
        1,
        "Согласовано по почте",
    )
    assert PlanEvent.objects.filter(
        plan=plan, object_id=r1.pk, to_status=ApprovalStatus.APPROVED, comment__contains="email"
    ).exists()
    # The second use of the same link
    decided_at = row.decided_at
    again = client.post(path, {"decision": "reject", "comment": "передумал"})
    assert again.status_code == 409
    assert client.get(path).status_code == 409
    row.refresh_from_db()
    assert (row.status, row.decided_at) == (ApprovalStatus.APPROVED, decided_at)


def test_reject_needs_a_reason_and_keeps_what_was_typed(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    client.force_login(a1)
    path = sign_path(r1, a1)
    response = client.post(path, {"decision": "reject", "comment": "   "})
    assert response.status_code == 400 and status_of(r1) == ApprovalStatus.PENDING
    response = client.post(path, {"decision": "reject", "comment": "Нет плана отката"})
    assert response.status_code == 200
    assert status_of(r1) == ApprovalStatus.REJECTED
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.REJECTED


def test_a_link_for_an_older_version_is_refused_with_the_diff(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    path = sign_path(r1, a1, version=1)
    step = plan.steps.get()
    plan_services.update_step_cell(
        step.pk, actor=author, field="duration_text", value="2-3 часа", revision=step.revision
    )
    client.force_login(a1)
    for response in (client.get(path), client.post(path, {"decision": "approve"})):
        assert response.status_code == 409
        assert f"/approvals/plans/{plan.pk}/diff/" in response.content.decode()
    assert status_of(r1) == ApprovalStatus.PENDING
    assert client.post(sign_path(r1, a1, version=2), {"decision": "approve"}).status_code == 200


@override_settings(OKNO_APPROVAL_LINK_MAX_AGE=3600)
def test_an_expired_link_is_refused(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    client.force_login(a1)
    old = sign_path(r1, a1, issued_at=time.time() - 3601)
    assert client.get(old).status_code == 410
    assert client.post(old, {"decision": "approve"}).status_code == 410
    assert status_of(r1) == ApprovalStatus.PENDING
    assert client.get(sign_path(r1, a1, issued_at=time.time() - 3500)).status_code == 200


def test_a_damaged_link_is_refused_clearly(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    response = client.get(sign_path(r1, a1)[:-5] + "xx/")
    assert response.status_code == 400
    assert plan.title not in response.content.decode()


def test_a_forwarded_link_does_not_sign_for_another_user(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    client.force_login(a2)
    path = sign_path(r1, a1)
    response = client.get(path)
    assert response.status_code == 403 and plan.title not in response.content.decode()
    assert client.post(path, {"decision": "approve"}).status_code == 403
    assert status_of(r1) == ApprovalStatus.PENDING
    assert PlanEvent.objects.filter(plan=plan, kind=EventKind.REFUSED, actor=a2, comment__contains="email").exists()


def test_self_approval_through_the_link_is_refused_and_recorded(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    ApprovalRow.objects.filter(pk=r1.pk).update(user=author)
    client.force_login(author)
    path = sign_path(r1, author)
    response = client.get(path)
    assert response.status_code == 200 and 'value="approve"' not in response.content.decode()  # the reason, no buttons
    response = client.post(path, {"decision": "approve"})
    assert response.status_code == 403
    assert status_of(r1) == ApprovalStatus.PENDING
    event = PlanEvent.objects.get(plan=plan, kind=EventKind.REFUSED, actor=author)
    assert "(email)" in event.comment


def test_the_link_from_the_e_mail_opens_the_confirmation(client, django_capture_on_commit_callbacks, mailoutbox):
    plan, author, (a1, a2), duty = plan_with_matrix(2)
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_plan(plan.pk, actor=author)
    (mail,) = [m for m in mailoutbox if m.to == [a1.email]]
    path = re.search(r"https?://[^/\s]+(/sign/\S+/)", mail.body).group(1)
    client.force_login(a1)
    assert client.get(path).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(path, {"decision": "approve"}).status_code == 200
    assert ApprovalRow.objects.get(plan=plan, user=a1).status == ApprovalStatus.APPROVED


def test_a_post_without_a_decision_keeps_the_comment_and_signs_nothing(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    client.force_login(a1)
    path = sign_path(r1, a1)
    events = PlanEvent.objects.filter(plan=plan).count()
    for decision in ("", "maybe"):
        response = client.post(path, {"decision": decision, "comment": "Мой комментарий"})
        content = response.content.decode()
        assert response.status_code == 400 and "Мой комментарий" in content and 'value="approve"' in content
    assert status_of(r1) == ApprovalStatus.PENDING and PlanEvent.objects.filter(plan=plan).count() == events


def test_a_link_to_a_row_that_no_longer_exists(client, submitted):
    plan, author, (a1, a2), (r1, r2) = submitted
    path = sign_path(r2, a2)
    ApprovalRow.objects.filter(pk=r2.pk).delete()
    client.force_login(a2)
    assert client.get(path).status_code == 404
    assert client.post(path, {"decision": "approve"}).status_code == 404
