"""/calendar/freezes/: current and coming freezes and the maintenance windows, for everyone; administrators add,
edit and delete freezes here. And the plan page's "ask for an exception" form (docs/calendar.md)."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from changeplans.models import Plan
from changeplans.permissions import can_view_plan
from changeplans.roles import is_administrator

from . import exceptions, maintenance
from .forms_freezes import FreezeForm
from .models import Freeze, MaintenanceWindow


def _require_admin(request: HttpRequest) -> None:
    if not is_administrator(request.user):
        raise PermissionDenied(_("Only an administrator manages freezes."))


@login_required
def freeze_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    freezes = list(Freeze.objects.filter(ends_at__gt=now).select_related("service", "cluster", "owner"))
    windows = list(MaintenanceWindow.objects.select_related("service").order_by("service__name", "id"))
    return render(
        request,
        "changecalendar/freezes.html",
        {
            "freezes": freezes,
            "now": now,
            "windows": [(window, maintenance.describe(window)) for window in windows],
            "is_admin": is_administrator(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def freeze_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    freeze = get_object_or_404(Freeze, pk=pk) if pk else None
    form = FreezeForm(request.POST if request.method == "POST" else None, instance=freeze)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        if saved.created_by_id is None:
            saved.created_by = cast(User, request.user)
        saved.save()
        messages.success(request, _("The freeze “%(title)s” is saved.") % {"title": saved.title})
        return redirect("changecalendar:freezes")
    return render(request, "changecalendar/freeze_form.html", {"form": form, "freeze": freeze})


@login_required
@require_POST
def freeze_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    freeze = get_object_or_404(Freeze, pk=pk)
    freeze.delete()
    messages.success(request, _("The freeze “%(title)s” is deleted.") % {"title": freeze.title})
    return redirect("changecalendar:freezes")


@login_required
@require_http_methods(["GET", "POST"])
def freeze_exception(request: HttpRequest, plan_pk: int, freeze_pk: int) -> HttpResponse:
    """Ask for an exception (POST from the plan check panel); a refusal shows the form again with the text kept."""
    plan = get_object_or_404(Plan, pk=plan_pk)
    if not can_view_plan(request.user, plan):
        raise PermissionDenied
    freeze = get_object_or_404(Freeze.objects.select_related("owner"), pk=freeze_pk)
    user = cast(User, request.user)
    refusal = exceptions.ask_refusal(user, plan)
    if refusal:
        raise PermissionDenied(refusal)
    reason, error = request.POST.get("reason", ""), ""
    if request.method == "POST":
        try:
            exceptions.request_exception(plan.pk, freeze.pk, actor=user, reason=reason)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _("The exception to the freeze “%(title)s” is asked: its owner signs it in the sign-off matrix.")
                % {"title": freeze.title},
            )
            return redirect(reverse("changeplans:plan_detail", args=[plan.pk]) + "#freeze-checks")
    return render(
        request,
        "changecalendar/freeze_exception.html",
        {"plan": plan, "freeze": freeze, "reason": reason, "error": error},
        status=400 if error else 200,
    )
