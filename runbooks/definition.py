"""The runbook YAML format: parse, validate, normalise, dump (docs/runbooks.md).

`parse(text)` returns the normalised definition (a plain dict, stored in RunbookVersion.definition) or
raises DefinitionError whose `problems` each carry the YAML path ("steps[3].duration") and, when the
composer knows it, the line number. `dump(definition)` writes YAML that parses back to the same dict.
"""

import math
import re
from dataclasses import dataclass

import yaml
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from changeplans.choices import Availability, PlanKind, StepKind
from changeplans.durations import parse_downtime, parse_duration
from changeplans.limits import MAX_SMALL_NUMBER
from common.text import normalize_newlines

from . import runners, yaml_safe
from .choices import ParameterType
from .runners.base import AutomationError

NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ANY_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
IDENT_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
SECRET_RE = re.compile(r"^\s*secret\.([A-Za-z0-9_-]+)\s*$")
VERSION_RE = re.compile(r"^v?\d+\.\d+(?:\.\d+)?$")
RESERVED_NAMES = {"secret"}

TEXT_STEP_FIELDS = (
    "description",
    "expected_result",
    "risk_mitigation",
    "affected_systems",
    "planned_downtime",
    "executor",
    "jira_key",
)
STEP_KEYS = {
    "name",
    "duration",
    "kind",
    "no_rollback_needed",
    "risks",
    "rollback",
    "automation",
    "start_offset",
    *TEXT_STEP_FIELDS,
}
BLOCK_KEYS = {"for_each", "as", "steps"}
TOP_KEYS = {"slug", "title", "description", "plan", "parameters", "steps"}
PLAN_DEFAULTS = {
    "goal": "",
    "kind": PlanKind.NORMAL.value,
    "downtime": "",
    "client_impact": False,
    "banner": False,
    "window": "",
    "announce_before": "4 часа",
    "schedule": "sequential",
}
# Optional plan keys: in the normalised definition only when given, so definitions saved before they
# existed (and the shipped library) stay equal to what they parse to now.
PLAN_TEXT_KEYS = ("announcement_subject", "announcement_intro", "announcement_from", "banner_text", "mailing_list")
OPTIONAL_PLAN_KEYS = {"slack", "services", *PLAN_TEXT_KEYS}
# Slack left after a step with risks or a long one when steps are laid out one after another:
# a share of the step's maximum duration, rounded up to 5 minutes (docs/runbooks.md).
DEFAULT_SLACK = "20%"
SLACK_ROUNDING_MINUTES = 5
PARAMETER_KEYS = {"name", "type", "label", "label_en", "required", "default", "choices", "help", "help_en"}
# The English UI shows label_en/help_en when given; only present in the normalised definition when given.
PARAMETER_ENGLISH_KEYS = ("label_en", "help_en")
AUTOMATION_KEYS = {"kind", "spec", "timeout", "start_at_planned_time"}
SCHEDULES = ("sequential", "none")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def __str__(self):
        where = self.path or _("document")
        if self.line:
            return _("%(path)s (line %(line)d): %(message)s") % {
                "path": where,
                "line": self.line,
                "message": self.message,
            }
        return f"{where}: {self.message}"


