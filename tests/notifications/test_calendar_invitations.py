"""Calendar invitations in e-mails (changeplans/invitations.py): the approval requests and the announcement carry
the window's .ics; a change sends the same UID with a higher SEQUENCE, a cancel METHOD:CANCEL, to those who got it.
The attachment is stored on the outbox row, so a retry sends it too."""

import datetime
import email
import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from approvals import services
from changeplans import announcements, ics, invitations
from changeplans import services as plan_services
from changeplans.choices import PlanStatus
from changeplans.models import Plan, PlanService
from notifications import outbox
from notifications.choices import EmailState
from notifications.models import CalendarInvitation, OutboundEmail
from tests.approvals.factories import plan_with_matrix
from tests.changecalendar.ics_validator import validate
from tests.factories import PlanFactory, ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def submitted(django_capture_on_commit_callbacks):
    """A plan two days ahead, submitted: two approvers and the duty officer were asked."""
    plan, author, approvers, duty = plan_with_matrix(2)
    start = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)
    Plan.objects.filter(pk=plan.pk).update(window_start=start, window_end=start + datetime.timedelta(hours=3))

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    run(services.submit_plan, plan.pk, actor=author)
    plan.refresh_from_db()
    return plan, author, [*approvers, duty], run


def calendar_parts(message):
    """(the text/calendar parts of the body, the .ics files, the parsed message) of a sent message, read back
    from its bytes as a mail program gets them."""
    parsed = email.message_from_bytes(message.message().as_bytes())
    alternative = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    files = [p for p in parsed.walk() if p.get_filename() == "invite.ics"]
    return alternative, files, parsed


def read_invitation(message):
    (alternative,), (attached,), parsed = calendar_parts(message)
    body, data = alternative.get_payload(decode=True), attached.get_payload(decode=True)
    assert body.replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n")  # a text part's line ends are the wire's
    assert attached.get_content_type() == "application/ics"
    # The body's calendar part sits beside the text and the HTML (multipart/alternative), method in its type.
    (parent,) = [p for p in parsed.walk() if p.get_content_type() == "multipart/alternative"]
    assert [p.get_content_type() for p in parent.get_payload()] == ["text/plain", "text/html", "text/calendar"]
    assert alternative.get_content_charset() == "utf-8"
    return alternative.get_param("method"), validate(data)


def test_each_asked_approver_gets_a_request_naming_them(submitted):
    plan, _author, people, _run = submitted
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in people)
    for message in mail.outbox:
        method, read = read_invitation(message)
        assert method == "REQUEST" and read["method"] == "REQUEST"
        (event,) = read["events"]
        assert event["uid"] == ics.plan_uid(plan) and event["sequence"] == 0
        assert event["attendees"] == [f"mailto:{message.to[0]}"]
        assert event["tzid"] == plan.time_zone and event["start_utc"] == plan.window_start.timestamp()
        assert event["status"] == "TENTATIVE"
    assert sorted(CalendarInvitation.objects.values_list("address", "sequence")) == sorted((u.email, 0) for u in people)


def test_a_window_change_updates_everyone_with_the_same_uid_and_a_higher_sequence(submitted):
    plan, author, people, run = submitted
    mail.outbox.clear()
    data = {"window_start": plan.window_start, "window_end": plan.window_end + timedelta(hours=1)}
    run(plan_services.update_plan_header, plan.pk, actor=author, data=data, revision=plan.revision)
    updates = [m for m in mail.outbox if m.subject.startswith("Изменено:")]
    assert sorted(m.to[0] for m in updates) == sorted(u.email for u in people)
    for message in mail.outbox:  # the updates, and the new version's requests: all at SEQUENCE 1
        method, read = read_invitation(message)
        (event,) = read["events"]
        assert method == "REQUEST"
        assert (event["uid"], event["sequence"]) == (ics.plan_uid(plan), 1)
        assert event["end_utc"] == (plan.window_end + timedelta(hours=1)).timestamp()
    assert set(CalendarInvitation.objects.values_list("sequence", flat=True)) == {1}


