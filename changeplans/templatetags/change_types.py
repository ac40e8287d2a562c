"""The change type badge (docs/change-types.md): `{% load change_types %}{% plan_kind_badge plan %}`."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from changeplans.choices import PlanKind

register = template.Library()

KIND_CLASSES = {
    PlanKind.STANDARD: "text-bg-primary okno-change-type-standard",
    PlanKind.EMERGENCY: "text-bg-danger okno-change-type-emergency",
}


@register.filter
def kind_label(kind: str) -> str:
    """The short badge text: «СТАНДАРТНОЕ», «ЭКСТРЕННОЕ»; empty for a normal change."""
    if kind == PlanKind.EMERGENCY:
        return _("EMERGENCY")
    if kind == PlanKind.STANDARD:
        return _("STANDARD")
    return ""


@register.simple_tag
def plan_kind_badge(plan_or_kind: object) -> SafeString:
    """A normal change shows nothing; standard: blue, emergency: red. Takes a plan, a row dict or a kind code."""
    if isinstance(plan_or_kind, dict):
        kind = str(plan_or_kind.get("kind") or "")
    elif isinstance(plan_or_kind, str):
        kind = plan_or_kind
    else:
        kind = str(getattr(plan_or_kind, "kind", "") or "")
    css = KIND_CLASSES.get(PlanKind(kind)) if kind in PlanKind.values else None
    if not css:
        return mark_safe("")
    return format_html(
        '<span class="badge okno-change-type {}" data-kind="{}" title="{}">{}</span>',
        css,
        kind,
        PlanKind(kind).label,
        kind_label(kind),
    )
