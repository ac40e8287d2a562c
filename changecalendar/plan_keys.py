"""What a plan touches: its services, its clusters and the people who do the work (docs/calendar.md, "Conflicts").

- services: the plan's affected services (PlanService);
- clusters: the cluster the plan's runbook parameter of cluster type names (PlanOrigin.parameters) and the
  clusters its steps' automation runs against (StepAutomation.cluster);
- executors: the parties of kind "person" doing its steps (Step.executor) or responsible for the whole work
  (Plan.responsible). A team or a contractor has many hands and may work on two changes at once; a person cannot.

`keys_for_plans` reads all of it in a fixed number of queries, whatever the number of plans.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from changeplans.choices import PartyKind
from changeplans.models import Party, Plan, PlanService, Service, Step
from runbooks.choices import ParameterType
from runbooks.models import Cluster, PlanOrigin, RunbookVersion, StepAutomation


@dataclass(frozen=True)
class Keys:
    services: frozenset[int] = frozenset()
    clusters: frozenset[int] = frozenset()
    executors: frozenset[int] = frozenset()


@dataclass
class _Builder:
    services: set[int] = field(default_factory=set)
    clusters: set[int] = field(default_factory=set)
    executors: set[int] = field(default_factory=set)

    def freeze(self) -> Keys:
        return Keys(frozenset(self.services), frozenset(self.clusters), frozenset(self.executors))


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
    built: dict[int, _Builder] = {plan_id: _Builder() for plan_id in ids}
    among: Any = ids if read_by is None else read_by.order_by().values("pk")

    def of(plan_id: int) -> _Builder:
        return built.get(plan_id) or _Builder()  # a plan of `read_by` that was not asked for

    for plan_id, service_id in PlanService.objects.filter(plan_id__in=among).values_list("plan_id", "service_id"):
        of(plan_id).services.add(service_id)

    for plan_id, cluster_id in StepAutomation.objects.filter(
        step__plan_id__in=among, cluster__isnull=False
    ).values_list("step__plan_id", "cluster_id"):
        of(plan_id).clusters.add(cluster_id)

    origins = [
        origin
        for origin in PlanOrigin.objects.filter(plan_id__in=among).values_list(
            "plan_id", "runbook_version_id", "parameters"
        )
        if origin[0] in built
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
                    built[plan_id].clusters.add(cluster_ids[cluster_name])

    for plan_id, party_id in (
        Step.objects.filter(plan_id__in=among, executor__kind=PartyKind.PERSON)
        .values_list("plan_id", "executor_id")
        .distinct()
    ):
        of(plan_id).executors.add(party_id)
    for plan_id, party_id in Plan.objects.filter(pk__in=among, responsible__kind=PartyKind.PERSON).values_list(
        "pk", "responsible_id"
    ):
        of(plan_id).executors.add(party_id)

    return {plan_id: builder.freeze() for plan_id, builder in built.items()}


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
