"""The calendar's parts of the plan page, fetched after the page (registered in ChangeCalendarConfig.ready()).

The conflicts, freezes and maintenance windows of a plan depend on the other plans and cost three queries; in the
page they made the 100-step plan page 40% slower (docs/BENCHMARKS.md, "The plan page"). The page carries a
placeholder instead, which htmx replaces at once by views_plan_checks' answer, the parts
extension_conflicts and extension_freezes render. The plan check panel, re-rendered after a header save, brings a
new placeholder, so a moved window shows its conflicts again.
"""

from django.template.loader import render_to_string

from changeplans.extensions import PlanPageExtension

from .extension_conflicts import SIDE_STATUSES


class CalendarOnPlanPage(PlanPageExtension):
    def checks(self, context: dict, plan) -> str:
        if not plan.pk:
            return ""
        return render_to_string("changecalendar/inc/plan_checks_placeholder.html", {"plan": plan, "part": "checks"})

    def side(self, context: dict, plan) -> str:
        if plan.status not in SIDE_STATUSES:
            return ""
        return render_to_string("changecalendar/inc/plan_checks_placeholder.html", {"plan": plan, "part": "side"})
