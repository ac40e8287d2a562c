"""`ansible`: an Ansible playbook through ansible-runner, in a private data dir under the run's workdir.

- The playbook is a file of OKNO_ANSIBLE_PLAYBOOK_DIR (a bare name: no path) or inline YAML.
- The inventory is "local" (this host, connection local, the virtualenv's Python), "cluster" (the
  cluster's encrypted inventory, written to a 0600 file for the run only) or inline text.
- Extra vars go to env/extravars (never onto a command line), every string tagged `!unsafe`, so a value
  such as "{{ lookup('pipe', 'id') }}" stays text and is not templated by Ansible.
- A rehearsal (or spec "check": true) is check mode with --diff.
- Stop: every process of the run carries a marker variable in its environment. On cancel or timeout they
  all get SIGTERM, then ansible-runner SIGKILLs the process group after the grace period; afterwards any
  process still carrying the marker (one that left the group, e.g. an async task) is SIGKILLed.
"""

import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import register
from .base import AutomationError, Outcome, Runner
from .process import base_env

MARKER_VARIABLE = "OKNO_AUTOMATION_RUN"
POLL_SECONDS = 0.2  # how often ansible-runner asks whether to stop when the playbook prints nothing
SUMMARY_LIMIT = 1000


class _Unsafe(str):
    """A string written as `!unsafe` in the extra vars file: Ansible never templates it."""


class _ExtraVarsDumper(yaml.SafeDumper):
    pass


_ExtraVarsDumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar("!unsafe", str(value), style="'"))


def _unsafe(value):
    if isinstance(value, dict):
        return {str(key): _unsafe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unsafe(item) for item in value]
    if isinstance(value, str):
        return _Unsafe(value)
    return value


def extra_vars_yaml(extra_vars):
    return yaml.dump(_unsafe(extra_vars or {}), Dumper=_ExtraVarsDumper, allow_unicode=True, default_flow_style=False)


def _marked_processes(marker):
    """Pids of live processes whose environment holds MARKER_VARIABLE=marker (/proc; no psutil)."""
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:  # gone, or another user's process
            continue
    return found


def _signal_marked(marker, sig):
    for pid in _marked_processes(marker):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _tags(spec):
    tags = spec.get("tags") or []
    return ",".join(tags) if isinstance(tags, list) else str(tags)


def _playbook_dir():
    return Path(settings.OKNO_ANSIBLE_PLAYBOOK_DIR)


