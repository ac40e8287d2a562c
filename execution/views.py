"""The live execution board: one screen for the duty officer and the engineers during the window.

Views are thin: execution.transitions decides who may do what and in which state. Every POST answers an
htmx request with the refreshed steps part (and the header out of band); a refusal answers 403 (not
allowed), 422 (bad input: nothing is swapped, so what was typed stays) or 409 (someone else was first:
the refreshed steps with the refusal and the typed comment shown on the step).
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import reswap

from changeplans.choices import PlanStatus, StepStatus
from changeplans.lint import lint_plan
from changeplans.models import Plan, PlanEvent, RollbackAction, Step
from changeplans.permissions import can_view_plan
from changeplans.selectors import plan_queryset
from common.htmx import toast
from execution import overrun, timeline, transitions

BOARD_TEMPLATE = "execution/board.html"
PARTS = ("header", "steps", "timeline")


@dataclass
class BoardStep:
    step: Step
    timing: object
    can_tick: bool
    rollback_actions: list
    can_tick_rollback: bool
    kept: dict | None = None
    mine: bool = False  # the user is the step's responsible (its executor is linked to them)


@dataclass
class Lane:
    """Steps that start at the same planned moment run side by side."""

    rows: list = field(default_factory=list)

    @property
    def parallel(self):
        return len(self.rows) > 1


def _load_plan(plan_id):
    steps = Step.objects.select_related("executor", "started_by", "done_by").prefetch_related(
        "risks",
        Prefetch(
            "rollback_actions", queryset=RollbackAction.objects.select_related("done_by").prefetch_related("risks")
        ),
    )
    return plan_queryset().prefetch_related(Prefetch("steps", queryset=steps)).get(pk=plan_id)


def board_context(request, plan_id, kept=None):
    """Everything the board shows, in a number of queries that does not grow with the steps."""
    # Read before the plan: every event up to it is reflected in what is rendered (board.js relies on it).
    last_event_id = PlanEvent.objects.filter(plan_id=plan_id).order_by("-pk").values_list("pk", flat=True).first() or 0
    plan = _load_plan(plan_id)
    user = request.user
    steps = list(plan.steps.all())
    report = lint_plan(plan, steps=steps)
    # Rollback mode is a mode of the work in progress: an ended plan shows its outcome, not the mode.
    in_rollback = bool(plan.rollback_started_at) and plan.status == PlanStatus.IN_PROGRESS
    lanes, previous_key = [], object()
    for step in steps:
        timing = report.timings.get(step.pk)
        can_tick = transitions.tick_refusal(user, plan, step) is None and (
            not in_rollback or step.status == StepStatus.IN_PROGRESS
        )
        actions = list(step.rollback_actions.all())
        can_tick_rollback = bool(actions) and all(
            transitions.rollback_refusal(user, plan, a) is None for a in actions[:1]
        )
        row = BoardStep(
            step=step,
            timing=timing,
            can_tick=can_tick,
            rollback_actions=actions,
            can_tick_rollback=can_tick_rollback,
            kept=kept if kept and kept.get("step") == step.pk else None,
            mine=transitions.is_step_responsible(user, step),
        )
        key = (timing.start_best, timing.start_worst) if timing and timing.start_best else ("step", step.pk)
        if lanes and key == previous_key:
            lanes[-1].rows.append(row)
        else:
            lanes.append(Lane(rows=[row]))
        previous_key = key
    failed = [s for s in steps if s.status == StepStatus.FAILED]
    now = timezone.now()
    chart = timeline.build(plan, steps, now)
    this_year = plan.window_start.astimezone(plan.tz).year == now.astimezone(plan.tz).year
    return {
        "header_date": "d.m H:i" if this_year else "d.m.Y H:i",  # the year when it is not the current one
        "timeline": chart,
        "alerts": overrun.alerts(plan, result=chart, now=now),
        "last_event_id": last_event_id,
        "plan": plan,
        "steps": steps,
        "lanes": lanes,
        "report": report,
        "in_rollback": in_rollback,
        "failed_steps": failed,
        "can_start": transitions.start_refusal(user, plan) is None,
        # An emergency change in review: the board says what its early start still needs (docs/change-types.md).
        "emergency_start": transitions.is_emergency_start(plan),
        "emergency_refusal": transitions.emergency_refusal(plan) if transitions.is_emergency_start(plan) else None,
        "start_early": transitions.is_early(plan),
        "can_manage": transitions.plan_refusal(user, plan) is None,
        # A rolled back (or skipped) step is not "done": the header counts each outcome apart.
        "done_count": sum(1 for s in steps if s.status == StepStatus.DONE),
        "rolled_back_count": sum(1 for s in steps if s.status == StepStatus.ROLLED_BACK),
        "skipped_count": sum(1 for s in steps if s.status == StepStatus.SKIPPED),
        "failed_count": len(failed),
        "remaining_rollback": len(transitions.remaining_rollback_actions(steps)) if in_rollback else 0,
        "step_count": len(steps),
        "now": now,
        "kept": kept,
    }


def _render_parts(request, plan_id, main="steps", oob=("header", "timeline"), kept=None, status=200):
    context = board_context(request, plan_id, kept=kept)
    with timezone.override(context["plan"].tz):
        html = [render(request, f"{BOARD_TEMPLATE}#{main}", context).content.decode()]
        context["oob"] = True
        for name in oob:
            html.append(render(request, f"{BOARD_TEMPLATE}#{name}", context).content.decode())
    return HttpResponse("".join(html), status=status)


def _message(exc):
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) if str(exc) else _("You may not do this.")


def _check_view(request, plan_id):
    plan = get_object_or_404(Plan.objects.only("pk", "status"), pk=plan_id)
    if not can_view_plan(request.user, plan):
        raise PermissionDenied(_("You may not view this plan."))
    return plan


@login_required
def plan_board(request, pk):
    """GET the board page, or one part of it with ?part=header|steps (for live refreshes)."""
    _check_view(request, pk)
    part = request.GET.get("part")
    if part:
        if part not in PARTS:
            raise Http404(_("Unknown part of the board."))
        # The steps come with the header and the timeline out of band: one request refreshes the board.
        response = _render_parts(request, pk, main=part, oob=("header", "timeline") if part == "steps" else ())
    else:
        context = board_context(request, pk)
        with timezone.override(context["plan"].tz):
            response = render(request, BOARD_TEMPLATE, context)
    response["Vary"] = "HX-Request"
    return response


def _run(request, plan_id, call, success, kept_key=None):
    """Call a board service and answer the way htmx (or a plain form post) expects."""
    text = request.POST.get("comment", "")
    try:
        result = call()
    except PermissionDenied as exc:
        return _refuse(request, plan_id, _message(exc), 403)
    except transitions.StepStateError as exc:
        kept = {**kept_key, "text": text, "message": str(exc)} if kept_key else None
        if not request.htmx:
            messages.error(request, str(exc))
            return redirect("execution:plan_board", pk=plan_id)
        return toast(_render_parts(request, plan_id, kept=kept, status=409), str(exc), "danger")
    except ValidationError as exc:
        return _refuse(request, plan_id, _message(exc), 422)
    if not request.htmx:
        messages.success(request, success(result))
        return redirect("execution:plan_board", pk=plan_id)
    return toast(_render_parts(request, plan_id), success(result))


def _refuse(request, plan_id, message, status):
    if not request.htmx:
        messages.error(request, message)
        return redirect("execution:plan_board", pk=plan_id)
    # Nothing is swapped: the form keeps what the user typed; the toast says why.
    response = reswap(HttpResponse(message, status=status), "none")
    return toast(response, message, "danger" if status == 403 else "warning")


def _step_done_message(step):
    return _("Step %(n)d: %(status)s") % {"n": step.position, "status": step.get_status_display()}


@login_required
@require_POST
def board_start(request, pk):
    _check_view(request, pk)
    return _run(
        request,
        pk,
        lambda: transitions.start_plan(pk, actor=request.user, override_reason=request.POST.get("override_reason", "")),
        lambda plan: _("The work has started."),
    )


@login_required
@require_POST
def board_rollback(request, pk):
    _check_view(request, pk)
    return _run(
        request,
        pk,
        lambda: transitions.enter_rollback(pk, actor=request.user, reason=request.POST.get("reason", "")),
        lambda plan: _("Rollback mode: tick the rollback actions of the failed steps."),
    )


@login_required
@require_POST
def board_skip_rollback(request, pk):
    """Rollback mode: skip every rollback action not started yet, with one reason."""
    _check_view(request, pk)
    return _run(
        request,
        pk,
        lambda: transitions.skip_remaining_rollback(pk, actor=request.user, reason=request.POST.get("reason", "")),
        lambda skipped: _("Rollback actions skipped: %(count)d.") % {"count": len(skipped)},
    )


@login_required
@require_POST
def board_finish(request, pk):
    _check_view(request, pk)
    return _run(
        request,
        pk,
        lambda: transitions.finish_plan(
            pk, actor=request.user, outcome=request.POST.get("outcome", ""), comment=request.POST.get("comment", "")
        ),
        lambda plan: _("The work has ended: %(status)s.") % {"status": plan.get_status_display()},
    )


@login_required
@require_POST
def board_tick(request, pk):
    step = get_object_or_404(Step.objects.only("pk", "plan_id"), pk=pk)
    _check_view(request, step.plan_id)
    return _run(
        request,
        step.plan_id,
        lambda: transitions.tick(
            pk,
            request.POST.get("action", ""),
            actor=request.user,
            comment=request.POST.get("comment", ""),
            expected_status=request.POST.get("expected_status") or None,
        ),
        _step_done_message,
        kept_key={"step": pk},
    )


@login_required
@require_POST
def board_tick_rollback(request, pk):
    action = get_object_or_404(
        RollbackAction.objects.select_related("step").only("pk", "step__plan_id", "step_id"), pk=pk
    )
    plan_id = action.step.plan_id
    _check_view(request, plan_id)
    return _run(
        request,
        plan_id,
        lambda: transitions.tick_rollback(
            pk,
            request.POST.get("action", ""),
            actor=request.user,
            comment=request.POST.get("comment", ""),
            expected_status=request.POST.get("expected_status") or None,
        ),
        lambda rollback: _("Rollback action: %(status)s") % {"status": rollback.get_status_display()},
        kept_key={"step": action.step_id, "rollback": pk},
    )
