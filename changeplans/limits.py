"""Bounds of what a user may type: dates and numbers every layer (Python, PostgreSQL, the PDF) can hold.

PostgreSQL stores 0001-01-01 00:00 Asia/Novosibirsk as a year-1-BC timestamp and 9999-12-31 20:00
America/Los_Angeles in year 10000; Python cannot load either, so one such row broke every page that
read it. Forms, models and services refuse dates outside MIN_DATE … MAX_DATE (in the plan's zone);
a database check constraint, a day wider on each side because it sees UTC, backs them up.
"""

import datetime
import math
import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MIN_DATE = datetime.date(2000, 1, 1)
MAX_DATE = datetime.date(2100, 12, 31)
# What the database accepts (UTC): every local time inside MIN_DATE … MAX_DATE in any zone (UTC−12 … UTC+14).
DB_MIN_DATETIME = datetime.datetime(1999, 12, 31, tzinfo=datetime.UTC)
DB_MAX_DATETIME = datetime.datetime(2101, 1, 2, tzinfo=datetime.UTC)
# A duration or downtime longer than a year is a typo; PositiveIntegerField holds up to 2**31 − 1 minutes.
MAX_DURATION_MINUTES = 366 * 24 * 60
# Risk numbers and similar small counters.
MAX_SMALL_NUMBER = 9999
# Anything parsed from a URL or a POST as a row id or a position.
MAX_ID = 2**63 - 1

# Spelled out (not formatted from MIN_DATE/MAX_DATE) so that it stays lazy in model constraints.
DATE_RANGE_MESSAGE = _("Enter a date between 01.01.2000 and 31.12.2100.")


def date_in_range(value):
    """Whether a date, or the wall-clock date of a datetime (in its own zone), lies in the allowed range."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    return MIN_DATE <= value <= MAX_DATE


def validate_date_in_range(value):
    """Field validator for dates and datetimes a user can enter (forms, admin, model.full_clean)."""
    if value is not None and not date_in_range(value):
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")


def datetime_in_zone_range(value, tz):
    """Whether an aware datetime's wall-clock date in `tz` lies in the range (never overflows)."""
    if not date_in_range(value):
        return False  # checked first: converting a year-1 or year-9999 value can overflow
    return date_in_range(value.astimezone(tz))


def db_datetime_range(field):
    """A Q for a check constraint or a queryset: `field` within what the database may hold."""
    return Q(**{f"{field}__gte": DB_MIN_DATETIME, f"{field}__lt": DB_MAX_DATETIME})


def db_date_range(field):
    return Q(**{f"{field}__gte": DB_MIN_DATETIME.date(), f"{field}__lte": DB_MAX_DATETIME.date()})


@lru_cache(maxsize=1)
def known_time_zones():
    return frozenset(zoneinfo.available_timezones())


def is_known_time_zone(name):
    """Only names of the IANA database: never a path, never a file outside it."""
    return isinstance(name, str) and name in known_time_zones()


def finite_number(value):
    return value is not None and math.isfinite(value)


def parse_int(raw, *, minimum=1, maximum=MAX_ID):
    """A whole number from a GET/POST value, or None when it is not one in range (callers answer 400)."""
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None
