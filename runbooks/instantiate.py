"""A plan from a runbook version: typed parameter values, texts rendered, for_each blocks expanded.

The automation spec is stored unrendered (placeholders kept); StepAutomation.params holds the values
it needs, and the runner fills them at run time through runners.base.fill. Values that fill would
refuse (a leading "-", control characters) are refused here already, so a bad node name never
reaches a plan.
"""

import datetime
import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from changeplans import services as plan_services
from changeplans.choices import PlanKind, StepKind
from changeplans.durations import parse_duration
from changeplans.lint import LONG_STEP_MINUTES
from changeplans.models import PlanService, Risk, RollbackAction, Service, Step
from changeplans.services import get_or_create_party

from . import display
from .choices import ParameterType
from .definition import (
    ANY_PLACEHOLDER,
    IDENT_RE,
    PLAN_TEXT_KEYS,
    VERSION_RE,
    offset_minutes,
    risk_numbers,
    slack_minutes,
)
from .models import Cluster, PlanOrigin, Runbook, StepAutomation, named_cluster

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
UTC = datetime.UTC


class ParameterError(Exception):
    """Parameter values that do not fit the runbook; `errors` maps a parameter name to its message."""

    def __init__(self, errors):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors.items()))


def _unsafe(text):
    if text.startswith("-"):
        return _("“%(value)s” is refused: a value starting with “-” would be read as an option.") % {"value": text[:80]}
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return _("line breaks and control characters are not allowed.")
    return None


def split_nodes(raw):
    """Node names from a textarea: one a line or separated by commas."""
    if isinstance(raw, (list, tuple)):
        items = raw
    else:
        items = re.split(r"[\n,]", str(raw or ""))
    return [str(item).strip() for item in items if str(item).strip()]


def clean_value(param, raw):
    """(value, error message or None) for one parameter."""
    ptype = param["type"]
    if ptype == ParameterType.NODE_LIST:
        nodes = split_nodes(raw)
        if not nodes:
            return [], (_("This parameter is required.") if param.get("required", True) else None)
        for node in nodes:
            problem = _unsafe(node)
            if problem:
                return nodes, problem
            if len(node) > 253 or not DNS_SUBDOMAIN.match(node):
                return nodes, _(
                    "“%(node)s” is not a node name: use lower-case Latin letters, digits, “-” and “.” (RFC 1123)."
                ) % {"node": node[:80]}
        duplicates = sorted({node for node in nodes if nodes.count(node) > 1})
        if duplicates:
            return nodes, _("Node %(nodes)s is listed twice.") % {"nodes": ", ".join(duplicates)}
        return nodes, None
    text = "" if raw is None else str(raw).strip()
    if not text:
        return "", (_("This parameter is required.") if param.get("required", True) else None)
    problem = _unsafe(text)
    if problem:
        return text, problem
    if ptype == ParameterType.INTEGER:
        if not re.fullmatch(r"\d+", text):
            return text, _("Enter a whole number.")
        return int(text), None
    if ptype == ParameterType.VERSION and not VERSION_RE.match(text):
        return text, _("Enter a version such as 1.30 or 1.30.2.")
    if ptype == ParameterType.NAMESPACE and (len(text) > 63 or not DNS_LABEL.match(text)):
        return text, _("A namespace is lower-case Latin letters, digits and “-”, up to 63 characters.")
    if ptype == ParameterType.CHOICE and text not in param.get("choices", []):
        return text, _("Choose one of: %(choices)s.") % {"choices": ", ".join(param.get("choices", []))}
    if ptype == ParameterType.CLUSTER and not Cluster.objects.filter(name=text).exists():
        return text, _("Cluster “%(name)s” does not exist.") % {"name": text}
    return text, None


def clean_parameters(definition, raw):
    """Typed values for every parameter of the definition (defaults applied); raises ParameterError."""
    values, errors = {}, {}
    for param in definition.get("parameters", []):
        given = raw.get(param["name"])
        if given in (None, "", []) and param.get("default") not in (None, ""):
            given = param["default"]
        value, error = clean_value(param, given)
        values[param["name"]] = value
        if error:
            errors[param["name"]] = error
    if errors:
        raise ParameterError(errors)
    return values


def render(text, values):
    """Texts: {{ name }} becomes its value; a list reads "a, b, c"."""

    def replace(match):
        ident = IDENT_RE.match(match.group(1))
        if not ident or ident.group(1) not in values:
            return match.group(0)
        value = values[ident.group(1)]
        return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)

    return ANY_PLACEHOLDER.sub(replace, text or "")


