"""What every runner shares: the spec's parameters filled in safely, the run's context and its outcome.

Safety (docs/automation.md): a parameter value is never put into a shell string (runners build argument
lists), and a value that would be read as an option (it starts with "-") or holds a control character is
refused before anything runs. Secrets ({{ secret.NAME }}) are resolved last, inside the run, and every
output line and the recorded command pass through `Redactor`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..redaction import REDACTED, Redactor  # noqa: F401  (the redactor lives in runbooks/redaction.py)

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SECRET_PLACEHOLDER = re.compile(r"\{\{\s*secret\.([A-Za-z0-9_-]+)\s*\}\}")
# Keys whose text is not filled: an inline playbook's {{ … }} are Ansible's own variables. Parameters reach a
# playbook only through extra_vars (a file, marked !unsafe), never pasted into its YAML or Jinja.
RAW_KEYS = frozenset({"playbook_yaml"})

Spec = dict[str, Any]  # a runner's spec: parsed YAML/JSON
Params = dict[str, Any]  # parameter values: text, numbers, or lists of those

if TYPE_CHECKING:
    from ..models import Cluster


class AutomationError(Exception):
    """A spec, parameter or cluster that cannot run; the message is for the user (translated)."""


class UnsafeParameter(AutomationError):
    pass


def check_value(name: str, value: object) -> str:
    """Refuse a parameter value that an option parser would read as an option, or that is not one line."""
    text = str(value)
    if text.startswith("-"):
        raise UnsafeParameter(
            _("Parameter “%(name)s” = “%(value)s” is refused: a value starting with “-” would be read as an option.")
            % {"name": name, "value": text[:80]}
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise UnsafeParameter(
            _("Parameter “%(name)s” is refused: it holds a line break or a control character.") % {"name": name}
        )
    if not text.strip():
        raise UnsafeParameter(_("Parameter “%(name)s” is empty.") % {"name": name})
    return text


def _lookup(name: str, params: Params) -> Any:
    if name not in params:
        raise AutomationError(
            _("The automation uses {{ %(name)s }}, but the step has no such parameter.") % {"name": name}
        )
    return params[name]


def _fill_string(text: str, params: Params) -> str:
    def replace(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), params)
        if isinstance(value, (list, tuple)):
            return ",".join(check_value(match.group(1), item) for item in value)
        return check_value(match.group(1), value)

    return PLACEHOLDER.sub(replace, text)


def fill(spec: Any, params: Params) -> Any:
    """The spec with {{ name }} replaced by checked parameter values. A list item that is exactly
    "{{ name }}" with a list value becomes one item per value (one argument per node). {{ secret.X }}
    stays for `resolve_secrets`."""
    if isinstance(spec, dict):
        return {key: value if key in RAW_KEYS else fill(value, params) for key, value in spec.items()}
    if isinstance(spec, list):
        out: list[Any] = []
        for item in spec:
            whole = PLACEHOLDER.fullmatch(item.strip()) if isinstance(item, str) else None
            if whole and isinstance(_lookup(whole.group(1), params), (list, tuple)):
                out.extend(check_value(whole.group(1), value) for value in params[whole.group(1)])
            else:
                out.append(fill(item, params))
        return out
    if isinstance(spec, str):
        return _fill_string(spec, params)
    return spec


def secret_names(spec: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key not in RAW_KEYS:
                found |= secret_names(value)
    elif isinstance(spec, list):
        for value in spec:
            found |= secret_names(value)
    elif isinstance(spec, str):
        found |= set(SECRET_PLACEHOLDER.findall(spec))
    return found


def resolve_secrets(spec: Any, values: dict[str, str]) -> Any:
    """The spec with {{ secret.NAME }} replaced by the secret's value (`values`: name → value)."""
    if isinstance(spec, dict):
        return {key: value if key in RAW_KEYS else resolve_secrets(value, values) for key, value in spec.items()}
    if isinstance(spec, list):
        return [resolve_secrets(value, values) for value in spec]
    if isinstance(spec, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(1) not in values:
                raise AutomationError(_("Secret “%(name)s” does not exist.") % {"name": match.group(1)})
            return values[match.group(1)]

        return SECRET_PLACEHOLDER.sub(replace, spec)
    return spec


@dataclass
class RunContext:
    """What a runner gets besides its spec. `output` takes one line (redaction is done by the caller);
    `stop_reason()` returns "cancelled", "timed_out" or None and is cheap to call often."""

    workdir: Path
    output: Callable[[str], None]
    stop_reason: Callable[[], str | None]
    dry_run: bool = False
    cluster: "Cluster | None" = None
    timeout: float = 900.0
    redactor: Redactor = field(default_factory=Redactor)
    env: dict[str, str] = field(default_factory=dict)  # extra environment for child processes


@dataclass
class Outcome:
    status: str  # a RunStatus value: succeeded, failed, timed_out, cancelled, skipped
    exit_code: int | None = None
    summary: str = ""
    command: str = ""  # what was executed, in a form a person can re-type (the caller redacts it)


class Runner:
    """Base class of a runner kind. Subclasses set `kind`, `label` and implement `check`, `describe`, `run`."""

    kind = ""
    label = gettext_lazy("Runner")
    supports_dry_run = False
    needs_cluster = False

    def check(self, spec: Spec) -> None:
        """Raise AutomationError if the spec (placeholders still in it) is malformed. Called when saved."""

    def describe(self, spec: Spec) -> str:
        """One line a person reads on the board and in the version approvers sign (filled spec)."""
        return str(spec)

    def run(self, spec: Spec, ctx: RunContext) -> Outcome:
        raise NotImplementedError
