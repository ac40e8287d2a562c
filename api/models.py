"""Personal API tokens (docs/api.md)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import TokenScope, TokenStatus


class ApiToken(models.Model):
    """A user's personal API token: shown once as `okno_<prefix>_<secret>`, kept only as a SHA-256 hash."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100)
    # Public: shown in lists and used to find the row; the secret part is never stored.
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    secret_hash = models.CharField(_("SHA-256 of the token"), max_length=64)
    scope = models.CharField(_("scope"), max_length=8, choices=TokenScope.choices, default=TokenScope.READ)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, help_text=_("Empty: never expires."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_created")]

    def __str__(self) -> str:
        return f"{self.name} (okno_{self.prefix}_…)"

    def status_at(self, now: datetime.datetime) -> TokenStatus:
        if self.revoked_at is not None:
            return TokenStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE

    @property
    def status(self) -> TokenStatus:
        return self.status_at(timezone.now())

    @property
    def is_active(self) -> bool:
        return self.status == TokenStatus.ACTIVE


class IdempotencyKey(models.Model):
    """A transition asked with an `Idempotency-Key`: a repeat of the same request gets the stored answer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and body: the same key with another request is refused, not replayed.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    # Empty while the first request runs.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_user_key")]
        indexes = [models.Index(fields=["user", "created_at"], name="api_idempotency_user_created")]

    def __str__(self) -> str:
        return self.key


class ServiceAccount(models.Model):
    """A pipeline's account ("gitlab-billing"): a user who is no person. It signs in to no page and acts only with
    the tokens an administrator issues to it, with the roles (groups) it is given (docs/api.md, «Service accounts»)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account", verbose_name=_("account")
    )
    description = models.TextField(_("description"), blank=True, help_text=_("What the pipeline does with Okno."))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_service_accounts",
        verbose_name=_("owner"),
        help_text=_("The person responsible for the pipeline."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("service account")
        verbose_name_plural = _("service accounts")
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_username()
