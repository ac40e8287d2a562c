"""Paste a block from a spreadsheet into the step table: one POST from static/okno/paste.js."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from common.htmx import forbidden, toast

from . import paste, versioning
from .limits import MAX_ID
from .models import Plan, Step
from .views import _bad_request, _render_plan_part, _reset_box, _reset_confirmed

MAX_FIELDS = 50  # more columns than the table will ever have


class PasteForm(forms.Form):
    """The selected cell's step, the columns from it to the right, and the block: rows (2-D JSON) or TSV text."""

    anchor = forms.IntegerField(min_value=1, max_value=MAX_ID)
    fields = forms.JSONField()
    rows = forms.JSONField(required=False)
    text = forms.CharField(required=False, strip=False)

    def clean_fields(self):
        value = self.cleaned_data["fields"]
        if not isinstance(value, list) or len(value) > MAX_FIELDS or not all(isinstance(f, str) for f in value):
            raise ValidationError(gettext_lazy("Invalid list of columns."))
        return [name[:50] for name in value]

    def clean(self):
        data = super().clean()
        rows = data.get("rows")
        if rows is None:
            if not data.get("text"):
                raise ValidationError(gettext_lazy("The clipboard holds nothing to paste."))
            data["block"] = paste.parse_tsv(data["text"])
        elif isinstance(rows, list) and all(
            isinstance(row, list) and all(cell is None or isinstance(cell, str) for cell in row) for row in rows
        ):
            data["block"] = rows
        else:
            raise ValidationError(gettext_lazy("Invalid block of cells."))
        return data


def _report_html(request, report):
    return render_to_string("changeplans/inc/paste_report.html", {"report": report, "oob": True}, request=request)


@login_required
@require_POST
def steps_paste(request, pk):
    """Fill the cells under the selected one from the pasted block; answer with the table and the report."""
    plan = get_object_or_404(Plan, pk=pk)
    form = PasteForm(request.POST)
    if not form.is_valid():
        return _bad_request(request, " ".join(e for errors in form.errors.values() for e in errors))
    if not Step.objects.filter(pk=form.cleaned_data["anchor"], plan=plan).exists():
        return _bad_request(request, _("The selected step is no longer in this plan: reload the page."))
    try:
        with versioning.confirm_resets(_reset_confirmed(request)):
            report = paste.paste_block(
                form.cleaned_data["anchor"],
                actor=request.user,
                fields=form.cleaned_data["fields"],
                rows=form.cleaned_data["block"],
            )
    except PermissionDenied as exc:
        return forbidden(request, exc)
    except Step.DoesNotExist:
        return _bad_request(request, _("The selected step is no longer in this plan: reload the page."))
    except versioning.ResetNotConfirmed as exc:
        # Nothing saved; the question appears above the table, its button repeats the paste confirmed.
        box = _reset_box(request, exc, target="#steps-body", include=False)
        html = render_to_string("changeplans/inc/paste_report.html", {"reset": box}, request=request)
        return retarget(reswap(HttpResponse(html, status=409), "outerHTML"), "#paste-report")
    except ValidationError as exc:
        return _bad_request(request, " ".join(exc.messages))
    response = _render_plan_part(request, pk, "steps")
    response.content += b"<template>" + _report_html(request, report).encode() + b"</template>"
    return toast(response, report.summary(), "warning" if report.unreadable else "success")
