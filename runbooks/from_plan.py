"""«Сохранить как регламент»: a runbook made from a plan (the inverse of runbooks/instantiate.py).

Every step field but the Jira key, risks with their numbers and mitigations, rollback actions tied to
them, the executor's name (a party: a role or team text the next plan finds or creates), durations and
kinds; start times become offsets from the window start ("1 ч 30 мин", "-4 ч" for an announcement), or
are left to the runbook's sequential layout. The header keeps what the next plan of the same work reuses:
goal, kind, downtime, services, the announcement and banner texts, the window's length.

A step's automation is copied as a definition (runner, spec, timeout, start at the planned time) and
never as approved: a plan made from the runbook gets automation without approvals, and the runbook's
author is one of its writers (runbooks/four_eyes.py writer_ids), so a second person approves it again.
Its parameters become runbook parameters with the plan's values as defaults; the cluster it ran
against becomes the runbook's cluster parameter.

Repeated values (a cluster or host name) can be turned into parameters: every whole-word occurrence
in the texts and specs becomes {{ name }}.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from changeplans.choices import EventKind
from changeplans.history import record_event
from changeplans.models import ANNOUNCEMENT_INTRO, Plan, Step
from changeplans.permissions import can_view_plan

from . import definition as definitions
from . import library
from .choices import ParameterType, PlanEventState
from .instantiate import clean_value, spec_names
from .models import Cluster, RunbookVersion
from .runners.base import PLACEHOLDER, RAW_KEYS

TIMING_OFFSETS = "offsets"
TIMING_SEQUENTIAL = "sequential"
# The default announcement text in either language is left out of a runbook made from a plan.
DEFAULT_INTROS = frozenset({Plan._meta.get_field("announcement_intro").default, ANNOUNCEMENT_INTRO})


@dataclass
class Replacement:
    """A value of the plan the runbook asks for instead: its occurrences become {{ name }}."""

    name: str
    value: str


@dataclass
class Draft:
    """The runbook's definition and what the user should know about it."""

    definition: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def parse_replacements(text: str) -> tuple[list[Replacement], list[str]]:
    """Lines "name = value" (the form's field): (replacements, error messages naming the line)."""
    found, errors, names = [], [], set()
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            errors.append(_("Line %(n)d: write “name = value”, e.g. “cluster = prod-k8s”.") % {"n": number})
            continue
        if not definitions.NAME_RE.match(name) or name in definitions.RESERVED_NAMES:
            errors.append(
                _("Line %(n)d: “%(name)s” is not a parameter name: lower-case Latin letters, digits and “_”.")
                % {"n": number, "name": name}
            )
            continue
        if name in names:
            errors.append(_("Line %(n)d: parameter “%(name)s” is named twice.") % {"n": number, "name": name})
            continue
        _value, problem = clean_value({"type": ParameterType.STRING, "name": name}, value)
        if problem:
            errors.append(_("Line %(n)d: %(problem)s") % {"n": number, "problem": problem})
            continue
        names.add(name)
        found.append(Replacement(name, value))
    return found, errors


def _word(value: str) -> re.Pattern[str]:
    # A whole name: "prod-k8s" but not inside "prod-k8s-old" or "a.prod-k8s".
    return re.compile(r"(?<![\w.-])" + re.escape(value) + r"(?![\w-]|\.\w)")


def _replace_text(text: str, replacements: list[Replacement]) -> str:
    for item in replacements:
        text = _word(item.value).sub("{{ " + item.name + " }}", text)
    return text


def _replace_spec(spec: Any, replacements: list[Replacement]) -> Any:
    if isinstance(spec, dict):
        return {key: value if key in RAW_KEYS else _replace_spec(value, replacements) for key, value in spec.items()}
    if isinstance(spec, list):
        return [_replace_spec(value, replacements) for value in spec]
    if isinstance(spec, str):
        return _replace_text(spec, replacements)
    return spec


def _inline(spec: Any, values: dict[str, Any]) -> Any:
    """The spec with the placeholders of `values` written out (values that differ from step to step)."""
    if isinstance(spec, dict):
        return {key: value if key in RAW_KEYS else _inline(value, values) for key, value in spec.items()}
    if isinstance(spec, list):
        out: list[Any] = []
        for item in spec:
            whole = PLACEHOLDER.fullmatch(item.strip()) if isinstance(item, str) else None
            if whole and isinstance(values.get(whole.group(1)), (list, tuple)):
                out.extend(str(value) for value in values[whole.group(1)])
            else:
                out.append(_inline(item, values))
        return out
    if isinstance(spec, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(1) not in values:
                return match.group(0)
            value = values[match.group(1)]
            return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)

        return PLACEHOLDER.sub(replace, spec)
    return spec


