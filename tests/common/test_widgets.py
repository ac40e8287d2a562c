"""common.widgets.FastSelect writes what Django's Select writes (as HTML: attribute order and whitespace aside)."""

import pytest
from django import forms
from django.test.html import parse_html

from common.widgets import FastSelect

CHOICES = [("", "Все"), (1, "Один & <два>"), ("2", 'Два "кавычки"'), (3, "Три"), ("x&<", "амп"), (4, "Три")]


def tags(html):
    return parse_html(html)


@pytest.mark.parametrize("value", [None, "", "2", 3, "x&<", "нет такого"])
def test_fast_select_is_djangos_select(value):
    attrs = {"id": "id_f", "class": "form-select"}
    expected = forms.Select(attrs=attrs, choices=CHOICES).render("f", value, {"required": False})
    assert tags(FastSelect(attrs=attrs, choices=CHOICES).render("f", value, {"required": False})) == tags(expected)


def test_option_groups_go_djangos_way():
    choices = [("Группа", [(1, "Один")]), (2, "Два")]
    assert FastSelect(choices=choices).render("f", 1) == forms.Select(choices=choices).render("f", 1)
