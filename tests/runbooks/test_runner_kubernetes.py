"""The `kubernetes` runner against the fake API server, or a real cluster when OKNO_TEST_KUBECONFIG is set."""

import threading

import pytest

from runbooks.runners.base import AutomationError
from runbooks.runners.kubernetes import KubernetesRunner
from tests.runbooks.kube_fixtures import *  # noqa: F403
from tests.runbooks.kube_fixtures import fake_only, in_english, make_ctx
from tests.waiting import FAILURE_DEADLINE_SECONDS, wait_until


@pytest.fixture
def runner():
    return KubernetesRunner()


def run(runner, kube, tmp_path, spec, **kwargs):
    ctx = make_ctx(tmp_path, kube.cluster, **kwargs)
    outcome = runner.run(spec, ctx)
    return outcome, ctx.lines


def test_cordon_then_uncordon(runner, kube, tmp_path):
    (node,) = kube.nodes(1)

    outcome, lines = run(runner, kube, tmp_path, {"action": "cordon", "node": node})
    assert outcome.status == "succeeded", lines
    assert kube.unschedulable(node)
    assert f"node {node} cordoned" in lines
    assert outcome.command == f"kubectl cordon {node}"

    outcome, lines = run(runner, kube, tmp_path, {"action": "cordon", "node": node})
    assert outcome.status == "succeeded" and f"node {node} already cordoned" in lines

    outcome, lines = run(runner, kube, tmp_path, {"action": "uncordon", "node": node})
    assert outcome.status == "succeeded", lines
    assert not kube.unschedulable(node)
    assert f"node {node} uncordoned" in lines


def test_drain_evicts_pods_on_the_node_only_and_skips_daemonset_pods(runner, kube, tmp_path):
    # Given two pods of "web" on node 1, a DaemonSet pod on node 1, and "api" on node 2
    node1, node2 = kube.nodes(2)
    web = kube.deployment("web", 2, node1)
    ds = kube.daemonset("agent", node1)
    api = kube.deployment("api", 1, node2)

    # When node 1 is drained
    outcome, lines = run(runner, kube, tmp_path, {"action": "drain", "node": node1, "eviction_retry_seconds": 1})

    # Then the web pods were evicted and are gone, the DaemonSet pod and node 2's pod stay
    assert outcome.status == "succeeded", lines
    assert kube.unschedulable(node1)
    for pod in web:
        assert f"evicting pod {kube.namespace}/{pod}" in lines
        assert f"pod {kube.namespace}/{pod} evicted" in lines
    assert not set(web) & set(kube.pods(node=node1))
    assert set(ds) <= set(kube.pods(node=node1))
    assert any("ignoring DaemonSet-managed" in line and ds[0] in line for line in lines)
    assert set(api) == set(kube.pods(selector="app=api"))
    assert lines[-1] == f"node {node1} drained"
    assert outcome.command == f"kubectl drain {node1} --ignore-daemonsets --delete-emptydir-data"


def test_drain_blocked_by_pdb_retries_then_times_out_naming_pod_and_pdb(runner, kube, tmp_path):
    (node,) = kube.nodes(1)
    pods = kube.deployment("db", 2, node)
    kube.pdb("db-pdb", "app=db", 2)
    ctx = make_ctx(tmp_path, kube.cluster, timeout=120)

    def retries():
        return [line for line in ctx.lines if "refused by PodDisruptionBudget" in line and "retrying in 1 s" in line]

    # The run's time is up once both pods were refused in three rounds (an event, not a clock): the runner
    # must keep retrying until then, and report the timeout naming the pods and the PDB.
    ctx.stop_reason = lambda: "timed_out" if len(retries()) >= 2 * 3 else None
    outcome = runner.run({"action": "drain", "node": node, "eviction_retry_seconds": 1}, ctx)
    lines = ctx.lines

    assert outcome.status == "timed_out", lines
    assert len(retries()) == 2 * 3  # both pods, three rounds, and no eviction attempt after the stop
    assert "Cannot evict pod as it would violate the pod's disruption budget" in outcome.summary
    assert "db-pdb" in outcome.summary or not kube.is_fake  # the fake names the PDB in its cause, like the API server
    assert any(pod in outcome.summary for pod in pods)
    assert outcome.summary.startswith("Timed out while evicting pods.")
    assert set(kube.pods(selector="app=db")) == set(pods)  # nothing evicted