def suggested_replacements(plan: Plan, steps: list[Step] | None = None) -> list[Replacement]:
    """The usual candidate for a parameter: the cluster the automation runs against, or a cluster name the
    plan's texts mention."""
    steps = _steps(plan) if steps is None else steps
    automated = [a.cluster.name for a in (_automation(step) for step in steps) if a is not None and a.cluster_id]
    if automated:
        return [Replacement("cluster", Counter(automated).most_common(1)[0][0])]
    texts = "\n".join([plan.title, plan.goal, *(_step_text(step) for step in steps)])
    named = [name for name in Cluster.objects.values_list("name", flat=True) if _word(name).search(texts)]
    return [Replacement("cluster", named[0])] if named else []


def _automation(step: Step) -> Any:
    try:
        return step.automation
    except Step.automation.RelatedObjectDoesNotExist:
        return None


def _step_text(step: Step) -> str:
    return "\n".join(
        [
            step.name,
            step.description,
            step.expected_result,
            step.risk_mitigation,
            step.affected_systems,
            *(risk.description for risk in step.risks.all()),
            *(action.text for action in step.rollback_actions.all()),
        ]
    )


def _steps(plan: Plan) -> list[Step]:
    return list(
        plan.steps.select_related("executor", "automation__cluster")
        .prefetch_related("risks", "rollback_actions__risks")
        .order_by("position", "id")
    )


def _offset(plan: Plan, step: Step) -> int | None:
    start = step.planned_start(plan.tz)
    if start is None:
        return None
    return round((start - plan.window_start).total_seconds() / 60)


def _risks(step: Step) -> list[dict[str, Any]]:
    """The step's risks; with their numbers only when they are not 1, 2, 3 … in order (the runbook's default)."""
    risks = list(step.risks.all())
    numbered = [risk.number for risk in risks] != list(range(1, len(risks) + 1))
    out = []
    for risk in risks:
        item: dict[str, Any] = {"description": risk.description, "mitigation": risk.mitigation}
        if numbered:
            item = {"number": risk.number, **item}
        out.append(item)
    return out


def _automation_parameters(steps: list[Step]) -> dict[str, Any]:
    """Automation parameter name → its value when every step that uses it has the same one (a runbook
    parameter with that default); names whose values differ are written into each step's spec instead."""
    seen: dict[str, set[str]] = {}
    values: dict[str, Any] = {}
    for step in steps:
        automation = _automation(step)
        if automation is None:
            continue
        for name in spec_names(automation.spec):
            if name in (automation.params or {}):
                value = automation.params[name]
                seen.setdefault(name, set()).add(repr(value))
                values[name] = value
    shared = {}
    for name, kinds in seen.items():
        value = values[name]
        if len(kinds) != 1 or isinstance(value, (bool, list, tuple, dict)) or not definitions.NAME_RE.match(name):
            continue
        if clean_value({"type": ParameterType.STRING, "name": name}, value)[1] is None:
            shared[name] = value
    return shared


