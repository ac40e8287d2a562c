"""The plan page's newest history entries, rendered in plain Python (as changeplans/rows.py renders the steps).

A plan with edits shows 50 entries, each with what it changed ("Время начала: 21:00 → 22:00"); through the
template loop they cost about as much as the rest of the page. `templates/changeplans/inc/history_rows.html`
stays the readable reference: tests/changeplans/test_history_rows.py renders both on varied entries and requires
the same bytes. Change both together.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _html_escape

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from .models import PlanEvent
from .roles import display_name
from .templatetags.okno import change_lines


def _escape(value: object) -> str:
    """As a template's `{{ value }}` with autoescaping: str() (None is "None"), then Django's escape."""
    return _html_escape(str(value))


def render_history_rows(events: Iterable[PlanEvent]) -> SafeString:
    """The `<tr>` of each entry, in the current language and time zone (the view sets the plan's)."""
    out = []
    for event in events:
        actor = display_name(event.actor) if event.actor else ""
        status = ""
        if event.from_status or event.to_status:
            status = f": {_escape(event.from_label or '—')} → {_escape(event.to_label)}"
        lines = change_lines(event)
        changes = (
            f' <span class="text-secondary okno-changes">({"; ".join(_escape(line) for line in lines)})</span>'
            if lines
            else ""
        )
        comment = f" — {_escape(event.comment)}" if event.comment else ""
        at = timezone.localtime(event.at).strftime("%d.%m.%Y %H:%M")
        out.append(
            f'\n        <tr><td class="text-nowrap">{at}</td><td>{_escape(actor or "—")}</td>'
            f"<td>{_escape(event.get_kind_display())}</td>\n          <td>{_escape(event.object_label)}"
            f"{status}{changes}{comment}</td></tr>\n      "
        )
    return mark_safe("".join(out))
