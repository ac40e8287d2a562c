"""What a plan touches: its services, its clusters and the people who do the work (docs/calendar.md, "Conflicts").

- services: the plan's affected services (PlanService);
- clusters: the cluster the plan's runbook parameter of cluster type named when the plan was made
  (PlanOrigin.cluster) and the clusters its steps' automation runs against (StepAutomation.cluster);
- executors: the parties of kind "person" doing its steps (Step.executor) or responsible for the whole work
  (Plan.responsible). A team or a contractor has many hands and may work on two changes at once; a person cannot.

`keys_for_plans` reads all of it in one query, whatever the number of plans; `keys_union` is that query.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.db.models import QuerySet, Value
from django.db.models.expressions import RawSQL

from changeplans.choices import PartyKind
from changeplans.models import Plan, PlanService, Step
from runbooks.models import PlanOrigin, StepAutomation

_NONE: frozenset[int] = frozenset()


class Keys(NamedTuple):  # a tuple: a thousand of them are made for a month's conflicts
    services: frozenset[int] = _NONE
    clusters: frozenset[int] = _NONE
    executors: frozenset[int] = _NONE


_EMPTY = Keys()


def _frozen(found: set[int] | None) -> frozenset[int]:
    return frozenset(found) if found else _NONE


SERVICE, CLUSTER, EXECUTOR = "service", "cluster", "executor"  # text: an integer Value gets a converter per row


def _sourced(queryset: QuerySet[Any], source: str, plan: str, key: str) -> QuerySet[Any]:
    """(source, plan id, key id) rows of one part of the union."""
    return queryset.order_by().annotate(keys_source=Value(source)).values_list("keys_source", plan, key)


def _parts(among: Any) -> dict[str, list[tuple[QuerySet[Any], str, str]]]:
    """Per kind, the queries (and their plan and key columns) of what the plans `among` touch."""
    return {
        SERVICE: [(PlanService.objects.filter(plan_id__in=among), "plan_id", "service_id")],
        CLUSTER: [
            (
                StepAutomation.objects.filter(step__plan_id__in=among, cluster__isnull=False),
                "step__plan_id",
                "cluster_id",
            ),
            (PlanOrigin.objects.filter(plan_id__in=among, cluster__isnull=False), "plan_id", "cluster_id"),
        ],
        EXECUTOR: [
            (Step.objects.filter(plan_id__in=among, executor__kind=PartyKind.PERSON), "plan_id", "executor_id"),
            (Plan.objects.filter(pk__in=among, responsible__kind=PartyKind.PERSON), "pk", "responsible_id"),
        ],
    }


def keys_union(among: Any) -> QuerySet[Any]:
    """(source, plan id, key id) rows of the plans `among` (ids or a subquery of plan ids): one query, a UNION ALL
    of the services, the clusters (automation targets and the runbook parameter, PlanOrigin.cluster) and the
    people."""
    first, *rest = [
        _sourced(queryset, source, plan, key)
        for source, parts in _parts(among).items()
        for queryset, plan, key in parts
    ]
    return first.union(*rest, all=True)


def kind_keys(kind: str, among: Any) -> QuerySet[Any]:
    """(plan id, key id) rows of one kind (SERVICE, CLUSTER, EXECUTOR) of the plans `among`, each once."""
    first, *rest = [queryset.order_by().values_list(plan, key) for queryset, plan, key in _parts(among)[kind]]
    return first.union(*rest) if rest else first.distinct()


def subquery(plans: QuerySet[Plan]) -> RawSQL:
    """The ids of `plans` as a subquery compiled once (a condition of many ranges costs in the ORM each time)."""
    return RawSQL(*plans.order_by().values("pk").query.sql_with_params())


def keys_for_plans(plan_ids: Iterable[int], *, read_by: QuerySet[Plan] | None = None) -> dict[int, Keys]:
    """Plan id → what it touches; every given id is in the answer (empty keys when it touches nothing). One query.

    `read_by`: a query of plans that holds every given id (it may hold more: their rows are skipped). The rows are
    then read by it as a subquery instead of a list of ids: a thousand ids cost more in the ORM than the rows."""
    ids = sorted(set(plan_ids))
    if not ids:
        return {}
    asked = set(ids)
    services: dict[int, set[int]] = defaultdict(set)
    clusters: dict[int, set[int]] = defaultdict(set)
    executors: dict[int, set[int]] = defaultdict(set)
    touched = {SERVICE: services, CLUSTER: clusters, EXECUTOR: executors}
    for source, plan_id, key_id in keys_union(ids if read_by is None else subquery(read_by)):
        touched[source][plan_id].add(key_id)

    # Plans of `read_by` that were not asked for are left out.
    found = dict.fromkeys(ids, _EMPTY)
    for plan_id in (services.keys() | clusters.keys() | executors.keys()) & asked:
        found[plan_id] = Keys(
            _frozen(services.get(plan_id)), _frozen(clusters.get(plan_id)), _frozen(executors.get(plan_id))
        )
    return found
