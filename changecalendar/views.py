"""The change calendar pages (docs/calendar.md, "Calendar")."""

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from changeplans.limits import MAX_DATE, MIN_DATE, is_known_time_zone

from .filtersets import CalendarFilterSet
from .month_grid import month_cells
from .selectors import (
    VIEWS,
    build_calendar,
    day_entries,
    freezes_shown,
    in_period,
    only_cluster,
    period_for,
    period_title,
    plans_in_period,
    visible_plans,
    windows_shown,
)

# The parameters of the page that are not filters: the navigation links set them.
PAGE_PARAMETERS = ("view", "date")


def _link(params: QueryDict, **changes: str) -> str:
    """The page's query string with `changes`, the filters kept (empty values dropped)."""
    kept = {key: value for key, value in params.items() if value and key not in PAGE_PARAMETERS and key != "page"}
    kept.update(changes)
    return "?" + urlencode(kept)


def _subscribe_url() -> str | None:
    try:
        return reverse("changecalendar:subscribe")
    except NoReverseMatch:
        return None


def _chosen_id(filterset: CalendarFilterSet, name: str) -> int | None:
    value = filterset.chosen(name)
    return int(value) if value else None


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    problems: list[str] = []
    params = request.GET
    filterset = CalendarFilterSet(params or None, queryset=visible_plans())
    zone_name = filterset.chosen("tz") or settings.TIME_ZONE
    tz = zoneinfo.ZoneInfo(zone_name if is_known_time_zone(zone_name) else settings.TIME_ZONE)

    view = params.get("view") or "month"
    if view not in VIEWS:
        problems.append(_("Unknown calendar view “%(view)s”: the month is shown.") % {"view": view[:40]})
        view = "month"
    today = timezone.localtime(timezone.now(), tz).date()
    anchor = today
    raw_date = params.get("date", "")
    if raw_date:
        try:
            anchor = dt.date.fromisoformat(raw_date)
        except ValueError:
            problems.append(_("“%(date)s” is not a date (YYYY-MM-DD): today is shown.") % {"date": raw_date[:40]})
        else:
            if not MIN_DATE <= anchor <= MAX_DATE:
                problems.append(
                    _("The calendar shows %(first)s to %(last)s: the nearest date is shown.")
                    % {"first": MIN_DATE.year, "last": MAX_DATE.year}
                )
    period = period_for(view, anchor, tz)

    queryset = filterset.qs if filterset.is_bound else filterset.queryset
    rows = plans_in_period(queryset, period)
    service_id = _chosen_id(filterset, "service")
    cluster_id = _chosen_id(filterset, "cluster")
    if cluster_id is not None and rows:
        rows = only_cluster(rows, cluster_id, read_by=in_period(queryset, period))
    calendar = build_calendar(
        rows,
        period,
        now=timezone.now(),
        freezes=freezes_shown(period, service_id, cluster_id),
        openings=windows_shown(period, service_id),
    )

    def iso(day: dt.date | None) -> str | None:
        return day.isoformat() if day else None

    anchor_iso = period.anchor.isoformat()
    labels = {"month": _("Month"), "week": _("Week"), "day": _("Day"), "agenda": _("Agenda")}
    links: dict[str, Any] = {
        "prev": period.prev_anchor and _link(params, view=view, date=iso(period.prev_anchor) or ""),
        "next": period.next_anchor and _link(params, view=view, date=iso(period.next_anchor) or ""),
        "today": _link(params, view=view, date=today.isoformat()),
        "views": [(name, labels[name], _link(params, view=name, date=anchor_iso)) for name in VIEWS],
        # A day's own page: the prefix, the template adds the date.
        "day_prefix": _link(params, view="day") + "&date=",
    }
    context = {
        "filterset": filterset,
        "calendar": calendar,
        "period": period,
        "title": period_title(period),
        "links": links,
        "weekdays": [WEEKDAYS_ABBR[n] for n in range(7)],
        "problems": problems,
        "zone": str(tz),
        "service_chosen": service_id is not None,
        "filtered": any(params.get(name) for name in filterset.filters),
        "subscribe_url": _subscribe_url(),
        "hours": [f"{hour:02d}:00" for hour in range(24)],
        "day_list": day_entries(calendar, period.anchor) if view == "day" else [],
        "month_cells": month_cells(calendar.days, links["day_prefix"]) if view == "month" else "",
        "anchor_iso": anchor_iso,
    }
    template = (
        "changecalendar/calendar.html#calendar-body"
        if request.htmx and not request.htmx.boosted  # type: ignore[attr-defined]
        else "changecalendar/calendar.html"
    )
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response
