"""The `kubectl` runner with the real kubectl binary (settings.OKNO_KUBECTL) against the fake API server."""

import os
import threading
from pathlib import Path

import pytest
from django.conf import settings

from runbooks.runners.base import AutomationError, UnsafeParameter, fill
from runbooks.runners.kubectl import KubectlRunner
from tests.runbooks.kube_fixtures import *  # noqa: F403
from tests.runbooks.kube_fixtures import _cluster, in_english, make_ctx
from tests.waiting import FAILURE_DEADLINE_SECONDS, wait_until


@pytest.fixture
def runner():
    return KubectlRunner()


@pytest.fixture
def cluster(fake_api):
    fake_api.add_node("worker-1")
    fake_api.add_node("worker-2")
    return _cluster(fake_api.kubeconfig())


def run(runner, cluster, tmp_path, spec, **kwargs):
    ctx = make_ctx(tmp_path, cluster, **kwargs)
    outcome = runner.run(spec, ctx)
    return outcome, ctx.lines


def test_the_binary_is_the_projects_own():
    path = Path(settings.OKNO_KUBECTL)
    assert path.is_file() and os.access(path, os.X_OK)
    assert str(path).startswith(str(Path(os.sys.prefix)))  # the virtualenv's, not /usr/bin/kubectl


def test_version_client(runner, cluster, tmp_path):
    outcome, lines = run(runner, cluster, tmp_path, {"args": ["version", "--client"]})

    assert outcome.status == "succeeded", lines
    assert any(line.startswith("Client Version: v1.") for line in lines)
    # the kubeconfig travels in the job: a file of the job's private work dir in the runner, none left here
    assert outcome.command.startswith(f"{settings.OKNO_KUBECTL} --kubeconfig kubeconfig.yaml ")
    assert list(tmp_path.iterdir()) == []


def test_get_nodes_against_the_fake(runner, cluster, fake_api, tmp_path):
    outcome, lines = run(runner, cluster, tmp_path, {"args": ["get", "nodes"]})

    assert outcome.status == "succeeded", lines
    assert lines[0].split()[0] == "NAME"
    assert [line.split()[0] for line in lines[1:]] == ["worker-1", "worker-2"]
    assert fake_api.requests_where("GET", "/api/v1/nodes")


def test_cordon_and_uncordon_against_the_fake(runner, cluster, fake_api, tmp_path):
    outcome, lines = run(runner, cluster, tmp_path, {"args": ["cordon", "worker-1"]})
    assert outcome.status == "succeeded", lines
    assert lines == ["node/worker-1 cordoned"]
    assert fake_api.nodes["worker-1"]["spec"]["unschedulable"] is True

    outcome, lines = run(runner, cluster, tmp_path, {"args": ["uncordon", "worker-1"]})
    assert outcome.status == "succeeded", lines
    assert not fake_api.nodes["worker-1"]["spec"].get("unschedulable")


def test_a_failing_command_fails(runner, cluster, tmp_path):
    outcome, lines = run(runner, cluster, tmp_path, {"args": ["cordon", "no-such-node"]})

    assert outcome.status == "failed" and outcome.exit_code == 1
    assert any('nodes "no-such-node" not found' in line for line in lines)


def test_rehearsal_of_drain_adds_dry_run_server_and_changes_nothing(runner, cluster, fake_api, tmp_path):
    fake_api.add_pod("default", "web-1", "worker-1", {"app": "web"})
    fake_api.add_pod("default", "agent-1", "worker-1", {"app": "agent"}, owner_kind="DaemonSet")

    outcome, lines = run(
        runner,
        cluster,
        tmp_path,
        {"args": ["drain", "worker-1", "--ignore-daemonsets", "--delete-emptydir-data"]},
        dry_run=True,
    )

    assert outcome.status == "succeeded", lines
    assert outcome.command.endswith("drain worker-1 --ignore-daemonsets --delete-emptydir-data --dry-run=server")
    assert "node/worker-1 drained (server dry run)" in lines
    writes = fake_api.mutating_requests()
    assert writes and all(fake_api.sent_dry_run(r) for r in writes), writes
    assert fake_api.requests_where("POST", "/pods/web-1/eviction")
    assert not fake_api.nodes["worker-1"]["spec"].get("unschedulable")
    assert ("default", "web-1") in fake_api.pods


def test_rehearsal_of_apply_adds_dry_run_server(runner, cluster, fake_api, tmp_path):
    manifest = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: okno-demo\n"

    outcome, lines = run(runner, cluster, tmp_path, {"args": ["apply", "-f", "-"], "stdin": manifest}, dry_run=True)

    # The fake has no OpenAPI documents and no namespaces endpoint that apply needs: it may fail,
    # but what was run carries --dry-run=server and the fake saw no write without dryRun.
    assert outcome.command.endswith("apply -f - --dry-run=server")
    assert all(fake_api.sent_dry_run(r) for r in fake_api.mutating_requests())


