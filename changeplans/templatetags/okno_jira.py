"""The plan page's Jira parts (docs/jira.md): placeholders that load the cached summaries and statuses after the page.

They read settings only (no query, no cache): the page's query count and its rows cache stay as they were.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from changeplans import jira

register = template.Library()

CATEGORY_CLASSES = {"new": "text-bg-secondary", "indeterminate": "text-bg-primary", "done": "text-bg-success"}


@register.simple_tag
def jira_plan_issue(plan):
    """After the plan's Jira link: its issue's summary and status, loaded lazily; nothing without Jira."""
    if not jira.enabled() or jira.plan_key(plan.jira_url) is None:
        return ""
    url = reverse("changeplans:plan_jira", args=[plan.pk])
    return format_html(
        '<span id="jira-plan-issue" hx-get="{}?part=plan" hx-trigger="load" hx-swap="outerHTML"></span>', url
    )


@register.simple_tag
def jira_step_issues(plan):
    """Under the header: the steps' issues with their summary and status, loaded lazily; nothing without Jira."""
    if not jira.enabled():
        return ""
    url = reverse("changeplans:plan_jira", args=[plan.pk])
    return format_html('<div id="jira-issues" hx-get="{}" hx-trigger="load" hx-swap="outerHTML"></div>', url)


@register.simple_tag
def jira_status(issue):
    css = CATEGORY_CLASSES.get(issue.category, "text-bg-light border")
    return format_html('<span class="badge {} okno-jira-status">{}</span>', css, issue.status)