def test_the_runners_own_timeout_ends_a_drain_blocked_by_a_pdb(runner, kube, tmp_path):
    # Given a drain the PDB blocks for ever, and a caller that never asks it to stop
    (node,) = kube.nodes(1)
    kube.deployment("db", 1, node)
    kube.pdb("db-pdb", "app=db", 1)
    ctx = make_ctx(tmp_path, kube.cluster, timeout=1.5)
    ctx.stop_reason = lambda: None
    result = {}
    spec = {"action": "drain", "node": node, "eviction_retry_seconds": 1}
    worker = threading.Thread(target=in_english(lambda: result.update(outcome=runner.run(spec, ctx))))
    # When it runs with its timeout of 1.5 s
    worker.start()
    worker.join(FAILURE_DEADLINE_SECONDS)  # bounds a hang only
    # Then the runner's own clock ended it, as timed out
    assert not worker.is_alive(), "the runner ignored its timeout"
    assert result["outcome"].status == "timed_out"
    assert result["outcome"].summary.startswith("Timed out while evicting pods.")


def test_cancel_during_pdb_retry_stops_within_a_second(runner, kube, tmp_path):
    (node,) = kube.nodes(1)
    kube.deployment("db", 1, node)
    kube.pdb("db-pdb", "app=db", 1)
    cancel = threading.Event()
    ctx = make_ctx(tmp_path, kube.cluster, timeout=60, cancel=cancel)
    result = {}
    worker = threading.Thread(
        target=in_english(
            lambda: result.update(
                outcome=runner.run({"action": "drain", "node": node, "eviction_retry_seconds": 30}, ctx)
            )
        )
    )
    worker.start()
    wait_until(lambda: any("refused by PodDisruptionBudget" in line for line in ctx.lines), message="a PDB refusal")
    refusals = len(kube.server.requests_where("POST", "/eviction")) if kube.is_fake else None

    cancel.set()
    # The next retry is 30 s away: a run that ends before then was woken by the cancel, not by the retry.
    worker.join(timeout=20)

    assert not worker.is_alive(), "the cancel did not interrupt the 30 s wait before the next eviction"
    if kube.is_fake:
        assert len(kube.server.requests_where("POST", "/eviction")) == refusals  # no eviction after the cancel
    assert result["outcome"].status == "cancelled"
    assert result["outcome"].summary.startswith("Cancelled while evicting pods.")


def test_rollout_restart_then_wait_rollout(runner, kube, tmp_path):
    (node,) = kube.nodes(1)
    kube.deployment("web", 2, node)
    assert kube.restarted_at("web") is None

    outcome, lines = run(
        runner, kube, tmp_path, {"action": "rollout_restart", "namespace": kube.namespace, "name": "web"}
    )
    assert outcome.status == "succeeded", lines
    assert kube.restarted_at("web")
    assert outcome.command == f"kubectl rollout restart deployment/web -n {kube.namespace}"

    outcome, lines = run(
        runner, kube, tmp_path, {"action": "wait_rollout", "namespace": kube.namespace, "name": "web"}, timeout=120
    )
    assert outcome.status == "succeeded", lines
    assert lines[-1] == 'deployment "web" successfully rolled out'
    if kube.is_fake:  # the fake takes 1.5 s to roll out, so the runner saw it in progress
        assert any(line.startswith('Waiting for deployment "web" rollout to finish') for line in lines)


def test_wait_rollout_times_out(runner, kube, tmp_path):
    fake_only(kube, "needs a rollout that is slower than the timeout, which the fake controls")
    (node,) = kube.nodes(1)
    kube.deployment("web", 3, node)
    kube.server.rollout_seconds = 30
    run(runner, kube, tmp_path, {"action": "rollout_restart", "namespace": kube.namespace, "name": "web"})

    outcome, lines = run(
        runner, kube, tmp_path, {"action": "wait_rollout", "namespace": kube.namespace, "name": "web"}, timeout=1.5
    )

    assert outcome.status == "timed_out"
    assert "2 out of 3 new replicas have been updated" in outcome.summary


