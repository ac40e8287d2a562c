from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _lazy

from changeplans import extensions
from changeplans.roles import display_name
from common.names import name_after_for

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
    # automation runs (runbooks)
    "queued": "okno-pending",
    "running": "text-bg-info",
    "succeeded": "text-bg-success",
    "timed_out": "text-bg-danger",
    "refused": "text-bg-danger",
    "lost": "text-bg-danger",
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
def fullname_after_for(user):
    """The name after «for»: «за Турчанинова П.В.» in Russian (common.names)."""
    return name_after_for(display_name(user)) if user else ""


@register.filter
def can_create_plans(user):
    """The navigation's «New plan» (changeplans.permissions.can_create_plan)."""
    from changeplans.permissions import can_create_plan

    return user is not None and can_create_plan(user)


@register.filter
def warning_fields(report, step_id):
    return {w.field for w in report.warnings_for(step_id) if w.field}


@register.filter
def timing(report, step_id):
    return report.timings.get(step_id)


@register.filter
def critical_path_numbers(report, steps):
    """The numbers of the steps on the critical path, in its order: one pass over the steps, not one per step."""
    numbers = {step.pk: step.position for step in steps}
    return [numbers[pk] for pk in report.critical_path if pk in numbers]


@register.filter
def minutes(value):
    from changeplans.durations import format_minutes

    return format_minutes(value)


_URL_PATTERNS = {}
_PLACEHOLDER_ID, _PLACEHOLDER_FIELD = "987654321", "FIELDNAME"


def fast_url(name, pk, field=None):
    """reverse() once per URL name, then substitute: ~20x cheaper than {% url %} in a 100-row table."""
    from django.urls import reverse

    key = (name, field is not None)
    if key not in _URL_PATTERNS:
        args = [int(_PLACEHOLDER_ID)] + ([_PLACEHOLDER_FIELD] if field is not None else [])
        _URL_PATTERNS[key] = reverse(name, args=args)
    url = _URL_PATTERNS[key].replace(_PLACEHOLDER_ID, str(pk))
    return url.replace(_PLACEHOLDER_FIELD, field) if field is not None else url


@register.simple_tag(name="row_url")
def row_url(name, pk):
    return fast_url(name, pk)


@register.simple_tag(takes_context=True)
def step_cell(context, step, field, value, derived=None):
    """One editable cell of the step table: click to edit when the user may edit the plan."""
    from django.utils.translation import gettext

    classes = f"okno-cell okno-f-{field}"
    if field in context.get("warn", ()):
        classes += " okno-warn"
    attrs = ""
    # Clicks inside the open editor are ignored by static/okno/okno.js (htmx:confirm): a trigger filter
    # expression would need eval, which the Content-Security-Policy forbids.
    if context.get("can_edit"):
        attrs = format_html(
            ' hx-get="{}" hx-trigger="click" hx-swap="innerHTML"', fast_url("changeplans:step_cell", step.pk, field)
        )
    if value:
        content = format_html("{}", value).replace("\r\n", "\n").replace("\n", "<br>")
    elif derived:
        content = format_html(
            '<span class="text-secondary" title="{}">≈{}</span>',
            gettext("No start time: follows the previous step"),
            derived.strftime("%H:%M"),
        )
    else:
        content = ""
    # data-field and tabindex: the keyboard grid (static/okno/grid.js) selects and walks cells.
    return format_html(
        '<td id="cell-{}-{}" class="{}" data-field="{}" tabindex="-1"{}>{}</td>',
        step.pk,
        field,
        classes,
        field,
        attrs,
        mark_safe(content),
    )


@register.simple_tag(takes_context=True)
def plan_extensions(context, part, plan):
    """What other apps add to this part of the plan page (changeplans/extensions.py)."""
    return extensions.render_plan_part(part, context.flatten(), plan)


@register.simple_tag(takes_context=True)
def step_extensions(context, part, plan, steps):
    """step id → what other apps add to this part of each step (changeplans/extensions.py)."""
    return extensions.render_step_parts(part, context.flatten(), plan, steps)


@register.filter
def of_step(parts, step_id):
    return (parts or {}).get(step_id, "")


# History: what an edit changed, named as the user reads it ("Время начала: 21:00 → 22:00").
_HISTORY_MODELS = {"plan": "Plan", "step": "Step", "risk": "Risk", "rollbackaction": "RollbackAction"}
_HISTORY_LABELS = {
    "services": _lazy("Affected services"),
    "order": _lazy("Order of steps"),
    "risks": _lazy("Risks"),
    "rollback_actions": _lazy("Rollback actions"),
    "automation": _lazy("Automation"),
    "steps.planned_date": _lazy("start date"),
    "steps": _lazy("Steps"),  # an import's counts (EventKind.IMPORTED)
    "signoff_rows": _lazy("Sign-off rows"),
}
_HISTORY_VALUE_CHARS = 60


def _history_field(object_type, key):
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    model_name = _HISTORY_MODELS.get(object_type)
    if model_name is None:
        return None
    try:
        field = apps.get_model("changeplans", model_name)._meta.get_field(key)
    except FieldDoesNotExist:
        return None
    return field if field.concrete else None  # "risks" of a step is a reverse relation: _HISTORY_LABELS names it


def _history_value(field, value):
    import datetime

    from django.template.defaultfilters import date as date_filter
    from django.template.defaultfilters import yesno
    from django.utils import timezone
    from django.utils.text import Truncator

    if value in (None, "", []):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    internal = field.get_internal_type() if field is not None else ""
    try:
        if internal == "TimeField":
            return str(value)[:5]
        if internal == "DateField":
            return datetime.date.fromisoformat(value).strftime("%d.%m.%Y")
        if internal == "DateTimeField":
            return date_filter(timezone.localtime(datetime.datetime.fromisoformat(value)), "d.m.Y H:i")
    except (TypeError, ValueError):
        pass  # written by an older version in another shape: shown as stored
    if internal == "BooleanField":
        return yesno(value)
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return Truncator(str(value)).chars(_HISTORY_VALUE_CHARS)


@register.filter
def change_lines(event):
    """An event's `changes` as "Field: old → new" lines, in the user's language; no queries.

    Keys that are not a field or a known part (an alert's figures, a version number) are left out:
    the event's kind and comment already say what happened.
    """
    from django.utils.text import capfirst

    lines = []
    for key, value in (event.changes or {}).items():
        field = _history_field(event.object_type, key)
        label = field.verbose_name if field is not None else _HISTORY_LABELS.get(key)
        if label is None:
            continue
        if isinstance(value, list) and len(value) == 2:
            old, new = (_history_value(field, item) for item in value)
            lines.append(f"{capfirst(label)}: {old} → {new}")
        else:
            lines.append(f"{capfirst(label)}: {_history_value(field, value)}")
    return lines
