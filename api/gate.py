"""The deployment gate (docs/gate.md): may a pipeline deploy to a service or a cluster at a given time?

A pure selector: it reads plans and answers, it writes nothing. Allowed only inside the window
[window_start, window_end) of a plan that is approved or in progress and names the service (PlanService)
or touches the cluster (one of its steps' automation targets it). Blocked otherwise, with reasons that name
what was found. A service whose policy is "allow" lets a deployment through when no plan claims the time.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from changecalendar.freezes import approved_exceptions, freezes_in_force
from changecalendar.models import Freeze
from changeplans.choices import GatePolicy, PlanStatus
from changeplans.models import Plan, Service
from runbooks.models import Cluster

# Statuses whose open window lets a deployment through.
OPEN_STATUSES = (PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)
# Statuses that claim their window for a service whose policy is "allow": work someone has asked to do then.
# Drafts and rejected plans do not (any author could otherwise freeze a service with a draft); nor do
# finished and cancelled ones (their work is over). A plan in progress claims the service whatever its window.
CLAIMING_STATUSES = (PlanStatus.IN_REVIEW, PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)
FINISHED_STATUSES = (PlanStatus.COMPLETED, PlanStatus.COMPLETED_WITH_ROLLBACK, PlanStatus.FAILED)


@dataclass(frozen=True)
class TargetCheck:
    """The answer for one service or one cluster."""

    allowed: bool
    reasons: list[str]
    plans: list[Plan]


@dataclass(frozen=True)
class GateDecision:
    """The gate's answer: allowed or blocked, why (translated in the active language), and the plans behind it."""

    allowed: bool
    at: datetime.datetime
    reasons: list[str]
    plans: list[Plan]
    checks: list[TargetCheck] = field(default_factory=list)


def gate_decision(
    *, service: Service | None = None, cluster: Cluster | None = None, at: datetime.datetime
) -> GateDecision:
    """Whether a deployment to the service and/or the cluster is allowed at `at` (aware).

    With both, each must be allowed (possibly by different plans): the deployment touches both.
    """
    if service is None and cluster is None:
        raise ValueError("gate_decision needs a service or a cluster")
    if timezone.is_naive(at):
        raise ValueError("gate_decision needs an aware datetime")
    checks: list[tuple[str, TargetCheck]] = []
    if service is not None:
        label = _("Service “%(service)s”") % {"service": service.name}
        frozen = freezes_in_force(at, service_id=service.pk)
        checks.append((label, _in_freezes(_check_service(service, at), frozen, at)))
    if cluster is not None:
        label = _("Cluster “%(cluster)s”") % {"cluster": cluster.name}
        frozen = freezes_in_force(at, cluster_id=cluster.pk)
        checks.append((label, _in_freezes(_check_cluster(cluster, at), frozen, at)))
    both = len(checks) > 1
    reasons = [f"{label}: {reason}" if both else reason for label, check in checks for reason in check.reasons]
    return GateDecision(
        allowed=all(check.allowed for _label, check in checks),
        at=at,
        reasons=reasons,
        plans=_unique(plan for _label, check in checks for plan in check.plans),
        checks=[check for _label, check in checks],
    )


def _check_service(service: Service, at: datetime.datetime) -> TargetCheck:
    plans = Plan.objects.filter(plan_services__service=service)
    found = _found(plans, at)
    allowing = [plan for plan in found if _is_open(plan, at)]
    if allowing:
        return TargetCheck(True, [_allowed_reason(plan) for plan in allowing], allowing)
    if service.gate_without_plan == GatePolicy.ALLOW:
        claiming = [plan for plan in found if _claims(plan, at)]
        if not claiming:
            reason = _(
                "No plan in review, approved or in progress for the service “%(service)s” covers this time;"
                " the service’s policy allows deployments without a plan."
            ) % {"service": service.name}
            return TargetCheck(True, [reason], [])
        intro = _(
            "The service “%(service)s” allows deployments without a plan, but a plan claims this time: its rules apply."
        ) % {"service": service.name}
        return _blocked([intro], found, at)
    if not found:
        reason = _("No plan for the service “%(service)s” covers this time.") % {"service": service.name}
        return _blocked([reason], [], at)
    summary = _("No approved plan for the service “%(service)s” has its window open at this time.") % {
        "service": service.name
    }
    return _blocked([summary], found, at)


def _check_cluster(cluster: Cluster, at: datetime.datetime) -> TargetCheck:
    # No per-cluster policy: a cluster is blocked unless a plan that touches it allows the deployment.
    plans = Plan.objects.filter(steps__automation__cluster=cluster).distinct()
    found = _found(plans, at)
    allowing = [plan for plan in found if _is_open(plan, at)]
    if allowing:
        return TargetCheck(True, [_allowed_reason(plan) for plan in allowing], allowing)
    if not found:
        reason = _("No plan touching the cluster “%(cluster)s” covers this time.") % {"cluster": cluster.name}
        return _blocked([reason], [], at)
    summary = _("No approved plan touching the cluster “%(cluster)s” has its window open at this time.") % {
        "cluster": cluster.name
    }
    return _blocked([summary], found, at)


