"""The navigation badge of the sign-off inbox (the layout, templates/base/, loads it)."""

from django import template

from approvals import inbox_rows as rows
from approvals import matrix_rows
from approvals.selectors import inbox_access, waiting_count

register = template.Library()


@register.simple_tag(takes_context=True, name="waiting_count")
def nav_waiting_count(context):
    """How many rows wait for the current user: one COUNT query (on every page, so kept to one)."""
    user = context.get("user")
    return 0 if user is None else waiting_count(user)


@register.simple_tag(takes_context=True, name="inbox_nav")
def nav_inbox(context):
    """{"show": may the user use the inbox, "count": rows waiting}: one query for the navigation item and its badge."""
    user = context.get("user")
    show, count = inbox_access(user) if user is not None else (False, 0)
    return {"show": show, "count": count}


@register.simple_tag(takes_context=True, name="inbox_rows")
def nav_inbox_rows(context, entries):
    """The inbox's rows (approvals/inbox_rows.py; templates/approvals/inc/inbox_row.html is their reference)."""
    token = context.get("csrf_token")
    return rows.render_rows(entries, csrf_token=str(token) if token else None, error=context.get("error"))


@register.simple_tag(takes_context=True, name="matrix_builder_rows")
def builder_rows(context):
    """The matrix builder's rows (approvals/matrix_rows.py; approvals/inc/matrix_builder_rows.html is their
    reference)."""
    return matrix_rows.render_rows(context)
