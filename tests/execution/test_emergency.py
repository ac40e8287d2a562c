"""Emergency changes (docs/change-types.md): the early start on two signatures, the post-factum sign-off, its
reminders and escalation through the durable scheduler (time moved with run_due(now=…), no sleep)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from approvals import emergency
from approvals import services as signoff
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from approvals.waiting import drifted
from changeplans.choices import EventKind, PlanKind, PlanStatus
from changeplans.models import Plan, PlanEvent
from changeplans.versioning import latest_version
from execution import transitions
from notifications import scheduler
from notifications.choices import ScheduleState
from notifications.models import OutboundEmail, ScheduledAction
from tests.approvals.factories import plan_with_matrix
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HTMX = {"HTTP_HX_REQUEST": "true"}


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


@pytest.fixture
def setup():
    """An emergency change in review: rows 1 (a member of the emergency group), 2 (not a member), 3 the duty
    officer's acknowledgement; an administrator to be told of an escalation."""
    plan, author, (member, other), duty = plan_with_matrix(2)
    Plan.objects.filter(pk=plan.pk).update(kind=PlanKind.EMERGENCY)
    member.groups.add(Group.objects.get(name=settings.OKNO_EMERGENCY_GROUP))
    admin = UserFactory(username="boss", roles=["admin"])
    signoff.submit_plan(plan.pk, actor=author)
    return Plan.objects.get(pk=plan.pk), author, member, other, duty, admin


def sign_two(plan, member, duty):
    r1, _r2, ack = rows(plan)
    signoff.approve_row(r1.pk, actor=member, version=1)
    signoff.acknowledge_row(ack.pk, actor=duty, version=1)


def started(plan, member, duty):
    sign_two(plan, member, duty)
    transitions.start_plan(plan.pk, actor=duty)
    return Plan.objects.get(pk=plan.pk)


def test_the_duty_officer_starts_on_the_two_signatures(setup):
    plan, author, member, other, duty, admin = setup
    sign_two(plan, member, duty)
    before = timezone.now()
    transitions.start_plan(plan.pk, actor=duty)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_PROGRESS
    hours = timedelta(hours=settings.OKNO_EMERGENCY_SIGNOFF_HOURS)
    assert before + hours <= plan.emergency_signoff_due <= timezone.now() + hours
    event = PlanEvent.objects.filter(plan=plan, kind=EventKind.TRANSITION, to_status=PlanStatus.IN_PROGRESS).get()
    assert event.from_status == PlanStatus.IN_REVIEW and "Экстренный запуск" in event.comment
    keys = set(ScheduledAction.objects.filter(key__startswith=emergency.prefix(plan.pk)).values_list("key", flat=True))
    assert keys == {f"emergency:plan:{plan.pk}:{k}" for k in ("reminder:half", "reminder:due", "escalation")}
    # The row still to sign waits for its approver (the inbox and the badge), post factum.
    assert [r.waiting for r in rows(plan)] == [False, True, False] and not drifted().exists()


@pytest.mark.parametrize("signed", ["approval only", "acknowledgement only"])
def test_one_signature_is_not_enough(setup, signed):
    plan, author, member, other, duty, admin = setup
    r1, _r2, ack = rows(plan)
    if signed == "approval only":
        signoff.approve_row(r1.pk, actor=member, version=1)
    else:
        signoff.acknowledge_row(ack.pk, actor=duty, version=1)
    with pytest.raises(ValidationError):
        transitions.start_plan(plan.pk, actor=duty)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW


def test_an_approver_outside_the_emergency_group_does_not_count(setup):
    plan, author, member, other, duty, admin = setup
    _r1, r2, ack = rows(plan)
    signoff.approve_row(r2.pk, actor=other, version=1)
    signoff.acknowledge_row(ack.pk, actor=duty, version=1)
    with pytest.raises(ValidationError, match="экстренн"):
        transitions.start_plan(plan.pk, actor=duty)


