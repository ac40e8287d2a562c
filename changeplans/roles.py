"""Roles are Django groups (DESIGN.md: author, approver, duty officer, operator, admin)."""

from django.contrib.auth.models import Group

from .choices import Role


def ensure_role_groups():
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


def user_roles(user):
    """The set of role codes of a user, cached on the user object for one request."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_okno_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached |= {Role.ADMIN.value}
        user._okno_roles = cached
    return cached


def has_role(user, role):
    return Role(role).value in user_roles(user)


def display_name(user):
    """A person as the seed writes names: surname first ("Хасанов А.И.")."""
    if user is None:
        return ""
    name = f"{user.last_name} {user.first_name}".strip()
    return name or user.get_username()
