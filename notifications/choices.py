from django.db import models
from django.utils.translation import gettext_lazy as _


class EmailState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class ScheduleState(models.TextChoices):
    PENDING = "pending", _("Pending")
    QUEUED = "queued", _("Handed to a worker")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class MessageKind(models.TextChoices):
    ANNOUNCEMENT = "announcement", _("Announcement of the work")
    COMPLETION = "completion", _("Completion notice")
    DELAY = "delay", _("Delay notice")
    BANNER = "banner", _("Banner text")


class SubscriptionFormat(models.TextChoices):
    """What an event subscription POSTs (docs/events.md)."""

    JSON = "json", _("Signed JSON")
    MATTERMOST = "mattermost", _("Mattermost incoming webhook")
    SLACK = "slack", _("Slack incoming webhook")
    TELEGRAM = "telegram", _("Telegram bot")
