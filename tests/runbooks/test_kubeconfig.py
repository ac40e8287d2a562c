"""Kubeconfig checks: shape, exec / auth-provider programs only from the allow-list, no worker files."""

import base64
import stat

import pytest
import yaml
from django.core.exceptions import ValidationError

from runbooks import kubeconfig
from runbooks.runners.base import AutomationError, Redactor
from tests.runbooks.fake_kube_api import FakeKubeApiServer
from tests.runbooks.kube_fixtures import _cluster, english  # noqa: F401 (autouse: messages in English)

KEY_PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRETSECRET\n"
    "-----END PRIVATE KEY-----\n"
)


def config(user=None, cluster=None, **extra):
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "main",
        "clusters": [
            {
                "name": "prod",
                "cluster": cluster or {"server": "https://10.0.0.1:6443", "certificate-authority-data": "Q0E="},
            }
        ],
        "users": [{"name": "ops", "user": user if user is not None else {"token": "tok-0123456789abcdef"}}],
        "contexts": [{"name": "main", "context": {"cluster": "prod", "user": "ops"}}],
        **extra,
    }


def text(cfg):
    return yaml.safe_dump(cfg)


@pytest.fixture(autouse=True)
def allowlist(settings):
    settings.OKNO_KUBECONFIG_EXEC_ALLOWLIST = ["kubelogin", "gke-gcloud-auth-plugin"]


def test_a_plain_kubeconfig_passes():
    parsed = kubeconfig.check_kubeconfig(text(config()))
    assert parsed["users"][0]["user"]["token"] == "tok-0123456789abcdef"


