"""Conflicting plans on the plan page (rendered by views_plan_checks for the page's placeholders; docs/calendar.md,
"Conflicts").

- "checks": inside the plan check panel, for every viewer while the plan can still happen; re-rendered with the
  panel after each header save, so a window edit shows its conflicts at once;
- "side": beside the sign-off matrix (approvals puts it in "side" too), for the approvers of a plan in review,
  approved or in progress.
"""

from django.template.loader import render_to_string

from changeplans.choices import PlanStatus
from changeplans.extensions import PlanPageExtension

from .conflicts import ACTIVE_STATUSES, conflicts_of

SIDE_STATUSES = (PlanStatus.IN_REVIEW, PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)


class ConflictsOnPlanPage(PlanPageExtension):
    def checks(self, context: dict, plan) -> str:
        if plan.status not in ACTIVE_STATUSES:
            return ""
        conflicts = conflicts_of(plan)
        if not conflicts:
            return ""
        return render_to_string(
            "changecalendar/inc/conflicts_check.html", {"plan": plan, "conflicts": conflicts}, context.get("request")
        )

    def side(self, context: dict, plan) -> str:
        if plan.status not in SIDE_STATUSES:
            return ""
        return render_to_string(
            "changecalendar/inc/conflicts_side.html",
            {"plan": plan, "conflicts": conflicts_of(plan)},
            context.get("request"),
        )
