"""A cluster's kubeconfig treated as code: checked before anything uses it.

A kubeconfig can make the client run programs (`exec` credential plugins, the gcp `auth-provider`'s
`cmd-path`) and read files of the worker (`tokenFile`, certificate paths). Those are refused unless the
program's name is in settings.OKNO_KUBECONFIG_EXEC_ALLOWLIST; a file reference is refused outright (an
uploaded kubeconfig must carry its data inline). What the runners use is the parsed and re-dumped
config, so kubectl and the Python client read exactly what was checked (no YAML parser differences,
duplicate keys included).
"""

import base64
import os
import posixpath
import tempfile
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from runbooks import yaml_safe
from runbooks.runners.base import AutomationError

# Environment a credential plugin must not get from the kubeconfig: it would change what runs.
_FORBIDDEN_ENV_PREFIXES = ("LD_", "DYLD_")
_FORBIDDEN_ENV = {"PATH", "PYTHONPATH", "PYTHONSTARTUP", "BASH_ENV", "ENV", "NODE_OPTIONS", "PERL5OPT", "RUBYOPT"}
# Fields naming a file on the worker: refused (a token file would be sent to whatever server the file names).
_USER_FILE_FIELDS = ("tokenFile", "client-certificate", "client-key")
_CLUSTER_FILE_FIELDS = ("certificate-authority",)
_USER_SECRET_FIELDS = ("token", "password", "client-key-data", "client-certificate-data")
_AUTH_PROVIDER_SECRET_KEYS = (
    "access-token",
    "refresh-token",
    "id-token",
    "client-secret",
    "idp-certificate-authority-data",
)


def _allowlist():
    return {name.strip() for name in settings.OKNO_KUBECONFIG_EXEC_ALLOWLIST if name.strip()}


def _named_list(config, key):
    items = config.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise AutomationError(_("Kubeconfig: “%(key)s” must be a list.") % {"key": key})
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get(key[:-1]), dict)
        ):
            raise AutomationError(
                _("Kubeconfig: every entry of “%(key)s” needs a name and a “%(field)s” mapping.")
                % {"key": key, "field": key[:-1]}
            )
    return items


def _check_program(user_name, command, field):
    command = str(command or "").strip()
    if not command:
        raise AutomationError(
            _("Kubeconfig: user “%(user)s” has an empty %(field)s.") % {"user": user_name, "field": field}
        )
    if ".." in command.replace("\\", "/").split("/"):
        raise AutomationError(
            _("Kubeconfig: user “%(user)s” runs “%(command)s”: a path with “..” is refused.")
            % {"user": user_name, "command": command}
        )
    if posixpath.basename(command) not in _allowlist():
        raise AutomationError(
            _(
                "Kubeconfig: user “%(user)s” runs the program “%(command)s” (%(field)s), which is not allowed."
                " Allowed programs: %(allowed)s."
            )
            % {"user": user_name, "command": command, "field": field, "allowed": ", ".join(sorted(_allowlist())) or "—"}
        )


def check_kubeconfig(text):
    """The parsed kubeconfig (a dict), or AutomationError saying what is wrong or refused."""
    if not str(text or "").strip():
        raise AutomationError(_("The cluster has no kubeconfig."))
    try:
        config = yaml_safe.load(text, **yaml_safe.SPEC_LIMITS)
    except yaml.YAMLError as exc:
        raise AutomationError(
            _("Kubeconfig is not valid YAML: %(error)s") % {"error": str(exc).splitlines()[0]}
        ) from None
    if not isinstance(config, dict):
        raise AutomationError(_("Kubeconfig must be a YAML mapping with clusters, users and contexts."))
    clusters, users, contexts = (_named_list(config, key) for key in ("clusters", "users", "contexts"))
    if not clusters or not contexts:
        raise AutomationError(_("Kubeconfig needs at least one cluster and one context."))
    for entry in clusters:
        if not entry["cluster"].get("server"):
            raise AutomationError(_("Kubeconfig: cluster “%(name)s” has no server.") % {"name": entry["name"]})
        for field in _CLUSTER_FILE_FIELDS:
            if entry["cluster"].get(field):
                raise AutomationError(
                    _(
                        "Kubeconfig: cluster “%(name)s” refers to the file “%(field)s”;"
                        " put the data inline (“%(field)s-data”)."
                    )
                    % {"name": entry["name"], "field": field}
                )
    for entry in users:
        name, user = entry["name"], entry["user"]
        for field in _USER_FILE_FIELDS:
            if user.get(field):
                raise AutomationError(
                    _("Kubeconfig: user “%(user)s” refers to a file of the worker (“%(field)s”); put the data inline.")
                    % {"user": name, "field": field}
                )
        exec_ = user.get("exec")
        if exec_ is not None:
            if not isinstance(exec_, dict):
                raise AutomationError(_("Kubeconfig: user “%(user)s” has a malformed exec section.") % {"user": name})
            _check_program(name, exec_.get("command"), "exec")
            for item in exec_.get("env") or []:
                env_name = str((item or {}).get("name", "")) if isinstance(item, dict) else ""
                if env_name.upper() in _FORBIDDEN_ENV or env_name.upper().startswith(_FORBIDDEN_ENV_PREFIXES):
                    raise AutomationError(
                        _(
                            "Kubeconfig: user “%(user)s” sets the environment variable %(env)s"
                            " for its credential plugin; this is refused."
                        )
                        % {"user": name, "env": env_name}
                    )
        provider = user.get("auth-provider")
        if provider is not None:
            if not isinstance(provider, dict):
                raise AutomationError(
                    _("Kubeconfig: user “%(user)s” has a malformed auth-provider section.") % {"user": name}
                )
            provider_config = provider.get("config") or {}
            if provider_config.get("cmd-path"):
                _check_program(name, provider_config["cmd-path"], "auth-provider cmd-path")
    user_names, cluster_names = {e["name"] for e in users}, {e["name"] for e in clusters}
    for entry in contexts:
        ctx = entry["context"]
        if ctx.get("cluster") not in cluster_names:
            raise AutomationError(
                _("Kubeconfig: context “%(name)s” names an unknown cluster.") % {"name": entry["name"]}
            )
        if ctx.get("user") and ctx["user"] not in user_names:
            raise AutomationError(_("Kubeconfig: context “%(name)s” names an unknown user.") % {"name": entry["name"]})
    return config


