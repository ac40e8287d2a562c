"""The month's cells as HTML, written here rather than by template nodes (docs/BENCHMARKS.md, "Calendar: the month").

A month is some 40 cells and 130 plans; as template nodes they cost more than the rest of the page. The markup is
the one templates/changecalendar/calendar.html had inline, byte for byte; every text is escaped, the classes and
numbers are ours. The plans are Segment.chip (selectors).
"""

from collections.abc import Sequence
from html import escape  # django.utils.html.escape without its lazy-string check: the texts here are str

from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .selectors import Day


def month_cells(days: Sequence[Day], day_prefix: str) -> SafeString:
    """The cells of the month grid; `day_prefix`: a day's own page without its date (the view's links)."""
    prefix = escape(day_prefix)
    today = escape(_("today"))
    parts = []
    for day in days:
        classes = "okno-cal-cell"
        if not day.in_focus:
            classes += " okno-cal-out"
        if day.is_today:
            classes += " okno-cal-today"
        if day.weekend:
            classes += " okno-cal-weekend"
        if day.has_freeze:
            classes += " okno-cal-frozen"
        if not day.segments and not day.bands:
            classes += " okno-cal-empty"
        iso, label = day.iso, escape(day.label)
        today_mark = f'<span class="okno-cal-today-label">{today}</span>' if day.is_today else ""
        bands = "".join(
            f'<div class="okno-cal-band okno-cal-band-{escape(band.kind)}" title="{escape(band.text)}">'
            f"{escape(band.title)}</div>"
            for band in day.bands
        )
        plans = (
            '<ul class="okno-cal-plans">' + "".join(f"<li>{segment.chip}</li>" for segment in day.segments) + "</ul>"
            if day.segments
            else ""
        )
        more = ""
        if day.hidden:
            text = ngettext("+%(n)s more", "+%(n)s more", day.hidden) % {"n": localize(day.hidden)}
            more = f'<a class="okno-cal-more" href="{prefix}{iso}">{text}</a>'
        parts.append(
            f'\n      <section class="{classes}" id="day-{iso}" data-date="{iso}">\n'
            f'        <h3 class="okno-cal-date"><a href="{prefix}{iso}" title="{label}">'
            f'<span class="okno-cal-num">{localize(day.date.day)}</span><span class="okno-cal-full">{label}</span></a>'
            f"{today_mark}</h3>\n"
            f"        {bands}\n"
            f"        {plans}\n"
            f"        {more}\n"
            "      </section>\n    "
        )
    return mark_safe("".join(parts))  # every text above is escaped