def test_rehearsal_runs_read_only_verbs_unchanged_and_skips_others(runner, cluster, fake_api, tmp_path):
    outcome, lines = run(runner, cluster, tmp_path, {"args": ["get", "nodes", "-o", "name"]}, dry_run=True)
    assert outcome.status == "succeeded"
    assert lines == ["node/worker-1", "node/worker-2"]
    assert "--dry-run" not in outcome.command

    outcome, _ = run(runner, cluster, tmp_path, {"args": ["certificate", "approve", "csr-1"]}, dry_run=True)
    assert outcome.status == "skipped" and "no dry run" in outcome.summary

    outcome, _ = run(runner, cluster, tmp_path, {"args": ["cordon", "worker-1"], "dry_run": "none"}, dry_run=True)
    assert outcome.status == "skipped"
    assert not fake_api.mutating_requests()


def test_rehearsal_puts_dry_run_before_the_container_arguments():
    from runbooks.runners.kubectl import rehearsal_args

    assert rehearsal_args(["run", "x", "--image=busybox", "--dry-run=client", "--", "sleep", "1"])[0] == [
        "run",
        "x",
        "--image=busybox",
        "--dry-run=server",
        "--",
        "sleep",
        "1",
    ]
    assert rehearsal_args(["rollout", "undo", "deployment/web"])[0][-1] == "--dry-run=server"
    assert rehearsal_args(["rollout", "restart", "deployment/web"]) == (
        None,
        "kubectl rollout restart has no dry run; it is skipped in a rehearsal.",
    )
    assert rehearsal_args(["rollout", "status", "deployment/web"])[0] == ["rollout", "status", "deployment/web"]


def test_a_server_parameter_is_refused_before_any_process(runner, cluster, fake_api, tmp_path):
    spec = {"args": ["get", "nodes", "{{ extra }}"]}

    with pytest.raises(UnsafeParameter, match="--server=http://127.0.0.1:1"):
        fill(spec, {"extra": "--server=http://127.0.0.1:1"})

    assert list(tmp_path.iterdir()) == []  # no kubeconfig written, nothing ran
    assert fake_api.requests == []


def test_a_flag_built_from_a_parameter_is_refused_at_run(runner, cluster, fake_api, tmp_path):
    # "--{{ flag }}" passes fill (the value does not start with "-"), so run() checks the filled args again
    filled = fill({"args": ["get", "nodes", "--{{ flag }}"]}, {"flag": "server=http://127.0.0.1:1"})
    assert filled["args"][-1] == "--server=http://127.0.0.1:1"

    outcome, lines = run(runner, cluster, tmp_path, filled)

    assert outcome.status == "failed" and "--server" in outcome.summary
    assert not list(tmp_path.glob("kubeconfig-*"))
    with pytest.raises(AutomationError, match="may not come from a parameter"):
        runner.check({"args": ["get", "nodes", "--{{ flag }}"]})


@pytest.mark.parametrize(
    "args",
    [
        ["get", "nodes", "--server", "http://127.0.0.1:1"],
        ["get", "nodes", "--server=http://127.0.0.1:1"],
        ["get", "nodes", "-s", "http://127.0.0.1:1"],
        ["get", "nodes", "-shttp://127.0.0.1:1"],
        ["get", "nodes", "-As", "http://127.0.0.1:1"],
        ["get", "nodes", "--token=abc"],
        ["get", "nodes", "--as=system:admin"],
        ["get", "nodes", "--as-group", "system:masters"],
        ["get", "nodes", "--kubeconfig=/etc/kubernetes/admin.conf"],
        ["get", "nodes", "--context", "prod"],
        ["get", "nodes", "--user=admin"],
        ["get", "nodes", "--cluster=other"],
        ["get", "nodes", "--insecure-skip-tls-verify"],
        ["get", "nodes", "--certificate-authority=/tmp/ca"],
        ["get", "nodes", "--client-key=/tmp/key"],
        ["get", "nodes", "--client-certificate=/tmp/crt"],
        ["get", "nodes", "--username=u"],
        ["get", "nodes", "--password=p"],
    ],
)
def test_check_refuses_connection_overrides(runner, args, fake_api, cluster, tmp_path):
    with pytest.raises(AutomationError, match="kubectl argument refused"):
        runner.check({"args": args})
    outcome, _ = run(runner, cluster, tmp_path, {"args": args})
    assert outcome.status == "failed"
    assert fake_api.requests == []


