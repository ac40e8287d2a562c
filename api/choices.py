from django.db import models
from django.utils.translation import gettext_lazy as _


class TokenScope(models.TextChoices):
    """What a personal API token may do."""

    READ = "read", _("read only")
    WRITE = "write", _("read and write")


class TokenStatus(models.TextChoices):
    """A token's state as the list shows it (computed, not stored)."""

    ACTIVE = "active", _("active")
    EXPIRED = "expired", _("expired")
    REVOKED = "revoked", _("revoked")
