"""`ansible`: an Ansible playbook through the ansible-runner CLI, as a job of the runner service (docs/runner.md).

- The playbook is a file of OKNO_ANSIBLE_PLAYBOOK_DIR (a bare name: no path; the folder's files travel with
  the job) or inline YAML.
- The inventory is "local" (the runner's host, connection local, the Python that runs Ansible), "cluster"
  (the cluster's encrypted inventory, decrypted here and sent in the job) or inline text.
- Extra vars go to env/extravars (never onto a command line), every string tagged `!unsafe`, so a value
  such as "{{ lookup('pipe', 'id') }}" stays text and is not templated by Ansible.
- A rehearsal (or spec "check": true) is check mode with --diff.
- The private data dir (inventory, extra vars, playbook) is the job's work dir in the runner, removed after
  the run. `ansible-runner run -j` prints one JSON event a line; each event's text goes to the log.
- Stop: the runner signals the job's process group and every process carrying the job's marker
  (ansible-runner starts ansible-playbook in a session of its own): SIGTERM, SIGKILL after the grace period,
  and SIGKILL to whatever is left when the run ends.
"""

import json
import shlex
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import yaml_safe
from . import register
from .base import AutomationError, Outcome, RunContext, Runner, Spec
from .process import run_process

POLL_SECONDS = 0.2  # pexpect's read timeout in ansible-runner
SUMMARY_LIMIT = 1000
PLAYBOOK_DIR_LIMIT = 5 * 1024 * 1024  # bytes of the playbook folder sent with a job


class _Unsafe(str):
    """A string written as `!unsafe` in the extra vars file: Ansible never templates it."""


class _ExtraVarsDumper(yaml.SafeDumper):
    pass


_ExtraVarsDumper.add_representer(
    _Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style="'")
)


def _unsafe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _unsafe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unsafe(item) for item in value]
    if isinstance(value, str):
        return _Unsafe(value)
    return value


def extra_vars_yaml(extra_vars: dict[str, Any] | None) -> str:
    return yaml.dump(_unsafe(extra_vars or {}), Dumper=_ExtraVarsDumper, allow_unicode=True, default_flow_style=False)


def _tags(spec: Spec) -> str:
    tags = spec.get("tags") or []
    return ",".join(tags) if isinstance(tags, list) else str(tags)


def _playbook_dir() -> Path:
    return Path(settings.OKNO_ANSIBLE_PLAYBOOK_DIR)


def playbook_choices() -> list[str]:
    """The playbooks the library and editor may name (file names in OKNO_ANSIBLE_PLAYBOOK_DIR)."""
    folder = _playbook_dir()
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if path.suffix in (".yml", ".yaml") and path.is_file())


