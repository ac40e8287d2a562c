"""Maintenance windows: when a service may be worked on, as wall-clock times in the window's own zone.

A window "Tue/Thu 20:00–02:00 Europe/Berlin" opens on Tuesdays and Thursdays at 20:00 Berlin time and closes at
02:00 the next day; across a DST change it keeps its wall-clock hours (so it is an hour shorter or longer). A
wall-clock time missing on a spring-forward day is read with the offset before the change (02:30 → 03:30 CEST), a
repeated one on a fall-back day as its first occurrence (PEP 495, fold=0).
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.utils.dates import WEEKDAYS_ABBR

from changeplans.models import Plan

if TYPE_CHECKING:
    from .models import MaintenanceWindow

UTC = dt.UTC
Occurrence = tuple["MaintenanceWindow", dt.datetime, dt.datetime]


def _zone(window: "MaintenanceWindow") -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(window.time_zone)


def _opening(window: "MaintenanceWindow", day: dt.date, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    opens = dt.datetime.combine(day, window.starts, tzinfo=tz)
    close_day = day if window.ends > window.starts else day + dt.timedelta(days=1)
    closes = dt.datetime.combine(close_day, window.ends, tzinfo=tz)
    # In UTC: aware datetimes sharing a tzinfo compare and subtract as wall-clock times, which is wrong across DST.
    return opens.astimezone(UTC), closes.astimezone(UTC)


def occurrences(windows: Iterable["MaintenanceWindow"], start: dt.datetime, end: dt.datetime) -> list[Occurrence]:
    """Every opening of the windows that overlaps [start, end): (window, opens, closes), aware UTC datetimes,
    sorted by opening time."""
    found: list[Occurrence] = []
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    for window in windows:
        weekdays = {int(day) for day in window.weekdays or ()}
        if not weekdays:
            continue
        tz = _zone(window)
        # An opening on the day before the range's first local day may still be open (it crosses midnight).
        day = start_utc.astimezone(tz).date() - dt.timedelta(days=1)
        last = end_utc.astimezone(tz).date()
        while day <= last:
            if day.isoweekday() in weekdays:
                opens, closes = _opening(window, day, tz)
                if opens < end_utc and closes > start_utc:
                    found.append((window, opens, closes))
            day += dt.timedelta(days=1)
    found.sort(key=lambda item: (item[1], item[2], item[0].pk or 0))
    return found


def _merged(spans: Sequence[Occurrence]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Openings that touch or overlap become one span (a daily 00:00–00:00 window is open all the time)."""
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for _window, opens, closes in spans:
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def plan_inside(start: dt.datetime, end: dt.datetime, windows: Iterable["MaintenanceWindow"]) -> bool:
    """Whether [start, end) lies wholly inside the openings of the windows (one service's windows)."""
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    return any(opens <= start_utc and end_utc <= closes for opens, closes in _merged(occurrences(windows, start, end)))


def plan_outside_windows(plan: Plan, windows: Iterable["MaintenanceWindow"]) -> bool:
    """True when the windows (of one service) exist and the plan's window is not wholly inside their openings."""
    windows = list(windows)
    if not windows or not plan.window_start or not plan.window_end:
        return False
    return not plan_inside(plan.window_start, plan.window_end, windows)


def describe(window: "MaintenanceWindow") -> str:
    """«Вт, Чт 20:00–02:00 (Europe/Berlin)»: the days in the active language, the hours, the zone."""
    days = ", ".join(str(WEEKDAYS_ABBR[int(day) - 1]) for day in sorted({int(d) for d in window.weekdays or ()}))
    return f"{days} {window.starts:%H:%M}–{window.ends:%H:%M} ({window.time_zone})"
