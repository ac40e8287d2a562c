"""Automation on the plan page and the board (registered in RunbooksConfig.ready())."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from changeplans.extensions import PlanPageExtension

from . import four_eyes, rehearsal
from .choices import ACTIVE_RUN_STATUSES, RunMode
from .models import ApprovalVia, AutomationRun, StepAutomation
from .permissions import can_view_runs
from .runs import cancel_refusal, describe, is_operator, run_refusal


def board_automation(user, plan, steps):
    """step id → what the board shows of its automation: two queries whatever the plan's size."""
    automations = {a.step_id: a for a in StepAutomation.objects.filter(step__plan_id=plan.pk).select_related("cluster")}
    if not automations:
        return {}
    may_see = can_view_runs(user, plan)
    _hashes, approvals = four_eyes.current_approvals(automations.values())
    latest = {}
    runs = (
        AutomationRun.objects.filter(plan_id=plan.pk, mode=RunMode.PRODUCTION)
        .defer("log")
        .select_related("started_by", "cancelled_by")
        .order_by("step_id", "-created_at", "-id")
    )
    for run in runs:
        latest.setdefault(run.step_id, run)
    info = {}
    for step in steps:
        automation = automations.get(step.pk)
        if automation is None:
            continue
        run = latest.get(step.pk)
        active = run is not None and run.status in ACTIVE_RUN_STATUSES
        info[step.pk] = {
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


def rehearsal_panel(user, plan):
    """The plan's latest rehearsal (with its runs) and whether the user may start one; None without automation."""
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
        "approve_refusal": four_eyes.approve_refusal(user, plan)
        if may_see
        else _("Only an operator approves automation."),
        "approve_refusal_shown": is_operator(user),
    }


class AutomationOnPlanPage(PlanPageExtension):
    def below_steps(self, context, plan):
        return render_to_string(
            "runbooks/inc/rehearsal_panel.html", {**context, "panel": rehearsal_panel(context["user"], plan)}
        )

    def step_status(self, context, plan, steps):
        kinds = dict(StepAutomation.objects.filter(step__plan_id=plan.pk).values_list("step_id", "kind"))
        title = _("Automation")
        return {
            step.pk: format_html(
                '<div><a class="badge text-bg-dark text-decoration-none okno-automation-badge"'
                ' href="{}" title="{}">⚙ {}</a></div>',
                reverse("automation_editor:step_automation", args=[plan.pk, step.pk]),
                title,
                kinds[step.pk],
            )
            for step in steps
            if step.pk in kinds
        }

    def step_actions(self, context, plan, steps):
        title = _("Automation")
        return {
            step.pk: format_html(
                '<a class="btn btn-sm btn-outline-secondary okno-automation" href="{}" title="{}">⚙</a>',
                reverse("automation_editor:step_automation", args=[plan.pk, step.pk]),
                title,
            )
            for step in steps
        }

    def board_step(self, context, plan, steps):
        info = board_automation(context["user"], plan, steps)
        return {
            step.pk: render_to_string(
                "runbooks/inc/board_automation.html", {**context, "step": step, "a": info[step.pk]}
            )
            for step in steps
            if step.pk in info
        }


class RunbookOnPlanPage(PlanPageExtension):
    """Beside the history: the runbook the plan came from, and «Save as a runbook» for who may write runbooks."""

    def side(self, context, plan):
        from . import display
        from .library import can_write_runbooks
        from .models import PlanOrigin

        user = context["user"]
        origin = (
            PlanOrigin.objects.filter(plan_id=plan.pk).select_related("runbook_version__runbook").first()
            if plan.pk
            else None
        )
        can_save = can_write_runbooks(user)
        if origin is None and not can_save:
            return ""
        return render_to_string(
            "runbooks/inc/plan_runbook_card.html",
            {
                **context,
                "plan": plan,
                "origin": origin,
                "origin_title": display.title(origin.runbook_version.definition, origin.runbook_version.runbook.title)
                if origin
                else "",
                "can_save": can_save,
            },
        )
