"""Read-side queries shared by the plan page, the PDF and the API; query counts do not grow with plan size."""

from django.db.models import Prefetch, QuerySet

from .models import Plan, PlanAttachment, PlanEvent, PlanService, RollbackAction, Step


def plan_queryset() -> QuerySet[Plan]:
    return Plan.objects.select_related("author", "curator", "responsible")


def steps_queryset() -> QuerySet[Step]:
    return Step.objects.select_related("executor", "done_by").prefetch_related(
        "risks",
        Prefetch("rollback_actions", queryset=RollbackAction.objects.prefetch_related("risks")),
    )


def load_plan(plan_id: int) -> Plan:
    """The plan with steps, risks, rollback actions, services and sign-off rows, in a fixed number of queries."""
    return (
        plan_queryset()
        .prefetch_related(
            Prefetch("steps", queryset=steps_queryset()),
            Prefetch("plan_services", queryset=PlanService.objects.select_related("service")),
            "approval_rows__user",
            "approval_rows__group",
        )
        .get(pk=plan_id)
    )


def plan_history(plan_id: int) -> QuerySet[PlanEvent]:
    return PlanEvent.objects.filter(plan_id=plan_id).select_related("actor").order_by("at", "id")


def attachments_queryset(plan_id: int) -> QuerySet[PlanAttachment]:
    """The plan's files without their bytes, for the plan page."""
    return PlanAttachment.objects.filter(plan_id=plan_id).defer("data").select_related("uploaded_by")
