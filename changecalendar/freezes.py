"""Change freezes: which freezes a period or a plan falls into (docs/calendar.md, "Freezes and maintenance windows").

A freeze applies to a plan when their periods overlap (start < other end and other start < end: adjacent periods
do not) and its scope matches: global, one of the plan's services, or one of its clusters (changecalendar.plan_keys).
"""

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db.models import Q, QuerySet

from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRow
from changeplans.models import Plan

from .choices import FreezeScope
from .models import Freeze, FreezeException
from .plan_keys import keys_for_plans


def freezes_overlapping(start: dt.datetime, end: dt.datetime) -> QuerySet[Freeze]:
    """Every freeze (any scope) whose period overlaps [start, end)."""
    return Freeze.objects.filter(starts_at__lt=end, ends_at__gt=start).select_related("service", "cluster", "owner")


def _touched(plan_ids: Sequence[int]) -> tuple[dict[int, frozenset[int]], dict[int, frozenset[int]]]:
    """plan id → service ids, plan id → cluster ids (a fixed number of queries)."""
    keys = keys_for_plans(plan_ids)
    return {pk: k.services for pk, k in keys.items()}, {pk: k.clusters for pk, k in keys.items()}


def _applies(freeze: Freeze, services: frozenset[int], clusters: frozenset[int]) -> bool:
    if freeze.scope == FreezeScope.GLOBAL:
        return True
    if freeze.scope == FreezeScope.SERVICE:
        return freeze.service_id in services
    return freeze.cluster_id in clusters


def freezes_for_plans(plans: Iterable[Plan]) -> dict[int, list[Freeze]]:
    """Every given plan's freezes (that overlap its window and apply to it), in a fixed number of queries."""
    plans = [plan for plan in plans if plan.pk and plan.window_start and plan.window_end]
    result: dict[int, list[Freeze]] = {plan.pk: [] for plan in plans}
    if not plans:
        return result
    start = min(plan.window_start for plan in plans)
    end = max(plan.window_end for plan in plans)
    candidates = list(freezes_overlapping(start, end))
    if not candidates:
        return result
    services, clusters = _touched([plan.pk for plan in plans])
    for plan in plans:
        result[plan.pk] = [
            freeze
            for freeze in candidates
            if freeze.starts_at < plan.window_end
            and plan.window_start < freeze.ends_at
            and _applies(freeze, services.get(plan.pk, frozenset()), clusters.get(plan.pk, frozenset()))
        ]
    return result


def freezes_of(plan: Plan) -> list[Freeze]:
    """The freezes that apply to the plan: overlapping its window, global or on its services or clusters."""
    return freezes_for_plans([plan]).get(plan.pk, [])


def freezes_in_force(at: dt.datetime, *, service_id: int | None = None, cluster_id: int | None = None) -> list[Freeze]:
    """Freezes in force at `at` (starts ≤ at < ends) for a service or a cluster: global ones and its own."""
    scoped = Q(scope=FreezeScope.GLOBAL)
    if service_id is not None:
        scoped |= Q(scope=FreezeScope.SERVICE, service_id=service_id)
    if cluster_id is not None:
        scoped |= Q(scope=FreezeScope.CLUSTER, cluster_id=cluster_id)
    return list(Freeze.objects.filter(scoped, starts_at__lte=at, ends_at__gt=at).select_related("owner"))


def approved_exceptions(freeze_ids: Iterable[int], plan_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(freeze id, plan id) of the exceptions whose owner's row is approved (one query)."""
    approved = ApprovalRow.objects.filter(status=ApprovalStatus.APPROVED).values("pk")
    return set(
        FreezeException.objects.filter(
            freeze_id__in=list(freeze_ids), plan_id__in=list(plan_ids), approval_row_id__in=approved
        ).values_list("freeze_id", "plan_id")
    )
