"""Which Okno account a directory sign-in opens, and what it brings along (docs/sso.md).

One place for the rules both backends follow:
- an account linked to this directory identity (`ExternalIdentity`) is that account;
- otherwise an existing Okno user with the same name (LDAP, OIDC preferred_username) or verified e-mail
  (OIDC with OKNO_OIDC_USERNAME_CLAIM=email) is taken over when OKNO_SSO_LINK_EXISTING_USERS is on, and its
  local password is dropped: from then on the directory decides who may sign in as it. A superuser is
  never taken over: break-glass administrators stay local; nor is a service account (a pipeline's user);
- otherwise a new user is made (without a usable password);
- a user deactivated in Okno is refused, whatever the directory says;
- at every sign-in the roles named in OKNO_SSO_GROUP_ROLES follow the directory groups (sso/roles.py).
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from changeplans.roles import is_service_account

from .models import ExternalIdentity
from .roles import sync_roles

logger = logging.getLogger(__name__)


class SignInRefused(Exception):
    """A directory sign-in Okno refuses; the message is for the log (the person sees the usual refusal)."""


def find_user(*, source: str, subject: str, field: str, value: str) -> User | None:
    """The account this directory identity signs in as, or None when a new one is to be made."""
    identity = ExternalIdentity.objects.select_related("user").filter(source=source, subject=subject).first()
    if identity is not None:
        user = identity.user
    else:
        matches = list(get_user_model().objects.filter(**{f"{field}__iexact": value})[:2]) if value else []
        if not matches:
            return None
        if len(matches) > 1:
            raise SignInRefused(f"more than one Okno user has the {field} {value!r}")
        user = matches[0]
        if user.is_superuser:
            raise SignInRefused(f"{user.username!r} is a local superuser: a directory sign-in never takes it over")
        if is_service_account(user):
            raise SignInRefused(f"{user.username!r} is a service account: it signs in nowhere")
        if not settings.OKNO_SSO_LINK_EXISTING_USERS:
            raise SignInRefused(
                f"{user.username!r} is a local user and OKNO_SSO_LINK_EXISTING_USERS is off: not taken over"
            )
        if ExternalIdentity.objects.filter(user=user, source=source).exists():
            raise SignInRefused(f"{user.username!r} is already linked to another {source} account")
    if not user.is_active:
        raise SignInRefused(f"{user.username!r} is deactivated in Okno")
    return user


@transaction.atomic
def complete_sign_in(user: User, *, source: str, subject: str, groups: list[str]) -> None:
    """Link the identity (dropping a local password the first time), record the groups, sync the roles."""
    identity, created = ExternalIdentity.objects.get_or_create(source=source, subject=subject, defaults={"user": user})
    if created and user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
        logger.info("SSO: local user %s is now signed in through %s; its local password was dropped", user, source)
    identity.last_login_at = timezone.now()
    identity.groups = sorted(groups)
    identity.save(update_fields=["last_login_at", "groups"])
    added, removed = sync_roles(user, groups)
    if added or removed:
        logger.info("SSO: roles of %s from %s groups: +%s -%s", user, source, sorted(added), sorted(removed))


def is_directory_user(user: User) -> bool:
    return ExternalIdentity.objects.filter(user=user).exists()
