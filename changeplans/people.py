"""People in the editor: the search behind the pickers (static/okno/picker.js), a typed name matched to a
user ("Иванов П.С."), and the party that stands for a user in a step's executor cell.

Names compare case- and ё/е-insensitively: `Folded` is LOWER() with ё as е on PostgreSQL; SQLite's LOWER()
folds ASCII only, so there it calls Python's casefold (`register_sqlite_fold`, connected in apps.py).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db.models import Case, CharField, Count, Func, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Concat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .choices import PartyKind, Role
from .models import Party
from .roles import SERVICE_ACCOUNT_GROUP, display_name

KINDS = ("user", "group", "party")
LIMIT = 20
MAX_QUERY_CHARS = 100
MAX_WORDS = 4


def fold(text: str) -> str:
    """The form names are compared in: lower case, ё as е."""
    return text.casefold().replace("ё", "е")


class Folded(Func):
    """A text column lower-cased with ё as е, as `fold()` does in Python."""

    template = "REPLACE(LOWER(%(expressions)s), 'ё', 'е')"  # PostgreSQL folds Cyrillic in LOWER()
    output_field = CharField()

    def __init__(self, expression: Combinable | str) -> None:
        super().__init__(expression)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="OKNO_FOLD(%(expressions)s)", **extra)


def _sqlite_fold(value: str | None) -> str | None:
    return None if value is None else fold(value)


def register_sqlite_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created: give SQLite the Python fold (its LOWER() leaves Cyrillic as it is)."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("OKNO_FOLD", 1, _sqlite_fold, deterministic=True)


def _contains_all(field: str, words: Iterable[str]) -> Q:
    """Every word occurs in the folded `field` (an annotation)."""
    condition = Q()
    for word in words:
        condition &= Q(**{f"{field}__contains": fold(word)})
    return condition


def words(query: str) -> list[str]:
    return query[:MAX_QUERY_CHARS].split()[:MAX_WORDS]


# --- a typed name → a user -----------------------------------------------------------------------

_INITIAL_SPLIT = re.compile(r"[\s.]+")


def initials(first_name: str) -> str:
    """ "Пётр Сергеевич" and "П.С." → "пс" (folded)."""
    return "".join(fold(part)[0] for part in _INITIAL_SPLIT.split(first_name) if part)


def parse_short_name(text: str) -> tuple[str, str] | None:
    """ "Иванов П.С." / "Иванов П. С." / "иванов п.с" → ("иванов", "пс"); None when it is not such a name."""
    parts = (text or "").strip().split(None, 1)
    if len(parts) != 2 or not parts[0].isalpha() or len(parts[0]) < 2:
        return None
    letters = [part for part in _INITIAL_SPLIT.split(parts[1]) if part]
    if not 1 <= len(letters) <= 2 or not all(part.isalpha() for part in letters):
        return None
    # "П.С." or "Пётр Сергеевич": the initials are the first letters.
    return fold(parts[0]), "".join(fold(part)[0] for part in letters)


def users_matching(text: str) -> list[User]:
    """Active users whose surname and initials are `text` ("Иванов П.С."); one query, [] for other text.

    One initial ("Иванов П.") matches any user whose first initial it is.
    """
    parsed = parse_short_name(text)
    if parsed is None:
        return []
    surname, wanted = parsed
    candidates = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(groups__name=SERVICE_ACCOUNT_GROUP)
        .annotate(okno_surname=Folded("last_name"))
        .filter(okno_surname=surname)
        .order_by("pk")[:50]
    )
    return [user for user in candidates if is_named(user, surname, wanted)]


def is_named(user: Any, surname: str, wanted_initials: str) -> bool:
    """The user's folded surname is `surname` and their initials are `wanted_initials` (one initial: the first)."""
    if fold(user.last_name) != surname:
        return False
    have = initials(user.first_name)
    return have == wanted_initials or (len(wanted_initials) == 1 and have.startswith(wanted_initials))


def match_user(text: str) -> User | None:
    """The one active user `text` names ("Иванов П.С."), or None when none or several do."""
    found = users_matching(text)
    return found[0] if len(found) == 1 else None


def suggested_user(name: str) -> User | None:
    """The user an executor typed as text names, unless its party already stands for a user."""
    name = (name or "").strip()
    if not name or Party.objects.filter(name=name, user__isnull=False).exists():
        return None
    return match_user(name)


# --- what a picker posted -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """A choice made in a picker: its hidden input holds "user:5", "group:2" or "party:7"."""

    kind: str
    id: int

    @classmethod
    def parse(cls, value: str | None) -> "Pick | None":
        kind, sep, number = (value or "").strip().partition(":")
        if not sep or kind not in KINDS or not number.isascii() or not number.isdigit() or len(number) > 12:
            return None
        return cls(kind, int(number))

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Typed:
    """What a picker field posted: the text in the input and the choice made in the list, if any."""

    text: str
    pick: Pick | None = None


