"""Form widgets several lists share."""

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe


class FastSelect(forms.Select):
    """A <select> written in Python: the markup of Django's Select (its attrs, the first matching option
    `selected`) without a template render and an option dict per option. A list's filter offering some hundred
    people cost 6 ms a page through the templates (the plan list, issue 16). Option groups go Django's way."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        choices = [choice for choice in self.choices]  # noqa: C416 - list() would ask a model iterator's len(): a COUNT
        if any(isinstance(label, (list, tuple)) for _value, label in choices):
            return super().render(name, value, attrs, renderer)
        wanted = set(self.format_value(value))
        parts: list[str] = [format_html('<select name="{}"{}>', name, flatatt(self.build_attrs(self.attrs, attrs)))]
        for option_value, label in choices:
            text = "" if option_value is None else str(option_value)
            selected = text in wanted
            if selected:
                wanted = set()  # one selected option, as Select marks it
            parts.append(f'<option value="{escape(text)}"{" selected" if selected else ""}>{escape(label)}</option>')
        parts.append("</select>")
        return mark_safe("".join(parts))  # every value and label above is escaped