def playbook_choices():
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

    def check(self, spec):
        if not isinstance(spec, dict):
            raise AutomationError(_("The automation spec must be a mapping."))
        playbook, inline = spec.get("playbook"), spec.get("playbook_yaml")
        if bool(playbook) == bool(inline):
            raise AutomationError(_("Give either a playbook file name or an inline playbook, not both and not neither."))
        if playbook:
            self._playbook_path(playbook)
        else:
            if not isinstance(inline, str):
                raise AutomationError(_("The inline playbook must be YAML text."))
            try:
                plays = yaml.safe_load(inline)
            except yaml.YAMLError as exc:
                raise AutomationError(_("The inline playbook is not valid YAML: %(error)s") % {"error": str(exc)[:300]}) from None
            if not isinstance(plays, list) or not plays or not all(isinstance(play, dict) for play in plays):
                raise AutomationError(_("The inline playbook must be a list of plays."))
        inventory = spec.get("inventory")
        if not isinstance(inventory, str) or not inventory.strip():
            raise AutomationError(_("Choose the inventory: “local”, “cluster” or inline inventory text."))
        if spec.get("limit") is not None and not isinstance(spec["limit"], str):
            raise AutomationError(_("“limit” must be a host pattern (text)."))
        tags = spec.get("tags")
        if tags is not None and not (isinstance(tags, str) or (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags))):
            raise AutomationError(_("“tags” must be a list of tag names."))
        extra_vars = spec.get("extra_vars")
        if extra_vars is not None and (not isinstance(extra_vars, dict) or not all(isinstance(key, str) for key in extra_vars)):
            raise AutomationError(_("“extra_vars” must map variable names to values."))
        if not isinstance(spec.get("check", False), bool):
            raise AutomationError(_("“check” must be true or false."))

    def _playbook_path(self, name):
        if not isinstance(name, str) or "/" in name or "\\" in name or ".." in name or name.startswith("."):
            raise AutomationError(_("Playbook “%(name)s” is refused: give a file name from the playbook folder, not a path.") % {"name": str(name)[:100]})
        path = _playbook_dir() / name
        if not path.is_file():
            raise AutomationError(_("Playbook “%(name)s” is not in the playbook folder.") % {"name": name})
        return path

    # --- description ------------------------------------------------------------------------------

    def _command(self, spec, dry_run):
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

    def describe(self, spec):
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

    def _inventory_text(self, spec, ctx):
        inventory = spec["inventory"]
        if inventory == "local":
            return f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
        if inventory == "cluster":
            text = getattr(ctx.cluster, "ansible_inventory", "") if ctx.cluster is not None else ""
            if not (text or "").strip():
                if ctx.cluster is None:
                    raise AutomationError(_("The automation uses the cluster's inventory, but the step has no cluster."))
                raise AutomationError(_("Cluster “%(name)s” has no Ansible inventory.") % {"name": ctx.cluster})
            return text
        return inventory

    def run(self, spec, ctx):
        self.check(spec)
        import ansible_runner  # imported here: the module loads at app start, ansible-runner only when used
        from ansible_runner.config.runner import RunnerConfig

        dry_run = bool(spec.get("check") or ctx.dry_run)
        command = self._command(spec, ctx.dry_run)
        inventory_text = self._inventory_text(spec, ctx)
        Path(ctx.workdir).mkdir(parents=True, exist_ok=True)
        data_dir = Path(tempfile.mkdtemp(prefix="ansible-", dir=ctx.workdir))
        marker = uuid.uuid4().hex
        try:
            for sub in ("env", "inventory", "project", "tmp"):
                (data_dir / sub).mkdir(mode=0o700)
            # A YAML inventory needs a .yml name (the INI plugin reads anything else).
            try:
                is_yaml = isinstance(yaml.safe_load(inventory_text), dict)
            except yaml.YAMLError:
                is_yaml = False
            inventory_path = data_dir / "inventory" / ("hosts.yml" if is_yaml else "hosts")
            _write_private(inventory_path, inventory_text)
            _write_private(data_dir / "env" / "extravars", extra_vars_yaml(spec.get("extra_vars")))
            _write_private(data_dir / "env" / "settings", json.dumps({"pexpect_timeout": POLL_SECONDS, "suppress_ansible_output": True}))
            if spec.get("playbook"):
                playbook_path = self._playbook_path(spec["playbook"])
            else:
                playbook_path = data_dir / "project" / "inline.yml"
                _write_private(playbook_path, spec["playbook_yaml"])

            config = RunnerConfig(
                private_data_dir=str(data_dir), project_dir=str(playbook_path.parent), playbook=str(playbook_path),
                inventory=str(inventory_path), limit=spec.get("limit") or None, tags=_tags(spec) or None,
                cmdline="--check --diff" if dry_run else None, quiet=True,
            )
            config.prepare()
            # ansible-runner seeds the child's environment with this process's (database URL, secret key…):
            # keep only what it added for Ansible, on top of our small base environment.
            added = {key: value for key, value in config.env.items() if os.environ.get(key) != value}
            config.env = base_env({
                **added,
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_HOST_KEY_CHECKING": "True",  # ansible-runner turns it off; an unknown host key is an error
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_LOCAL_TEMP": str(data_dir / "tmp"),
                "ANSIBLE_HOME": str(data_dir / "tmp"),
                **ctx.env,
                MARKER_VARIABLE: marker,
            })
            return self._run(config, ansible_runner, ctx, marker, command)
        finally:
            _signal_marked(marker, signal.SIGKILL)  # whatever left the process group
            shutil.rmtree(data_dir, ignore_errors=True)  # inventory and extra vars may hold secrets

    def _run(self, config, ansible_runner, ctx, marker, command):
        grace = float(getattr(settings, "OKNO_AUTOMATION_KILL_GRACE_SECONDS", 5))
        deadline = time.monotonic() + ctx.timeout if ctx.timeout else None
        state = {"reason": None, "term_at": None, "failures": [], "recap": []}

        def on_event(event):
            for line in (event.get("stdout") or "").splitlines():
                if line.strip():
                    ctx.output(line.rstrip())
            data = event.get("event_data") or {}
            kind = event.get("event")
            if kind == "runner_on_failed" and not data.get("ignore_errors"):
                message = str((data.get("res") or {}).get("msg") or "").strip().splitlines()
                state["failures"].append(_("Task “%(task)s” failed on %(host)s: %(message)s") % {
                    "task": data.get("task", "?"), "host": data.get("host", "?"), "message": message[0] if message else "—"})
            elif kind == "runner_on_unreachable":
                state["failures"].append(_("Host %(host)s is unreachable.") % {"host": data.get("host", "?")})
            elif kind == "playbook_on_stats":
                state["recap"] = [" ".join(line.split()) for line in (event.get("stdout") or "").splitlines() if ":" in line and "=" in line]
            return False  # do not keep event files in the data dir

        def should_stop():
            if state["reason"] is None:
                reason = ctx.stop_reason() or ("timed_out" if deadline and time.monotonic() > deadline else None)
                if reason:
                    state["reason"], state["term_at"] = reason, time.monotonic()
                    _signal_marked(marker, signal.SIGTERM)
                return False
            # SIGTERM was sent: let ansible-runner SIGKILL the group once the grace period is over.
            return time.monotonic() - state["term_at"] > grace

        runner = ansible_runner.Runner(config=config, event_handler=on_event, cancel_callback=should_stop)
        runner.run()
        reason = state["reason"]
        if reason in ("cancelled", "timed_out"):
            return Outcome(status=reason, exit_code=runner.rc, command=command)
        recap = "; ".join(state["recap"])
        if runner.rc == 0:
            return Outcome(status="succeeded", exit_code=0, summary=recap, command=command)
        parts = list(dict.fromkeys(state["failures"]))  # one line per failure, in order, no repeats
        if recap:
            parts.append("PLAY RECAP: " + recap)
        if not parts:
            parts.append(_("ansible-playbook ended with exit code %(code)s.") % {"code": runner.rc})
        summary = " ".join(parts)
        if len(summary) > SUMMARY_LIMIT:
            summary = summary[: SUMMARY_LIMIT - 1] + "…"
        return Outcome(status="failed", exit_code=runner.rc, summary=summary, command=command)


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
