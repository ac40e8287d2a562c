"""Sign-off pieces of pages that other apps render: the plan page's matrix and the navigation badge."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def signoff_context(context, plan):
    """Everything the plan page's sign-off bar and matrix show to the current user."""
    from approvals.views import matrix_context

    return matrix_context(plan, context["user"])


@register.simple_tag(takes_context=True)
def waiting_count(context):
    """How many rows wait for the current user: one COUNT query (on every page, so kept to one)."""
    from approvals.views import waiting_rows

    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return waiting_rows(user).count()
