"""The plan as a Word document: GET /plans/<pk>/docx/ for whoever may see the plan."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from changeplans.models import Plan
from changeplans.permissions import can_view_plan

from .export_docx import CONTENT_TYPE, plan_docx_filename, render_plan_docx


@login_required
@require_GET
def plan_docx(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(Plan, pk=pk)
    if not can_view_plan(request.user, plan):
        raise Http404
    data = render_plan_docx(plan.pk, language=request.LANGUAGE_CODE)
    response = HttpResponse(data, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{plan_docx_filename(plan)}"'
    return response
