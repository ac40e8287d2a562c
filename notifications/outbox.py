"""The e-mail outbox: every e-mail is a row first, then a delivery attempt.

E-mail cannot be exactly-once end to end. What the outbox guarantees:
- one row per idempotency key, so the same (action, recipient) is never queued twice;
- a delivery locks the row and acts only while it is "queued", so two deliverers never both send;
- the attempt is committed ("sending") before the SMTP conversation, so a crash mid-send leaves a
  visible row that the sweeper (`deliver_due`) retries after a timeout. That retry is the one case
  that can send twice (the server got the mail but we died before recording it); the message keeps
  the same Message-ID so mail clients can fold the duplicate.
"""

import base64
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from common import workers
from common.retry import backoff
from common.transactions import after_commit

from . import groups, sweeper
from .choices import EmailState
from .models import OutboundEmail

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail; `alternative`: also a part of the body's multipart/alternative (where a
    calendar invitation "text/calendar; method=REQUEST" goes for Outlook to show it as a meeting)."""

    filename: str
    content: bytes
    mimetype: str
    alternative: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "filename": self.filename,
            "mimetype": self.mimetype,
            "content": base64.b64encode(self.content).decode("ascii"),
            "alternative": self.alternative,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Attachment":
        return cls(
            data["filename"], base64.b64decode(data["content"]), data["mimetype"], data.get("alternative", False)
        )


def enqueue_email(
    key, to, subject, text, html=None, *, from_email="", group="", attachments: Sequence[Attachment] = ()
):
    """Queue one e-mail under `key` (a second call with the same key does nothing); deliver after commit."""
    email, created = OutboundEmail.objects.get_or_create(
        key=key,
        defaults={
            "to": to,
            "subject": " ".join(subject.split())[:500],
            "text": text,
            "html": html or "",
            "from_email": from_email,
            "group": group,
            "attachments": [attachment.as_json() for attachment in attachments],
        },
    )
    if created:
        # robust: a failing hand-over must not break what queued it; the row stays queued for deliver_due.
        after_commit(hand_over, email.pk)
    return email


def hand_over(email_id):
    """After commit: a Celery worker sends it (production), or this process does (tests, no worker)."""
    workers.hand_over("notifications.tasks.deliver", deliver, email_id)


def message_id(email):
    """The same Message-ID for every attempt at one outbox row."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "okno.local"
    digest = hashlib.sha256(email.key.encode()).hexdigest()[:32]
    return f"<okno.{email.pk}.{digest}@{domain}>"


def deliver(email_id):
    """Send one queued e-mail. Harmless when called twice or by two processes at once. True if sent."""
    with transaction.atomic():
        # SKIP LOCKED: another deliverer holds it, so it is not ours to send.
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, state=EmailState.QUEUED)
            .first()
        )
        if email is None:
            return False
        email.state = EmailState.SENDING
        email.attempts += 1
        email.claimed_at = timezone.now()
        email.save(update_fields=["state", "attempts", "claimed_at"])
    # Committed before talking to the server: the attempt is on record whatever happens next.
    try:
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.text,
            from_email=email.from_email or settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            headers={"Message-ID": message_id(email)},
        )
        if email.html:
            message.attach_alternative(email.html, "text/html")
        _attach(message, email.attachments)
        message.send()
    except Exception as exc:  # noqa: BLE001 - any transport error: record it and retry later
        logger.warning("E-mail %s to %s failed (attempt %s): %s", email.pk, email.to, email.attempts, exc)
        gave_up = email.attempts >= settings.OKNO_EMAIL_MAX_ATTEMPTS
        OutboundEmail.objects.filter(pk=email.pk, state=EmailState.SENDING).update(
            state=EmailState.FAILED,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=None
            if gave_up
            else timezone.now() + backoff(settings.OKNO_EMAIL_RETRY_SECONDS, email.attempts),
        )
        if gave_up:
            groups.check(email.group)
        return False
    OutboundEmail.objects.filter(pk=email.pk, state=EmailState.SENDING).update(
        state=EmailState.SENT,
        sent_at=timezone.now(),
        last_error="",
        next_attempt_at=None,
    )
    groups.check(email.group)
    return True


def _attach(message, stored):
    for attachment in map(Attachment.from_json, stored):
        if attachment.alternative:
            message.attach_alternative(attachment.content.decode(), attachment.mimetype)
        else:
            message.attach(attachment.filename, attachment.content, attachment.mimetype)


def deliver_due(now=None, *, limit=100):
    """Retry failed rows whose back-off has passed, rescue rows stuck in "sending", send what is queued."""
    return sweeper.sweep(
        OutboundEmail,
        deliver,
        now=now or timezone.now(),
        stuck_seconds=settings.OKNO_EMAIL_SENDING_TIMEOUT_SECONDS,
        max_attempts=settings.OKNO_EMAIL_MAX_ATTEMPTS,
        limit=limit,
    )
