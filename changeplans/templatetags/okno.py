from django import template
from django.utils.html import format_html

from changeplans.roles import display_name

register = template.Library()

STATUS_CLASSES = {
    "draft": "text-bg-secondary",
    "in_review": "text-bg-warning",
    "rejected": "text-bg-danger",
    "approved": "text-bg-primary",
    "in_progress": "text-bg-info",
    "completed": "text-bg-success",
    "completed_with_rollback": "text-bg-warning",
    "failed": "text-bg-danger",
    "cancelled": "text-bg-dark",
    "pending": "okno-pending",
    "done": "text-bg-success",
    "skipped": "text-bg-secondary",
    "rolled_back": "text-bg-warning",
    "approved_row": "text-bg-success",
    "not_acknowledged": "okno-pending",
    "acknowledged": "text-bg-success",
}


@register.filter
def status_class(code):
    return STATUS_CLASSES.get(str(code), "text-bg-light")


@register.simple_tag
def status_badge(code, label, approval=False):
    css = STATUS_CLASSES["approved_row"] if approval and code == "approved" else status_class(code)
    if approval and code == "pending":
        css = "text-bg-warning"
    return format_html('<span class="badge okno-status {}" data-status="{}">{}</span>', css, code, label)


@register.filter
def fullname(user):
    return display_name(user) if user else ""


@register.filter
def warning_fields(report, step_id):
    return {w.field for w in report.warnings_for(step_id) if w.field}


@register.filter
def timing(report, step_id):
    return report.timings.get(step_id)


@register.filter
def minutes(value):
    from changeplans.durations import format_minutes

    return format_minutes(value)
