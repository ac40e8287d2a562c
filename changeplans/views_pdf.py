"""The archive PDF's pages: the stored copy served as is, or «Готовится PDF…» while the worker makes it."""

import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotModified, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from . import pdf_archive
from .models import Plan, PlanPdf
from .pdf import plan_pdf_filename
from .permissions import can_view_plan

PROGRESS_TEMPLATE = "changeplans/pdf_progress.html"


def _plan_for(request: HttpRequest, pk: int) -> Plan:
    plan = get_object_or_404(Plan, pk=pk)
    if not can_view_plan(request.user, plan):
        raise PermissionDenied(_("You may not see this plan."))
    return plan


def _full_history(request: HttpRequest) -> bool:
    # ?history=full appends the whole log; the PDF otherwise sums the edits up per step and field.
    return request.GET.get("history") == "full"


def _pdf_url(plan: Plan, full_history: bool) -> str:
    url = reverse("changeplans:plan_pdf", args=[plan.pk])
    return f"{url}?{urlencode({'history': 'full'})}" if full_history else url


def _serve(request: HttpRequest, plan: Plan, pdf: PlanPdf) -> HttpResponseBase:
    etag = f'"{pdf.sha256}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}  # the address stays, the version changes
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return HttpResponseNotModified(headers=headers)
    response = FileResponse(
        io.BytesIO(pdf_archive.stored_bytes(pdf)),
        as_attachment=True,
        filename=plan_pdf_filename(plan),
        content_type="application/pdf",
        headers=headers,
    )
    return response


def _progress(request: HttpRequest, plan: Plan, pdf: PlanPdf, full_history: bool, *, page: bool) -> HttpResponse:
    context = {
        "plan": plan,
        "pdf": pdf,
        "percent": pdf_archive.progress(pdf),
        "pdf_url": _pdf_url(plan, full_history),
        "status_url": reverse("changeplans:plan_pdf_status", args=[plan.pk, pdf.pk])
        + (f"?{urlencode({'history': 'full'})}" if full_history else ""),
        "retry_url": reverse("changeplans:plan_pdf_retry", args=[plan.pk, pdf.pk])
        + (f"?{urlencode({'history': 'full'})}" if full_history else ""),
        "full_history": full_history,
    }
    template = PROGRESS_TEMPLATE if page else f"{PROGRESS_TEMPLATE}#progress"
    return render(request, template, context)


@login_required
@require_GET
def plan_pdf(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The stored PDF of the plan's current version, or the progress page while the worker makes it."""
    plan = _plan_for(request, pk)
    full_history = _full_history(request)
    pdf = pdf_archive.obtain(plan, viewer=request.user, language=request.LANGUAGE_CODE, full_history=full_history)
    if pdf.status == PlanPdf.Status.READY:
        return _serve(request, plan, pdf)
    return _progress(request, plan, pdf, full_history, page=True)


@login_required
@require_GET
def plan_pdf_status(request: HttpRequest, pk: int, pdf_pk: int) -> HttpResponse:
    """The progress part the page polls; once the copy is ready, ?start=1 sends the browser to the download."""
    plan = _plan_for(request, pk)
    full_history = _full_history(request)
    try:
        pdf = pdf_archive.status_of(pdf_pk, plan.pk)
    except PlanPdf.DoesNotExist:
        # Superseded by a newer copy meanwhile: the download address makes or finds the current one.
        pdf = None
    if pdf is None or request.GET.get("start"):
        url = _pdf_url(plan, full_history)
        return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)  # type: ignore[attr-defined]
    return _progress(request, plan, pdf, full_history, page=False)


@login_required
@require_POST
def plan_pdf_retry(request: HttpRequest, pk: int, pdf_pk: int) -> HttpResponse:
    """Try again: the failed copy when it is still the current version, else the current version's copy."""
    plan = _plan_for(request, pk)
    full_history = _full_history(request)
    get_object_or_404(PlanPdf.objects.only("pk"), pk=pdf_pk, plan=plan)
    pdf = pdf_archive.obtain(plan, viewer=request.user, language=request.LANGUAGE_CODE, full_history=full_history)
    if pdf.status == PlanPdf.Status.FAILED:
        pdf = pdf_archive.retry(pdf)
    if not request.htmx:  # type: ignore[attr-defined]
        return HttpResponseRedirect(_pdf_url(plan, full_history))
    if pdf.status == PlanPdf.Status.READY:  # made here, without a worker
        return HttpResponseClientRedirect(_pdf_url(plan, full_history))
    return _progress(request, plan, pdf, full_history, page=False)