def check_context(config, context):
    """Refuse a context name the kubeconfig does not have (empty: the current context must exist)."""
    names = {entry["name"] for entry in config.get("contexts") or []}
    wanted = context or config.get("current-context")
    if not wanted:
        raise AutomationError(_("Kubeconfig has no current-context; set the cluster's context."))
    if wanted not in names:
        raise AutomationError(_("Kubeconfig has no context “%(name)s”.") % {"name": wanted})
    return wanted


def secret_values(config):
    """Every credential in a parsed kubeconfig, for the Redactor."""
    values = []
    for entry in config.get("users") or []:
        user = entry.get("user") or {}
        for field in _USER_SECRET_FIELDS:
            if user.get(field):
                values.append(str(user[field]))
        if user.get("client-key-data"):
            try:  # the decoded private key too, line by line (the Redactor splits lines)
                values.append(base64.b64decode(user["client-key-data"]).decode("utf-8", "replace"))
            except (ValueError, TypeError):
                pass
        provider_config = (user.get("auth-provider") or {}).get("config") or {}
        values += [str(provider_config[key]) for key in _AUTH_PROVIDER_SECRET_KEYS if provider_config.get(key)]
        for item in (user.get("exec") or {}).get("env") or []:
            if isinstance(item, dict) and item.get("value"):
                values.append(str(item["value"]))
    return [value for value in values if len(value) >= 4]


def _cluster_config(cluster):
    if cluster is None:
        raise AutomationError(_("This automation needs a cluster, and the step has none."))
    config = check_kubeconfig(cluster.kubeconfig)
    check_context(config, cluster.context)
    return config


def materialize(cluster, workdir):
    """Write the cluster's checked kubeconfig to a new 0600 file in `workdir`; return its path."""
    config = _cluster_config(cluster)
    fd, path = tempfile.mkstemp(prefix="kubeconfig-", suffix=".yaml", dir=str(workdir))  # mkstemp: mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, default_flow_style=False, sort_keys=False)
    os.chmod(path, 0o600)
    return Path(path)


def api_client(cluster, workdir):
    """A kubernetes.client.ApiClient for the cluster (checked kubeconfig, the cluster's context)."""
    from kubernetes import config as kube_config

    config = _cluster_config(cluster)
    temp_dir = Path(workdir) / "kube-tmp"
    temp_dir.mkdir(mode=0o700, exist_ok=True)
    try:
        return kube_config.new_client_from_config_dict(
            config_dict=config,
            context=cluster.context or None,
            persist_config=False,
            temp_file_path=str(temp_dir),
        )
    except kube_config.ConfigException as exc:
        raise AutomationError(_("Kubeconfig cannot be used: %(error)s") % {"error": exc}) from None


def validate_kubeconfig(text):
    """Form validator for Cluster.kubeconfig (empty is allowed: a cluster for Ansible only)."""
    if not str(text or "").strip():
        return
    try:
        check_kubeconfig(text)
    except AutomationError as exc:
        raise ValidationError(str(exc), code="kubeconfig") from None
