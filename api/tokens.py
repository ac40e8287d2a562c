"""Personal API tokens: issue, revoke, authenticate (docs/api.md).

A token reads `okno_<prefix>_<secret>`. The prefix is public (lists, the admin) and finds the row; the database
keeps only the SHA-256 of the whole token, so a copy of the database lets nobody in.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from changeplans.roles import is_administrator

from .choices import TokenScope
from .models import ApiToken

TOKEN_PREFIX = "okno_"
PREFIX_BYTES = 6  # 12 hex characters: public, unique
SECRET_BYTES = 32  # 256 bits from secrets.token_urlsafe
# last_used_at is written at most this often per token: no write on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
EXPIRY_DAYS = (30, 90, 365)
DEFAULT_EXPIRY_DAYS = 90


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue_token(
    user: User,
    *,
    name: str,
    scope: str,
    expires_at: datetime.datetime | None,
) -> tuple[ApiToken, str]:
    """Create a token for the user; the plaintext is returned here once and never stored."""
    scope = TokenScope(scope).value
    for _attempt in range(5):
        prefix = secrets.token_hex(PREFIX_BYTES)
        plaintext = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        try:
            # A savepoint: a prefix collision (48 bits) must not spoil the caller's transaction.
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    secret_hash=hash_token(plaintext),
                    scope=scope,
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue
        return token, plaintext
    raise RuntimeError("could not draw a unique token prefix")


def revoke_token(token_id: int, *, actor: AbstractBaseUser | AnonymousUser) -> ApiToken:
    """Revoke a token: one's own, or anyone's for an administrator. Revoking twice changes nothing."""
    with transaction.atomic():
        try:
            token = ApiToken.objects.select_for_update().get(pk=token_id)
        except ApiToken.DoesNotExist:
            raise PermissionDenied(_("There is no such token.")) from None
        if not actor.is_authenticated or (token.user_id != actor.pk and not is_administrator(actor)):
            # The same answer as for a missing token: another user's token ids are not confirmed.
            raise PermissionDenied(_("There is no such token."))
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


def _split(plaintext: str) -> str | None:
    """The prefix of a well-formed token, else None."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = plaintext[len(TOKEN_PREFIX) :].partition("_")
    if not sep or not secret or len(prefix) != PREFIX_BYTES * 2:
        return None
    return prefix


def authenticate_token(plaintext: str) -> ApiToken | None:
    """The live token this plaintext is, with its user; None when unknown, wrong, expired, revoked or the user is
    inactive."""
    prefix = _split(plaintext)
    if prefix is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None:
        return None
    if not hmac.compare_digest(token.secret_hash, hash_token(plaintext)):
        return None
    now = timezone.now()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_RESOLUTION:
        # Conditional: of concurrent requests only one writes, and none for another minute.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token


def expiry_from_days(days: int | None, *, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """When a token created now for this many days expires (None: never)."""
    if days is None:
        return None
    return (now or timezone.now()) + datetime.timedelta(days=days)