def test_the_author_cannot_be_the_emergency_approver(setup):
    plan, author, member, other, duty, admin = setup
    author.groups.add(Group.objects.get(name=settings.OKNO_EMERGENCY_GROUP))
    r1, _r2, ack = rows(plan)
    signoff.acknowledge_row(ack.pk, actor=duty, version=1)
    # Even a row stored as approved by the author (written behind the services' back) does not count.
    ApprovalRow.objects.filter(pk=r1.pk).update(
        status=ApprovalStatus.APPROVED, decided_by=author, version=latest_version(plan)
    )
    assert emergency.start_refusal(plan) is not None
    with pytest.raises(ValidationError):
        transitions.start_plan(plan.pk, actor=duty)


def test_only_the_duty_officer_starts_an_emergency_change(setup, operator, client):
    plan, author, member, other, duty, admin = setup
    sign_two(plan, member, duty)
    for user in (operator, admin):
        with pytest.raises(PermissionDenied):
            transitions.start_plan(plan.pk, actor=user)
    for user in (operator, author, member):  # forged POSTs
        client.force_login(user)
        response = client.post(reverse("execution:board_start", args=[plan.pk]), **HTMX)
        assert response.status_code == 403
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW


def test_a_normal_plan_cannot_start_before_approval(setup, client):
    plan, author, member, other, duty, admin = setup
    Plan.objects.filter(pk=plan.pk).update(kind=PlanKind.NORMAL)
    sign_two(plan, member, duty)
    with pytest.raises(ValidationError):
        transitions.start_plan(plan.pk, actor=duty)
    client.force_login(duty)
    response = client.post(reverse("execution:board_start", args=[plan.pk]), **HTMX)
    assert response.status_code == 422
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_REVIEW


def test_the_board_explains_the_emergency_start(setup, client):
    plan, author, member, other, duty, admin = setup
    client.force_login(duty)
    page = client.get(reverse("execution:plan_board", args=[plan.pk])).content.decode()
    assert 'id="emergency-start"' in page and "ЭКСТРЕННОЕ" in page
    assert "ещё не подтвердил" in page and 'id="start-plan"' not in page
    sign_two(plan, member, duty)
    page = client.get(reverse("execution:plan_board", args=[plan.pk])).content.decode()
    assert 'id="start-plan"' in page
    response = client.post(reverse("execution:board_start", args=[plan.pk]), **HTMX)
    assert response.status_code == 200 and Plan.objects.get(pk=plan.pk).status == PlanStatus.IN_PROGRESS


def test_post_factum_sign_off_completes_and_cancels_the_reminders(setup):
    plan, author, member, other, duty, admin = setup
    plan = started(plan, member, duty)
    _r1, r2, _ack = rows(plan)
    signoff.approve_row(r2.pk, actor=other, version=1, comment="согласовано задним числом")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_PROGRESS  # the plan keeps its execution status
    done = PlanEvent.objects.filter(plan=plan, object_type=emergency.SIGNOFF_OBJECT).get()
    assert done.comment == "Согласование постфактум завершено" and done.actor == other
    open_rows = ScheduledAction.objects.filter(
        key__startswith=emergency.prefix(plan.pk), state__in=scheduler.OPEN_STATES
    )
    assert not open_rows.exists()
    assert not drifted().exists() and not any(r.waiting for r in rows(plan))
    # Nothing fires at the due time: no reminder, no escalation.
    assert scheduler.run_due(now=plan.emergency_signoff_due + timedelta(minutes=1)) == 0
    assert not OutboundEmail.objects.filter(key__startswith="emergency-").exists()


def test_post_factum_signing_also_after_the_work_ended(setup):
    plan, author, member, other, duty, admin = setup
    plan = started(plan, member, duty)
    step = plan.steps.get()
    transitions.tick(step.pk, "start", actor=duty)
    transitions.tick(step.pk, "done", actor=duty)
    transitions.finish_plan(plan.pk, actor=duty, outcome="completed")
    _r1, r2, _ack = rows(plan)
    signoff.approve_row(r2.pk, actor=other, version=1)
    assert Plan.objects.get(pk=plan.pk).status == PlanStatus.COMPLETED
    assert PlanEvent.objects.filter(plan=plan, object_type=emergency.SIGNOFF_OBJECT).exists()


