"""Which Okno users come from a directory (docs/sso.md)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentitySource(models.TextChoices):
    LDAP = "ldap", _("LDAP / Active Directory")
    OIDC = "oidc", _("OpenID Connect")


class ExternalIdentity(models.Model):
    """An Okno user's account in a directory: its roles follow the directory's groups at every sign-in.

    A user without one is local (the embedded default, break-glass administrators): SSO never changes
    their roles. LDAP's subject is the directory user name in lower case, OpenID Connect's the `sub` claim.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities", verbose_name=_("user")
    )
    source = models.CharField(_("source"), max_length=8, choices=IdentitySource.choices)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("linked"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("last sign-in"), null=True, blank=True)
    # The directory's groups at the last sign-in, as they came (for the administrator: why these roles).
    groups = models.JSONField(_("directory groups"), default=list, blank=True)

    class Meta:
        verbose_name = _("directory account")
        verbose_name_plural = _("directory accounts")
        constraints = [models.UniqueConstraint(fields=["source", "subject"], name="sso_identity_source_subject")]

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.subject}"
