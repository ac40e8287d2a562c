"""What the change calendar shows (docs/calendar.md, "Calendar"): the period, its days, the plans on each day and the
freezes and maintenance windows behind them.

A fixed number of queries whatever the number of plans: the period's plans as tuples (one query), the conflicts of
the plans shown (changecalendar.conflicts), the freezes and the maintenance windows (one query each). A month cell
shows its first MONTH_CELL_LIMIT plans and a "+N" link to its day, and a week column at most WEEK_LANE_LIMIT plans
side by side, so a month of 2,000 plans renders some hundred entries, not 2,000 (bench/change_calendar.py).

Times are computed in UTC and shown in the viewer's zone: a day is [local midnight, next local midnight), 23 or
25 hours long on a DST change, and an entry's place in the day is its share of that day's real length.
"""

import datetime as dt
import zoneinfo
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape  # what django.utils.html.escape does, without its lazy-string check: texts here are str
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from changeplans.choices import PlanKind, PlanStatus
from changeplans.limits import MAX_DATE, MIN_DATE, db_datetime_range
from changeplans.models import Plan
from changeplans.templatetags.okno import fast_url, status_class
from common.fast_rows import value_rows

from .choices import FreezeScope
from .conflicts import Conflict, conflicts_for_plans
from .freezes import freezes_overlapping
from .maintenance import describe, occurrences
from .models import MaintenanceWindow
from .plan_keys import keys_for_plans

UTC = dt.UTC
VIEWS = ("month", "week", "day", "agenda")
MONTH_CELL_LIMIT = 4
WEEK_LANE_LIMIT = 4
# What the calendar reads of a plan (and what conflicts_for_plans needs of the plans it is given).
ROW_FIELDS = ("id", "title", "kind", "status", "time_zone", "window_start", "window_end")