class DefinitionError(Exception):
    """The YAML cannot become a runbook; `problems` says where and why."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def messages(self):
        return [str(p) for p in self.problems]


def _path(parts):
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _line_map(root):
    """YAML path tuple → 1-based line, from the composer's node marks (safe_load forgets them).

    `root` comes from yaml_safe.compose: no aliases, a bounded number of nodes, so the walk is bounded too.
    """
    lines = {}

    def walk(node, parts):
        lines[parts] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines[parts + (key.value,)] = key.start_mark.line + 1
                    walk(value, parts + (key.value,))
                    lines[parts + (key.value,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, parts + (index,))

    if root is not None:
        walk(root, ())
    return lines


class _Checker:
    def __init__(self, lines):
        self.lines = lines
        self.problems = []

    def error(self, parts, message):
        line = None
        probe = tuple(parts)
        while probe and line is None:  # the nearest node the composer saw
            line = self.lines.get(probe)
            probe = probe[:-1]
        self.problems.append(Problem(_path(parts), message, line))

    # Scalars -------------------------------------------------------------------------------------

    def text(self, data, key, parts, default="", required=False):
        value = data.get(key, default)
        if value is None:
            value = default
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            self.error(parts + [key], _("must be text."))
            return default
        value = str(value).strip() if not isinstance(value, str) else value.strip()
        if required and not value:
            self.error(parts + [key], _("is required."))
        return value

    def boolean(self, data, key, parts, default=False):
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(parts + [key], _("must be true or false."))
            return default
        return value

    def unknown_keys(self, data, allowed, parts):
        for key in data:
            if key not in allowed:
                self.error(
                    parts + [key],
                    _("unknown field “%(key)s”; allowed: %(allowed)s.")
                    % {"key": key, "allowed": ", ".join(sorted(allowed))},
                )

    def duration(self, value, parts, parse=None):
        if not value:
            return
        try:
            (parse or parse_duration)(value)
        except ValidationError as exc:
            self.error(parts, " ".join(exc.messages))

    # Placeholders --------------------------------------------------------------------------------

    def placeholders(self, text, parts, names, allow_secrets=False):
        for match in ANY_PLACEHOLDER.finditer(text or ""):
            inner = match.group(1)
            ident = IDENT_RE.match(inner)
            if ident:
                if ident.group(1) not in names:
                    self.error(
                        parts,
                        _("{{ %(name)s }} is neither a parameter nor a loop variable here.") % {"name": ident.group(1)},
                    )
            elif SECRET_RE.match(inner):
                if not allow_secrets:
                    self.error(parts, _("secrets ({{ secret.NAME }}) may be used only in automation, never in texts."))
            else:
                self.error(parts, _("“%(text)s” is not a placeholder: write {{ name }}.") % {"text": match.group(0)})

    def spec_placeholders(self, spec, parts, names):
        from .runners.base import RAW_KEYS

        if isinstance(spec, dict):
            for key, value in spec.items():
                if key not in RAW_KEYS:
                    self.spec_placeholders(value, parts + [key], names)
        elif isinstance(spec, list):
            for index, value in enumerate(spec):
                self.spec_placeholders(value, parts + [index], names)
        elif isinstance(spec, str):
            self.placeholders(spec, parts, names, allow_secrets=True)


def offset_minutes(text):
    """Minutes from the window start of a step's `start_offset` ("1 ч 30 мин", "-4 ч", "0"); ValidationError."""
    text = (text or "").strip()
    sign = -1 if text.startswith("-") else 1
    rest = text.lstrip("+-").strip()
    if rest in ("0", "0 мин"):
        return 0
    duration = parse_duration(rest)
    if duration is None:
        raise ValidationError(_("Write a duration from the window start, e.g. “1 ч 30 мин” or “-4 ч”."))
    if duration.is_range:
        raise ValidationError(_("A start offset is one moment, not a range: write e.g. “1 ч 30 мин”."))
    return sign * duration.max_minutes


def format_offset(minutes):
    """ "1 ч 30 мин", "-4 ч", "0": a text `offset_minutes` reads back (written in Russian, as the library is)."""
    if minutes == 0:
        return "0"
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    parts = ([f"{hours} ч"] if hours else []) + ([f"{rest} мин"] if rest else [])
    return sign + " ".join(parts)


def parse_slack(text):
    """("percent", share) or ("minutes", n) for a `slack` text: "20%", "15 мин", "0"; ValidationError."""
    text = (text or DEFAULT_SLACK).strip()
    if text.endswith("%"):
        number = text[:-1].strip().replace(",", ".")
        try:
            share = float(number)
        except ValueError:
            share = -1.0
        if not 0 <= share <= 100:
            raise ValidationError(
                _("Write the slack as a share from 0 to 100 percent, e.g. “20%”, or as a duration, e.g. “15 мин”.")
            )
        return "percent", share
    if text in ("0", "0 мин"):
        return "minutes", 0
    duration = parse_duration(text)
    return "minutes", duration.max_minutes if duration else 0


