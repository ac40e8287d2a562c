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


# --- upper bounds as real plans write them ("возможное время до 40 мин", "нет") -----------------------

# Texts that say "no downtime", compared in lower case with "ё" as "е" and outer punctuation dropped.
NO_DOWNTIME = frozenset(
    {
        "нет",
        "не будет",
        "не требуется",
        "не планируется",
        "без простоя",
        "отсутствует",
        "0",
        "-",
        "—",
        "–",
        "no",
        "none",
    }
)
# A run of duration parts ("1 ч 30 мин", "2-3 часа"); prose around it is allowed, a second run is not.
_RUN = re.compile(
    rf"{_NUMBER}(?:\s*[-–—]\s*{_NUMBER})?(?:\s*[a-zа-яё]+\.?)?(?:\s+{_NUMBER}(?:\s*[-–—]\s*{_NUMBER})?(?:\s*[a-zа-яё]+\.?)?)*",
    re.IGNORECASE,
)
# "Общая продолжительность работ: 4 ч" or "Время простоя: нет": a label without digits before a colon.
_LABEL = re.compile(r"^[^\d:]*:\s*")
_WORD_NUMBERS = (
    (re.compile(r"\bполтора\s+(час\w*)", re.IGNORECASE), r"1,5 \1"),
    (re.compile(r"\bполчаса\b", re.IGNORECASE), "30 мин"),
    # "до часа": an hour without a number before it is one hour.
    (re.compile(r"(?<![\d\s])(?<!\d\s)(^|\s)(час|часа)\b", re.IGNORECASE), r"\1 1 \2"),
)
_FROM_TO = re.compile(rf"\bот\s+({_NUMBER})\s+до\s+({_NUMBER})", re.IGNORECASE)


def _plain(text):
    return (text or "").lower().replace("ё", "е").strip(" \t\r\n.,;!")


def _upper_bound(text, unreadable):
    """Minutes of the largest duration a text names, 0 for "нет"; None for an empty text.

    `unreadable`: the message (with %(text)s) when no single duration can be read.
    """
    original = (text or "").strip()
    if not original:
        return None
    body = _LABEL.sub("", original, count=1)
    if _plain(body) in NO_DOWNTIME:
        return 0
    for pattern, replacement in _WORD_NUMBERS:
        body = pattern.sub(replacement, body)
    body = _FROM_TO.sub(r"\1-\2", body)
    runs = [match.group(0) for match in _RUN.finditer(body)]
    if len(runs) != 1:
        raise ValidationError(unreadable % {"text": original}, code="unreadable")
    if not any(float(number.replace(",", ".")) for number in re.findall(_NUMBER, runs[0])):
        return 0  # "0 мин"
    return parse_duration(runs[0]).max_minutes


def parse_downtime(text):
    """A downtime as plans write it: "возможное время до 40 мин" → 40, "1-2 ч" → 120, "нет" → 0, "" → None.

    Raises ValidationError for a text with no single readable duration ("на время перезагрузки").
    """
    return _upper_bound(text, _("Cannot read the downtime “%(text)s”: write e.g. “до 40 мин”, “1 ч” or “нет”."))


def downtime_or_none(text):
    """parse_downtime, with None for a text that cannot be read (a step's downtime cell is free text)."""
    try:
        return parse_downtime(text)
    except ValidationError:
        return None


def parse_total_duration(text):
    """A stated total duration: "Общая продолжительность работ: 4 ч 30 мин" → 270, "3-4 часа" → 240; "" → None."""
    minutes = _upper_bound(text, _("Cannot read the total duration “%(text)s”: write e.g. “4 ч 30 мин” or “3 часа”."))
    if minutes == 0:
        raise ValidationError(_("A duration must be longer than zero."), code="zero")
    return minutes
