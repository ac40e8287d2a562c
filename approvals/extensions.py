"""The sign-off bar and matrix on the plan page (registered in ApprovalsConfig.ready())."""

from django.template.loader import render_to_string

from changeplans.extensions import PlanPageExtension

from .selectors import matrix_context


def _signoff(context, plan):
    """matrix_context once per request and plan: the bar and the matrix show the same rows."""
    request = context.get("request")
    cache = request.__dict__.setdefault("_okno_signoff", {}) if request is not None else {}
    if plan.pk not in cache:
        cache[plan.pk] = matrix_context(plan, context["user"])
    return cache[plan.pk]


class SignoffOnPlanPage(PlanPageExtension):
    def top(self, context, plan):
        return render_to_string("approvals/inc/signoff_bar.html", {**context, "signoff": _signoff(context, plan)})

    def side(self, context, plan):
        return render_to_string("approvals/inc/matrix.html", {**context, "signoff": _signoff(context, plan)})

    def scripts(self, context, plan):
        return render_to_string("approvals/inc/matrix_script.html", context)