def test_wait_pods_ready(runner, kube, tmp_path):
    (node,) = kube.nodes(1)
    kube.deployment("web", 2, node, wait=False)
    kube.make_ready_later("app=web", 1.0)

    outcome, lines = run(
        runner,
        kube,
        tmp_path,
        {"action": "wait_pods_ready", "namespace": kube.namespace, "selector": "app=web"},
        timeout=180,
    )

    assert outcome.status == "succeeded", lines
    assert lines[-1] == "2 of 2 pods ready (app=web)"
    if kube.is_fake:
        assert "0 of 2 pods ready (app=web)" in lines


def test_list_pods_prints_a_table(runner, kube, tmp_path):
    node1, node2 = kube.nodes(2)
    web = kube.deployment("web", 2, node1)
    kube.deployment("api", 1, node2)

    outcome, lines = run(
        runner, kube, tmp_path, {"action": "list_pods", "namespace": kube.namespace, "selector": "app=web"}
    )

    assert outcome.status == "succeeded"
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "NODE"]
    assert sorted(line.split()[1] for line in lines[1:]) == sorted(web)
    assert all(line.split()[2:] == ["1/1", "Running", node1] for line in lines[1:])
    assert outcome.summary == "2 pods."


def test_delete_pods_by_label(runner, kube, tmp_path):
    (node,) = kube.nodes(1)
    web = kube.deployment("web", 2, node)
    api = kube.deployment("api", 1, node)

    outcome, lines = run(
        runner,
        kube,
        tmp_path,
        {"action": "delete_pods", "namespace": kube.namespace, "selector": "app=web", "grace_period_seconds": 0},
    )

    assert outcome.status == "succeeded", lines
    for pod in web:
        assert f"pod {kube.namespace}/{pod} deleted" in lines
    wait_until(lambda: not set(web) & set(kube.pods()), message="the deleted pods to go")
    assert set(api) <= set(kube.pods())


def test_dry_run_sends_dry_run_all_and_changes_nothing(runner, kube, tmp_path):
    node1, node2 = kube.nodes(2)
    web = kube.deployment("web", 2, node1)
    ds = kube.daemonset("agent", node1)

    results = {}
    for spec in (
        {"action": "cordon", "node": node1},
        {"action": "drain", "node": node1},
        {"action": "rollout_restart", "namespace": kube.namespace, "name": "web"},
        {"action": "delete_pods", "namespace": kube.namespace, "selector": "app=web"},
    ):
        outcome, lines = run(runner, kube, tmp_path, spec, dry_run=True)
        results[spec["action"]] = (outcome, lines)
        assert outcome.status == "succeeded", lines

    # nothing changed
    assert not kube.unschedulable(node1)
    assert set(kube.pods()) == set(web) | set(ds)
    assert kube.restarted_at("web") is None
    # what a rehearsal says
    outcome, lines = results["drain"]
    assert f"node {node1} cordoned (dry run)" in lines
    if kube.is_fake:  # a real node may carry pods of other namespaces too
        assert outcome.summary == f"Node {node1} would be drained: 2 pods evicted. (dry run)"
    for pod in web:
        assert f"pod {kube.namespace}/{pod} would be evicted (dry run)" in lines
    assert outcome.command.endswith("--dry-run=server")
    if kube.is_fake:
        writes = kube.server.mutating_requests()
        assert writes, "the dry run sent no write at all"
        assert all(r["query"].get("dryRun") == "All" for r in writes), writes
        evictions = [r for r in writes if r["path"].endswith("/eviction")]
        assert len(evictions) == 2
        assert all(r["body"]["deleteOptions"]["dryRun"] == ["All"] for r in evictions)
        assert {r["method"] for r in writes} == {"PATCH", "POST", "DELETE"}


def test_dry_run_drain_reports_a_pdb_refusal_without_waiting(runner, kube, tmp_path):
    (node,) = kube.nodes(1)
    kube.deployment("db", 1, node)
    kube.pdb("db-pdb", "app=db", 1)

    # The default retry is 5 s and the run's timeout 30 s: a dry run that retried would time out instead.
    outcome, lines = run(runner, kube, tmp_path, {"action": "drain", "node": node}, dry_run=True)

    assert outcome.status == "failed"
    assert not any("retrying" in line for line in lines)
    if kube.is_fake:
        assert len(kube.server.requests_where("POST", "/eviction")) == 1  # asked once, not again
    assert "would be refused by a PodDisruptionBudget" in outcome.summary
    assert not kube.unschedulable(node)


