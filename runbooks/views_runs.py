"""Running automation from the board, watching and cancelling runs, rehearsing a plan (thin views:
runbooks.runs and runbooks.rehearsal decide who may do what)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from changeplans.models import Plan, Step
from changeplans.permissions import can_view_plan
from execution.views import _run
from runbooks import four_eyes, rehearsal, runs, stream

from .models import AutomationRun
from .permissions import can_view_run


def _viewable_run(request, pk):
    run = get_object_or_404(
        AutomationRun.objects.select_related(
            "plan", "step", "started_by", "cancelled_by", "approval__approved_by", "approval__version"
        ),
        pk=pk,
    )
    if not can_view_run(request.user, run):
        raise PermissionDenied(
            _(
                "Automation runs of this plan are shown to its author, curator and signers,"
                " to duty officers, operators and administrators."
            )
        )
    return run


@login_required
@require_POST
def run_step(request, pk):
    step = get_object_or_404(Step.objects.select_related("plan"), pk=pk)
    if not can_view_plan(request.user, step.plan):
        raise PermissionDenied(_("You may not view this plan."))
    return _run(
        request,
        step.plan_id,
        lambda: runs.request_run(pk, actor=request.user),
        lambda run: _("Step %(n)d: automation started.") % {"n": step.position},
    )


@login_required
@require_POST
def cancel(request, pk):
    run = _viewable_run(request, pk)
    if run.mode == "rehearsal" and not request.htmx:
        try:
            runs.cancel_run(pk, actor=request.user)
            messages.success(request, _("The rehearsal run is being cancelled."))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        return redirect(run_url(run))
    return _run(
        request,
        run.plan_id,
        lambda: runs.cancel_run(pk, actor=request.user),
        lambda r: _("Step %(n)d: the automation is being cancelled.") % {"n": run.step.position},
    )


def run_url(run):
    from django.urls import reverse

    return reverse("automation:run_detail", args=[run.pk])


@login_required
def run_detail(request, pk):
    run = _viewable_run(request, pk)
    lines = list(run.lines.order_by("seq").values_list("seq", "text")) if not run.ended or not run.log else None
    with timezone.override(run.plan.tz):
        return render(
            request,
            "runbooks/run_detail.html",
            {
                "run": run,
                "plan": run.plan,
                "step": run.step,
                "lines": lines,
                "last_seq": lines[-1][0] if lines else 0,
                "can_cancel": runs.cancel_refusal(request.user, run) is None,
            },
        )


@login_required
def run_log(request, pk):
    run = _viewable_run(request, pk)
    text = run.log if run.ended and run.log else "\n".join(run.lines.order_by("seq").values_list("text", flat=True))
    header = (
        f"# {run.step}\n# {run.get_mode_display()} · {run.get_status_display()} · {run.summary}\n$ {run.command}\n\n"
    )
    response = HttpResponse(header + text + "\n", content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="okno-run-{run.pk}.log"'
    return response


@login_required
def run_stream(request, pk):
    run = _viewable_run(request, pk)
    return stream.stream_response(request, run.pk)


@login_required
@require_POST
def rehearse(request, pk):
    plan = get_object_or_404(Plan, pk=pk)
    if not can_view_plan(request.user, plan):
        raise PermissionDenied(_("You may not view this plan."))
    try:
        rehearsal.request_rehearsal(pk, actor=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("The rehearsal has started: approved automated steps run as a dry run, the others are skipped.")
        )
    return redirect(f"{plan_url(plan)}#rehearsal")


def plan_url(plan):
    from django.urls import reverse

    return reverse("changeplans:plan_detail", args=[plan.pk])


@login_required
@require_POST
def approve_automation(request, pk):
    """«Approve automation»: an operator who did not write it lets the rehearsal run its current content."""
    plan = get_object_or_404(Plan, pk=pk)
    if not can_view_plan(request.user, plan):
        raise PermissionDenied(_("You may not view this plan."))
    try:
        made = four_eyes.approve_automation(pk, actor=request.user, seen=request.POST.getlist("seen"))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext(
                "Automation of %(n)d step approved for rehearsals.",
                "Automation of %(n)d steps approved for rehearsals.",
                len(made),
            )
            % {"n": len(made)},
        )
    return redirect(f"{plan_url(plan)}#rehearsal")