def test_reminders_at_half_time_and_due_time_then_the_escalation(setup):
    plan, author, member, other, duty, admin = setup
    plan = started(plan, member, duty)
    half = plan.started_at + (plan.emergency_signoff_due - plan.started_at) / 2
    assert scheduler.run_due(now=half - timedelta(minutes=1)) == 0
    assert scheduler.run_due(now=half) == 1
    reminders = OutboundEmail.objects.filter(key__startswith="emergency-reminder:half:")
    assert [e.to for e in reminders] == [other.email]
    assert "постфактум" in reminders[0].subject.lower() or "экстренн" in reminders[0].subject.lower()
    assert not PlanEvent.objects.filter(plan=plan, kind=EventKind.ALERT).exists()

    assert scheduler.run_due(now=plan.emergency_signoff_due) == 2  # the second reminder and the escalation
    assert OutboundEmail.objects.filter(key__startswith="emergency-reminder:due:").count() == 1
    escalations = OutboundEmail.objects.filter(key__startswith=f"emergency-escalation:{plan.pk}:")
    assert sorted(e.to for e in escalations) == sorted([member.email, admin.email])
    assert "Согласующий2 А.А." in escalations[0].text
    alert = PlanEvent.objects.get(plan=plan, kind=EventKind.ALERT)
    assert alert.changes["alert"] == emergency.ALERT_OVERDUE and "Согласующий2 А.А." in alert.comment
    # A second pass sends nothing more.
    assert scheduler.run_due(now=plan.emergency_signoff_due + timedelta(hours=1)) == 0
    assert (
        ScheduledAction.objects.filter(key__startswith=emergency.prefix(plan.pk), state=ScheduleState.DONE).count() == 3
    )


def test_nothing_is_sent_when_everything_signed_before_the_row_fires(setup):
    plan, author, member, other, duty, admin = setup
    plan = started(plan, member, duty)
    # The rows stay pending (as if the sign-off happened while the scheduler was down): the handlers look again.
    ApprovalRow.objects.filter(plan=plan, status=ApprovalStatus.PENDING).update(status=ApprovalStatus.APPROVED)
    scheduler.run_due(now=plan.emergency_signoff_due)
    assert not OutboundEmail.objects.filter(key__startswith="emergency-").exists()
    assert not PlanEvent.objects.filter(plan=plan, kind=EventKind.ALERT).exists()


def test_a_post_factum_rejection_is_recorded_and_escalated_at_once(setup):
    plan, author, member, other, duty, admin = setup
    plan = started(plan, member, duty)
    _r1, r2, _ack = rows(plan)
    signoff.reject_row(r2.pk, actor=other, version=1, comment="Работы не были согласованы с клиентом")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.IN_PROGRESS
    assert rows(plan)[1].status == ApprovalStatus.REJECTED
    alert = PlanEvent.objects.get(plan=plan, kind=EventKind.ALERT)
    assert alert.changes["alert"] == emergency.ALERT_REJECTED and "не были согласованы" in alert.comment
    sent = OutboundEmail.objects.filter(key__startswith=f"emergency-rejection:{r2.pk}:")
    assert sorted(e.to for e in sent) == sorted([member.email, admin.email])
    assert not PlanEvent.objects.filter(plan=plan, object_type=emergency.SIGNOFF_OBJECT).exists()


def test_post_factum_signing_is_only_for_an_emergency_change_started_early(setup):
    plan, author, member, other, duty, admin = setup
    sign_two(plan, member, duty)
    _r1, r2, _ack = rows(plan)
    # A normal plan that is running (an approved plan's rows are all signed; here one is left behind the back).
    Plan.objects.filter(pk=plan.pk).update(kind=PlanKind.NORMAL, status=PlanStatus.IN_PROGRESS)
    with pytest.raises(PermissionDenied):
        signoff.approve_row(r2.pk, actor=other, version=1)