@pytest.mark.parametrize("command", ["kubelogin", "/usr/local/bin/kubelogin", "gke-gcloud-auth-plugin"])
def test_allow_listed_exec_plugins_pass(command):
    kubeconfig.check_kubeconfig(
        text(
            config(
                {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": command, "args": ["get-token"]}}
            )
        )
    )


@pytest.mark.parametrize(
    "command, message",
    [
        ("/tmp/evil", "runs the program “/tmp/evil” (exec), which is not allowed"),
        ("sh", "runs the program “sh” (exec), which is not allowed"),
        ("/usr/bin/../../tmp/kubelogin", "a path with “..” is refused"),
        ("../kubelogin", "a path with “..” is refused"),
    ],
)
def test_other_exec_plugins_are_refused_naming_user_and_command(command, message):
    with pytest.raises(AutomationError) as err:
        kubeconfig.check_kubeconfig(text(config({"exec": {"command": command}})))
    assert "user “ops”" in str(err.value)
    assert message in str(err.value)


def test_allowed_programs_are_listed_in_the_refusal():
    with pytest.raises(AutomationError, match="Allowed programs: gke-gcloud-auth-plugin, kubelogin"):
        kubeconfig.check_kubeconfig(text(config({"exec": {"command": "curl"}})))


def test_exec_env_that_changes_what_runs_is_refused():
    with pytest.raises(AutomationError, match="LD_PRELOAD"):
        kubeconfig.check_kubeconfig(
            text(config({"exec": {"command": "kubelogin", "env": [{"name": "LD_PRELOAD", "value": "/tmp/x.so"}]}}))
        )
    with pytest.raises(AutomationError, match="PATH"):
        kubeconfig.check_kubeconfig(
            text(config({"exec": {"command": "kubelogin", "env": [{"name": "PATH", "value": "/tmp"}]}}))
        )


def test_auth_provider_cmd_path_is_refused_unless_allow_listed():
    provider = {
        "auth-provider": {"name": "gcp", "config": {"cmd-path": "/tmp/gcloud", "cmd-args": "config config-helper"}}
    }
    with pytest.raises(AutomationError, match="“/tmp/gcloud” \\(auth-provider cmd-path\\)"):
        kubeconfig.check_kubeconfig(text(config(provider)))
    provider["auth-provider"]["config"]["cmd-path"] = "/opt/google/gke-gcloud-auth-plugin"
    kubeconfig.check_kubeconfig(text(config(provider)))
    # an auth-provider without a command (oidc) is fine
    kubeconfig.check_kubeconfig(text(config({"auth-provider": {"name": "oidc", "config": {"id-token": "abcdefgh"}}})))


@pytest.mark.parametrize(
    "user, cluster, message",
    [
        ({"tokenFile": "/var/run/secrets/token"}, None, "“tokenFile”"),
        ({"client-key": "/etc/kubernetes/pki/admin.key", "client-certificate-data": "eA=="}, None, "“client-key”"),
        ({"token": "abcd"}, {"server": "https://x", "certificate-authority": "/etc/ca.crt"}, "certificate-authority"),
    ],
)
def test_files_of_the_worker_are_refused(user, cluster, message):
    with pytest.raises(AutomationError, match=message):
        kubeconfig.check_kubeconfig(text(config(user, cluster)))


@pytest.mark.parametrize(
    "source, message",
    [
        ("", "has no kubeconfig"),
        ("clusters: [", "not valid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("clusters: []\ncontexts: []\n", "at least one cluster"),
        ("clusters: {a: 1}\n", "must be a list"),
        (
            "clusters: [{name: a}]\ncontexts: [{name: b, context: {cluster: a}}]\n",
            "needs a name and a “cluster” mapping",
        ),
        ("clusters: [{name: a, cluster: {}}]\ncontexts: [{name: b, context: {cluster: a}}]\n", "has no server"),
        (
            "clusters: [{name: a, cluster: {server: 'https://x'}}]\ncontexts: [{name: b, context: {cluster: z}}]\n",
            "unknown cluster",
        ),
        (
            "clusters: [{name: a, cluster: {server: 'https://x'}}]\n"
            "contexts: [{name: b, context: {cluster: a, user: nobody}}]\n",
            "unknown user",
        ),
    ],
)
def test_malformed_kubeconfigs_are_refused(source, message):
    with pytest.raises(AutomationError, match=message):
        kubeconfig.check_kubeconfig(source)


def test_duplicate_keys_cannot_smuggle_a_command(tmp_path):
    # PyYAML keeps the last duplicate key; what is written for kubectl is the parsed config, so both agree.
    source = text(config()).replace(
        "token: tok-0123456789abcdef", "exec:\n      command: kubelogin\n      command: /tmp/evil"
    )
    with pytest.raises(AutomationError, match="/tmp/evil"):
        kubeconfig.check_kubeconfig(source)


def test_secret_values_cover_every_credential():
    user = {
        "token": "tok-0123456789abcdef",
        "password": "pa55word!",
        "username": "admin",
        "client-key-data": base64.b64encode(KEY_PEM.encode()).decode(),
        "client-certificate-data": "Y2VydGlmaWNhdGU=",
        "auth-provider": {
            "name": "oidc",
            "config": {"id-token": "idtok-123456", "refresh-token": "refresh-123456", "client-id": "okno"},
        },
        "exec": {"command": "kubelogin", "env": [{"name": "AZURE_CLIENT_SECRET", "value": "azure-secret-1"}]},
    }
    values = kubeconfig.secret_values(kubeconfig.check_kubeconfig(text(config(user))))

    for secret in (
        "tok-0123456789abcdef",
        "pa55word!",
        user["client-key-data"],
        "Y2VydGlmaWNhdGU=",
        "idtok-123456",
        "refresh-123456",
        "azure-secret-1",
    ):
        assert secret in values
    assert "admin" not in values and "okno" not in values
    redactor = Redactor(values)
    assert "SECRETSECRET" not in redactor(KEY_PEM)  # the decoded key, line by line
    assert redactor("Authorization: Bearer tok-0123456789abcdef") == "Authorization: Bearer ••••••"


def test_materialize_writes_a_private_file_with_the_checked_config(tmp_path):
    cluster = _cluster(text(config()))

    path = kubeconfig.materialize(cluster, tmp_path)

    assert path.parent == tmp_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text()) == config()


def test_materialize_refuses_a_missing_cluster_or_context(tmp_path):
    with pytest.raises(AutomationError, match="needs a cluster"):
        kubeconfig.materialize(None, tmp_path)
    with pytest.raises(AutomationError, match="no context “staging”"):
        kubeconfig.materialize(_cluster(text(config()), context="staging"), tmp_path)
    with pytest.raises(AutomationError, match="no current-context"):
        cfg = config()
        del cfg["current-context"]
        kubeconfig.materialize(_cluster(text(cfg)), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_api_client_talks_to_the_cluster(tmp_path):
    from kubernetes import client

    with FakeKubeApiServer() as fake:
        fake.add_node("worker-1")
        api = kubeconfig.api_client(_cluster(fake.kubeconfig(), context="okno-fake"), tmp_path)
        try:
            nodes = client.CoreV1Api(api).list_node().items
        finally:
            api.close()
    assert [n.metadata.name for n in nodes] == ["worker-1"]


def test_api_client_refuses_before_running_anything(tmp_path):
    marker = tmp_path / "ran"
    script = tmp_path / "plugin"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    with pytest.raises(AutomationError, match="is not allowed"):
        kubeconfig.api_client(
            _cluster(text(config({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(script)}}))),
            tmp_path,
        )
    assert not marker.exists()


def test_form_validator():
    kubeconfig.validate_kubeconfig("")  # a cluster for Ansible only
    kubeconfig.validate_kubeconfig(text(config()))
    with pytest.raises(ValidationError) as err:
        kubeconfig.validate_kubeconfig(text(config({"exec": {"command": "/tmp/evil"}})))
    assert "/tmp/evil" in err.value.messages[0]
