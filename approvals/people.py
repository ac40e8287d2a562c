"""Who a sign-off row asks: a person (a user) or a group (a duty group: any member acknowledges).

The matrix builder's picker posts them as "user:5" / "group:2" (the people search's ids, see
changeplans:people_search); the row shows a person as the seed writes names ("Хасанов А.И.").
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User

from changeplans.people import role_label
from changeplans.roles import display_name

Person = User | Group


def group_label(group: Group) -> str:
    """A role group by its role's name in the user's language ("Дежурный"), any other group by its name
    (as the people search labels it)."""
    return role_label(group.name)


def label(person: Person | None) -> str:
    if person is None:
        return ""
    if isinstance(person, Group):
        return group_label(person)
    return display_name(person)


def key(person: Person | None) -> str:
    """The picker's value of a person or group ("" for nobody)."""
    if person is None:
        return ""
    return f"{'group' if isinstance(person, Group) else 'user'}:{person.pk}"


def row_key(user_id: int | None, group_id: int | None) -> str:
    if user_id is not None:
        return f"user:{user_id}"
    if group_id is not None:
        return f"group:{group_id}"
    return ""


def resolve(value: str) -> Person | None:
    """The user or group a picker value names; None for ""; LookupError when it names nothing (or badly)."""
    value = (value or "").strip()
    if not value:
        return None
    kind, _, number = value.partition(":")
    if kind not in ("user", "group") or not number.isdigit() or len(number) > 10:
        raise LookupError(value)
    if kind == "group":
        group = Group.objects.filter(pk=int(number)).first()
        if group is None:
            raise LookupError(value)
        return group
    user = get_user_model().objects.filter(pk=int(number), is_active=True).first()
    if user is None:
        raise LookupError(value)
    return user
