"""The step table's column choice on the plan page: `{% grid_columns as grid %}` (one query)."""

from django import template

from changeplans import columns

register = template.Library()


@register.simple_tag(takes_context=True)
def grid_columns(context):
    """The signed-in user's hidden columns: grid.table_classes for the table, grid.columns for the chooser."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return columns.grid_for(user) if user is not None else columns.Grid(frozenset())
