"""The e-mail outbox: one row per key, one send per row, retries with back-off, rescue of stuck rows."""

import socket
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from notifications import outbox
from notifications.choices import EmailState
from notifications.models import OutboundEmail
from tests.waiting import lock_waits_fail, row_locked_elsewhere

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def refused_port():
    """A port bound but not listening: connecting to it is refused at once (held for the whole test)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def smtp_to(port):
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_TIMEOUT=5,
    )


def test_enqueue_twice_sends_one_mail(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        outbox.enqueue_email("test:1:a", "a@example.org", "Тема письма", "Текст", "<p>Текст</p>")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outbox.enqueue_email("test:1:a", "a@example.org", "Другая тема", "Другой текст")
    assert callbacks == []  # nothing new to deliver
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert (message.subject, message.to, message.body) == ("Тема письма", ["a@example.org"], "Текст")
    assert message.alternatives[0][1] == "text/html"
    email = OutboundEmail.objects.get(key="test:1:a")
    assert (email.state, email.attempts, email.sent_at is not None) == (EmailState.SENT, 1, True)
    assert message.extra_headers["Message-ID"] == outbox.message_id(email)


def test_delivery_waits_for_the_commit(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outbox.enqueue_email("test:commit", "a@example.org", "Тема", "Текст")
    assert len(callbacks) == 1 and mailoutbox == []
    callbacks[0]()
    assert len(mailoutbox) == 1


def test_deliver_twice_sends_one_mail(mailoutbox):
    email = outbox.enqueue_email("test:2", "b@example.org", "Тема", "Текст")
    assert outbox.deliver(email.pk) is True
    assert outbox.deliver(email.pk) is False
    assert len(mailoutbox) == 1


def test_subject_is_one_line():
    email = outbox.enqueue_email("test:subject", "b@example.org", "Тема\r\nBcc: x@example.org", "Текст")
    assert email.subject == "Тема Bcc: x@example.org"


def test_failed_send_is_retried_after_the_back_off_and_then_succeeds(refused_port, mailoutbox):
    # Given an SMTP server that refuses connections
    email = outbox.enqueue_email("test:retry", "c@example.org", "Тема", "Текст")
    with smtp_to(refused_port):
        assert outbox.deliver(email.pk) is False
    email.refresh_from_db()
    assert (email.state, email.attempts) == (EmailState.FAILED, 1)
    assert "Connection" in email.last_error
    assert email.next_attempt_at > timezone.now()
    # When the sweeper runs before the back-off has passed, nothing is tried
    assert outbox.deliver_due()["requeued"] == 0
    # Then after the back-off (the server works again) it is sent, once
    result = outbox.deliver_due(now=email.next_attempt_at + timedelta(seconds=1))
    assert (result["requeued"], result["sent"]) == (1, 1)
    email.refresh_from_db()
    assert (email.state, email.attempts, email.last_error) == (EmailState.SENT, 2, "")
    assert len(mailoutbox) == 1
    assert outbox.deliver_due(now=email.next_attempt_at or timezone.now() + timedelta(days=1))["sent"] == 0


@override_settings(OKNO_EMAIL_MAX_ATTEMPTS=2)
def test_attempts_are_capped(refused_port, mailoutbox):
    email = outbox.enqueue_email("test:cap", "c@example.org", "Тема", "Текст")
    later = timezone.now() + timedelta(days=1)
    with smtp_to(refused_port):
        outbox.deliver(email.pk)
        outbox.deliver_due(now=later)
        email.refresh_from_db()
        assert (email.state, email.attempts, email.next_attempt_at) == (EmailState.FAILED, 2, None)
        assert outbox.deliver_due(now=later + timedelta(days=30)) == {
            "requeued": 0,
            "gave_up": 0,
            "sent": 0,
            "not_sent": 0,
        }
    assert mailoutbox == []


def test_rows_stuck_in_sending_are_picked_up(mailoutbox):
    # Given a worker that died after marking two e-mails "sending": one 11 minutes ago, one just now
    now = timezone.now()
    old = outbox.enqueue_email("test:stuck-old", "d@example.org", "Тема", "Текст")
    new = outbox.enqueue_email("test:stuck-new", "e@example.org", "Тема", "Текст")
    OutboundEmail.objects.filter(pk=old.pk).update(
        state=EmailState.SENDING, attempts=1, claimed_at=now - timedelta(minutes=11)
    )
    OutboundEmail.objects.filter(pk=new.pk).update(
        state=EmailState.SENDING, attempts=1, claimed_at=now - timedelta(minutes=1)
    )
    # When the sweeper runs
    result = outbox.deliver_due(now=now)
    # Then only the old one is sent again
    assert (result["requeued"], result["sent"]) == (1, 1)
    assert [m.to for m in mailoutbox] == [["d@example.org"]]
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.state, old.attempts) == (EmailState.SENT, 2)
    assert new.state == EmailState.SENDING


@override_settings(OKNO_EMAIL_MAX_ATTEMPTS=1)
def test_a_row_stuck_after_the_last_attempt_is_given_up(mailoutbox):
    email = outbox.enqueue_email("test:stuck-last", "d@example.org", "Тема", "Текст")
    OutboundEmail.objects.filter(pk=email.pk).update(
        state=EmailState.SENDING, attempts=1, claimed_at=timezone.now() - timedelta(hours=1)
    )
    assert outbox.deliver_due()["gave_up"] == 1
    email.refresh_from_db()
    assert email.state == EmailState.FAILED and "stuck in sending" in email.last_error
    assert mailoutbox == []


def test_send_queued_emails_command(mailoutbox, capsys):
    outbox.enqueue_email("test:cmd", "f@example.org", "Тема", "Текст")
    call_command("send_queued_emails")
    assert "sent=1" in capsys.readouterr().out
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_another_deliverer_is_skipped_without_waiting(mailoutbox):
    """SKIP LOCKED in `deliver`: a row another deliverer holds (it is sending it) is not ours.

    Break it by hand: in notifications/outbox.py `deliver`, change `select_for_update(skip_locked=True)` to
    `select_for_update()`. The second deliverer then waits for the lock; lock_timeout turns that wait into
    an OperationalError and the test fails at once.
    """
    # Given another process holding the row's lock (it is sending it)
    email = OutboundEmail.objects.create(key="test:locked", to="g@example.org", subject="Тема", text="Текст")
    with row_locked_elsewhere(OutboundEmail, email.pk), lock_waits_fail():
        # When we try to deliver it, we skip it instead of waiting or sending
        assert outbox.deliver(email.pk) is False
    assert mailoutbox == []
    email.refresh_from_db()
    assert email.state == EmailState.QUEUED