def party_for_user(user: User) -> Party:
    """The party that stands for `user` in executor cells: theirs, an unlinked one of their name, or a new one.

    A party's name is unique; two users of the same short name get the second one's login added.
    """
    party = Party.objects.filter(user=user).order_by("pk").first()
    if party:
        return party
    base = display_name(user)
    for name in (base, f"{base} ({user.get_username()})"):
        party = Party.objects.filter(name__iexact=name).first()
        if party is None:
            return Party.objects.create(name=name, user=user, kind=PartyKind.PERSON)
        if party.user_id is None:
            party.user = user
            party.save(update_fields=["user"])
            return party
    return Party.objects.create(name=f"{base} ({user.get_username()}, {user.pk})", user=user, kind=PartyKind.PERSON)


# --- search ----------------------------------------------------------------------------------------


def role_label(name: str) -> str:
    """A role group by its role's name ("Дежурный"), any other group by its own."""
    return str(Role(name).label) if name in Role.values else name


def _user_detail(user: Any) -> str:
    roles = [str(Role(group.name).label) for group in user.groups.all() if group.name in Role.values]
    return " · ".join([user.get_username(), *roles])


def search_users(words: list[str], limit: int = LIMIT) -> list[dict[str, Any]]:
    """Active users whose surname, first name or login contain every word; surname matches first. Two queries."""
    users: QuerySet[Any] = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(groups__name=SERVICE_ACCOUNT_GROUP)
        .annotate(
            okno_name=Folded(Concat("last_name", Value(" "), "first_name", Value(" "), "username")),
            okno_surname=Folded("last_name"),
        )
        .filter(_contains_all("okno_name", words))
    )
    first = Q(okno_surname__startswith=fold(words[0]))
    users = users.alias(okno_first=Case(When(first, then=Value(0)), default=Value(1))).order_by(
        "okno_first", "last_name", "first_name", "pk"
    )
    users = users.prefetch_related("groups")[:limit]
    return [
        {
            "type": "user",
            "id": user.pk,
            "value": f"user:{user.pk}",
            "label": display_name(user),
            "detail": _user_detail(user),
        }
        for user in users
    ]


def search_groups(words: list[str], limit: int = LIMIT) -> list[dict[str, Any]]:
    """Groups by name, role groups also by their role's label ("Дежурный"). One query."""
    roles = [role.value for role in Role if all(fold(w) in fold(str(role.label)) for w in words)]
    groups = (
        Group.objects.exclude(name=SERVICE_ACCOUNT_GROUP)
        .annotate(okno_name=Folded("name"), okno_members=Count("user"))
        .filter(_contains_all("okno_name", words) | Q(name__in=roles))
        .order_by("name")[:limit]
    )
    found = sorted(groups, key=lambda group: fold(role_label(group.name)))
    return [
        {
            "type": "group",
            "id": group.pk,
            "value": f"group:{group.pk}",
            "label": role_label(group.name),
            "detail": _("group")
            + " · "
            + ngettext("%(n)d member", "%(n)d members", group.okno_members) % {"n": group.okno_members},
        }
        for group in found
    ]


def search_parties(words: list[str], limit: int = LIMIT) -> list[dict[str, Any]]:
    """Parties not standing for a user (teams, contractors, names typed as text). One query."""
    parties = (
        Party.objects.filter(user__isnull=True)
        .annotate(okno_name=Folded("name"))
        .filter(_contains_all("okno_name", words))
        .order_by("name")[:limit]
    )
    return [
        {
            "type": "party",
            "id": party.pk,
            "value": f"party:{party.pk}",
            "label": party.name,
            "detail": " · ".join(filter(None, [str(party.get_kind_display()), party.contact])),
        }
        for party in parties
    ]


def parse_kinds(kind: str | None) -> tuple[str, ...]:
    """ "user", "group", "party", a comma-separated list of them, or "any" (all three); unknown → users."""
    if not kind or kind == "any":
        return KINDS if kind == "any" else ("user",)
    kinds = tuple(k for k in KINDS if k in kind.split(","))
    return kinds or ("user",)


def search(query: str, kinds: Iterable[str], limit: int = LIMIT) -> list[dict[str, Any]]:
    """What a picker lists for `query`: users first, then groups, then parties; at most `limit` in all.

    A fixed number of queries (at most four) whatever the number of people.
    """
    terms = words(query or "")
    if not terms:
        return []
    finders = {"user": search_users, "group": search_groups, "party": search_parties}
    results: list[dict[str, Any]] = []
    for kind in KINDS:
        if kind in kinds and len(results) < limit:
            results += finders[kind](terms, limit - len(results))
    return results