@register
class AnsibleRunner(Runner):
    kind = "ansible"
    label = gettext_lazy("Ansible playbook")
    supports_dry_run = True

    # --- validation -------------------------------------------------------------------------------

    def check(self, spec: Spec) -> None:
        if not isinstance(spec, dict):
            raise AutomationError(_("The automation spec must be a mapping."))
        playbook, inline = spec.get("playbook"), spec.get("playbook_yaml")
        if bool(playbook) == bool(inline):
            raise AutomationError(
                _("Give either a playbook file name or an inline playbook, not both and not neither.")
            )
        if playbook:
            self._playbook_path(playbook)
        else:
            if not isinstance(inline, str):
                raise AutomationError(_("The inline playbook must be YAML text."))
            try:
                plays = yaml_safe.load_spec(inline)
            except yaml.YAMLError as exc:
                raise AutomationError(
                    _("The inline playbook is not valid YAML: %(error)s") % {"error": str(exc)[:300]}
                ) from None
            if not isinstance(plays, list) or not plays or not all(isinstance(play, dict) for play in plays):
                raise AutomationError(_("The inline playbook must be a list of plays."))
        inventory = spec.get("inventory")
        if not isinstance(inventory, str) or not inventory.strip():
            raise AutomationError(_("Choose the inventory: “local”, “cluster” or inline inventory text."))
        if spec.get("limit") is not None and not isinstance(spec["limit"], str):
            raise AutomationError(_("“limit” must be a host pattern (text)."))
        tags = spec.get("tags")
        if tags is not None and not (
            isinstance(tags, str) or (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags))
        ):
            raise AutomationError(_("“tags” must be a list of tag names."))
        extra_vars = spec.get("extra_vars")
        if extra_vars is not None and (
            not isinstance(extra_vars, dict) or not all(isinstance(key, str) for key in extra_vars)
        ):
            raise AutomationError(_("“extra_vars” must map variable names to values."))
        if not isinstance(spec.get("check", False), bool):
            raise AutomationError(_("“check” must be true or false."))

    def _playbook_path(self, name: object) -> Path:
        if not isinstance(name, str) or "/" in name or "\\" in name or ".." in name or name.startswith("."):
            raise AutomationError(
                _("Playbook “%(name)s” is refused: give a file name from the playbook folder, not a path.")
                % {"name": str(name)[:100]}
            )
        path = _playbook_dir() / name
        if not path.is_file():
            raise AutomationError(_("Playbook “%(name)s” is not in the playbook folder.") % {"name": name})
        return path

    # --- description ------------------------------------------------------------------------------

    def _command(self, spec: Spec, dry_run: bool) -> str:
        """The equivalent ansible-playbook command line (inventory and extra vars as the spec gives them)."""
        inventory = spec.get("inventory", "")
        argv = ["ansible-playbook", spec.get("playbook") or "<inline playbook>"]
        if inventory in ("local", "cluster"):
            argv += ["-i", inventory]
        else:
            argv += ["-i", "<inline inventory>"]
        if spec.get("limit"):
            argv += ["--limit", spec["limit"]]
        if _tags(spec):
            argv += ["--tags", _tags(spec)]
        if spec.get("extra_vars"):
            argv += ["-e", json.dumps(spec["extra_vars"], ensure_ascii=False, sort_keys=True)]
        if spec.get("check") or dry_run:
            argv += ["--check", "--diff"]
        return shlex.join(argv)

    def describe(self, spec: Spec) -> str:
        argv = ["ansible-playbook", spec.get("playbook") or _("inline playbook")]
        if spec.get("limit"):
            argv += ["--limit", spec["limit"]]
        if _tags(spec):
            argv += ["--tags", _tags(spec)]
        for key, value in sorted((spec.get("extra_vars") or {}).items()):
            argv += ["-e", f"{key}={value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"]
        if spec.get("check"):
            argv.append("--check")
        return shlex.join(argv)

    # --- run --------------------------------------------------------------------------------------

    def _inventory_text(self, spec: Spec, ctx: RunContext) -> str:
        inventory = spec["inventory"]
        if inventory == "local":
            # The runner's host; its modules run with the Python that runs Ansible there.
            return "localhost ansible_connection=local ansible_python_interpreter=python3\n"
        if inventory == "cluster":
            text = getattr(ctx.cluster, "ansible_inventory", "") if ctx.cluster is not None else ""
            if not (text or "").strip():
                if ctx.cluster is None:
                    raise AutomationError(
                        _("The automation uses the cluster's inventory, but the step has no cluster.")
                    )
                raise AutomationError(_("Cluster “%(name)s” has no Ansible inventory.") % {"name": ctx.cluster})
            return text
        return inventory

    def _project_files(self, spec: Spec) -> tuple[dict[str, str], str]:
        """(files of project/, playbook name): the inline playbook, or the playbook folder's files."""
        if not spec.get("playbook"):
            return {"project/inline.yml": spec["playbook_yaml"]}, "inline.yml"
        path = self._playbook_path(spec["playbook"])
        files: dict[str, str] = {}
        size = 0
        for item in sorted(path.parent.rglob("*")):
            if (
                item.is_file()
                and not item.is_symlink()
                and not any(part.startswith(".") for part in item.relative_to(path.parent).parts)
            ):
                text = item.read_text(encoding="utf-8", errors="replace")
                size += len(text)
                if size > PLAYBOOK_DIR_LIMIT:
                    raise AutomationError(_("The playbook folder is too large to send to the runner."))
                files[f"project/{item.relative_to(path.parent).as_posix()}"] = text
        return files, path.name

    def run(self, spec: Spec, ctx: RunContext) -> Outcome:
        self.check(spec)
        dry_run = bool(spec.get("check") or ctx.dry_run)
        command = self._command(spec, ctx.dry_run)
        inventory_text = self._inventory_text(spec, ctx)
        # A YAML inventory needs a .yml name (the INI plugin reads anything else).
        try:
            is_yaml = isinstance(yaml_safe.load_spec(inventory_text), dict)
        except yaml.YAMLError:
            is_yaml = False
        inventory_path = "inventory/hosts.yml" if is_yaml else "inventory/hosts"
        files, playbook = self._project_files(spec)
        files.update(
            {
                inventory_path: inventory_text,
                "env/extravars": extra_vars_yaml(spec.get("extra_vars")),
                "env/settings": json.dumps({"pexpect_timeout": POLL_SECONDS, "suppress_ansible_output": False}),
            }
        )
        cmdline: list[str] = []
        if _tags(spec):
            cmdline += ["--tags", _tags(spec)]
        if dry_run:
            cmdline += ["--check", "--diff"]
        argv = [
            "ansible-runner",
            "run",
            ".",
            "-p",
            playbook,
            "-j",
            "--inventory",
            inventory_path,
            "--rotate-artifacts",
            "1",
        ]
        if spec.get("limit"):
            argv.append(f"--limit={spec['limit']}")
        if cmdline:
            argv.append(f"--cmdline={shlex.join(cmdline)}")
        env = {
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "True",  # ansible-runner turns it off; an unknown host key is an error
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
        }
        events = _Events(ctx)
        outcome = run_process(
            argv,
            ctx,
            env=env,
            files=files,
            on_line=events.line,
            env_paths={"ANSIBLE_LOCAL_TEMP": "tmp", "ANSIBLE_HOME": "tmp", "ANSIBLE_REMOTE_TMP": "tmp/remote"},
        )
        return events.outcome(outcome, command)


