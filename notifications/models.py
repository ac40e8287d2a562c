from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import EmailState, ScheduleState


class OutboundEmail(models.Model):
    """One e-mail to one recipient in the outbox; its key makes a second send of the same message impossible."""

    key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    to = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=500)
    text = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=EmailState.choices, default=EmailState.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, default=timezone.now)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self):
        return f"{self.to}: {self.subject}"


class ScheduledNotification(models.Model):
    """Something due at a time (a reminder, an escalation): a row, never a Celery ETA."""

    key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    kind = models.CharField(_("kind"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(_("state"), max_length=10, choices=ScheduleState.choices, default=ScheduleState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("scheduled notification")
        verbose_name_plural = _("scheduled notifications")
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self):
        return f"{self.kind} @ {self.due_at:%Y-%m-%d %H:%M} ({self.state})"
