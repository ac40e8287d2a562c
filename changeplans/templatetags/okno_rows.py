"""The step table's rows on the plan page and in a save's answer, by changeplans.rows (not by templates)."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from changeplans import history_rows as history
from changeplans import rows

register = template.Library()


def _row_context(context: template.Context, shown) -> rows.RowContext:
    return rows.row_context(
        context.flatten(),
        context["plan"],
        context["report"],
        context["steps"],
        shown,
        can_edit=bool(context.get("can_edit")),
        highlight=context.get("highlight"),
    )


@register.simple_tag(takes_context=True)
def plan_step_rows(context: template.Context) -> SafeString:
    """The rows of `#steps-body` (or of the next part of a long plan): `shown_steps`, each with its risks panel
    row, then the placeholder that fetches the next part when there is one."""
    shown = context["shown_steps"]
    html = rows.render_rows(_row_context(context, shown), shown)
    more = rows.more_rows(context["plan"], context["steps"], shown)
    return mark_safe(html + more) if more else html  # (a 600 KB table is not copied for nothing)


@register.simple_tag(takes_context=True)
def saved_step_rows(context: template.Context) -> SafeString:
    """A save's answer: `rows` (the saved step `main_id` and, out of band, the others that changed)."""
    shown = context["rows"]
    return rows.render_saved_rows(_row_context(context, shown), shown, context["main_id"])


@register.simple_tag(takes_context=True)
def lint_items(context: template.Context) -> SafeString:
    """The plan check panel's findings, `report.warnings`, one `<li>` each (a long list from the cache)."""
    return rows.page_lint_items(context["report"].warnings)


@register.simple_tag(takes_context=True)
def history_rows(context: template.Context) -> SafeString:
    """The plan page's newest history entries, `events` (changeplans/history_rows.py; its reference is
    templates/changeplans/inc/history_rows.html)."""
    return history.render_history_rows(context["events"])
