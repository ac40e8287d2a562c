"""Scheduled actions the notifications app offers by itself (other kinds are registered by domain apps)."""

from . import scheduler
from .outbox import enqueue_email

EMAIL = "notifications.email"


@scheduler.register(EMAIL)
def send_email(payload):
    """An e-mail due at a time: payload {key, to, subject, text, html?, from_email?, group?}."""
    email = enqueue_email(
        payload["key"],
        payload["to"],
        payload["subject"],
        payload["text"],
        payload.get("html"),
        from_email=payload.get("from_email", ""),
        group=payload.get("group", ""),
    )
    return f"queued e-mail {email.pk} to {email.to}"


def schedule_email(key, due_at, *, to, subject, text, html=None, from_email="", group="", subject_of=""):
    """Send an e-mail at `due_at` (once: the key is the idempotency key of both the action and the e-mail)."""
    payload = {
        "key": key,
        "to": to,
        "subject": subject,
        "text": text,
        "html": html,
        "from_email": from_email,
        "group": group,
    }
    return scheduler.schedule(f"email:{key}", due_at, EMAIL, payload, subject=subject_of)
