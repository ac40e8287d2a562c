"""The CAB agenda page and its PDF (docs/calendar.md, "CAB agenda")."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from changeplans.pdf import _css_string, _page_counter_content, html_to_pdf

from .cab import MAX_DAYS, MAX_PDF_PLANS, MAX_PLANS, RISKS_SHOWN, AgendaForm, Period, build_agenda, default_period

PAGE_TEMPLATE = "changecalendar/cab.html"
PDF_TEMPLATE = "changecalendar/pdf/cab.html"


def _query(period: Period, include_approved: bool) -> str:
    params = {"start": period.start.isoformat(), "end": period.end.isoformat()}
    if include_approved:
        params["approved"] = "on"
    return urlencode(params)


def _agenda_context(request: HttpRequest, *, limit: int) -> tuple[AgendaForm, dict[str, Any]]:
    """The form (bound to what the user typed, with its errors) and the agenda: of the typed period when it
    is valid, else of the default one, so a typo never empties the page."""
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    form = AgendaForm(request.GET or None, today=today)
    include_approved = False
    period = default_period(today, tz)
    if form.is_bound and form.is_valid():
        period = Period(form.cleaned_data["start"], form.cleaned_data["end"], tz)
        include_approved = form.cleaned_data["approved"]
    agenda = build_agenda(period, include_approved=include_approved, user=request.user, limit=limit)
    monday = today - dt.timedelta(days=today.weekday())
    this_week = Period(monday, monday + dt.timedelta(days=6), tz)
    context = {
        "form": form,
        "agenda": agenda,
        "period": period,
        "query": _query(period, include_approved),
        "previous_query": _query(period.shifted(-period.days), include_approved),
        "next_query": _query(period.shifted(period.days), include_approved),
        "this_week_query": _query(this_week, include_approved),
        "next_week_query": _query(this_week.shifted(7), include_approved),
        "max_plans": MAX_PLANS,
        "max_pdf_plans": MAX_PDF_PLANS,
        "max_days": MAX_DAYS,
        "risks_shown": RISKS_SHOWN,
        "page_zone": str(tz),
    }
    return form, context


@require_safe
@login_required
def cab_agenda(request: HttpRequest) -> HttpResponse:
    form, context = _agenda_context(request, limit=MAX_PLANS)
    return render(request, PAGE_TEMPLATE, context, status=400 if form.is_bound and form.errors else 200)


@require_safe
@login_required
def cab_agenda_pdf(request: HttpRequest) -> HttpResponse:
    """The agenda as an A4-landscape PDF, made in the request: MAX_PDF_PLANS bounds its size."""
    form, context = _agenda_context(request, limit=MAX_PDF_PLANS)
    if form.is_bound and form.errors:
        # The page shows the errors with what was typed; no PDF of a period nobody asked for.
        return render(request, PAGE_TEMPLATE, context, status=400)
    period = context["period"]
    context |= {
        "generated_at": timezone.now(),
        "css_page_counter": _page_counter_content(),
        "css_generated_label": _css_string(_("Generated:")),
    }
    pdf = html_to_pdf(render_to_string(PDF_TEMPLATE, context))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="cab-{period.start:%Y-%m-%d}-{period.end:%Y-%m-%d}.pdf"'
    return response
