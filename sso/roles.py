"""Directory groups to Okno roles (OKNO_SSO_GROUP_ROLES, docs/sso.md).

The mapping is JSON ({"cn=okno-authors,ou=groups,dc=example,dc=org": "author", "okno-ops": ["operator",
"duty_officer"]}) or text: `group=role;group=role,role`, split at the last "=" of each part (an LDAP DN has
"=" in it). Groups are compared without regard to case and to spaces after the commas of a DN.
"""

import json

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from changeplans.choices import Role
from changeplans.roles import ensure_role_groups


class MappingError(ValueError):
    """OKNO_SSO_GROUP_ROLES cannot be read; the message says where."""


def normalize_group(name: str) -> str:
    return ",".join(part.strip() for part in name.strip().split(",")).lower()


def parse_group_roles(text: str) -> dict[str, frozenset[str]]:
    """{normalized group: role codes}; raises MappingError with a readable reason."""
    text = text.strip()
    if not text:
        return {}
    pairs: list[tuple[str, list[str]]] = []
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise MappingError(f"it is not valid JSON ({error})") from error
        if not isinstance(data, dict):
            raise MappingError("the JSON must be an object of group: role")
        for group, roles in data.items():
            if isinstance(roles, str):
                roles = [roles]
            if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
                raise MappingError(f"the roles of {group!r} must be a role or a list of roles")
            pairs.append((group, roles))
    else:
        for part in filter(None, (part.strip() for part in text.split(";"))):
            group, equals, roles_text = part.rpartition("=")
            if not equals or not group.strip():
                raise MappingError(f"{part!r} is not group=role")
            pairs.append((group, roles_text.split(",")))
    valid = {role.value for role in Role}
    mapping: dict[str, set[str]] = {}
    for group, roles in pairs:
        cleaned = {role.strip() for role in roles if role.strip()}
        unknown = sorted(cleaned - valid)
        if unknown or not cleaned:
            raise MappingError(
                f"group {group!r}: unknown role {', '.join(unknown) or '(none)'}; roles are {', '.join(sorted(valid))}"
            )
        mapping.setdefault(normalize_group(group), set()).update(cleaned)
    return {group: frozenset(roles) for group, roles in mapping.items()}


def group_roles() -> dict[str, frozenset[str]]:
    """The configured mapping (`manage.py check` has refused a broken one; here it then maps nothing)."""
    try:
        return parse_group_roles(settings.OKNO_SSO_GROUP_ROLES)
    except MappingError:
        return {}


def roles_for_groups(groups: list[str], mapping: dict[str, frozenset[str]]) -> set[str]:
    roles: set[str] = set()
    for group in groups:
        roles |= mapping.get(normalize_group(group), frozenset())
    return roles


@transaction.atomic
def sync_roles(user: User, groups: list[str]) -> tuple[set[str], set[str]]:
    """Give a directory user exactly the mapped roles their groups carry; roles the mapping never names stay.

    Returns (added, removed) role codes.
    """
    mapping = group_roles()
    managed = set().union(*mapping.values()) if mapping else set()
    wanted = roles_for_groups(groups, mapping)
    role_groups = ensure_role_groups()
    current = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
    added, removed = wanted - current, (current & managed) - wanted
    if added:
        user.groups.add(*(role_groups[Role(code)] for code in added))
    if removed:
        user.groups.remove(*Group.objects.filter(name__in=removed))
    for cache in ("_okno_groups", "_okno_roles"):
        user.__dict__.pop(cache, None)
    return added, removed
