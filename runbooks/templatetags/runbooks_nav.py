"""The runbook library's item in the navigation (the layout, templates/base/, loads it)."""

from django import template

from runbooks.library import can_use_runbooks

register = template.Library()


@register.filter(name="can_use_runbooks")
def nav_can_use_runbooks(user):
    return user is not None and can_use_runbooks(user)
