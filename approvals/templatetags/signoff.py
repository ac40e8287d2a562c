"""The navigation badge of the sign-off inbox (the layout, templates/base/, loads it)."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def waiting_count(context):
    """How many rows wait for the current user: one COUNT query (on every page, so kept to one)."""
    from approvals.views import waiting_rows

    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return waiting_rows(user).count()
