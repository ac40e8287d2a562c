"""iCalendar (RFC 5545) files of plan windows: feeds (METHOD:PUBLISH) and e-mail invitations (REQUEST/CANCEL).

One VEVENT per plan; its UID stays the plan's for life and SEQUENCE is Plan.ics_sequence, raised by
`changeplans.services.bump_ics_sequence` whenever the window, the title or the zone changes and on cancel,
so a calendar program replaces the event it holds (docs/calendar.md, "Subscribing (ICS)").
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress

from common.links import absolute_url

from .choices import PlanKind, PlanStatus
from .models import Plan

PRODID = "-//Okno//Change calendar//RU"
Method = Literal["REQUEST", "CANCEL"]
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

TENTATIVE_STATUSES = frozenset({PlanStatus.DRAFT, PlanStatus.IN_REVIEW, PlanStatus.REJECTED})


def _host() -> str:
    return urlsplit(settings.OKNO_BASE_URL).hostname or "okno.invalid"


def plan_uid(plan: Plan) -> str:
    """The plan's event UID: the same in every feed and invitation, so updates replace one event."""
    return f"plan-{plan.pk}@{_host()}"


def event_status(plan: Plan) -> str:
    if plan.status == PlanStatus.CANCELLED:
        return "CANCELLED"
    if plan.status in TENTATIVE_STATUSES:
        return "TENTATIVE"
    return "CONFIRMED"


def plan_url(plan: Plan) -> str:
    return absolute_url(reverse("changeplans:plan_detail", args=[plan.pk]))


def _kind_label(plan: Plan) -> str:
    if plan.kind == PlanKind.EMERGENCY:
        return _("Emergency change")
    if plan.kind == PlanKind.STANDARD:
        return _("Standard change")
    return ""


def _mailto(address: str) -> vCalAddress:
    return vCalAddress(f"mailto:{address}")


