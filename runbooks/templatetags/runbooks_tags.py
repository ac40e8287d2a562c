"""Automation pieces of pages other apps render: the board's step cards and the plan page's rehearsal."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag(takes_context=True)
def board_automation(context, plan):
    """step id → what the board shows of its automation: two queries whatever the plan's size."""
    from runbooks.choices import ACTIVE_RUN_STATUSES, RunMode
    from runbooks.runs import cancel_refusal
    from runbooks.runs import describe
    from runbooks.runs import run_refusal
    from runbooks import four_eyes
    from runbooks.models import ApprovalVia, AutomationRun, StepAutomation
    from runbooks.permissions import can_view_runs

    user = context["user"]
    automations = {a.step_id: a for a in StepAutomation.objects.filter(step__plan_id=plan.pk).select_related("cluster")}
    if not automations:
        return {}
    may_see = can_view_runs(user, plan)
    _hashes, approvals = four_eyes.current_approvals(automations.values())
    latest = {}
    runs = AutomationRun.objects.filter(plan_id=plan.pk, mode=RunMode.PRODUCTION).defer("log").select_related("started_by", "cancelled_by").order_by("step_id", "-created_at", "-id")
    for run in runs:
        latest.setdefault(run.step_id, run)
    steps = {step.pk: step for step in plan.steps.all()}
    info = {}
    for step_id, automation in automations.items():
        step = steps.get(step_id)
        if step is None:
            continue
        run = latest.get(step_id)
        active = run is not None and run.status in ACTIVE_RUN_STATUSES
        info[step_id] = {
            "automation": automation,
            "command": describe(automation),
            "run": run,
            "may_see_run": may_see,
            "signed": (automation.pk, ApprovalVia.SIGN_OFF) in approvals,
            "active": active,
            "can_run": not active and run_refusal(user, plan, step, automation) is None,
            "can_cancel": active and cancel_refusal(user, run) is None,
        }
    return info


@register.filter
def automation_of(info, step_id):
    return (info or {}).get(step_id)


@register.simple_tag(takes_context=True)
def rehearsal_panel(context, plan):
    """The plan's latest rehearsal (with its runs) and whether the current user may start one."""
    from runbooks import four_eyes, rehearsal
    from runbooks.runs import is_operator
    from runbooks.models import StepAutomation
    from runbooks.permissions import can_view_runs

    user = context["user"]
    automations = list(StepAutomation.objects.filter(step__plan_id=plan.pk).select_related("step"))
    if not automations and not plan.rehearsals.exists():
        return None
    may_see = can_view_runs(user, plan)
    return {
        "may_see_runs": may_see,
        "latest": rehearsal.latest(plan.pk) if may_see else None,
        "automation_count": len(automations),
        "refusal": rehearsal.rehearsal_refusal(user, plan, automations),
        "approvals": four_eyes.state(plan) if may_see else [],
        "approve_refusal": four_eyes.approve_refusal(user, plan) if may_see else _("Only an operator approves automation."),
        "approve_refusal_shown": is_operator(user),
    }