def test_drain_refuses_pods_without_a_controller_unless_forced(runner, kube, tmp_path):
    fake_only(kube, "a bare pod is set up through the fake's state")
    (node,) = kube.nodes(1)
    kube.server.add_pod(kube.namespace, "bare", node, owner_kind=None)

    outcome, lines = run(runner, kube, tmp_path, {"action": "drain", "node": node})
    assert outcome.status == "failed"
    assert f"{kube.namespace}/bare" in outcome.summary
    assert not kube.server.requests_where("POST", "/eviction")

    outcome, lines = run(runner, kube, tmp_path, {"action": "drain", "node": node, "force": True})
    assert outcome.status == "succeeded", lines


def test_api_error_fails_with_the_api_message(runner, kube, tmp_path):
    outcome, lines = run(runner, kube, tmp_path, {"action": "cordon", "node": "no-such-node-okno"})

    assert outcome.status == "failed"
    assert 'nodes "no-such-node-okno" not found' in outcome.summary
    assert outcome.summary.startswith("Kubernetes API error 404")


def test_unreachable_server_fails_clearly(runner, tmp_path):
    from tests.runbooks.kube_fixtures import _cluster

    cluster = _cluster("""
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: abcdefgh12345678}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
""")
    outcome = runner.run({"action": "cordon", "node": "n"}, make_ctx(tmp_path, cluster))
    assert outcome.status == "failed"
    assert outcome.summary.startswith("Cannot reach the Kubernetes API")


def test_exec_plugin_not_allowed_is_refused_before_any_request(runner, kube, tmp_path, settings):
    settings.OKNO_KUBECONFIG_EXEC_ALLOWLIST = ["kubelogin"]
    import yaml

    config = yaml.safe_load(kube.cluster.kubeconfig)
    for entry in config["users"]:
        entry["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": "/tmp/steal-credentials",
                "args": ["x"],
            }
        }
    kube.cluster.kubeconfig = yaml.safe_dump(config)
    marker = tmp_path / "ran"

    outcome, lines = run(runner, kube, tmp_path, {"action": "cordon", "node": "worker-1"})

    assert outcome.status == "failed"
    assert "/tmp/steal-credentials" in outcome.summary and "is not allowed" in outcome.summary
    assert config["users"][0]["name"] in outcome.summary
    assert not marker.exists()
    if kube.is_fake:
        assert kube.server.requests == []


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"action": "reboot", "node": "x"}, "is unknown"),
        ({"action": "cordon"}, "needs “node”"),
        ({"action": "drain", "node": "x", "eviction_retry_seconds": 0}, "at least 1"),
        ({"action": "delete_pods", "namespace": "x"}, "needs “selector”"),
        ({"action": "list_pods"}, "selector or a node"),
        ({"action": "rollout_restart", "namespace": "x", "name": "y", "resource": "job"}, "must be one of"),
        ({"action": "cordon", "node": "x", "nodes": "y"}, "unknown fields: nodes"),
    ],
)
def test_check_refuses_malformed_specs(runner, spec, message):
    with pytest.raises(AutomationError, match=message):
        runner.check(spec)


def test_run_refuses_a_malformed_spec_without_raising(runner, kube, tmp_path):
    outcome, lines = run(runner, kube, tmp_path, {"action": "reboot", "node": "x"})
    assert outcome.status == "failed" and "is unknown" in outcome.summary


def test_describe_reads_like_kubectl(runner):
    assert (
        runner.describe({"action": "drain", "node": "worker-1"})
        == "kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data"
    )
    assert (
        runner.describe({"action": "wait_rollout", "namespace": "prod", "name": "api", "resource": "statefulset"})
        == "kubectl rollout status statefulset/api -n prod"
    )
    assert (
        runner.describe({"action": "delete_pods", "namespace": "prod", "selector": "app=x", "grace_period_seconds": 5})
        == "kubectl delete pods -l app=x -n prod --grace-period=5 --wait=false"
    )
    assert runner.supports_dry_run and runner.needs_cluster