def slack_minutes(slack, step_minutes):
    """The room left after a step of `step_minutes` (maximum): a share rounded up to 5 min (at least 5 min
    when the share is not 0), or a fixed duration."""
    how, value = parse_slack(slack)
    if how == "minutes":
        return int(value)
    if value <= 0 or step_minutes <= 0:
        return 0
    raw = step_minutes * value / 100
    return max(1, math.ceil(raw / SLACK_ROUNDING_MINUTES)) * SLACK_ROUNDING_MINUTES


def risk_numbers(step):
    """The numbers of a step's risks: as written, or 1, 2, 3 … in order."""
    return [risk.get("number") or index for index, risk in enumerate(step.get("risks", []), start=1)]


def _check_parameter_value(ptype, value, choices):
    """A message when a default value does not fit the parameter's type, else None."""
    text = str(value)
    if ptype == ParameterType.INTEGER:
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", text.strip()):
            return _("must be a whole number.")
    elif ptype == ParameterType.VERSION and not VERSION_RE.match(text.strip()):
        return _("must be a version such as 1.30 or 1.30.2.")
    elif ptype == ParameterType.CHOICE and text not in [str(c) for c in choices]:
        return _("must be one of: %(choices)s.") % {"choices": ", ".join(map(str, choices))}
    return None


def _parameters(checker, raw):
    params = []
    if raw is None:
        return params
    if not isinstance(raw, list):
        checker.error(["parameters"], _("must be a list."))
        return params
    seen = set()
    types = [t.value for t in ParameterType]
    for index, item in enumerate(raw):
        parts = ["parameters", index]
        if not isinstance(item, dict):
            checker.error(parts, _("must be a mapping with name and type."))
            continue
        checker.unknown_keys(item, PARAMETER_KEYS, parts)
        name = checker.text(item, "name", parts, required=True)
        if name and (not NAME_RE.match(name) or name in RESERVED_NAMES):
            checker.error(
                parts + ["name"],
                _("“%(name)s” is not a valid name: use lower-case letters, digits and “_”, starting with a letter.")
                % {"name": name},
            )
        elif name in seen:
            checker.error(parts + ["name"], _("parameter “%(name)s” is declared twice.") % {"name": name})
        seen.add(name)
        ptype = checker.text(item, "type", parts, default=ParameterType.STRING.value)
        if ptype not in types:
            checker.error(
                parts + ["type"],
                _("unknown type “%(type)s”; allowed: %(types)s.") % {"type": ptype, "types": ", ".join(types)},
            )
        param = {
            "name": name,
            "type": ptype,
            "label": checker.text(item, "label", parts) or name,
            "required": checker.boolean(item, "required", parts, default=True),
            "help": checker.text(item, "help", parts),
        }
        for key in PARAMETER_ENGLISH_KEYS:
            if english := checker.text(item, key, parts):
                param[key] = english
        choices = item.get("choices")
        if ptype == ParameterType.CHOICE:
            if not isinstance(choices, list) or not choices or any(isinstance(c, (dict, list)) for c in choices):
                checker.error(parts + ["choices"], _("a choice parameter needs a list of choices."))
                choices = []
            param["choices"] = [str(c) for c in choices]
        elif choices is not None:
            checker.error(parts + ["choices"], _("only a choice parameter has choices."))
        if "default" in item and item["default"] is not None:
            default = item["default"]
            if ptype == ParameterType.NODE_LIST and isinstance(default, list):
                default = [str(v) for v in default]
            elif isinstance(default, (dict, list)):
                checker.error(parts + ["default"], _("must be a single value."))
                default = None
            elif ptype == ParameterType.INTEGER and not isinstance(default, bool) and isinstance(default, int):
                pass
            else:
                default = str(default)
            if default is not None and ptype in types:
                problem = _check_parameter_value(ptype, default, param.get("choices", []))
                if problem:
                    checker.error(parts + ["default"], problem)
            if default is not None:
                param["default"] = (
                    int(default)
                    if ptype == ParameterType.INTEGER and isinstance(default, str) and re.fullmatch(r"-?\d+", default)
                    else default
                )
        params.append(param)
    clusters = [p["name"] for p in params if p["type"] == ParameterType.CLUSTER]
    if len(clusters) > 1:
        checker.error(
            ["parameters"],
            _("at most one cluster parameter: the automation of every step runs against it (%(names)s).")
            % {"names": ", ".join(clusters)},
        )
    return params


