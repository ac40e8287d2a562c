"""The navigation badge of the sign-off inbox (the layout, templates/base/, loads it)."""

from django import template

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