@pytest.mark.parametrize(
    "args",
    [
        ["get", "pods", "-nkube-system"],
        ["get", "pods", "-lapp=status"],
        ["get", "pods", "-o", "wide", "-A"],
        ["logs", "-l", "app=web", "--since=5m"],
        ["rollout", "status", "deployment/web", "-n", "prod"],
        ["auth", "can-i", "list", "pods"],
        ["drain", "{{ node }}", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=10m"],
    ],
)
def test_check_accepts_ordinary_commands(runner, args):
    runner.check({"args": args})


@pytest.mark.parametrize(
    "args, message",
    [
        (["exec", "-it", "web", "--", "sh"], "not allowed in automation"),
        (["port-forward", "svc/web", "8080:80"], "not allowed in automation"),
        (["proxy"], "not allowed in automation"),
        (["cp", "web:/etc/passwd", "/tmp/x"], "not allowed in automation"),
        (["attach", "web"], "not allowed in automation"),
        (["debug", "node/worker-1"], "not allowed in automation"),
        (["edit", "deployment/web"], "not allowed in automation"),
        (["config", "view", "--raw"], "not allowed in automation"),
        (["krew", "install", "x"], "is not a kubectl command"),
        (["-n", "prod", "get", "pods"], "must be the command"),
        (["{{ verb }}", "pods"], "must be the command"),
        (["rollout", "frobnicate", "deployment/web"], "is not allowed"),
        ([], "non-empty list"),
    ],
)
def test_check_refuses_verbs(runner, args, message):
    with pytest.raises(AutomationError, match=message):
        runner.check({"args": args})


def test_check_refuses_other_shapes(runner):
    with pytest.raises(AutomationError, match="unknown fields"):
        runner.check({"args": ["get", "pods"], "argv": []})
    with pytest.raises(AutomationError, match="“server” or “none”"):
        runner.check({"args": ["get", "pods"], "dry_run": "client"})


def test_the_token_never_appears_in_the_output(runner, cluster, fake_api, tmp_path):
    # Given a node whose annotation carries the kubeconfig's token (as a careless script might leave it)
    fake_api.nodes["worker-1"]["metadata"]["annotations"] = {"example.org/note": f"token={fake_api.token}"}

    outcome, lines = run(runner, cluster, tmp_path, {"args": ["get", "node", "worker-1", "-o", "yaml", "-v=8"]})

    assert outcome.status == "succeeded", lines
    text = "\n".join(lines)
    assert "example.org/note: token=••••••" in text
    assert fake_api.token not in text
    assert "Authorization" in text or "Response" in text  # -v=8 printed the requests, masked


def test_a_kubeconfig_with_a_foreign_exec_plugin_is_refused_before_kubectl_starts(runner, fake_api, tmp_path, settings):
    settings.OKNO_KUBECONFIG_EXEC_ALLOWLIST = ["kubelogin"]
    marker = tmp_path / "plugin-ran"
    script = tmp_path / "plugin.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    kubeconfig = fake_api.kubeconfig().replace(
        f"token: {fake_api.token}",
        f"exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {script}\n"
        "      interactiveMode: Never",
    )
    assert "exec:" in kubeconfig

    outcome, lines = run(runner, _cluster(kubeconfig), tmp_path, {"args": ["get", "nodes"]})

    assert outcome.status == "failed"
    assert "okno-fake-user" in outcome.summary and str(script) in outcome.summary
    assert not marker.exists()
    assert fake_api.requests == []


def test_cancel_stops_kubectl(runner, cluster, fake_api, tmp_path):
    # A drain blocked by a PDB retries forever: cancel ends the process group
    fake_api.add_pod("default", "db-1", "worker-2", {"app": "db"})
    fake_api.add_pdb("default", "db-pdb", "app=db", 1)
    cancel = threading.Event()
    ctx = make_ctx(tmp_path, cluster, cancel=cancel, timeout=60)
    result = {}
    worker = threading.Thread(
        target=in_english(
            lambda: result.update(outcome=runner.run({"args": ["drain", "worker-2", "--ignore-daemonsets"]}, ctx))
        )
    )
    worker.start()
    wait_until(lambda: fake_api.requests_where("POST", "/eviction"), message="kubectl's first eviction request")

    cancel.set()
    worker.join(timeout=FAILURE_DEADLINE_SECONDS)  # bounds a hang only

    assert not worker.is_alive(), "cancel did not end kubectl"
    assert result["outcome"].status == "cancelled"
    assert any("disruption budget" in line for line in ctx.lines), ctx.lines
