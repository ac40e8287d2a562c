"""Render an e-mail (subject, text, HTML) from templates in the recipient's language and a time zone."""

from django.template.loader import render_to_string
from django.utils import timezone, translation


def render_email(template_prefix, context, *, language, time_zone=None):
    """`<prefix>_subject.txt`, `<prefix>.txt` and `<prefix>.html` rendered inside translation.override(language)."""
    with translation.override(language), timezone.override(time_zone or timezone.get_current_timezone()):
        subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
        text = render_to_string(f"{template_prefix}.txt", context)
        html = render_to_string(f"{template_prefix}.html", context)
    return subject, text, html
