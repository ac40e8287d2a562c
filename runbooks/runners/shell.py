"""`shell`: one program with an argument list, never a shell string.

Parameter values land in argv items as they are (no shell reads them), so "; rm -rf /" or "$(…)" stay
literal text. A spec that hands a string to a shell (`sh -c "…"`, `bash -lc …`) is refused at save time:
it would turn parameters back into shell code.

The program runs in the runner service (docs/runner.md), never as a child of the worker, whose environment
holds Okno's keys.
"""

import os
import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import register
from .base import PLACEHOLDER, AutomationError, Outcome, RunContext, Runner, Spec
from .process import format_command, run_process

SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "busybox", "ash", "fish", "csh", "tcsh"}
COMMAND_FLAG = re.compile(r"^-[A-Za-z]*c[A-Za-z]*$")  # -c, -ec, -lc …
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_argv(argv: object, field: str) -> None:
    if isinstance(argv, str):
        raise AutomationError(_("Shell strings are not allowed: give the program and its arguments as a list."))
    if not isinstance(argv, list) or not argv or not all(isinstance(item, str) for item in argv):
        raise AutomationError(_("“%(field)s” must be a non-empty list of strings.") % {"field": field})
    if not argv[0].strip():
        raise AutomationError(_("“%(field)s” must start with the program to run.") % {"field": field})
    if PLACEHOLDER.search(argv[0]):
        raise AutomationError(_("The program to run must be written out, not taken from a parameter."))
    program = os.path.basename(argv[0])
    if program in SHELLS and any(COMMAND_FLAG.match(arg) for arg in argv[1:]):
        raise AutomationError(_("Shell strings are not allowed: give the program and its arguments as a list."))


@register
class ShellRunner(Runner):
    kind = "shell"
    label = gettext_lazy("Command (argument list)")
    supports_dry_run = True  # only when the spec has dry_run_argv; otherwise a rehearsal is skipped

    def check(self, spec: Spec) -> None:
        if not isinstance(spec, dict):
            raise AutomationError(_("The automation spec must be a mapping."))
        _check_argv(spec.get("argv"), "argv")
        if spec.get("dry_run_argv") is not None:
            _check_argv(spec["dry_run_argv"], "dry_run_argv")
        env = spec.get("env") or {}
        if not isinstance(env, dict):
            raise AutomationError(_("“env” must map variable names to strings."))
        for name, value in env.items():
            if not isinstance(name, str) or not ENV_NAME.match(name) or not isinstance(value, str):
                raise AutomationError(_("“env” must map variable names to strings."))

    def describe(self, spec: Spec) -> str:
        return format_command(spec.get("argv") or [])

    def run(self, spec: Spec, ctx: RunContext) -> Outcome:
        self.check(spec)
        argv = spec["argv"]
        if ctx.dry_run:
            argv = spec.get("dry_run_argv")
            if not argv:
                return Outcome(
                    status="skipped",
                    summary=_("No dry run defined for this command."),
                    command=format_command(spec["argv"]),
                )
        return run_process(argv, ctx, env=spec.get("env") or None)
