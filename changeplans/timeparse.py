"""Start times and dates as people type them in plans: "17:00", "17-00", "1700", "20.03.25".

Pure functions shared by the step table's cells and the import: they take the typed text and
return a value, or raise ValidationError with the reason in the user's language.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .limits import validate_date_in_range

# "21:00", "21-00", "21.00", "21 00", "9:05", "21ч00", "21h00"; seconds only after a colon (the old picker).
_TIME_SEPARATED = re.compile(r"(\d{1,2})\s*(?:[:.\-–—hч]|\s)\s*(\d{2})(?::(\d{2}))?")
# "9" or "21" (whole hours), "905" (HMM), "2100" (HHMM).
_TIME_DIGITS = re.compile(r"\d{1,4}")
# "20.03.2025", "20.03.25", "20/03/2025", "20-03-2025"; day first, as written in Russia.
_DATE_DAY_FIRST = re.compile(r"(\d{1,2})\s*[./\-]\s*(\d{1,2})\s*[./\-]\s*(\d{2}|\d{4})")
# "2025-03-20": ISO, as the old date picker sent it.
_DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")

TIME_EXAMPLES = "21:00, 21-00, 21.00, 2100"
DATE_EXAMPLES = "20.03.2025, 20.03.25"


def _clean(text: str | None) -> str:
    return (text or "").strip()


def parse_time(text: str | None) -> datetime.time | None:
    """A start time typed in a cell; None when the cell is left empty."""
    value = _clean(text)
    if not value:
        return None
    seconds = 0
    if match := _TIME_SEPARATED.fullmatch(value):
        hours, minutes = int(match[1]), int(match[2])
        seconds = int(match[3] or 0)
    elif _TIME_DIGITS.fullmatch(value):
        if len(value) <= 2:
            hours, minutes = int(value), 0
        else:
            hours, minutes = int(value[:-2]), int(value[-2:])
    else:
        raise ValidationError(
            _("Cannot read “%(value)s” as a time: write it as %(examples)s."),
            code="invalid_time",
            params={"value": value, "examples": TIME_EXAMPLES},
        )
    if not (0 <= hours <= 23 and 0 <= minutes <= 59 and 0 <= seconds <= 59):
        raise ValidationError(
            _("There is no time “%(value)s”: hours run from 0 to 23, minutes from 00 to 59."),
            code="time_out_of_range",
            params={"value": value},
        )
    return datetime.time(hours, minutes, seconds)


def _year(text: str) -> int:
    # Two digits mean this century: plans are for the years 2000–2100 (limits.py).
    return 2000 + int(text) if len(text) == 2 else int(text)


def parse_date(text: str | None) -> datetime.date | None:
    """A date typed in a cell (day first, or ISO); None when the cell is left empty."""
    value = _clean(text)
    if not value:
        return None
    if match := _DATE_DAY_FIRST.fullmatch(value):
        day, month, year = int(match[1]), int(match[2]), _year(match[3])
    elif match := _DATE_ISO.fullmatch(value):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    else:
        raise ValidationError(
            _("Cannot read “%(value)s” as a date: write it as %(examples)s."),
            code="invalid_date",
            params={"value": value, "examples": DATE_EXAMPLES},
        )
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        raise ValidationError(
            _("There is no date “%(value)s” in the calendar."), code="date_not_in_calendar", params={"value": value}
        ) from None
    validate_date_in_range(date)
    return date


def format_time(value: datetime.time | None) -> str:
    """A time as the cell shows it and the parser reads it back."""
    return value.strftime("%H:%M") if value else ""


def format_date(value: datetime.date | None) -> str:
    """A date as the cell shows it and the parser reads it back."""
    return value.strftime("%d.%m.%Y") if value else ""