def _automation(checker, raw, parts, names):
    if not isinstance(raw, dict):
        checker.error(parts, _("must be a mapping with kind and spec."))
        return None
    checker.unknown_keys(raw, AUTOMATION_KEYS, parts)
    kind = checker.text(raw, "kind", parts, required=True)
    spec = raw.get("spec")
    if not isinstance(spec, dict):
        checker.error(parts + ["spec"], _("must be a mapping (see the spec formats in docs/runbooks.md)."))
        spec = {}
    automation = {"kind": kind, "spec": spec}
    if raw.get("timeout") is not None:
        timeout = raw["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
            checker.error(parts + ["timeout"], _("must be a positive number of seconds."))
        else:
            automation["timeout"] = timeout
    automation["start_at_planned_time"] = checker.boolean(raw, "start_at_planned_time", parts)
    checker.spec_placeholders(spec, parts + ["spec"], names)
    if kind:
        runner = runners.RUNNERS.get(kind)
        if runner is None:
            known = ", ".join(sorted(runners.RUNNERS)) or "—"
            checker.error(
                parts + ["kind"],
                _("unknown automation kind “%(kind)s”; available: %(kinds)s.") % {"kind": kind, "kinds": known},
            )
        else:
            try:
                runner.check(spec)
            except AutomationError as exc:
                checker.error(parts + ["spec"], str(exc))
    return automation


def _risks(checker, raw, parts, names):
    risks = []
    if raw is None:
        return risks
    if not isinstance(raw, list):
        checker.error(parts, _("must be a list."))
        return risks
    for index, item in enumerate(raw):
        item_parts = parts + [index]
        if isinstance(item, str):
            item = {"description": item}
        if not isinstance(item, dict):
            checker.error(item_parts, _("must be text or a mapping with description and mitigation."))
            continue
        checker.unknown_keys(item, {"number", "description", "mitigation"}, item_parts)
        risk = {
            "description": checker.text(item, "description", item_parts, required=True),
            "mitigation": checker.text(item, "mitigation", item_parts),
        }
        for key, value in risk.items():
            checker.placeholders(value, item_parts + [key], names)
        number = item.get("number")
        if number is not None:
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_SMALL_NUMBER:
                checker.error(
                    item_parts + ["number"],
                    _("a risk number is a whole number from 1 to %(max)d.") % {"max": MAX_SMALL_NUMBER},
                )
            else:
                risk = {"number": number, **risk}
        risks.append(risk)
    numbers = risk_numbers({"risks": risks})
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        checker.error(
            parts,
            _("risk numbers %(numbers)s are used twice (a risk without a number takes its place in the list).")
            % {"numbers": ", ".join(map(str, repeated))},
        )
    return risks


def _rollback(checker, raw, parts, names, numbers_known):
    actions = []
    if raw is None:
        return actions
    if not isinstance(raw, list):
        checker.error(parts, _("must be a list."))
        return actions
    for index, item in enumerate(raw):
        item_parts = parts + [index]
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            checker.error(item_parts, _("must be text or a mapping with text and risks."))
            continue
        checker.unknown_keys(item, {"text", "risks"}, item_parts)
        text = checker.text(item, "text", item_parts, required=True)
        checker.placeholders(text, item_parts + ["text"], names)
        numbers = item.get("risks") or []
        if isinstance(numbers, int) and not isinstance(numbers, bool):
            numbers = [numbers]
        if not isinstance(numbers, list) or any(isinstance(n, bool) or not isinstance(n, int) for n in numbers):
            checker.error(item_parts + ["risks"], _("must be a list of risk numbers."))
            numbers = []
        missing = [n for n in numbers if n not in numbers_known]
        if missing:
            checker.error(
                item_parts + ["risks"],
                _("risk numbers %(numbers)s do not exist: the step has %(count)d risks.")
                % {"numbers": ", ".join(map(str, missing)), "count": len(numbers_known)},
            )
        actions.append({"text": text, "risks": list(numbers)})
    return actions


def _step(checker, raw, parts, names):
    checker.unknown_keys(raw, STEP_KEYS, parts)
    step = {"name": checker.text(raw, "name", parts, required=True)}
    for field in TEXT_STEP_FIELDS:
        step[field] = checker.text(raw, field, parts)
    step["duration"] = checker.text(raw, "duration", parts)
    checker.duration(step["duration"], parts + ["duration"])
    step["kind"] = checker.text(raw, "kind", parts, default=StepKind.WORK.value)
    kinds = [k.value for k in StepKind]
    if step["kind"] not in kinds:
        checker.error(
            parts + ["kind"],
            _("unknown step kind “%(kind)s”; allowed: %(kinds)s.") % {"kind": step["kind"], "kinds": ", ".join(kinds)},
        )
    step["no_rollback_needed"] = checker.boolean(raw, "no_rollback_needed", parts)
    if raw.get("start_offset") is not None:
        offset = checker.text(raw, "start_offset", parts)
        try:
            offset_minutes(offset)
        except ValidationError as exc:
            checker.error(parts + ["start_offset"], " ".join(exc.messages))
        else:
            step["start_offset"] = offset
    for field in ("name", *TEXT_STEP_FIELDS):
        checker.placeholders(step[field], parts + [field], names)
    step["risks"] = _risks(checker, raw.get("risks"), parts + ["risks"], names)
    step["rollback"] = _rollback(checker, raw.get("rollback"), parts + ["rollback"], names, risk_numbers(step))
    if step["no_rollback_needed"] and step["rollback"]:
        checker.error(parts + ["no_rollback_needed"], _("the step has rollback actions: remove them or this flag."))
    step["automation"] = (
        _automation(checker, raw["automation"], parts + ["automation"], names)
        if raw.get("automation") is not None
        else None
    )
    return step


def _steps(checker, raw, parts, names, params, in_block=False):
    out = []
    if not isinstance(raw, list) or not raw:
        checker.error(parts, _("must be a non-empty list of steps."))
        return out
    for index, item in enumerate(raw):
        item_parts = parts + [index]
        if not isinstance(item, dict):
            checker.error(item_parts, _("must be a step (a mapping with name …) or a for_each block."))
            continue
        if "for_each" in item:
            if in_block:
                checker.error(item_parts + ["for_each"], _("blocks cannot be nested."))
                continue
            checker.unknown_keys(item, BLOCK_KEYS, item_parts)
            over = checker.text(item, "for_each", item_parts, required=True)
            if over and params.get(over) != ParameterType.NODE_LIST:
                checker.error(item_parts + ["for_each"], _("“%(name)s” is not a node_list parameter.") % {"name": over})
            var = checker.text(item, "as", item_parts, default="node")
            if not NAME_RE.match(var) or var in RESERVED_NAMES:
                checker.error(
                    item_parts + ["as"],
                    _("“%(name)s” is not a valid name: use lower-case letters, digits and “_”, starting with a letter.")
                    % {"name": var},
                )
            elif var in params:
                checker.error(
                    item_parts + ["as"],
                    _("the loop variable “%(name)s” hides the parameter of the same name.") % {"name": var},
                )
            inner = _steps(checker, item.get("steps"), item_parts + ["steps"], names | {var}, params, in_block=True)
            out.append({"for_each": over, "as": var, "steps": inner})
        else:
            out.append(_step(checker, item, item_parts, names))
    return out


def _optional_plan_keys(checker, raw_plan, plan):
    """slack, services and the announcement texts: set in `plan` only when given."""
    for key in PLAN_TEXT_KEYS:
        value = checker.text(raw_plan, key, ["plan"])
        if value:
            plan[key] = value
    if raw_plan.get("slack") is not None:
        slack = checker.text(raw_plan, "slack", ["plan"])
        try:
            parse_slack(slack)
        except ValidationError as exc:
            checker.error(["plan", "slack"], " ".join(exc.messages))
        else:
            plan["slack"] = slack
    raw = raw_plan.get("services")
    if raw is None:
        return
    if not isinstance(raw, list):
        checker.error(["plan", "services"], _("must be a list of service addresses."))
        return
    services, availabilities = [], [a.value for a in Availability]
    for index, item in enumerate(raw):
        item_parts = ["plan", "services", index]
        if isinstance(item, str):
            item = {"service": item}
        if not isinstance(item, dict):
            checker.error(item_parts, _("must be a service address or a mapping with service and availability."))
            continue
        checker.unknown_keys(item, {"service", "availability"}, item_parts)
        entry = {
            "service": checker.text(item, "service", item_parts, required=True),
            "availability": checker.text(item, "availability", item_parts, default=Availability.UNAVAILABLE.value),
        }
        if entry["availability"] not in availabilities:
            checker.error(
                item_parts + ["availability"],
                _("unknown availability “%(value)s”; allowed: %(values)s.")
                % {"value": entry["availability"], "values": ", ".join(availabilities)},
            )
        services.append(entry)
    if services:
        plan["services"] = services


def validate(data, lines=None):
    """A normalised definition from already-loaded YAML data; raises DefinitionError."""
    checker = _Checker(lines or {})
    if not isinstance(data, dict):
        raise DefinitionError([Problem("", _("The document must be a mapping with title, parameters and steps."), 1)])
    checker.unknown_keys(data, TOP_KEYS, [])
    definition = {
        "slug": checker.text(data, "slug", []),
        "title": checker.text(data, "title", [], required=True),
        "description": checker.text(data, "description", []),
    }
    if definition["slug"] and not SLUG_RE.match(definition["slug"]):
        checker.error(["slug"], _("use lower-case Latin letters, digits and hyphens, e.g. node-maintenance."))
    raw_plan = data.get("plan") or {}
    plan = dict(PLAN_DEFAULTS)
    if not isinstance(raw_plan, dict):
        checker.error(["plan"], _("must be a mapping."))
        raw_plan = {}
    checker.unknown_keys(raw_plan, set(PLAN_DEFAULTS) | OPTIONAL_PLAN_KEYS, ["plan"])
    for key in ("goal", "downtime", "window", "announce_before"):
        plan[key] = checker.text(raw_plan, key, ["plan"], default=PLAN_DEFAULTS[key])
    for key in ("window", "announce_before"):
        checker.duration(plan[key], ["plan", key])
    checker.duration(plan["downtime"], ["plan", "downtime"], parse=parse_downtime)  # as the plan header reads it
    for key in ("client_impact", "banner"):
        plan[key] = checker.boolean(raw_plan, key, ["plan"])
    plan["kind"] = checker.text(raw_plan, "kind", ["plan"], default=PLAN_DEFAULTS["kind"])
    plan_kinds = [k.value for k in PlanKind]
    if plan["kind"] not in plan_kinds:
        checker.error(
            ["plan", "kind"],
            _("unknown plan kind “%(kind)s”; allowed: %(kinds)s.")
            % {"kind": plan["kind"], "kinds": ", ".join(plan_kinds)},
        )
    plan["schedule"] = checker.text(raw_plan, "schedule", ["plan"], default="sequential")
    if plan["schedule"] not in SCHEDULES:
        checker.error(
            ["plan", "schedule"],
            _("must be “sequential” (start times laid out from the window start) or “none” (no start times)."),
        )
    _optional_plan_keys(checker, raw_plan, plan)
    definition["plan"] = plan
    parameters = _parameters(checker, data.get("parameters"))
    definition["parameters"] = parameters
    params = {p["name"]: p["type"] for p in parameters}
    names = set(params)
    checker.placeholders(definition["title"], ["title"], names)
    checker.placeholders(definition["description"], ["description"], names)
    for key in ("goal", *PLAN_TEXT_KEYS):
        checker.placeholders(plan.get(key, ""), ["plan", key], names)
    definition["steps"] = _steps(checker, data.get("steps"), ["steps"], names, params)
    if checker.problems:
        raise DefinitionError(checker.problems)
    return definition


def parse(text):
    """The normalised definition of a YAML text; raises DefinitionError."""
    text = normalize_newlines(text)
    if not text.strip():
        raise DefinitionError([Problem("", _("The YAML is empty."), None)])
    try:
        loader, root = yaml_safe.compose(text)
        data = loader.construct_document(root) if root is not None else None
    except yaml_safe.Refused as exc:
        mark = exc.problem_mark
        raise DefinitionError([Problem("", exc.problem, mark.line + 1 if mark else None)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(
            [Problem("", _("not valid YAML: %(reason)s.") % {"reason": reason}, mark.line + 1 if mark else None)]
        ) from None
    return validate(data, _line_map(root))


# Export ------------------------------------------------------------------------------------------


def _compact_step(step):
    out = {"name": step["name"]}
    for field in (
        "description",
        "expected_result",
        "risk_mitigation",
        "affected_systems",
        "planned_downtime",
        "executor",
        "duration",
    ):
        if step.get(field):
            out[field] = step[field]
    if step.get("kind", "work") != "work":
        out["kind"] = step["kind"]
    if step.get("start_offset"):
        out["start_offset"] = step["start_offset"]
    if step.get("jira_key"):
        out["jira_key"] = step["jira_key"]
    if step.get("no_rollback_needed"):
        out["no_rollback_needed"] = True
    if step.get("risks"):
        out["risks"] = [
            {
                **({"number": r["number"]} if r.get("number") else {}),
                "description": r["description"],
                **({"mitigation": r["mitigation"]} if r.get("mitigation") else {}),
            }
            for r in step["risks"]
        ]
    if step.get("rollback"):
        out["rollback"] = [
            {"text": a["text"], **({"risks": a["risks"]} if a.get("risks") else {})} for a in step["rollback"]
        ]
    if step.get("automation"):
        automation = step["automation"]
        out["automation"] = {"kind": automation["kind"], "spec": automation["spec"]}
        if automation.get("timeout"):
            out["automation"]["timeout"] = automation["timeout"]
        if automation.get("start_at_planned_time"):
            out["automation"]["start_at_planned_time"] = True
    return out


def _compact(definition):
    out = {}
    if definition.get("slug"):
        out["slug"] = definition["slug"]
    out["title"] = definition["title"]
    if definition.get("description"):
        out["description"] = definition["description"]
    plan = {key: value for key, value in definition.get("plan", {}).items() if value != PLAN_DEFAULTS.get(key)}
    if plan.get("services"):
        plan["services"] = [
            s["service"] if s["availability"] == Availability.UNAVAILABLE else dict(s) for s in plan["services"]
        ]
    if plan:
        out["plan"] = plan
    if definition.get("parameters"):
        params = []
        for param in definition["parameters"]:
            item = {"name": param["name"], "type": param["type"]}
            if param.get("label") and param["label"] != param["name"]:
                item["label"] = param["label"]
            if not param.get("required", True):
                item["required"] = False
            for key in ("default", "choices", "help", *PARAMETER_ENGLISH_KEYS):
                if param.get(key) not in (None, "", []):
                    item[key] = param[key]
            params.append(item)
        out["parameters"] = params
    steps = []
    for item in definition.get("steps", []):
        if "for_each" in item:
            steps.append(
                {"for_each": item["for_each"], "as": item["as"], "steps": [_compact_step(s) for s in item["steps"]]}
            )
        else:
            steps.append(_compact_step(item))
    out["steps"] = steps
    return out


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dump(definition):
    """YAML text of a definition (defaults left out); parse(dump(d)) == d."""
    return yaml.dump(
        _compact(definition), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120, default_flow_style=False
    )


# Reading a definition ------------------------------------------------------------------------------


def iter_steps(definition):
    """(block or None, step) in order, blocks not expanded (for pages that show the template)."""
    for item in definition.get("steps", []):
        if "for_each" in item:
            for step in item["steps"]:
                yield item, step
        else:
            yield None, item


def step_count(definition):
    """(steps outside blocks, steps repeated per item of a node list)."""
    once = per_item = 0
    for block, _step in iter_steps(definition):
        if block is None:
            once += 1
        else:
            per_item += 1
    return once, per_item