class _Events:
    """ansible-runner's JSON events, one a line: their text to the log, failures and recap for the summary."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.failures: list[str] = []
        self.recap: list[str] = []

    def line(self, text: str) -> None:
        try:
            event = json.loads(text)
        except ValueError:
            event = None
        if not isinstance(event, dict) or "event" not in event:
            if text.strip():
                self.ctx.output(text.rstrip())  # ansible-runner's own messages
            return
        for line in (event.get("stdout") or "").splitlines():
            if line.strip():
                self.ctx.output(line.rstrip())
        data = event.get("event_data") or {}
        kind = event.get("event")
        if kind == "runner_on_failed" and not data.get("ignore_errors"):
            message = str((data.get("res") or {}).get("msg") or "").strip().splitlines()
            self.failures.append(
                _("Task “%(task)s” failed on %(host)s: %(message)s")
                % {
                    "task": data.get("task", "?"),
                    "host": data.get("host", "?"),
                    "message": message[0] if message else "—",
                }
            )
        elif kind == "runner_on_unreachable":
            self.failures.append(_("Host %(host)s is unreachable.") % {"host": data.get("host", "?")})
        elif kind == "playbook_on_stats":
            self.recap = [
                " ".join(line.split())
                for line in (event.get("stdout") or "").splitlines()
                if ":" in line and "=" in line
            ]

    def outcome(self, outcome: Outcome, command: str) -> Outcome:
        if outcome.status in ("cancelled", "timed_out"):
            return Outcome(status=outcome.status, exit_code=outcome.exit_code, command=command)
        if outcome.exit_code is None:  # the runner service was not reachable: its reason stands
            return Outcome(status="failed", summary=outcome.summary, command=command)
        recap = "; ".join(self.recap)
        if outcome.exit_code == 0:
            return Outcome(status="succeeded", exit_code=0, summary=recap, command=command)
        parts = list(dict.fromkeys(self.failures))  # one line per failure, in order, no repeats
        if recap:
            parts.append("PLAY RECAP: " + recap)
        if not parts:
            parts.append(_("ansible-playbook ended with exit code %(code)s.") % {"code": outcome.exit_code})
        summary = " ".join(parts)
        if len(summary) > SUMMARY_LIMIT:
            summary = summary[: SUMMARY_LIMIT - 1] + "…"
        return Outcome(status="failed", exit_code=outcome.exit_code, summary=summary, command=command)