def draft_from_plan(
    plan: Plan,
    *,
    title: str,
    description: str = "",
    slug: str = "",
    replacements: list[Replacement] | None = None,
    timing: str = TIMING_OFFSETS,
    steps: list[Step] | None = None,
) -> Draft:
    """The runbook definition of `plan` (not saved). A fixed number of queries whatever the plan's size."""
    steps = _steps(plan) if steps is None else steps
    replacements = list(replacements or [])
    notes: list[str] = []
    automations = [a for a in (_automation(step) for step in steps) if a is not None]
    clusters = Counter(a.cluster.name for a in automations if a.cluster_id)
    main = clusters.most_common(1)[0][0] if clusters else None
    if main is None:  # no automation cluster: the first value the user named that is a cluster
        known = set(Cluster.objects.filter(name__in=[r.value for r in replacements]).values_list("name", flat=True))
        main = next((r.value for r in replacements if r.value in known), None)
    # One cluster parameter at most: the one whose value is the automation's cluster; other values are text.
    parameters = [_parameter(r.name, r.value, cluster=r.value == main) for r in replacements]
    if clusters and not any(p["type"] == ParameterType.CLUSTER for p in parameters):
        taken = {p["name"] for p in parameters}
        name = "cluster" if "cluster" not in taken else "automation_cluster"
        parameters.append(_parameter(name, main, cluster=True))
    if len(clusters) > 1 or (clusters and len(automations) > sum(clusters.values())):
        notes.append(
            _(
                "The plan's automation ran against different clusters (%(names)s): a runbook runs all its"
                " automation against one, the cluster parameter (default %(main)s)."
            )
            % {"names": ", ".join(sorted(clusters)), "main": main}
        )
    # Automation parameters with one value across the plan become runbook parameters; the rest are written out.
    taken = {p["name"] for p in parameters}
    kept = {name: value for name, value in _automation_parameters(steps).items() if name not in taken}
    parameters += [_parameter(name, value) for name, value in sorted(kept.items())]

    def text(value: str) -> str:
        return _replace_text(value or "", replacements)

    out_steps = []
    for step in steps:
        risks = _risks(step)
        item: dict[str, Any] = {
            "name": text(step.name),
            "description": text(step.description),
            "expected_result": text(step.expected_result),
            "risk_mitigation": text(step.risk_mitigation),
            "affected_systems": text(step.affected_systems),
            "planned_downtime": text(step.planned_downtime),
            "executor": step.executor.name if step.executor is not None else "",
            "jira_key": "",
            "duration": step.duration_text,
            "kind": step.kind,
            "no_rollback_needed": step.no_rollback_needed and not step.rollback_actions.all(),
            "risks": [{**r, "description": text(r["description"]), "mitigation": text(r["mitigation"])} for r in risks],
            "rollback": [
                {"text": text(action.text), "risks": sorted(r.number for r in action.risks.all())}
                for action in step.rollback_actions.all()
            ],
            "automation": None,
        }
        offset = _offset(plan, step)
        if offset is not None and (timing == TIMING_OFFSETS or offset < 0):
            item["start_offset"] = definitions.format_offset(offset)
        automation = _automation(step)
        if automation is not None:
            spec = _inline(automation.spec, {k: v for k, v in (automation.params or {}).items() if k not in kept})
            item["automation"] = {
                "kind": automation.kind,
                "spec": _replace_spec(spec, replacements),
                "timeout": automation.timeout_seconds,
                "start_at_planned_time": automation.start_at_planned_time,
            }
        out_steps.append(item)

    head: dict[str, Any] = {
        **definitions.PLAN_DEFAULTS,
        "goal": text(plan.goal),
        "kind": plan.kind,
        "downtime": plan.downtime_text,
        "client_impact": plan.client_impact,
        "banner": plan.banner_needed,
        "window": definitions.format_offset(round((plan.window_end - plan.window_start).total_seconds() / 60)),
    }
    for key in definitions.PLAN_TEXT_KEYS:
        value = getattr(plan, key)
        if value and not (key == "announcement_intro" and value in DEFAULT_INTROS):
            head[key] = text(value)
    services = [
        {"service": ps.service.name, "availability": ps.availability}
        for ps in plan.plan_services.select_related("service").order_by("id")
    ]
    if services:
        head["services"] = services
    definition = {
        "slug": slug,
        "title": text(title),
        "description": text(description),
        "plan": head,
        "parameters": parameters,
        "steps": out_steps,
    }
    return Draft(definition, notes)


def _parameter(name: str, value: Any, *, cluster: bool = False) -> dict[str, Any]:
    if cluster:
        ptype = ParameterType.CLUSTER
    elif isinstance(value, int):
        ptype = ParameterType.INTEGER
    else:
        ptype = ParameterType.STRING
    return {"name": name, "type": ptype.value, "label": name, "required": True, "help": "", "default": value}


def refusal(user: Any, plan: Plan) -> str | None:
    """Why `user` may not save `plan` as a runbook, or None."""
    if not can_view_plan(user, plan):
        return _("You may not see this plan.")
    if not library.can_write_runbooks(user):
        return _("Only authors, operators and administrators can write runbooks.")
    return None


@transaction.atomic
def save_as_runbook(
    plan_id: int,
    *,
    actor: Any,
    title: str,
    description: str = "",
    slug: str = "",
    replacements: list[Replacement] | None = None,
    timing: str = TIMING_OFFSETS,
) -> tuple[RunbookVersion, list[str]]:
    """A new user runbook from the plan; its first version and the plan's history say where it came from.

    Raises PermissionDenied (see `refusal`) or definition.DefinitionError (e.g. a text with "{{ … }}"
    that is not a parameter, or a slug taken). Returns (version, notes for the user).
    """
    plan = Plan.objects.get(pk=plan_id)
    reason = refusal(actor, plan)
    if reason:
        raise PermissionDenied(reason)
    slug = slug or library.unique_slug(f"plan-{plan.pk}")
    draft = draft_from_plan(
        plan, title=title, description=description, slug=slug, replacements=replacements, timing=timing
    )
    source = definitions.dump(draft.definition)
    comment = _("From plan %(id)s “%(title)s”") % {"id": plan.pk, "title": plan.title[:200]}
    version = library.create_runbook(source, actor=actor, comment=comment)
    record_event(
        plan,
        actor=actor,
        kind=EventKind.TRANSITION,
        obj=version.runbook,
        to_status=PlanEventState.SAVED_AS_RUNBOOK,
        comment=_("Runbook “%(title)s” (%(slug)s), version %(number)d")
        % {"title": version.runbook.title, "slug": version.runbook.slug, "number": version.number},
    )
    return version, draft.notes


def source_of(plan: Plan, **kwargs: Any) -> str:
    """The YAML a save would store (shown when the runbook cannot be saved as it is)."""
    return definitions.dump(draft_from_plan(plan, **kwargs).definition)