@dataclass(frozen=True)
class Period:
    """The days a view shows: a month (whole weeks, Monday first), a week, a day, or a month's agenda."""

    view: str
    anchor: dt.date
    first: dt.date
    last: dt.date  # inclusive
    tz: zoneinfo.ZoneInfo
    prev_anchor: dt.date | None
    next_anchor: dt.date | None

    @property
    def start(self) -> dt.datetime:
        return local_midnight(self.first, self.tz)

    @property
    def end(self) -> dt.datetime:
        return local_midnight(self.last + dt.timedelta(days=1), self.tz)

    @property
    def dates(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def in_focus(self, day: dt.date) -> bool:
        """The month's own days (not the neighbouring months' days that fill its first and last week)."""
        if self.view == "month":
            return day.month == self.anchor.month
        return True


def local_midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(UTC)


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _in_range(day: dt.date) -> dt.date | None:
    return day if MIN_DATE <= day <= MAX_DATE else None


def period_for(view: str, anchor: dt.date, tz: zoneinfo.ZoneInfo) -> Period:
    anchor = min(max(anchor, MIN_DATE), MAX_DATE)
    if view in {"month", "agenda"}:
        month = _month_start(anchor)
        month_last = _next_month(month) - dt.timedelta(days=1)
        first, last = (
            (month, month_last)
            if view == "agenda"
            else (
                month - dt.timedelta(days=month.weekday()),
                month_last + dt.timedelta(days=6 - month_last.weekday()),
            )
        )
        previous = _in_range(month - dt.timedelta(days=1))
        return Period(
            view, anchor, first, last, tz, previous and _month_start(previous), _in_range(month_last + dt.timedelta(1))
        )
    if view == "week":
        first = anchor - dt.timedelta(days=anchor.weekday())
        step = dt.timedelta(days=7)
    else:
        first = anchor
        step = dt.timedelta(days=1)
    last = first + step - dt.timedelta(days=1)
    return Period(view, anchor, first, last, tz, _in_range(anchor - step), _in_range(anchor + step))


def period_title(period: Period) -> str:
    if period.view in {"month", "agenda"}:
        return date_format(period.anchor, "F Y").capitalize()
    if period.view == "week":
        if period.first.month == period.last.month:
            return f"{period.first.day}–{date_format(period.last, 'j E Y')}"
        return f"{date_format(period.first, 'j E')} – {date_format(period.last, 'j E Y')}"
    return date_format(period.anchor, "l, j E Y").capitalize()


# --- plans -------------------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One plan on the calendar, its texts in the viewer's zone."""

    pk: int
    title: str
    kind: str
    status: str
    status_label: str
    time_zone: str
    start: dt.datetime
    end: dt.datetime
    text: str  # «20:00–23:00», «20:00 07.12 – 02:00 08.12»
    zone_text: str  # the window in the plan's own zone when it is not the viewer's, else ""
    kind_label: str = ""
    conflicts: list[Conflict] = field(default_factory=list)
    conflict_text: str = ""

    @property
    def tooltip(self) -> str:
        parts = [self.title, self.text + (f" ({self.zone_text})" if self.zone_text else ""), self.status_label]
        if self.kind_label:
            parts.append(self.kind_label)
        if self.conflict_text:
            parts.append(self.conflict_text)
        return " · ".join(parts)


@dataclass
class Segment:
    """A plan's part on one day: a plan over midnight or over several days has one per day."""

    row: "PlanRow"
    label: str = ""  # «20:00», «→ 02:00», «20:00 →», «весь день»
    top: float = 0.0  # percent of the day (the week and day views)
    height: float = 0.0
    left: float = 0.0
    width: float = 100.0
    entry: Entry | None = None  # set once the days are laid out: only the plans shown get one
    timed: bool = False  # placed by its hours (week and day views)

    @property
    def style(self) -> str:
        return f"top:{self.top:.3f}%;height:{self.height:.3f}%;left:{self.left:.2f}%;width:{self.width:.2f}%"

    @property
    def chip(self) -> SafeString:
        """The entry as a link, written here rather than by template nodes: a month shows some hundred of them."""
        entry = self.entry
        if entry is None:
            return mark_safe("")
        # The week and day views place it in the day's column.
        classes = (
            f"okno-cal-plan okno-cal-block {status_class(entry.status)}"
            if self.timed
            else (f"okno-cal-plan {status_class(entry.status)}")
        )
        attrs = f' style="{self.style}"' if self.timed else ""
        marks = ""
        if entry.kind == PlanKind.EMERGENCY:
            marks = f'<span class="okno-cal-mark okno-cal-emergency" title="{escape(entry.kind_label)}">⚡</span>'
        elif entry.kind == PlanKind.STANDARD:
            marks = f'<span class="okno-cal-mark okno-cal-standard" title="{escape(entry.kind_label)}">✓</span>'
        if entry.conflicts:
            classes += " okno-cal-has-conflict"
            marks += f'<span class="okno-cal-conflict" title="{escape(entry.conflict_text)}">⚠</span>'
        # Every text above and below is escaped; the classes, style and numbers are ours.
        return mark_safe(
            f'<a class="{classes}"{attrs} href="{fast_url("changeplans:plan_detail", entry.pk)}" '
            f'data-plan="{entry.pk}" data-status="{escape(entry.status)}" data-kind="{escape(entry.kind)}" '
            f'title="{escape(entry.tooltip)}"><span class="okno-cal-time">{escape(self.label)}</span>{marks} '
            f'<span class="okno-cal-title">{escape(entry.title)}</span></a>'
        )


@dataclass
class Band:
    """A freeze or a maintenance window behind the plans of a day."""

    kind: str  # "freeze" | "maintenance"
    title: str
    text: str
    top: float = 0.0
    height: float = 100.0

    @property
    def style(self) -> str:
        return f"top:{self.top:.3f}%;height:{self.height:.3f}%"


@dataclass
class Day:
    date: dt.date
    is_today: bool
    in_focus: bool
    segments: list[Segment] = field(default_factory=list)
    hidden: int = 0
    bands: list[Band] = field(default_factory=list)
    now_top: float | None = None  # the today line (week and day views)
    label: str = ""  # «Понедельник, 7 декабря» (the agenda and the phone layout)
    short: str = ""  # «Пн, 7 декабря» (the week's column heads)

    @property
    def iso(self) -> str:
        return self.date.isoformat()

    @property
    def weekend(self) -> bool:
        return self.date.isoweekday() >= 6

    @property
    def has_freeze(self) -> bool:
        return any(band.kind == "freeze" for band in self.bands)


def visible_plans() -> QuerySet[Plan]:
    """The plans a signed-in user may see: all of them (changeplans.permissions.can_view_plan), with dates Python
    can load (changeplans.limits)."""
    return Plan.objects.filter(db_datetime_range("window_start") & db_datetime_range("window_end"))


PlanRow = tuple[int, str, str, str, str, dt.datetime, dt.datetime]


class _Shown(NamedTuple):
    """What conflicts_for_plans reads of a plan (conflicts.Windowed), without a model instance."""

    pk: int
    status: str
    window_start: dt.datetime
    window_end: dt.datetime


def plans_in_period(queryset: QuerySet[Plan], period: Period) -> list[PlanRow]:
    """The plans whose window overlaps the period, by start: tuples, not model instances (a month may hold
    thousands). A window ending at the period's start is not in it."""
    return value_rows(in_period(queryset, period).order_by("window_start", "id"), *ROW_FIELDS)


def in_period(queryset: QuerySet[Plan], period: Period) -> QuerySet[Plan]:
    return queryset.filter(window_start__lt=period.end, window_end__gt=period.start)


def only_cluster(rows: list[PlanRow], cluster_id: int, read_by: QuerySet[Plan] | None = None) -> list[PlanRow]:
    """The plans that touch the cluster (runbook parameter or automation target: changecalendar.plan_keys).
    `read_by`: the query the rows came from (what they touch is read by it, not by a list of their ids)."""
    keys = keys_for_plans([row[0] for row in rows], read_by=read_by)
    return [row for row in rows if cluster_id in keys[row[0]].clusters]


def _clock(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return moment.astimezone(tz)


def window_text(start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """«20:00–23:00» on one day, «20:00 07.12 – 02:00 08.12» across days, in the zone."""
    local_start, local_end = _clock(start, tz), _clock(end, tz)
    if local_start.date() == local_end.date():
        return f"{local_start:%H:%M}–{local_end:%H:%M}"
    return f"{local_start:%H:%M %d.%m} – {local_end:%H:%M %d.%m}"


CONFLICTS_NAMED = 3  # a tooltip names this many of a plan's conflicts and counts the rest


def _conflict_text(conflicts: Sequence[Conflict]) -> str:
    if not conflicts:
        return ""
    others = "; ".join(
        f"«{conflict.other_title}» ({', '.join(reason.label for reason in conflict.reasons)})"
        for conflict in conflicts[:CONFLICTS_NAMED]
    )
    rest = len(conflicts) - CONFLICTS_NAMED
    if rest > 0:
        others += " " + ngettext("and %(n)d more plan", "and %(n)d more plans", rest) % {"n": rest}
    return _("Overlaps: %(plans)s") % {"plans": others}


def _kind_labels() -> dict[str, str]:
    return {PlanKind.EMERGENCY: _("Emergency change"), PlanKind.STANDARD: _("Standard change")}


def make_entries(rows: Iterable[PlanRow], tz: zoneinfo.ZoneInfo) -> dict[int, Entry]:
    """The entries of the given plans, with their conflicts (a fixed number of queries)."""
    rows = list(rows)
    statuses = {code: str(label) for code, label in PlanStatus.choices}
    kinds = _kind_labels()
    tz_name = str(tz)
    conflicts = conflicts_for_plans([_Shown(row[0], row[3], row[5], row[6]) for row in rows]) if rows else {}
    entries = {}
    for pk, title, kind, status, time_zone, start, end in rows:
        found = conflicts.get(pk, [])
        zone_text = ""
        if time_zone != tz_name:
            try:
                zone_text = f"{window_text(start, end, zoneinfo.ZoneInfo(time_zone))} {time_zone}"
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                zone_text = time_zone
        entries[pk] = Entry(
            pk=pk,
            title=title,
            kind=kind,
            status=status,
            status_label=statuses.get(status, status),
            time_zone=time_zone,
            start=start,
            end=end,
            text=window_text(start, end, tz),
            zone_text=zone_text,
            kind_label=kinds.get(kind, ""),
            conflicts=found,
            conflict_text=_conflict_text(found),
        )
    return entries


@lru_cache(maxsize=2048)
def _day_text(date: dt.date, fmt: str, language: str | None) -> str:
    """A day's name in the active language: the same 42 days on every month's page, each format costs a
    dozen translation lookups."""
    return date_format(date, fmt)


def _segment_label(
    start: dt.datetime, end: dt.datetime, day_start: dt.datetime, day_end: dt.datetime, tz: zoneinfo.ZoneInfo
) -> str:
    starts_here = start >= day_start
    ends_here = end <= day_end
    if starts_here and ends_here:
        return f"{_clock(start, tz):%H:%M}–{_clock(end, tz):%H:%M}"
    if starts_here:
        return f"{_clock(start, tz):%H:%M} →"
    if ends_here:
        return f"→ {_clock(end, tz):%H:%M}"
    return _("all day")


def _share(moment: dt.datetime, day_start: dt.datetime, day_end: dt.datetime) -> float:
    """Where the moment falls in the day, in percent (clipped to the day)."""
    length = (day_end - day_start).total_seconds()
    return min(max((moment - day_start).total_seconds() / length * 100, 0.0), 100.0)


def _lay_out(segments: list["Segment"], limit: int | None) -> tuple[list["Segment"], int]:
    """Side by side: each segment in the first lane free at its top; the segments overlapping each other share the
    width. Segments beyond `limit` lanes are left out and counted."""
    lanes: list[float] = []  # each lane's bottom
    placed: list[tuple[Segment, int]] = []
    hidden = 0
    for segment in segments:  # by start
        bottom = segment.top + segment.height
        lane = next((n for n, end in enumerate(lanes) if end <= segment.top), len(lanes))
        if limit is not None and lane >= limit:
            hidden += 1
            continue
        if lane == len(lanes):
            lanes.append(bottom)
        else:
            lanes[lane] = bottom
        placed.append((segment, lane))
    # Groups of segments that overlap (transitively) share their width by the group's lane count.
    group: list[tuple[Segment, int]] = []
    group_bottom = -1.0

    def close(members: list[tuple[Segment, int]]) -> None:
        width = 100 / (max(lane for _segment, lane in members) + 1)
        for member, lane in members:
            member.left, member.width = lane * width, width

    for segment, lane in placed:
        if group and segment.top >= group_bottom:
            close(group)
            group, group_bottom = [], -1.0
        group.append((segment, lane))
        group_bottom = max(group_bottom, segment.top + max(segment.height, 1.5))
    if group:
        close(group)
    return [segment for segment, _lane in placed], hidden


class ShownFreeze(NamedTuple):
    """What the calendar shows of a freeze: a row, not a model instance."""

    title: str
    reason: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    scope: str
    service_id: int | None
    cluster_id: int | None
    service_name: str | None
    cluster_name: str | None


def _freeze_text(freeze: ShownFreeze, tz: zoneinfo.ZoneInfo, scopes: dict[str, str]) -> str:
    where = scopes.get(freeze.scope, freeze.scope)
    if freeze.scope == FreezeScope.SERVICE and freeze.service_name:
        where = freeze.service_name
    elif freeze.scope == FreezeScope.CLUSTER and freeze.cluster_name:
        where = freeze.cluster_name
    return _("Change freeze “%(title)s” (%(where)s): %(window)s. %(reason)s") % {
        "title": freeze.title,
        "where": where,
        "window": window_text(freeze.starts_at, freeze.ends_at, tz),
        "reason": freeze.reason,
    }


def freezes_shown(period: Period, service_id: int | None, cluster_id: int | None) -> list[ShownFreeze]:
    """The freezes over the period that concern what the calendar shows: all of them, or with a service or a
    cluster chosen, the global ones and that service's or cluster's. Rows: not their owners, nor a cluster's
    encrypted credentials, decrypted for each instance made."""
    freezes = [
        ShownFreeze(*row)
        for row in value_rows(
            freezes_overlapping(period.start, period.end).select_related(None).order_by("starts_at", "id"),
            *ShownFreeze._fields[:7],
            "service__display_name",
            "cluster__name",
        )
    ]
    if service_id is None and cluster_id is None:
        return freezes
    return [
        freeze
        for freeze in freezes
        if freeze.scope == FreezeScope.GLOBAL
        or (service_id is not None and freeze.service_id == service_id)
        or (cluster_id is not None and freeze.cluster_id == cluster_id)
    ]


def windows_shown(period: Period, service_id: int | None) -> list[tuple[MaintenanceWindow, dt.datetime, dt.datetime]]:
    """The openings of the chosen service's maintenance windows (none without a chosen service: every service's
    windows at once would cover the whole calendar)."""
    if service_id is None:
        return []
    windows = list(MaintenanceWindow.objects.filter(service_id=service_id).select_related("service"))
    return occurrences(windows, period.start, period.end) if windows else []


@dataclass
class Calendar:
    period: Period
    days: list[Day]
    entries: dict[int, Entry]
    total: int  # plans in the period


def build_calendar(
    rows: list[PlanRow],
    period: Period,
    *,
    now: dt.datetime,
    freezes: Sequence[ShownFreeze] = (),
    openings: Sequence[tuple[MaintenanceWindow, dt.datetime, dt.datetime]] = (),
) -> Calendar:
    """Lay the plans out on the period's days (no queries but the shown plans' conflicts)."""
    tz = period.tz
    dates = period.dates
    bounds = [local_midnight(date, tz) for date in dates] + [period.end]
    on_day: list[list[PlanRow]] = [[] for _date in dates]
    # Each plan on the days its window touches: `bounds` are the days' local midnights in UTC, the period's end
    # last; a window ending at midnight is not on the next day (bisect_left), an empty one is on its start day.
    # UTC datetimes compared, not converted to the local clock for each of a month's thousands of plans; written
    # out, not a function call per plan.
    last_day = len(dates) - 1
    for row in rows:
        start, end = row[5], row[6]
        first = bisect_right(bounds, start) - 1
        last = bisect_left(bounds, end) - 1 if end > start else first
        if first < 0:
            first = 0
        if last > last_day:
            last = last_day
        if first == last:
            on_day[first].append(row)
        else:
            for index in range(first, last + 1):
                on_day[index].append(row)

    limit = MONTH_CELL_LIMIT if period.view == "month" else None
    scopes = {code: str(label) for code, label in FreezeScope.choices}
    freeze_texts = [(freeze, _freeze_text(freeze, tz, scopes)) for freeze in freezes]
    window_texts = [
        (window, opens, closes, f"{_('Maintenance window')} {window.service.display_name}: {describe(window)}")
        for window, opens, closes in openings
    ]
    today = _clock(now, tz).date()
    timed = period.view in {"week", "day"}
    all_day = _("all day")
    days = []
    for index, date in enumerate(dates):
        day_start, day_end = bounds[index], bounds[index + 1]
        day = Day(date=date, is_today=date == today, in_focus=period.in_focus(date))
        day.label = _day_text(date, "l, j E", get_language()).capitalize()
        if period.view == "week":
            day.short = _day_text(date, "D, j E", get_language())
        plans = on_day[index]
        if limit is not None:
            day.hidden = max(len(plans) - limit, 0)
            plans = plans[:limit]
        segments = [Segment(row, timed=timed) for row in plans]
        if timed:
            for segment in segments:
                segment.top = _share(segment.row[5], day_start, day_end)
                segment.height = max(_share(segment.row[6], day_start, day_end) - segment.top, 0.0)
            segments, hidden = _lay_out(segments, WEEK_LANE_LIMIT if period.view == "week" else None)
            day.hidden = hidden
        for segment in segments:
            start, end = segment.row[5], segment.row[6]
            if start <= day_start and end >= day_end:
                segment.label = all_day
            else:
                segment.label = _segment_label(start, end, day_start, day_end, tz)
        day.segments = segments
        for freeze, text in freeze_texts:
            if freeze.starts_at < day_end and freeze.ends_at > day_start:
                top = _share(freeze.starts_at, day_start, day_end)
                day.bands.append(
                    Band("freeze", freeze.title, text, top, _share(freeze.ends_at, day_start, day_end) - top)
                )
        for _window, opens, closes, text in window_texts:
            if opens < day_end and closes > day_start:
                top = _share(opens, day_start, day_end)
                label = f"{_clock(max(opens, day_start), tz):%H:%M}–{_clock(min(closes, day_end), tz):%H:%M}"
                if closes >= day_end:
                    label = f"{_clock(opens, tz):%H:%M} →" if opens > day_start else all_day
                day.bands.append(Band("maintenance", label, text, top, _share(closes, day_start, day_end) - top))
        if day.is_today and timed:
            day.now_top = _share(now, day_start, day_end)
        days.append(day)

    # Entries (and their conflicts) for the plans shown only: a month cell's hidden plans cost nothing.
    shown = {segment.row[0]: segment.row for day in days for segment in day.segments}
    entries = make_entries(shown.values(), tz)
    for day in days:
        for segment in day.segments:
            segment.entry = entries[segment.row[0]]
    return Calendar(period=period, days=days, entries=entries, total=len(rows))


def day_entries(calendar: Calendar, date: dt.date) -> list[Entry]:
    """The entries of one day in order (the day view's list under its grid)."""
    for day in calendar.days:
        if day.date == date:
            return [segment.entry for segment in day.segments if segment.entry is not None]
    return []
