"""Automation on the plan page and the board (registered in RunbooksConfig.ready())."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from changeplans.extensions import PlanPageExtension
from common.compiled import CompiledQuery

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


# compiled once per process (common/compiled.py): its ORM compilation cost more than the query
_PLAN_AUTOMATIONS = CompiledQuery(
    lambda pk: StepAutomation.objects.filter(step__plan_id=pk).select_related("step"), stand_in=2_147_480_016
)


def _plan_automations(context, plan):
    """The plan's step automations with their steps: one query a request, shared by the rows' badges and the
    rehearsal panel (kept on the request: a page shows one state of the plan)."""
    request = context.get("request")
    cache = request.__dict__.setdefault("_okno_automations", {}) if request is not None else {}
    if plan.pk not in cache:
        cache[plan.pk] = _PLAN_AUTOMATIONS.all(plan.pk)
    return cache[plan.pk]


def _plan_facts(context, plan):
    """(has the plan a rehearsal, was it made from a runbook): one query a request for the rehearsal panel and
    the runbook card, which then read a rehearsal or an origin only when there is one."""
    from django.db import connection
    from django.db.models import Exists

    from changeplans.models import Plan

    from .models import PlanOrigin, Rehearsal

    request = context.get("request")
    cache = request.__dict__.setdefault("_okno_runbook_facts", {}) if request is not None else {}
    if plan.pk not in cache:
        # compiled from the ORM once per process and database vendor, the plan's id a stand-in
        # (as changeplans.announcements._problems_query): its compilation cost more than the query
        if connection.vendor not in _facts_sql:
            sql, params = (
                Plan.objects.filter(pk=_STAND_IN_PLAN)
                .annotate(
                    has_rehearsal=Exists(Rehearsal.objects.filter(plan_id=_STAND_IN_PLAN)),
                    has_origin=Exists(PlanOrigin.objects.filter(plan_id=_STAND_IN_PLAN)),
                )
                .values_list("has_rehearsal", "has_origin")
                .order_by()[:1]
                .query.sql_with_params()
            )
            if list(params).count(_STAND_IN_PLAN) != 3:
                raise AssertionError("the runbook facts query lost its stand-ins")
            _facts_sql[connection.vendor] = (sql, tuple(params))
        sql, params = _facts_sql[connection.vendor]
        with connection.cursor() as cursor:
            cursor.execute(sql, [int(plan.pk) if p == _STAND_IN_PLAN else p for p in params])
            facts = cursor.fetchone()
        cache[plan.pk] = (bool(facts[0]), bool(facts[1])) if facts else (False, False)
    return cache[plan.pk]


_STAND_IN_PLAN = 2_147_480_007  # in the compiled facts query, where the plan's id goes
_facts_sql: dict[str, tuple[str, tuple]] = {}


def _step_url_maker(plan):
    """step id → its automation editor's URL, reversed once (a 2,000-step plan has a button a row)."""
    marker = "987654321"
    url = escape(reverse("automation_editor:step_automation", args=[plan.pk, int(marker)]))
    head, _marker, tail = url.rpartition(marker)  # the step id comes after the plan's
    return lambda step_id: f"{head}{step_id}{tail}"


def rehearsal_panel(user, plan, automations=None, has_rehearsal=None):
    """The plan's latest rehearsal (with its runs) and whether the user may start one; None without automation.
    `automations`: the plan's, with their steps, and `has_rehearsal`, when already known."""
    if automations is None:
        automations = list(StepAutomation.objects.filter(step__plan_id=plan.pk).select_related("step"))
    if not automations and not (plan.rehearsals.exists() if has_rehearsal is None else has_rehearsal):
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
        automations = _plan_automations(context, plan)
        has_rehearsal = None if automations else _plan_facts(context, plan)[0]
        panel = rehearsal_panel(context["user"], plan, automations, has_rehearsal)
        return render_to_string("runbooks/inc/rehearsal_panel.html", {**context, "panel": panel})

    def step_status(self, context, plan, steps):
        kinds = {automation.step_id: automation.kind for automation in _plan_automations(context, plan)}
        if not kinds:
            return {}
        url = _step_url_maker(plan)
        title = escape(_("Automation"))
        return {
            step.pk: mark_safe(
                '<div><a class="badge text-bg-dark text-decoration-none okno-automation-badge"'
                f' href="{url(step.pk)}" title="{title}">⚙ {escape(kinds[step.pk])}</a></div>'
            )
            for step in steps
            if step.pk in kinds
        }

    def step_actions(self, context, plan, steps):
        url = _step_url_maker(plan)
        title = escape(_("Automation"))
        # HTML, as every part (changeplans.extensions.render_step_parts marks the parts safe once, joined)
        return {
            step.pk: f'<a class="btn btn-sm btn-outline-secondary okno-automation" href="{url(step.pk)}"'
            f' title="{title}">⚙</a>'
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
            if plan.pk and _plan_facts(context, plan)[1]
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


def _standard_state(context, plan):
    """runbooks.standard.plan_state once per request and plan: the banner and the check show the same state."""
    from . import standard

    request = context.get("request")
    cache = request.__dict__.setdefault("_okno_standard", {}) if request is not None else {}
    if plan.pk not in cache:
        cache[plan.pk] = standard.plan_state(plan)
    return cache[plan.pk]


class StandardOnPlanPage(PlanPageExtension):
    """A standard change: where it comes from, or that its steps changed and it will be submitted as normal."""

    def top(self, context, plan):
        from changeplans.choices import PlanKind

        if plan.kind != PlanKind.STANDARD:
            return ""
        return render_to_string(
            "runbooks/inc/standard_state.html", {**context, "plan": plan, "state": _standard_state(context, plan)}
        )

    def checks(self, context, plan):
        from changeplans.choices import PlanKind

        if plan.kind != PlanKind.STANDARD or not plan.is_editable:
            return ""
        state = _standard_state(context, plan)
        if not state["problem"]:
            return ""
        return render_to_string("runbooks/inc/standard_check.html", {**context, "plan": plan, "state": state})
