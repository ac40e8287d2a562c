"""Russian names after «за» (a deputy signs for someone): «за Турчанинова П.В.», the genitive.

pymorphy3's dictionary declines the surnames it tags as such (Surn); many it does not know («Турчанинов» parses as
a plural noun), so the well-known Russian surname endings decline the rest. When neither is sure (-о, -ых, -ко,
-дзе, a surname the ending does not tell, a gender the initials cannot tell) the name stays in the nominative:
a correct nominative reads better than a wrong genitive.
"""

import functools
import logging
import re
from typing import Any, Literal

from django.utils import translation

Gender = Literal["m", "f"]

# "П.В.", "П. В.", "П.": initials after the surname.
_INITIALS = re.compile(r"^(?:[А-ЯЁA-Z]\.\s?){1,3}$")
_CYRILLIC_WORD = re.compile(r"^[А-ЯЁа-яё]+$")

# (nominative ending, genitive ending, the gender the ending means); longest first.
_ENDINGS: tuple[tuple[str, str, Gender], ...] = (
    ("ский", "ского", "m"),
    ("цкий", "цкого", "m"),
    ("ской", "ского", "m"),
    ("цкой", "цкого", "m"),
    ("ская", "ской", "f"),
    ("цкая", "цкой", "f"),
    ("ова", "овой", "f"),
    ("ева", "евой", "f"),
    ("ёва", "ёвой", "f"),
    ("ина", "иной", "f"),
    ("ына", "ыной", "f"),
    ("ая", "ой", "f"),
    ("ов", "ова", "m"),
    ("ев", "ева", "m"),
    ("ёв", "ёва", "m"),
    ("ин", "ина", "m"),
    ("ын", "ына", "m"),
)


@functools.cache
def _analyzer() -> Any:
    import pymorphy3  # imported on first use: loading the dictionary takes a moment

    # It announces loading its dictionary at INFO in every process that declines a name: not worth a console line.
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)
    return pymorphy3.MorphAnalyzer(lang="ru")


def _with_ending(word: str, declined: str) -> str:
    """`word` with the ending of `declined` (pymorphy3 lower-cases and may write «е» for «ё»): keeps the case."""
    lower = word.lower()
    same = 0
    while same < min(len(lower), len(declined)) and lower[same].replace("ё", "е") == declined[same].replace("ё", "е"):
        same += 1
    return word[:same] + declined[same:]


def _from_dictionary(surname: str, gender: Gender | None) -> str | None:
    """The genitive pymorphy3 gives where it tags `surname` as a surname in the nominative; None when it does
    not, or when its readings (a man's and a woman's) disagree and `gender` does not choose."""
    answers: dict[str, str] = {}
    for parse in _analyzer().parse(surname):
        tag = parse.tag
        if "Surn" not in tag or tag.case != "nomn" or tag.number != "sing":
            continue
        if gender and tag.gender in ("masc", "femn") and tag.gender != {"m": "masc", "f": "femn"}[gender]:
            continue
        declined = parse.inflect({"gent"})
        if declined is not None:
            answers[str(tag.gender)] = declined.word
    found = set(answers.values())
    return _with_ending(surname, found.pop()) if len(found) == 1 else None


def _from_ending(surname: str, gender: Gender | None) -> str | None:
    lower = surname.lower()
    for ending, genitive, meant in _ENDINGS:
        if lower.endswith(ending) and len(lower) > len(ending) + 1:
            if gender and gender != meant:
                return None
            return surname[: len(surname) - len(ending)] + _case_like(surname[-len(ending) :], genitive)
    return None


def _case_like(original: str, replacement: str) -> str:
    return replacement.upper() if original.isupper() else replacement


@functools.lru_cache(maxsize=2048)
def genitive_surname(surname: str, gender: Gender | None = None) -> str | None:
    """«Турчанинов» → «Турчанинова»; None when unsure. A double surname declines part by part."""
    parts = surname.split("-")
    declined = []
    for part in parts:
        if not _CYRILLIC_WORD.match(part):
            return None
        word = _from_dictionary(part, gender) or _from_ending(part, gender)
        if word is None:
            return None
        declined.append(word)
    return "-".join(declined)


def genitive_name(name: str, gender: Gender | None = None) -> str:
    """«Турчанинов П.В.» → «Турчанинова П.В.»: a «Фамилия И.О.» with its surname in the genitive. Anything else, and
    a surname neither the dictionary nor the endings are sure of, comes back as it is."""
    surname, _blank, rest = (name or "").strip().partition(" ")
    if not surname or not _INITIALS.match(rest.strip()):
        return name
    declined = genitive_surname(surname, gender)
    return f"{declined} {rest.strip()}" if declined else name


def name_after_for(name: str, gender: Gender | None = None) -> str:
    """A name as it follows «for» in the active language: «за Турчанинова П.В.» in Russian, unchanged otherwise."""
    language = translation.get_language() or ""
    return genitive_name(name, gender) if language.startswith("ru") else name
