"""The plan page's calendar parts, fetched by its placeholders (changecalendar.extension_plan_checks).

Every signed-in user sees every plan (changeplans.permissions.can_view_plan), so every signed-in user may fetch
them; a plan with dates Python cannot load is 404, as on the calendar.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from changeplans.models import Plan
from changeplans.permissions import can_view_plan

from .extension_conflicts import ConflictsOnPlanPage
from .extension_freezes import FreezesOnPlanPage
from .selectors import visible_plans


def _plan(request: HttpRequest, pk: int) -> Plan:
    plan = get_object_or_404(visible_plans(), pk=pk)
    if not can_view_plan(request.user, plan):
        raise PermissionDenied
    return plan


def _part(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    plan = _plan(request, pk)
    context = {"request": request, "user": request.user, "csrf_token": get_token(request)}
    with timezone.override(plan.tz):
        if part == "checks":
            html = ConflictsOnPlanPage().checks(context, plan) + FreezesOnPlanPage().checks(context, plan)
        else:
            html = ConflictsOnPlanPage().side(context, plan)
        response = render(
            request, "changecalendar/inc/plan_checks.html", {"plan": plan, "part": part, "html": mark_safe(html)}
        )
    response["Cache-Control"] = "no-store"  # other plans change what it says
    return response


@login_required
@require_GET
def plan_checks(request: HttpRequest, pk: int) -> HttpResponse:
    """Inside the plan check panel: the conflicts, freezes and maintenance windows of the plan's window."""
    return _part(request, pk, "checks")


@login_required
@require_GET
def plan_side(request: HttpRequest, pk: int) -> HttpResponse:
    """Beside the sign-off matrix: the plans at the same time, for the approvers."""
    return _part(request, pk, "side")
