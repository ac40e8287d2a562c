"""Service accounts: a pipeline's own user, which signs in nowhere and acts only with tokens (docs/api.md).

A service account is a Django user with an unusable password and a `ServiceAccount` row (description, the person
responsible). It gets roles through groups like a person (an API pipeline that submits plans needs `author`; one
that only asks the deployment gate needs none), and tokens only from an administrator (`issue_service_token`),
stored like personal tokens. Deactivating it revokes every token it has, so reactivating it revives none.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from changeplans.roles import SERVICE_ACCOUNT_GROUP, is_administrator

from .models import ApiToken, ServiceAccount
from .tokens import issue_token, revoke_token

Actor = AbstractBaseUser | AnonymousUser


def is_service_account(user: Any) -> bool:
    """Whether `user` is a service account (one query; False for anonymous and unsaved users)."""
    pk = getattr(user, "pk", None)
    return pk is not None and ServiceAccount.objects.filter(user_id=pk).exists()


def _marker_group() -> Group:
    """The group that tells every guard this user is no person (changeplans.roles.is_service_account)."""
    return Group.objects.get_or_create(name=SERVICE_ACCOUNT_GROUP)[0]


def _require_administrator(actor: Actor) -> None:
    if not actor.is_authenticated or not is_administrator(actor):
        raise PermissionDenied(_("Only an administrator manages service accounts."))


def _check_owner(owner: User) -> None:
    if not owner.is_active or is_service_account(owner):
        raise ValidationError(_("The owner must be an active person, not a service account."))


@transaction.atomic
def create_service_account(
    *, username: str, description: str, owner: User, groups: Iterable[Group], actor: Actor
) -> ServiceAccount:
    """A new service account: a user with no usable password, its roles, and who answers for it."""
    _require_administrator(actor)
    _check_owner(owner)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("A user with the name “%(name)s” already exists.") % {"name": username})
    user = User(username=username, is_active=True, is_staff=False, is_superuser=False)
    user.set_unusable_password()
    user.save()
    user.groups.set([*groups, _marker_group()])
    return ServiceAccount.objects.create(
        user=user, description=description, owner=owner, created_by=actor if isinstance(actor, User) else None
    )


@transaction.atomic
def update_service_account(
    account_id: int, *, description: str, owner: User, groups: Iterable[Group], is_active: bool, actor: Actor
) -> ServiceAccount:
    """Change what an administrator may change; unticking `is_active` revokes every token of the account."""
    _require_administrator(actor)
    _check_owner(owner)
    account = ServiceAccount.objects.select_for_update().select_related("user").get(pk=account_id)
    user = account.user
    account.description = description
    account.owner = owner
    account.save(update_fields=["description", "owner"])
    user.groups.set([*groups, _marker_group()])
    if user.is_active and not is_active:
        _revoke_all(user, actor=actor)
    user.is_active = is_active
    if user.has_usable_password():  # set behind Okno's back (a shell, the user admin): never kept
        user.set_unusable_password()
    user.save(update_fields=["is_active", "password"])
    return account


def _revoke_all(user: User, *, actor: Actor) -> int:
    live = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True))
    for pk in live:
        revoke_token(pk, actor=actor)
    return len(live)


@transaction.atomic
def deactivate_service_account(account_id: int, *, actor: Actor) -> int:
    """Switch the account off and revoke its tokens; returns how many were live."""
    _require_administrator(actor)
    account = ServiceAccount.objects.select_for_update().select_related("user").get(pk=account_id)
    revoked = _revoke_all(account.user, actor=actor)
    account.user.is_active = False
    account.user.save(update_fields=["is_active"])
    return revoked


def issue_service_token(
    account_id: int, *, name: str, scope: str, expires_at: datetime.datetime | None, actor: Actor
) -> tuple[ApiToken, str]:
    """A token for the account, issued by an administrator; the plaintext is returned here once."""
    _require_administrator(actor)
    with transaction.atomic():
        account = ServiceAccount.objects.select_for_update().select_related("user").get(pk=account_id)
        if not account.user.is_active:
            raise ValidationError(_("The service account is deactivated: activate it before issuing a token."))
        return issue_token(account.user, name=name, scope=scope, expires_at=expires_at)


def revoke_service_token(account_id: int, token_id: int, *, actor: Actor) -> ApiToken:
    """Revoke one token of the account (an administrator's act: api.tokens.revoke_token checks it too)."""
    _require_administrator(actor)
    token = ApiToken.objects.filter(pk=token_id, user__service_account__pk=account_id).first()
    if token is None:
        raise PermissionDenied(_("There is no such token."))
    return revoke_token(token.pk, actor=actor)


def keep_password_unusable(sender: type[User], instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    """pre_save of User: a service account's password stays unusable whoever sets one (the user admin's «change
    password», `manage.py changepassword`, a shell), so the login form can never let a pipeline in."""
    if update_fields is not None and "password" not in update_fields:
        return  # e.g. last_login: no query
    if instance.pk is None or not instance.has_usable_password():
        return
    if is_service_account(instance):
        instance.set_unusable_password()


def account_tokens(account: ServiceAccount) -> list[ApiToken]:
    """The account's tokens, newest first, for the admin page."""
    return list(ApiToken.objects.filter(user_id=account.user_id).order_by("-created_at", "-pk"))