def _in_freezes(check: TargetCheck, freezes: list[Freeze], at: datetime.datetime) -> TargetCheck:
    """In a freeze only a plan with an approved exception to every freeze in force allows, whatever the policy."""
    if not freezes:
        return check
    open_plans = [plan for plan in check.plans if _is_open(plan, at)]
    held = approved_exceptions([f.pk for f in freezes], [plan.pk for plan in open_plans])
    allowing = [plan for plan in open_plans if all((f.pk, plan.pk) in held for f in freezes)]
    if allowing:
        holds = _("Plan #%(id)s “%(title)s” holds an approved exception to the freeze.")
        excepted = [holds % _params(plan) for plan in allowing]
        return TargetCheck(True, [*check.reasons, *excepted], allowing)
    zone = timezone.get_default_timezone()
    frozen = [
        _("Blocked: change freeze “%(title)s” until %(end)s; no plan with an approved exception to it is open.")
        % {"title": f.title, "end": f"{timezone.localtime(f.ends_at, zone):%d.%m.%Y %H:%M} ({zone.key})"}
        for f in freezes
    ]
    return TargetCheck(False, [*frozen, *check.reasons], check.plans)


def _found(plans: QuerySet[Plan], at: datetime.datetime) -> list[Plan]:
    """The plans worth naming: those whose window holds `at` (any status) or in progress, the next one in review
    or approved, and the last approved one whose window closed without it being started. Three queries."""
    around = list(
        plans.filter(Q(window_start__lte=at, window_end__gt=at) | Q(status=PlanStatus.IN_PROGRESS)).order_by(
            "window_start", "id"
        )
    )
    upcoming = (
        plans.filter(window_start__gt=at, status__in=(PlanStatus.IN_REVIEW, PlanStatus.APPROVED))
        .order_by("window_start", "id")
        .first()
    )
    missed = plans.filter(window_end__lte=at, status=PlanStatus.APPROVED).order_by("-window_end", "-id").first()
    return _unique([missed, *around, upcoming])


def _unique(plans: Iterable[Plan | None]) -> list[Plan]:
    seen: dict[int, Plan] = {}
    for plan in plans:
        if plan is not None:
            seen.setdefault(plan.pk, plan)
    return list(seen.values())


def _is_open(plan: Plan, at: datetime.datetime) -> bool:
    return plan.status in OPEN_STATUSES and plan.window_start <= at < plan.window_end


def _claims(plan: Plan, at: datetime.datetime) -> bool:
    if plan.status == PlanStatus.IN_PROGRESS:
        return True
    return plan.status in CLAIMING_STATUSES and plan.window_start <= at < plan.window_end


def _blocked(intro: list[str], plans: list[Plan], at: datetime.datetime) -> TargetCheck:
    return TargetCheck(False, intro + [_blocked_reason(plan, at) for plan in plans], plans)


def _when(moment: datetime.datetime, plan: Plan) -> str:
    """A time as the plan's page shows it, in the plan's zone, with the zone named."""
    return f"{timezone.localtime(moment, plan.tz):%d.%m.%Y %H:%M} ({plan.time_zone})"


def _params(plan: Plan) -> dict[str, object]:
    return {
        "id": plan.pk,
        "title": plan.title,
        "start": _when(plan.window_start, plan),
        "end": _when(plan.window_end, plan),
        "status": plan.get_status_display(),
    }


def _allowed_reason(plan: Plan) -> str:
    if plan.status == PlanStatus.IN_PROGRESS:
        return _("Plan #%(id)s “%(title)s” is in progress and its window is open until %(end)s.") % _params(plan)
    return _("Plan #%(id)s “%(title)s” is approved and its window is open until %(end)s.") % _params(plan)


def _blocked_reason(plan: Plan, at: datetime.datetime) -> str:
    params = _params(plan)
    status = plan.status
    if status == PlanStatus.DRAFT:
        return _("Plan #%(id)s “%(title)s” is a draft: it has not been submitted for sign-off.") % params
    if status == PlanStatus.IN_REVIEW:
        return _("Plan #%(id)s “%(title)s” is in review: it is not approved yet (window %(start)s – %(end)s).") % params
    if status == PlanStatus.REJECTED:
        return _("Plan #%(id)s “%(title)s” was rejected.") % params
    if status == PlanStatus.CANCELLED:
        return _("Plan #%(id)s “%(title)s” was cancelled.") % params
    if status in FINISHED_STATUSES:
        return _("Plan #%(id)s “%(title)s” has finished (%(status)s): its work is over.") % params
    # Approved or in progress, outside the window: before it or after it.
    before = at < plan.window_start
    if status == PlanStatus.IN_PROGRESS:
        if before:
            return _("Plan #%(id)s “%(title)s” is in progress, but its window opens at %(start)s.") % params
        return _("Plan #%(id)s “%(title)s” is in progress, but its window closed at %(end)s.") % params
    if before:
        return _("Plan #%(id)s “%(title)s” is approved, but its window opens at %(start)s.") % params
    return _("Plan #%(id)s “%(title)s” is approved, but its window closed at %(end)s.") % params
