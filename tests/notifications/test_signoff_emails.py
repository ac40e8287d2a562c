"""Sign-off e-mails (approvals/notify.py): who is told what, keys that never duplicate, reminders, escalation."""

import datetime
import re

import pytest
from django.utils import timezone

from approvals import links, notify, services
from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow, Delegation
from changeplans import services as plan_services
from notifications import scheduler
from notifications.choices import ScheduleState
from notifications.models import OutboundEmail, ScheduledAction
from tests.approvals.factories import plan_with_matrix
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def signoff(django_capture_on_commit_callbacks):
    """A plan two days ahead with two approvers, a duty group row and a curator; `run` executes after-commit work."""
    plan, author, approvers, duty = plan_with_matrix(2)
    curator = UserFactory(username="curator", last_name="Куратов", first_name="К.К.")
    start = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)
    type(plan).objects.filter(pk=plan.pk).update(
        window_start=start, window_end=start + datetime.timedelta(hours=3), curator=curator
    )
    plan.refresh_from_db()

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return plan, author, approvers, duty, curator, run


def rows(plan):
    return list(ApprovalRow.objects.filter(plan=plan).order_by("position"))


def mails_to(mailoutbox, user):
    return [m for m in mailoutbox if m.to == [user.email]]


def test_submit_asks_each_approver_with_a_link_and_the_duty_group_without(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    run(services.submit_plan, plan.pk, actor=author)
    assert sorted(m.to[0] for m in mailoutbox) == sorted([a1.email, a2.email, duty.email])
    r1, r2, ack = rows(plan)
    assert OutboundEmail.objects.filter(key=f"approval-request:{r1.pk}:v1:{a1.pk}").exists()
    assert OutboundEmail.objects.filter(key=f"approval-request:{ack.pk}:v1:{duty.pk}").exists()
    (mail,) = mails_to(mailoutbox, a1)
    assert plan.title in mail.subject and plan.title in mail.body
    assert "/sign/" in mail.body and "/sign/" in mail.alternatives[0][0]
    token = re.search(r"/sign/([^/\s]+)/", mail.body).group(1)
    assert links.read_token(token) == links.Link(row_id=r1.pk, user_id=a1.pk, version=1)
    assert "/sign/" not in mails_to(mailoutbox, duty)[0].body  # acknowledgement: no one-click link
    assert mails_to(mailoutbox, author) == []


def test_a_repeated_event_sends_nothing_twice(signoff, mailoutbox):
    plan, author, approvers, duty, curator, run = signoff
    run(services.submit_plan, plan.pk, actor=author)
    ids = [row.pk for row in rows(plan)]
    run(notify.on_signoff_event, "submitted", plan.pk, ids)
    assert len(mailoutbox) == 3
    assert ScheduledAction.objects.filter(state=ScheduleState.PENDING).count() == 3  # 24 h, 2 h, escalation


def test_sequential_stage_is_asked_when_it_opens(django_capture_on_commit_callbacks, mailoutbox):
    plan, author, (a1, a2), duty = plan_with_matrix(2, stages=[1, 2])
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_plan(plan.pk, actor=author)
    assert mails_to(mailoutbox, a2) == []
    with django_capture_on_commit_callbacks(execute=True):
        services.approve_row(rows(plan)[0].pk, actor=a1, version=1)
    assert len(mails_to(mailoutbox, a2)) == 1 and "/sign/" in mails_to(mailoutbox, a2)[0].body


def test_deputy_of_the_day_is_asked_too_with_a_link_of_their_own(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    deputy = UserFactory(username="deputy", last_name="Иванов", first_name="П.С.")
    today = timezone.localdate()
    Delegation.objects.create(principal=a1, deputy=deputy, starts_on=today, ends_on=today)
    run(services.submit_plan, plan.pk, actor=author)
    (mail,) = mails_to(mailoutbox, deputy)
    token = re.search(r"/sign/([^/\s]+)/", mail.body).group(1)
    assert links.read_token(token).user_id == deputy.pk


def test_rejection_tells_the_author_the_reason(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    run(services.submit_plan, plan.pk, actor=author)
    mailoutbox.clear()
    run(services.reject_row, rows(plan)[0].pk, actor=a1, version=1, comment="Нет плана отката для шага 1")
    (mail,) = mailoutbox
    assert mail.to == [author.email] and "Нет плана отката для шага 1" in mail.body
    pending = list(ScheduledAction.objects.filter(state=ScheduleState.PENDING).values_list("kind", flat=True))
    assert pending == [notify.ESCALATION]  # reminders cancelled, the escalation stays


def test_approval_tells_author_and_curator_and_cancels_follow_ups(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    run(services.submit_plan, plan.pk, actor=author)
    r1, r2, ack = rows(plan)
    run(services.approve_row, r1.pk, actor=a1, version=1)
    run(services.approve_row, r2.pk, actor=a2, version=1)
    mailoutbox.clear()
    run(services.acknowledge_row, ack.pk, actor=duty, version=1)
    assert sorted(m.to[0] for m in mailoutbox) == sorted([author.email, curator.email])
    assert not ScheduledAction.objects.filter(state=ScheduleState.PENDING).exists()


def test_new_version_asks_again_with_the_diff_and_replaces_the_follow_ups(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    run(services.submit_plan, plan.pk, actor=author)
    run(services.approve_row, rows(plan)[0].pk, actor=a1, version=1)
    mailoutbox.clear()
    step = plan.steps.get()
    run(
        plan_services.update_step_cell,
        step.pk,
        actor=author,
        field="duration_text",
        value="2-3 часа",
        revision=step.revision,
    )
    assert sorted(m.to[0] for m in mailoutbox) == sorted([a1.email, a2.email, duty.email])
    mail = mails_to(mailoutbox, a1)[0]
    assert f"/approvals/plans/{plan.pk}/diff/" in mail.body
    assert links.read_token(re.search(r"/sign/([^/\s]+)/", mail.body).group(1)).version == 2
    pending = set(ScheduledAction.objects.filter(state=ScheduleState.PENDING).values_list("key", flat=True))
    assert pending and all(":v2" in key for key in pending)


def test_reminder_fires_only_for_unanswered_rows_and_not_after_approval(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    run(services.submit_plan, plan.pk, actor=author)
    r1, r2, ack = rows(plan)
    run(services.approve_row, r1.pk, actor=a1, version=1)
    mailoutbox.clear()
    # When the 24-hour reminder comes due
    run(scheduler.run_due, now=plan.window_start - datetime.timedelta(hours=23))
    # Then those who have not answered are reminded, the one who approved is not
    assert sorted(m.to[0] for m in mailoutbox) == sorted([a2.email, duty.email])
    assert OutboundEmail.objects.filter(key=f"approval-reminder:24h:{r2.pk}:v1:{a2.pk}").exists()
    # And once the plan is approved, nothing more is sent at the 2-hour mark
    run(services.approve_row, r2.pk, actor=a2, version=1)
    run(services.acknowledge_row, ack.pk, actor=duty, version=1)
    mailoutbox.clear()
    run(scheduler.run_due, now=plan.window_start)
    assert mailoutbox == []


def test_reminder_handler_rechecks_the_plan_when_it_fires(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    run(services.submit_plan, plan.pk, actor=author)
    r1, r2, ack = rows(plan)
    for row, user in ((r1, a1), (r2, a2)):
        run(services.approve_row, row.pk, actor=user, version=1)
    run(services.acknowledge_row, ack.pk, actor=duty, version=1)
    mailoutbox.clear()
    # A reminder that was not cancelled (e.g. scheduled by hand) finds nothing to ask
    run(notify.remind, {"plan_id": plan.pk, "version": 1, "hours": 2})
    run(notify.escalate, {"plan_id": plan.pk, "version": 1})
    assert mailoutbox == []


def test_escalation_goes_to_the_curator(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    run(services.submit_plan, plan.pk, actor=author)
    run(services.approve_row, rows(plan)[0].pk, actor=a1, version=1)
    mailoutbox.clear()
    run(scheduler.run_due, now=plan.window_start - datetime.timedelta(hours=3))
    escalations = [
        m
        for m in mailoutbox
        if OutboundEmail.objects.get(to=m.to[0], subject=m.subject).key.startswith("approval-escalation:")
    ]
    (mail,) = escalations
    assert mail.to == [curator.email]
    assert "Согласующий2 А.А." in mail.body and "Согласующий1 А.А." not in mail.body  # who is still missing
    assert not mails_to(mailoutbox, a1)


def test_escalation_without_a_curator_goes_to_the_author(signoff, mailoutbox):
    plan, author, approvers, duty, curator, run = signoff
    type(plan).objects.filter(pk=plan.pk).update(curator=None)
    run(services.submit_plan, plan.pk, actor=author)
    mailoutbox.clear()
    run(notify.escalate, {"plan_id": plan.pk, "version": 1})
    assert [m.to for m in mailoutbox] == [[author.email]]


def test_submitted_inside_the_escalation_period_warns_at_once(signoff, mailoutbox):
    plan, author, approvers, duty, curator, run = signoff
    soon = timezone.now() + datetime.timedelta(hours=3)
    type(plan).objects.filter(pk=plan.pk).update(window_start=soon, window_end=soon + datetime.timedelta(hours=1))
    run(services.submit_plan, plan.pk, actor=author)
    kinds = set(ScheduledAction.objects.filter(state=ScheduleState.PENDING).values_list("kind", "payload__hours"))
    assert kinds == {(notify.REMINDER, 2), (notify.ESCALATION, None)}  # the 24-hour reminder is already past
    mailoutbox.clear()
    run(scheduler.run_due)
    assert [m.to for m in mailoutbox] == [[curator.email]]


def test_approver_without_an_address_is_skipped(signoff, mailoutbox):
    plan, author, (a1, a2), duty, curator, run = signoff
    type(a1).objects.filter(pk=a1.pk).update(email="")
    run(services.submit_plan, plan.pk, actor=author)
    assert sorted(m.to[0] for m in mailoutbox) == sorted([a2.email, duty.email])
    assert rows(plan)[0].status == ApprovalStatus.PENDING
