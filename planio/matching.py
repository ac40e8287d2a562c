"""Names in an imported document matched to Okno's users, parties, groups and services.

`annotate` fills every PersonRef of a ParsedPlan (people and "Недоступные сервисы") with what matches, the
candidates and the default choice, in a fixed number of queries however many names the document has.
Names compare as changeplans.people compares them: case- and ё/е-insensitively, a user by surname and
initials ("Хасанов А.И."), a party by its whole name, a group by its role's label ("Дежурный").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q
from django.utils import translation

from approvals.choices import RowKind
from changeplans.models import Party, Service
from changeplans.people import Folded, fold, is_named, parse_short_name, role_label
from changeplans.roles import display_name

from .parsed import Overrides, ParsedPlan, PersonRef

# What a person's name may carry after it: "Шпагин А.В. (Интакт)" is the user Шпагин А.В.
_TRAILING_NOTE = re.compile(r"\s*\([^()]*\)\s*$")
PERSON_CHOICES = ("new", "text")
SERVICE_SKIP = "skip"


def person_key(name: str) -> str:
    """The key a name is known by in ParsedPlan.people / Overrides.people: folded, spaces collapsed."""
    return " ".join(fold(name).split())


def _short_name(name: str) -> tuple[str, str] | None:
    return parse_short_name(_TRAILING_NOTE.sub("", name or ""))


def _label(kind: str, obj: Any) -> str:
    if kind == "user":
        return display_name(obj)
    if kind == "group":
        return role_label(obj.name)
    if kind == "service":
        return f"{obj.name} ({obj.display_name})"
    return str(obj.name)


def _ref(kind: str, obj: Any) -> dict[str, Any]:
    return {"kind": kind, "id": obj.pk, "label": _label(kind, obj)}


def _group_labels(group: Group) -> set[str]:
    """A group's name and its role's label in every language of the site, folded."""
    labels = {person_key(group.name)}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels.add(person_key(role_label(group.name)))
    return labels


def _names_a_group(key: str, labels: set[str]) -> bool:
    """ "дежурный" and "дежурный нэс" name the group labelled «Дежурный»."""
    return any(key == label or key.startswith(label + " ") for label in labels)


class _Found:
    """Everything the document's names can match, read in one query per kind."""

    def __init__(self, names: Iterable[str], service_names: Iterable[str], overrides: Overrides) -> None:
        names = list(names)
        keys = {person_key(name) for name in names}
        surnames = {short[0] for name in names if (short := _short_name(name))}
        wanted: dict[str, set[int]] = {"user": set(), "party": set(), "group": set(), "service": set()}
        for choice in [*overrides.people.values(), *overrides.services.values()]:
            kind, _sep, number = (choice or "").partition(":")
            if kind in wanted and number.isascii() and number.isdigit() and len(number) <= 12:
                wanted[kind].add(int(number))
        users = get_user_model().objects.filter(is_active=True)
        self.users = list(
            users.annotate(okno_surname=Folded("last_name"))
            .filter(Q(okno_surname__in=surnames) | Q(pk__in=wanted["user"]))
            .order_by("pk")
        )
        self.parties = list(
            Party.objects.select_related("user")
            .annotate(okno_name=Folded("name"))
            .filter(Q(okno_name__in=keys) | Q(pk__in=wanted["party"]))
            .order_by("pk")
        )
        self.groups = [(group, _group_labels(group)) for group in Group.objects.order_by("name")]
        service_keys = {person_key(name) for name in service_names}
        self.services: list[Service] = list(
            Service.objects.annotate(okno_name=Folded("name"), okno_display=Folded("display_name"))
            .filter(Q(okno_name__in=service_keys) | Q(okno_display__in=service_keys) | Q(pk__in=wanted["service"]))
            .order_by("pk")
        )

    def users_named(self, name: str) -> list[Any]:
        """changeplans.people.users_matching on the users read here."""
        short = _short_name(name)
        if short is None:
            return []
        surname, wanted = short
        return [user for user in self.users if is_named(user, surname, wanted)]

    def party_named(self, name: str) -> Party | None:
        key = person_key(name)
        return next((party for party in self.parties if person_key(party.name) == key), None)

    def groups_named(self, name: str) -> list[Group]:
        key = person_key(name)
        return [group for group, labels in self.groups if _names_a_group(key, labels)]

    def services_named(self, name: str) -> list[Any]:
        key = person_key(name)
        by_address = [s for s in self.services if person_key(s.name) == key]
        return by_address or [s for s in self.services if person_key(s.display_name) == key]

    def exists(self, choice: str) -> dict[str, Any] | None:
        """The match a "kind:id" choice names, or None when it names nothing that exists."""
        kind, _sep, number = choice.partition(":")
        if not number.isascii() or not number.isdigit():
            return None
        pk = int(number)
        pools: dict[str, list[Any]] = {
            "user": self.users,
            "party": self.parties,
            "group": [group for group, _labels in self.groups],
            "service": self.services,
        }
        obj = next((item for item in pools.get(kind, []) if item.pk == pk), None)
        return _ref(kind, obj) if obj is not None else None