def spec_names(spec):
    """Parameter names a spec uses (secrets left out)."""
    from .runners.base import RAW_KEYS

    found = set()
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key not in RAW_KEYS:
                found |= spec_names(value)
    elif isinstance(spec, list):
        for value in spec:
            found |= spec_names(value)
    elif isinstance(spec, str):
        for match in ANY_PLACEHOLDER.finditer(spec):
            ident = IDENT_RE.match(match.group(1))
            if ident:
                found.add(ident.group(1))
    return found


def expand(definition, values):
    """The steps in plan order: (step template, values in scope incl. the loop variable)."""
    out = []
    for item in definition.get("steps", []):
        if "for_each" in item:
            for node in values.get(item["for_each"]) or []:
                scope = {**values, item["as"]: node}
                out.extend((step, scope) for step in item["steps"])
        else:
            out.append((item, values))
    return out


def _max_minutes(text):
    duration = parse_duration(text) if text else None
    return duration.max_minutes if duration else 0


def needs_slack(step, minutes):
    """A step the plan check wants room after (changeplans.lint.check_slack): one with risks, or a long one."""
    return step["kind"] != StepKind.ANNOUNCEMENT and (bool(step["risks"]) or minutes >= LONG_STEP_MINUTES)


def step_slack(plan, step, minutes):
    """Minutes left free after the step when the next one is laid out after it (0: none needed)."""
    return slack_minutes(plan.get("slack"), minutes) if needs_slack(step, minutes) else 0


def _layout(definition, expanded, window_start, tz):
    """Planned start of each step (aware UTC datetime or None) and the minutes the work needs.

    A step with a `start_offset` starts that long after the window start; an announcement
    `announce_before` ahead of the window; every other step when the steps before it have ended plus
    the slack after a step with risks or a long one (`plan.slack`, DEFAULT_SLACK), so the plan check
    finds room after each of them. Arithmetic in UTC so a DST change inside the window does not shift steps.
    """
    plan = definition["plan"]
    if plan.get("schedule") == "none":
        total = 0
        for step, _scope in expanded:
            minutes = _max_minutes(step["duration"])
            total += minutes + step_slack(plan, step, minutes)
        return [None] * len(expanded), total
    start = window_start.astimezone(UTC)
    before = datetime.timedelta(minutes=_max_minutes(plan.get("announce_before")))
    cursor = start  # when the next step laid out in turn may start
    starts = []
    for step, _scope in expanded:
        minutes = _max_minutes(step["duration"])
        if step.get("start_offset"):
            at = start + datetime.timedelta(minutes=offset_minutes(step["start_offset"]))
        elif step["kind"] == StepKind.ANNOUNCEMENT:
            at = start - before
        else:
            at = cursor
        starts.append(at)
        if step["kind"] != StepKind.ANNOUNCEMENT:
            cursor = max(cursor, at + datetime.timedelta(minutes=minutes + step_slack(plan, step, minutes)))
    return starts, round((cursor - start).total_seconds() / 60)


def _services(head):
    """(service, availability) of the runbook's `plan.services`; ValidationError naming the unknown ones."""
    wanted = head.get("services") or []
    if not wanted:
        return []
    found = {service.name: service for service in Service.objects.filter(name__in=[w["service"] for w in wanted])}
    missing = [w["service"] for w in wanted if w["service"] not in found]
    if missing:
        raise ValidationError(
            _("The runbook names services that do not exist: %(names)s. Edit the runbook or add the services.")
            % {"names": ", ".join(missing)}
        )
    return [(found[w["service"]], w["availability"]) for w in wanted]


