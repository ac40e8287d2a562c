"""What a plan touches: its services, its clusters and the people who do the work (docs/calendar.md, "Conflicts").

- services: the plan's affected services (PlanService);
- clusters: the cluster the plan's runbook parameter of cluster type names (PlanOrigin.parameters) and the
  clusters its steps' automation runs against (StepAutomation.cluster);
- executors: the parties of kind "person" doing its steps (Step.executor) or responsible for the whole work
  (Plan.responsible). A team or a contractor has many hands and may work on two changes at once; a person cannot.

`keys_for_plans` reads all of it in a fixed number of queries, whatever the number of plans.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.db.models import QuerySet, Value
from django.db.models.expressions import RawSQL

from changeplans.choices import PartyKind
from changeplans.models import Party, Plan, PlanService, Service, Step
from runbooks.choices import ParameterType
from runbooks.models import Cluster, PlanOrigin, RunbookVersion, StepAutomation

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


def cluster_parameter(definition: dict) -> str | None:
    """The name of a runbook definition's cluster parameter (at most one: runbooks.definition)."""
    for parameter in definition.get("parameters", []) or []:
        if isinstance(parameter, dict) and parameter.get("type") == ParameterType.CLUSTER:
            return parameter.get("name")
    return None


def keys_for_plans(plan_ids: Iterable[int], *, read_by: QuerySet[Plan] | None = None) -> dict[int, Keys]:
    """Plan id → what it touches; every given id is in the answer (empty keys when it touches nothing).

    `read_by`: a query of plans that holds every given id (it may hold more: their rows are skipped). The rows are
    then read by it as a subquery instead of a list of ids: a thousand ids cost more in the ORM than the rows."""
    ids = sorted(set(plan_ids))
    if not ids:
        return {}
    asked = set(ids)
    services: dict[int, set[int]] = defaultdict(set)
    clusters: dict[int, set[int]] = defaultdict(set)
    executors: dict[int, set[int]] = defaultdict(set)
    # The subquery compiled once for the queries below (a condition of many ranges costs in the ORM).
    among: Any = ids if read_by is None else RawSQL(*read_by.order_by().values("pk").query.sql_with_params())

    # Services, automation clusters and people in one query (UNION ALL): each query costs more in the ORM than
    # its rows.
    touched = {SERVICE: services, CLUSTER: clusters, EXECUTOR: executors}
    for source, plan_id, key_id in _sourced(
        PlanService.objects.filter(plan_id__in=among), SERVICE, "plan_id", "service_id"
    ).union(
        _sourced(
            StepAutomation.objects.filter(step__plan_id__in=among, cluster__isnull=False),
            CLUSTER,
            "step__plan_id",
            "cluster_id",
        ),
        _sourced(
            Step.objects.filter(plan_id__in=among, executor__kind=PartyKind.PERSON), EXECUTOR, "plan_id", "executor_id"
        ),
        _sourced(
            Plan.objects.filter(pk__in=among, responsible__kind=PartyKind.PERSON), EXECUTOR, "pk", "responsible_id"
        ),
        all=True,
    ):
        touched[source][plan_id].add(key_id)

    origins = [
        origin
        for origin in PlanOrigin.objects.filter(plan_id__in=among)
        .order_by()
        .values_list("plan_id", "runbook_version_id", "parameters")
        if origin[0] in asked
    ]
    if origins:
        # The definition names the cluster parameter; read each version once, however many plans it made.
        version_ids = {version_id for _plan, version_id, _params in origins}
        parameter_of = {
            version_id: cluster_parameter(definition or {})
            for version_id, definition in RunbookVersion.objects.filter(pk__in=version_ids).values_list(
                "pk", "definition"
            )
        }
        named: dict[int, str] = {}
        for plan_id, version_id, parameters in origins:
            name = parameter_of.get(version_id)
            value = (parameters or {}).get(name) if name else None
            if isinstance(value, str) and value.strip():
                named[plan_id] = value.strip()
        if named:
            cluster_ids = dict(Cluster.objects.filter(name__in=set(named.values())).values_list("name", "pk"))
            for plan_id, cluster_name in named.items():
                if cluster_name in cluster_ids:
                    clusters[plan_id].add(cluster_ids[cluster_name])

    # Plans of `read_by` that were not asked for are left out.
    found = dict.fromkeys(ids, _EMPTY)
    for plan_id in (services.keys() | clusters.keys() | executors.keys()) & asked:
        found[plan_id] = Keys(
            _frozen(services.get(plan_id)), _frozen(clusters.get(plan_id)), _frozen(executors.get(plan_id))
        )
    return found


def labels(keys: Iterable[Keys]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Names of the services, clusters and parties the keys hold: three queries at most."""
    services: set[int] = set()
    clusters: set[int] = set()
    executors: set[int] = set()
    for key in keys:
        services |= key.services
        clusters |= key.clusters
        executors |= key.executors
    return (
        dict(Service.objects.filter(pk__in=services).values_list("pk", "display_name")) if services else {},
        dict(Cluster.objects.filter(pk__in=clusters).values_list("pk", "name")) if clusters else {},
        dict(Party.objects.filter(pk__in=executors).values_list("pk", "name")) if executors else {},
    )
