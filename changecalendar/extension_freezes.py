"""The plan check panel's freezes and maintenance windows (a "checks" part, rendered by views_plan_checks).

- each freeze the plan's window falls into: its period, owner and reason, and the exception: asked (the owner's
  row and its state) or a form to ask (the author, an administrator; while the matrix can change);
- each of the plan's services with maintenance windows the plan's window is not inside: a warning naming them.
A fixed number of queries: the freezes (and what the plan touches when there are any), its exceptions and rows,
the maintenance windows of its services.
"""

from dataclasses import dataclass

from django.template.loader import render_to_string

from approvals.models import ApprovalRow
from changeplans.extensions import PlanPageExtension
from changeplans.models import Plan, Service

from . import exceptions, maintenance
from .freezes import freezes_of
from .models import Freeze, FreezeException, MaintenanceWindow


@dataclass
class FreezeItem:
    freeze: Freeze
    exception: FreezeException | None
    row: ApprovalRow | None


@dataclass
class WindowItem:
    service: Service
    windows: list[MaintenanceWindow]
    described: list[str]


def freeze_items(plan: Plan) -> list[FreezeItem]:
    freezes = freezes_of(plan)
    if not freezes:
        return []
    found = {e.freeze_id: e for e in FreezeException.objects.filter(plan=plan, freeze__in=freezes)}
    row_ids = [e.approval_row_id for e in found.values() if e.approval_row_id]
    rows = {row.pk: row for row in ApprovalRow.objects.filter(pk__in=row_ids, plan=plan)} if row_ids else {}
    items = []
    for freeze in freezes:
        exception = found.get(freeze.pk)
        row = rows.get(exception.approval_row_id) if exception and exception.approval_row_id else None
        items.append(FreezeItem(freeze, exception, row))
    return items


def window_items(plan: Plan) -> list[WindowItem]:
    """The plan's services whose maintenance windows the plan's window is not inside."""
    if not plan.pk:
        return []
    by_service: dict[int, list[MaintenanceWindow]] = {}
    for window in (
        MaintenanceWindow.objects.filter(service__plan_services__plan=plan).select_related("service").order_by("id")
    ):
        by_service.setdefault(window.service_id, []).append(window)
    items = []
    for windows in by_service.values():
        if maintenance.plan_outside_windows(plan, windows):
            items.append(WindowItem(windows[0].service, windows, [maintenance.describe(w) for w in windows]))
    items.sort(key=lambda item: item.service.name)
    return items


class FreezesOnPlanPage(PlanPageExtension):
    def checks(self, context, plan):
        freezes, windows = freeze_items(plan), window_items(plan)
        if not freezes and not windows:
            return ""
        user = context.get("user")
        refusal = exceptions.ask_refusal(user, plan) if user is not None else ""
        return render_to_string(
            "changecalendar/inc/plan_freezes.html",
            {
                **context,
                "plan": plan,
                "freeze_items": freezes,
                "window_items": windows,
                "ask_refusal": refusal,
            },
        )