def plan_event(
    plan: Plan,
    *,
    organizer: str | None = None,
    attendees: Sequence[str] = (),
    stamp: datetime | None = None,
) -> Event:
    """The plan's window as a VEVENT in the plan's zone (TZID); the calendar adds the VTIMEZONE."""
    tz = plan.tz
    kind = _kind_label(plan)
    summary = f"[{kind}] {plan.title}" if kind else plan.title
    url = plan_url(plan)
    description = "\n".join(
        part
        for part in (
            f"{_('Work plan')} №{plan.pk}: {plan.title}",
            f"{_('Status')}: {plan.get_status_display()}",
            plan.goal.strip(),
            url,
        )
        if part
    )
    event = Event.new(
        uid=plan_uid(plan),
        sequence=plan.ics_sequence,
        summary=summary,
        description=description,
        url=url,
        start=plan.window_start.astimezone(tz),
        end=plan.window_end.astimezone(tz),
        status=event_status(plan),  # type: ignore[arg-type]  # STATUS is a str enum; a plain str works
        categories=[kind] if kind else (),
        stamp=stamp,
        last_modified=plan.updated_at,
    )
    if organizer:
        event.add("organizer", _mailto(organizer), parameters={"CN": "Okno"})
    for address in attendees:
        event.add(
            "attendee",
            _mailto(address),
            parameters={"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "FALSE"},
        )
    return event


# --- VTIMEZONE ----------------------------------------------------------------------------------------------
# icalendar's own VTIMEZONE (Calendar.add_missing_timezones) lists the changes as one multi-valued RDATE and
# starts a DAYLIGHT observance at the local time after the change: ical.js (Thunderbird) reads only the first
# RDATE value and Outlook prefers yearly RRULEs, so we write the zone's changes as RFC 5545 does in its
# examples: the onset in the local time before the change, one RRULE when every year changes alike.


@dataclass(frozen=True)
class _Change:
    at: datetime  # UTC
    before: timedelta
    after: timedelta
    name: str
    dst: bool

    @property
    def onset(self) -> datetime:
        """The local time, in the offset before the change, the change happens at (naive)."""
        return (self.at + self.before).replace(tzinfo=None)

    def rule(self) -> tuple[object, ...]:
        onset = self.onset
        last = (onset + timedelta(days=7)).month != onset.month
        ordinal = -1 if last else (onset.day - 1) // 7 + 1
        return (onset.month, onset.weekday(), ordinal, onset.time(), self.before, self.after, self.name, self.dst)


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    return at.astimezone(zone).utcoffset() or timedelta(0)


def _changes(zone: ZoneInfo, first: date, last: date) -> list[_Change]:
    """The zone's offset changes between the two days: a day-by-day scan, then a bisection to the second."""
    found = []
    day = datetime.combine(first, time(), tzinfo=UTC)
    end = datetime.combine(last, time(), tzinfo=UTC)
    while day < end:
        following = day + timedelta(days=1)
        if _offset(zone, day) != _offset(zone, following):
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if _offset(zone, middle) == _offset(zone, day) else (low, middle)
            local = high.astimezone(zone)
            found.append(
                _Change(high, _offset(zone, low), _offset(zone, high), local.tzname() or "", bool(local.dst()))
            )
        day = following
    return found


def _observance(change: _Change) -> TimezoneStandard | TimezoneDaylight:
    part = TimezoneDaylight() if change.dst else TimezoneStandard()
    part.add("dtstart", change.onset)
    part.add("tzoffsetfrom", change.before)
    part.add("tzoffsetto", change.after)
    if change.name:
        part.add("tzname", change.name)
    return part


def vtimezone(tzid: str, first: date, last: date) -> Timezone:
    """The zone's rules between the two days: yearly RRULEs when every year changes alike, else each change."""
    zone = ZoneInfo(tzid)
    component = Timezone()
    component.add("tzid", tzid)
    changes = _changes(zone, first, last)
    if not changes:
        at = datetime.combine(first, time(), tzinfo=UTC)
        offset = _offset(zone, at)
        # The same offset all along: one observance from 1970 (its onset is local midnight).
        steady = _Change(
            datetime(1970, 1, 1, tzinfo=UTC) - offset, offset, offset, at.astimezone(zone).tzname() or "", False
        )
        component.add_component(_observance(steady))
        return component
    by_kind: dict[bool, list[_Change]] = {}
    for change in changes:
        by_kind.setdefault(change.dst, []).append(change)
    yearly = all(
        len({c.rule() for c in group}) == 1 and len({c.at.year for c in group}) == len(group)
        for group in by_kind.values()
    )
    if yearly:
        for group in by_kind.values():
            onset, ordinal = group[0].onset, group[0].rule()[2]
            part = _observance(group[0])
            part.add(
                "rrule", {"FREQ": "YEARLY", "BYMONTH": onset.month, "BYDAY": f"{ordinal}{WEEKDAYS[onset.weekday()]}"}
            )
            component.add_component(part)
    else:
        for change in changes:
            component.add_component(_observance(change))
    return component


def _calendar(method: str, events: Iterable[Event], name: str | None = None) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    if name:
        cal.calendar_name = name
    events = list(events)
    spans: dict[str, tuple[date, date]] = {}
    for event in events:
        start, end = cast(datetime, event.start), cast(datetime, event.end)
        tzid = str(start.tzinfo)
        known = spans.get(tzid, (start.date(), end.date()))
        spans[tzid] = (min(known[0], start.date()), max(known[1], end.date()))
    # Only the years the events need (a year either side): a zone's whole history would swell every file.
    for tzid, (first, last) in sorted(spans.items()):
        cal.add_component(vtimezone(tzid, first - timedelta(days=366), last + timedelta(days=366)))
    for event in events:
        cal.add_component(event)
    return cal.to_ical()


def invitation(
    plan: Plan,
    method: Method = "REQUEST",
    *,
    organizer: str | None = None,
    attendees: Sequence[str] = (),
) -> bytes:
    """An e-mail invitation for the plan's window (REQUEST), or its withdrawal (CANCEL, STATUS:CANCELLED)."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(method)
    organizer = organizer or settings.DEFAULT_FROM_EMAIL
    event = plan_event(plan, organizer=organizer, attendees=attendees)
    if method == "CANCEL":
        event["STATUS"] = "CANCELLED"
    return _calendar(method, [event])


def feed(plans: Iterable[Plan], name: str) -> bytes:
    """A subscribed calendar (METHOD:PUBLISH) of the plans' windows; `plans` come loaded (no queries here)."""
    return _calendar("PUBLISH", [plan_event(plan) for plan in plans], name=name)
