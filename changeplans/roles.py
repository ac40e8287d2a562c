"""Roles are Django groups (DESIGN.md: author, approver, duty officer, operator, admin)."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group

from .choices import Role


def ensure_role_groups():
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


def _user_groups(user):
    """{group id: name} of the user's groups: one query, kept on the user object for the request."""
    cached = getattr(user, "_okno_groups", None)
    if cached is None:
        cached = dict(user.groups.values_list("pk", "name"))
        user._okno_groups = cached
    return cached


def user_group_ids(user):
    """The ids of the user's groups (a group's sign-off rows are theirs), read with their roles (_user_groups)."""
    if not user.is_authenticated:
        return frozenset()
    return frozenset(_user_groups(user))


def user_roles(user):
    """The set of role codes of a user, cached on the user object for one request.

    A superuser counts as `admin` (docs/deployment.md): this is where that is decided, for every check.
    """
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_okno_roles", None)
    if cached is None:
        cached = frozenset(_user_groups(user).values())
        if user.is_superuser:
            cached |= {Role.ADMIN.value}
        user._okno_roles = cached
    return cached


# The group every service account is in (api/service_accounts.py): a pipeline's user, not a person. It is
# read with the roles (no extra query) and refused where a person's decision is required.
SERVICE_ACCOUNT_GROUP = "service_account"


def is_service_account(user) -> bool:
    """A pipeline's account: it may act through the API with its roles, but never sign or approve."""
    return user.is_authenticated and SERVICE_ACCOUNT_GROUP in _user_groups(user).values()


def has_role(user, role):
    return Role(role).value in user_roles(user)


def is_administrator(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The one definition of an administrator: a member of the `admin` group, or a superuser.

    An administrator may do to any plan what its author may (edit it while it is editable, give it a
    matrix template, submit it, cancel it), and where a role list names `admin` (the board, automation
    runs, notices, the runbook library) what that role may. Never sign or acknowledge someone else's
    row: the sign-off guards (approvals.conditions) make no exception for administrators.
    """
    return has_role(user, Role.ADMIN)


def display_name(user):
    """A person as the seed writes names: surname first ("Хасанов А.И.")."""
    if user is None:
        return ""
    name = f"{user.last_name} {user.first_name}".strip()
    return name or user.get_username()
