"""Parse the free-text durations of the seed ("5 мин.", "30мин", "2-3 часа", "1,5 часа")."""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .limits import MAX_DURATION_MINUTES, finite_number

_UNITS = (
    (("д", "дн", "дня", "дней", "день", "d", "day", "days"), 24 * 60),
    (("ч", "час", "часа", "часов", "h", "hr", "hrs", "hour", "hours"), 60),
    (("м", "мин", "минута", "минуты", "минут", "m", "min", "mins", "minute", "minutes"), 1),
)
_NUMBER = r"\d+(?:[.,]\d+)?"
_PART = re.compile(rf"({_NUMBER})(?:\s*[-–—]\s*({_NUMBER}))?\s*([a-zа-яё]*)\.?", re.IGNORECASE)


@dataclass(frozen=True)
class Duration:
    min_minutes: int
    max_minutes: int

    @property
    def is_range(self):
        return self.min_minutes != self.max_minutes


def _unit_minutes(word):
    word = word.lower().rstrip(".")
    if not word:
        return None
    for names, minutes in _UNITS:
        if word in names:
            return minutes
    raise ValidationError(
        _("Unknown unit of time “%(unit)s”: write minutes or hours, e.g. “30 мин” or “1,5 часа”.") % {"unit": word}
    )


def _number(text):
    return float(text.replace(",", "."))


def parse_duration(text):
    """Return a Duration for text such as "2-3 часа" or "1 ч 30 мин"; None for an empty text."""
    original = (text or "").strip()
    text = original.lower()
    if not text:
        return None
    matches = list(_PART.finditer(text))
    leftover = _PART.sub("", text).strip(" .,;")
    if not matches or leftover:
        raise ValidationError(
            _("Cannot read the duration “%(text)s”: write e.g. “5 мин”, “2-3 часа” or “1,5 часа”.") % {"text": original}
        )
    low = high = 0.0
    for match in matches:
        unit = _unit_minutes(match.group(3))
        if unit is None:
            unit = 1  # a bare number means minutes
        first = _number(match.group(1))
        second = _number(match.group(2)) if match.group(2) else first
        if second < first:
            raise ValidationError(
                _("The range “%(text)s” runs backwards: write the smaller value first.") % {"text": original}
            )
        low += first * unit
        high += second * unit
        # Bounded before rounding: "99999999999999 часов" does not fit the column, a 400-digit number is inf.
        if not finite_number(high) or high > MAX_DURATION_MINUTES:
            raise ValidationError(
                _("A duration cannot be longer than %(days)d days.") % {"days": MAX_DURATION_MINUTES // (24 * 60)}
            )
    low, high = round(low), round(high)
    if high <= 0:
        raise ValidationError(_("A duration must be longer than zero."))
    return Duration(low, high)


def format_minutes(minutes):
    if minutes is None:
        return ""
    hours, rest = divmod(int(minutes), 60)
    if hours and rest:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": rest}
    if hours:
        return _("%(h)d h") % {"h": hours}
    return _("%(m)d min") % {"m": rest}