def test_an_edit_the_invitation_does_not_show_sends_no_update(submitted):
    plan, author, _people, run = submitted
    mail.outbox.clear()
    run(plan_services.update_plan_header, plan.pk, actor=author, data={"goal": "Другая цель"}, revision=plan.revision)
    assert not [m for m in mail.outbox if calendar_parts(m)[0] and m.subject.startswith("Изменено:")]
    assert set(CalendarInvitation.objects.values_list("sequence", flat=True)) == {0}


def test_cancel_sends_method_cancel_to_everyone_who_got_the_invitation(submitted):
    plan, author, people, run = submitted
    mail.outbox.clear()
    run(plan_services.cancel_plan, plan.pk, actor=author, comment="Перенос работ")
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in people)
    for message in mail.outbox:
        assert message.subject.startswith("Отменено:")
        method, read = read_invitation(message)
        (event,) = read["events"]
        assert method == "CANCEL" and read["method"] == "CANCEL"
        assert (event["uid"], event["sequence"], event["status"]) == (ics.plan_uid(plan), 1, "CANCELLED")
    # Told once: a second run finds nobody left to tell.
    assert invitations.send_updates(plan.pk) == 0
    assert set(CalendarInvitation.objects.values_list("cancelled", flat=True)) == {True}


def test_a_draft_nobody_was_invited_to_sends_nothing_when_moved(author, django_capture_on_commit_callbacks):
    plan = PlanFactory(author=author)
    with django_capture_on_commit_callbacks(execute=True):
        plan_services.update_plan_header(
            plan.pk, actor=author, data={"window_end": plan.window_end + timedelta(hours=1)}, revision=plan.revision
        )
    assert Plan.objects.get(pk=plan.pk).ics_sequence == 1
    assert mail.outbox == [] and not OutboundEmail.objects.exists()


def test_the_announcement_invites_and_the_completion_notice_does_not(
    author, settings, django_capture_on_commit_callbacks
):
    settings.OKNO_ANNOUNCEMENT_RECIPIENTS = []
    plan = PlanFactory(author=author, status=PlanStatus.APPROVED, mailing_list="ops@example.org")
    PlanService.objects.create(plan=plan, service=ServiceFactory(mailing_list="site@example.org"))
    with django_capture_on_commit_callbacks(execute=True):
        announced = announcements.send(plan, "announcement", key_prefix="announcement:1", group="g1")
        completed = announcements.send(plan, "completion", key_prefix="completion:1", group="g2")
    assert [len(e.attachments) for e in announced] == [2, 2]
    assert [len(e.attachments) for e in completed] == [0, 0]
    invited = [m for m in mail.outbox if calendar_parts(m)[0]]
    assert sorted(m.to[0] for m in invited) == ["ops@example.org", "site@example.org"]
    assert {m.subject for m in invited} == {announced[0].subject}
    for message in invited:
        method, read = read_invitation(message)
        (event,) = read["events"]
        assert method == "REQUEST" and event["status"] == "CONFIRMED"
        assert event["attendees"] == [f"mailto:{message.to[0]}"]
    assert sorted(CalendarInvitation.objects.values_list("address", flat=True)) == [
        "ops@example.org",
        "site@example.org",
    ]


@pytest.fixture
def refused_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_the_attachment_is_sent_again_by_a_retry(refused_port, mailoutbox, author):
    plan = PlanFactory(author=author)
    email = outbox.enqueue_email(
        "test:ics-retry",
        "a@example.org",
        "Тема",
        "Текст",
        "<p>Текст</p>",
        attachments=invitations.invite(plan, "a@example.org"),
    )
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=refused_port
    ):
        assert outbox.deliver(email.pk) is False
    email.refresh_from_db()
    assert email.state == EmailState.FAILED and len(email.attachments) == 2
    outbox.deliver_due(now=email.next_attempt_at + timedelta(seconds=1))
    (message,) = mailoutbox
    method, read = read_invitation(message)
    assert method == "REQUEST" and read["events"][0]["uid"] == ics.plan_uid(plan)
    assert message.alternatives[0][1] == "text/html"
