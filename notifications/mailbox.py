"""The local mailbox: an e-mail backend that keeps messages in the database instead of sending them.

The embedded default (`make run`) uses it, so the demo shows in the browser (/mailbox/) exactly what
would have gone out, without an SMTP server. Production sets EMAIL_BACKEND to SMTP.
"""

from django.core.mail.backends.base import BaseEmailBackend

from .models import MailboxMessage


def _alternative(message, mimetype):
    for content, kind in getattr(message, "alternatives", ()) or ():
        if kind == mimetype:
            return content
    return ""


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        count = 0
        for message in email_messages or ():
            MailboxMessage.objects.create(
                from_email=message.from_email,
                to=", ".join(message.recipients()),
                subject=message.subject[:500],
                message_id=message.extra_headers.get("Message-ID", ""),
                text=message.body,
                html=_alternative(message, "text/html"),
                raw=message.message().as_string(),
            )
            count += 1
        return count
