from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import EmailState, MessageKind, ScheduleState, SubscriptionFormat


class Delivery(models.Model):
    """A row first, then attempts: queued → sending (committed before the call) → sent | failed
    (retried with back-off)."""

    key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    group = models.CharField(
        _("group"),
        max_length=100,
        blank=True,
        db_index=True,
        help_text=_("What the delivery belongs to, e.g. plan:12:step:34"),
    )
    state = models.CharField(_("state"), max_length=10, choices=EmailState.choices, default=EmailState.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, default=timezone.now)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]


class OutboundEmail(Delivery):
    """One e-mail to one recipient in the outbox; its key makes a second send of the same message impossible."""

    to = models.CharField(_("recipient"), max_length=254)
    from_email = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    text = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    # [{"filename", "mimetype", "content" (base64), "alternative"}] (outbox.Attachment): kept on the row for retries.
    attachments = models.JSONField(_("attachments"), default=list, blank=True)

    class Meta(Delivery.Meta):
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")

    def __str__(self):
        return f"{self.to}: {self.subject}"


class CalendarInvitation(models.Model):
    """An address sent a calendar invitation (iCalendar REQUEST) for `subject` ("plan:12"), at its SEQUENCE:
    a later change of the event sends them an update, a cancel a CANCEL."""

    subject = models.CharField(_("belongs to"), max_length=100, help_text=_("e.g. plan:12"))
    address = models.CharField(_("recipient"), max_length=254)
    sequence = models.PositiveIntegerField(_("sequence sent"), default=0)
    cancelled = models.BooleanField(_("cancellation sent"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["subject", "address"]
        verbose_name = _("calendar invitation")
        verbose_name_plural = _("calendar invitations")
        constraints = [models.UniqueConstraint(fields=["subject", "address"], name="calendar_invitation_once")]

    def __str__(self):
        return f"{self.subject} → {self.address} ({self.sequence})"


class ScheduledAction(models.Model):
    """Something due at a time (an announcement, a banner, a reminder): a row, never a Celery ETA hours ahead."""

    key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    kind = models.CharField(_("kind"), max_length=100)
    subject = models.CharField(_("belongs to"), max_length=100, blank=True, db_index=True, help_text=_("e.g. plan:12"))
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(_("state"), max_length=10, choices=ScheduleState.choices, default=ScheduleState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    result = models.TextField(_("result"), blank=True)
    claimed_at = models.DateTimeField(_("handed to a worker at"), null=True, blank=True)
    fired_at = models.DateTimeField(_("fired at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("scheduled action")
        verbose_name_plural = _("scheduled actions")
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self):
        return f"{self.kind} @ {self.due_at:%Y-%m-%d %H:%M} ({self.state})"


class MessageTemplate(models.Model):
    """An announcement template an administrator edits: Django template syntax, rendered per plan."""

    kind = models.CharField(_("message"), max_length=20, choices=MessageKind.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="ru")
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    text = models.TextField(_("plain text"))
    html = models.TextField(
        _("HTML"), blank=True, help_text=_("Empty: the plain text is sent as HTML with line breaks.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["kind", "language"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [models.UniqueConstraint(fields=["kind", "language"], name="message_template_kind_language")]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.language})"


class WebhookDelivery(Delivery):
    """One signed POST to a URL; the secret is looked up by `subject` when it is sent (webhooks.secret_resolvers)."""

    subject = models.CharField(
        _("belongs to"), max_length=100, blank=True, db_index=True, help_text=_("e.g. service:12")
    )
    url = models.URLField(_("address"), max_length=500)
    body = models.TextField(_("body"))
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)

    class Meta(Delivery.Meta):
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self):
        return f"{self.url} ({self.state})"


class MailboxMessage(models.Model):
    """An e-mail caught by the local mailbox backend (the embedded default and the demo): what would have gone out."""

    from_email = models.CharField(_("sender"), max_length=254)
    to = models.TextField(_("recipients"))
    subject = models.CharField(_("subject"), max_length=500)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    text = models.TextField(_("text"), blank=True)
    html = models.TextField(_("HTML"), blank=True)
    raw = models.TextField(_("raw message"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("local mailbox message")
        verbose_name_plural = _("local mailbox")

    def __str__(self):
        return self.subject


class EventSubscription(models.Model):
    """An administrator's subscription: plan events POSTed to a URL (signed JSON, a chat's incoming webhook,
    a Telegram bot). The domain apps hand events over; notifications.subscriptions formats and queues them."""

    name = models.CharField(_("name"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    format = models.CharField(
        _("format"), max_length=20, choices=SubscriptionFormat.choices, default=SubscriptionFormat.JSON
    )
    url = models.URLField(
        _("address"),
        max_length=500,
        help_text=_("The receiver's URL; for Telegram the Bot API address, https://api.telegram.org."),
    )
    # Write-only in the admin (never shown again): the JSON signing secret, or the Telegram bot token.
    secret = models.CharField(_("secret"), max_length=200, blank=True)
    telegram_chat_id = models.CharField(_("Telegram chat id"), max_length=100, blank=True)
    events = models.JSONField(_("events"), default=list, blank=True, help_text=_("Empty: every event."))
    services = models.JSONField(
        _("services"), default=list, blank=True, help_text=_("Service names; empty: plans of every service.")
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="ru")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("event subscription")
        verbose_name_plural = _("event subscriptions")

    def __str__(self):
        return self.name


class SubscriptionEvent(models.Model):
    """One event for one subscription, held until the subscription's earlier event is sent or given up."""

    subscription = models.ForeignKey(EventSubscription, on_delete=models.CASCADE, related_name="queue")
    key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    sequence = models.PositiveBigIntegerField(_("sequence"))
    event = models.CharField(_("event"), max_length=50)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    released_at = models.DateTimeField(_("handed to the webhooks at"), null=True, blank=True)

    class Meta:
        ordering = ["subscription", "sequence"]
        verbose_name = _("subscription event")
        verbose_name_plural = _("subscription events")
        constraints = [models.UniqueConstraint(fields=["subscription", "sequence"], name="subscription_event_sequence")]
        indexes = [
            models.Index(
                fields=["subscription", "sequence"],
                condition=models.Q(released_at__isnull=True),
                name="subscription_event_waiting",
            )
        ]

    def __str__(self):
        return f"{self.key} #{self.sequence}"
