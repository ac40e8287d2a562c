"""The outbox against a real SMTP server (aiosmtpd, started by the test on a free local port)."""

import email
import email.policy
import socket
from datetime import timedelta

import pytest
from aiosmtpd import controller as aiosmtpd_controller
from django.test import override_settings

from notifications import outbox
from notifications.choices import EmailState

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's start-up check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def smtp_settings(port):
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_TIMEOUT=5,
    )


def test_a_mail_refused_by_a_down_server_reaches_the_server_once_it_is_up(
    smtp_server, django_capture_on_commit_callbacks
):
    port, inbox = smtp_server
    down = socket.socket()
    down.bind(("127.0.0.1", 0))  # bound, not listening: the "server" refuses connections
    try:
        # Given the SMTP server is down when the e-mail is queued
        with smtp_settings(down.getsockname()[1]), django_capture_on_commit_callbacks(execute=True):
            queued = outbox.enqueue_email(
                "smtp:1",
                "approver@example.org",
                "На согласование: Установка Calico",
                "Текст письма",
                "<p>Текст письма</p>",
            )
    finally:
        down.close()
    queued.refresh_from_db()
    assert queued.state == EmailState.FAILED and inbox.messages == []
    # When the sweeper runs after the back-off against a working server
    with smtp_settings(port):
        result = outbox.deliver_due(now=queued.next_attempt_at + timedelta(seconds=1))
        outbox.deliver_due(now=queued.next_attempt_at + timedelta(days=1))
    # Then the server received it exactly once, with its subject, both parts and the stable Message-ID
    assert result["sent"] == 1
    ((recipients, message),) = inbox.messages
    assert recipients == ["approver@example.org"]
    assert message["Subject"].strip() == "На согласование: Установка Calico"  # a folded header may start with a space
    queued.refresh_from_db()
    assert message["Message-ID"] == outbox.message_id(queued)
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}
    assert (queued.state, queued.attempts) == (EmailState.SENT, 2)