def _acknowledges_only(ref: PersonRef, parsed: ParsedPlan) -> bool:
    rows = [row for row in parsed.signoff if person_key(row.person_name) == ref.key]
    return bool(rows) and all(row.kind == RowKind.ACKNOWLEDGEMENT for row in rows)


def _annotate_person(ref: PersonRef, found: _Found, parsed: ParsedPlan, override: str | None) -> None:
    users = found.users_named(ref.name)
    party = found.party_named(ref.name)
    roles = set(ref.roles)
    groups = found.groups_named(ref.name) if "signoff" in roles and _acknowledges_only(ref, parsed) else []
    candidates = [_ref("user", user) for user in users]
    if party is not None:
        candidates.append(_ref("party", party))
    candidates += [_ref("group", group) for group in groups]
    ref.candidates = candidates

    choice, sure, match = "", False, None
    one_user = users[0] if len(users) == 1 else None
    if groups and not one_user:
        match, sure = _ref("group", groups[0]), len(groups) == 1
    elif roles & {"curator", "signoff"} and one_user is not None:
        match, sure = _ref("user", one_user), True
    elif party is not None:
        match, sure = _ref("party", party), True
    elif one_user is not None:
        match, sure = _ref("user", one_user), True
    if match is not None:
        choice = f"{match['kind']}:{match['id']}"
    elif roles & {"executor", "responsible"}:
        choice = "new"  # a new party named as written; the preview asks
    elif "signoff" in roles:
        choice = "text"  # the row keeps the name; the author picks the person in the matrix builder
    # A curator nobody matches stays empty (choice "").

    if override is not None:
        chosen = found.exists(override) if ":" in override else None
        if override in (*PERSON_CHOICES, "") or chosen is not None:
            choice, sure = override, True
            match = chosen if chosen is not None else (None if override in (*PERSON_CHOICES, "") else match)
    ref.match, ref.choice, ref.sure = match, choice, sure


def _annotate_service(ref: PersonRef, found: _Found, override: str | None) -> None:
    services = found.services_named(ref.name)
    ref.candidates = [_ref("service", service) for service in services]
    if len(services) == 1:
        ref.match, ref.choice, ref.sure = ref.candidates[0], f"service:{services[0].pk}", True
    else:
        ref.match, ref.choice, ref.sure = None, SERVICE_SKIP, False
    if override is not None:
        if override == SERVICE_SKIP:
            ref.match, ref.choice, ref.sure = None, SERVICE_SKIP, True
        elif override.startswith("service:") and (chosen := found.exists(override)) is not None:
            ref.match, ref.choice, ref.sure = chosen, override, True


def annotate(parsed: ParsedPlan, overrides: Overrides) -> None:
    """Fill match, candidates, choice and sure of every person and service `parsed` names (overrides win).

    Five queries, whatever the number of names.
    """
    found = _Found(
        (ref.name for ref in parsed.people.values()),
        (ref.name for ref in parsed.services.values()),
        overrides,
    )
    for key, ref in parsed.people.items():
        _annotate_person(ref, found, parsed, overrides.people.get(key))
    for key, ref in parsed.services.items():
        _annotate_service(ref, found, overrides.services.get(key))