@transaction.atomic
def create_plan(version, params, *, actor, window_start, window_end=None, time_zone=None):
    """A draft plan from `version` (a RunbookVersion) with `params` (raw values by parameter name).

    The plan itself is made by changeplans.services.create_plan (who may, the history entry); its steps,
    risks and automation are added here in the same transaction.
    """
    definition = version.definition
    values = clean_parameters(definition, params or {})
    time_zone = time_zone or settings.TIME_ZONE
    tz = zoneinfo.ZoneInfo(time_zone)
    if window_start.tzinfo is None:
        window_start = window_start.replace(tzinfo=tz)
    expanded = expand(definition, values)
    services = _services(definition["plan"])
    starts, total = _layout(definition, expanded, window_start, tz)
    if window_end is None:
        minutes = max(total, _max_minutes(definition["plan"].get("window")), 1)
        window_end = window_start + datetime.timedelta(minutes=minutes)
    elif window_end.tzinfo is None:
        window_end = window_end.replace(tzinfo=tz)

    head = definition["plan"]
    header = {
        "title": render(definition["title"], values)[:300],
        "goal": render(head.get("goal"), values),
        # STANDARD only from the runbook's marked version (_make_standard), never from the YAML alone
        "kind": PlanKind.NORMAL if head.get("kind") == PlanKind.STANDARD else head.get("kind") or PlanKind.NORMAL,
        "time_zone": time_zone,
        "window_start": window_start,
        "window_end": window_end,
        "downtime_text": head.get("downtime", ""),
        "client_impact": head.get("client_impact", False),
        "banner_needed": head.get("banner", False),
        **{key: render(head[key], values) for key in PLAN_TEXT_KEYS if head.get(key)},
    }
    for key in ("announcement_subject",):
        if key in header:
            header[key] = header[key][:300]
    created = _("Created from runbook “%(title)s” (%(slug)s), version %(number)d.") % {
        "title": display.title(definition, version.runbook.title),
        "slug": version.runbook.slug,
        "number": version.number,
    }
    plan = plan_services.create_plan(actor=actor, data=header, comment=created)
    PlanService.objects.bulk_create(
        PlanService(plan=plan, service=service, availability=availability) for service, availability in services
    )

    cluster = named_cluster(definition, values)
    window_date = window_start.astimezone(tz).date()
    for position, ((template, scope), start) in enumerate(zip(expanded, starts, strict=True), start=1):
        local = start.astimezone(tz) if start is not None else None
        step = Step(
            plan=plan,
            position=position,
            kind=template["kind"],
            name=render(template["name"], scope)[:300],
            description=render(template["description"], scope),
            expected_result=render(template["expected_result"], scope),
            risk_mitigation=render(template["risk_mitigation"], scope),
            affected_systems=render(template["affected_systems"], scope),
            planned_downtime=render(template["planned_downtime"], scope)[:100],
            jira_key=render(template["jira_key"], scope)[:50],
            executor=get_or_create_party(render(template["executor"], scope)),
            planned_date=local.date() if local else window_date,
            planned_time=local.time().replace(second=0, microsecond=0) if local else None,
            no_rollback_needed=template["no_rollback_needed"]
            or not template["rollback"]
            and template["kind"] != StepKind.WORK,
        )
        step.set_duration(template["duration"])
        step.save()
        risks = {
            number: Risk.objects.create(
                step=step,
                number=number,
                description=render(risk["description"], scope),
                mitigation=render(risk["mitigation"], scope),
            )
            for number, risk in zip(risk_numbers(template), template["risks"], strict=True)
        }
        for index, action in enumerate(template["rollback"], start=1):
            row = RollbackAction.objects.create(step=step, position=index, text=render(action["text"], scope))
            row.risks.set([risks[number] for number in action["risks"]])
        automation = template.get("automation")
        if automation:
            needed = spec_names(automation["spec"])
            StepAutomation.objects.create(
                step=step,
                kind=automation["kind"],
                cluster=cluster,
                spec=automation["spec"],
                params={name: scope[name] for name in sorted(needed) if name in scope},
                timeout_seconds=automation.get("timeout") or settings.OKNO_AUTOMATION_TIMEOUT_SECONDS,
                start_at_planned_time=automation.get("start_at_planned_time", False),
            )
    origin = PlanOrigin.objects.create(plan=plan, runbook_version=version, parameters=values, cluster=cluster)
    if Runbook.objects.filter(pk=version.runbook_id, standard_version_id=version.pk).exists():
        _make_standard(plan, origin)
    return plan


def _make_standard(plan, origin):
    """A plan from the runbook's standard version: STANDARD, the duty officer's acknowledgement as its matrix,
    the fingerprint of its steps as made (runbooks.standard)."""
    from changeplans.models import Plan

    from . import standard

    plan.kind = PlanKind.STANDARD
    Plan.objects.filter(pk=plan.pk).update(kind=plan.kind)
    standard.add_duty_acknowledgement(plan)
    origin.standard_fingerprint = standard.fingerprint(plan)
    origin.save(update_fields=["standard_fingerprint"])
