"""Fixtures for the cluster runner tests: the same tests run against the fake API server (default) or a
real cluster when OKNO_TEST_KUBECONFIG names a kubeconfig file (docs/kubernetes-testing.md).

Import explicitly in a test module: `from tests.runbooks.kube_fixtures import *  # noqa`.
The `kube` fixture offers one interface over both: a Cluster (unsaved) with the kubeconfig, a namespace,
and helpers to set up nodes, pods, deployments and PDBs, cleaned up afterwards.
"""

import os
import time
import uuid
from pathlib import Path

import pytest

from runbooks.runners.base import Redactor, RunContext
from tests.runbooks.fake_kube_api import FakeKubeApiServer

__all__ = ["kube", "fake_api", "english", "make_ctx", "fake_only", "in_english", "REAL_KUBECONFIG"]

REAL_KUBECONFIG = os.environ.get("OKNO_TEST_KUBECONFIG", "")
PAUSE_IMAGE = os.environ.get("OKNO_TEST_PAUSE_IMAGE", "registry.k8s.io/pause:3.10")


def make_ctx(workdir, cluster=None, *, dry_run=False, timeout=30.0, cancel=None):
    """A RunContext whose output lines (redacted like the caller does) land in `ctx.lines`.
    `cancel`: a threading.Event; once set, stop_reason() says "cancelled"."""
    lines = []
    deadline = time.monotonic() + timeout
    redactor = Redactor()

    def stop_reason():
        if cancel is not None and cancel.is_set():
            return "cancelled"
        if time.monotonic() > deadline:
            return "timed_out"
        return None

    ctx = RunContext(
        workdir=Path(workdir),
        output=lambda line: lines.append(redactor(line)),
        stop_reason=stop_reason,
        dry_run=dry_run,
        cluster=cluster,
        timeout=timeout,
        redactor=redactor,
    )
    ctx.lines = lines
    return ctx


def _cluster(kubeconfig_text, context=""):
    from runbooks.models import Cluster

    return Cluster(name="test-cluster", environment="test", kubeconfig=kubeconfig_text, context=context)


class FakeKube:
    """The `kube` interface over FakeKubeApiServer's in-memory state."""

    is_fake = True

    def __init__(self, server):
        self.server = server
        self.token = server.token
        self.namespace = "okno-test"
        self.cluster = _cluster(server.kubeconfig())

    def nodes(self, count):
        names = [f"worker-{i}" for i in range(1, count + 1)]
        for name in names:
            self.server.add_node(name)
        return names

    def deployment(self, name, replicas, node, labels=None, wait=True):
        """A deployment whose pods run on `node`; returns the pod names. wait=False: pods not ready yet."""
        labels = labels or {"app": name}
        self.server.add_deployment(self.namespace, name, replicas=replicas, labels=labels)
        pods = [f"{name}-{uuid.uuid4().hex[:5]}" for _ in range(replicas)]
        for pod in pods:
            self.server.add_pod(self.namespace, pod, node, labels=labels, ready=wait)
        return pods

    def make_ready_later(self, selector, seconds):
        for pod in self.pods(selector):
            self.server.set_pod_ready(self.namespace, pod, True, after=seconds)

    def daemonset(self, name, node):
        pod = f"{name}-{uuid.uuid4().hex[:5]}"
        self.server.add_pod(self.namespace, pod, node, labels={"app": name}, owner_kind="DaemonSet")
        return [pod]

    def pdb(self, name, selector, min_available):
        self.server.add_pdb(self.namespace, name, selector, min_available)

    def pods(self, selector=None, node=None):
        from tests.runbooks.fake_kube_api import _match_labels

        with self.server.lock:
            return sorted(
                p["metadata"]["name"]
                for p in self.server.pods.values()
                if p["metadata"]["namespace"] == self.namespace
                and not p["metadata"].get("deletionTimestamp")
                and _match_labels(selector or "", p["metadata"].get("labels", {}))
                and (node is None or p["spec"]["nodeName"] == node)
            )

    def unschedulable(self, node):
        return bool(self.server.nodes[node]["spec"].get("unschedulable"))

    def restarted_at(self, name):
        dep = self.server.deployments[(self.namespace, name)]
        return ((dep["spec"]["template"]["metadata"].get("annotations")) or {}).get("kubectl.kubernetes.io/restartedAt")

    def cleanup(self):
        pass


class RealKube:
    """The `kube` interface over a real cluster: a namespace okno-test-<random>, removed afterwards;
    every node the test touched is uncordoned afterwards."""

    is_fake = False
    token = None

    def __init__(self, kubeconfig_path):
        from kubernetes import client, config

        text = Path(kubeconfig_path).read_text()
        self.cluster = _cluster(text, os.environ.get("OKNO_TEST_KUBE_CONTEXT", ""))
        self.api = config.new_client_from_config(config_file=kubeconfig_path, context=self.cluster.context or None)
        self.core, self.apps, self.policy = (
            client.CoreV1Api(self.api),
            client.AppsV1Api(self.api),
            client.PolicyV1Api(self.api),
        )
        self.client = client
        self.namespace = f"okno-test-{uuid.uuid4().hex[:8]}"
        self.core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace, labels={"okno-test": "1"}))
        )
        self.touched_nodes = set()

    def nodes(self, count):
        names = []
        for node in self.core.list_node().items:
            taints = [t for t in node.spec.taints or [] if t.effect in ("NoSchedule", "NoExecute")]
            if not node.spec.unschedulable and not taints:
                names.append(node.metadata.name)
        if len(names) < count:
            pytest.skip(
                f"this test needs {count} schedulable nodes; the cluster has {len(names)} "
                "(kind: use the two-worker config of docs/kubernetes-testing.md)"
            )
        self.touched_nodes.update(names[:count])
        return names[:count]

    def _template(self, labels, node):
        c = self.client
        return c.V1PodTemplateSpec(
            metadata=c.V1ObjectMeta(labels=labels),
            spec=c.V1PodSpec(
                node_selector={"kubernetes.io/hostname": node},
                termination_grace_period_seconds=1,
                containers=[c.V1Container(name="main", image=PAUSE_IMAGE, image_pull_policy="IfNotPresent")],
            ),
        )

    def _wait(self, selector, count, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pods = [
                p
                for p in self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
                if not p.metadata.deletion_timestamp
            ]
            ready = [
                p for p in pods if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
            ]
            if len(ready) >= count:
                return sorted(p.metadata.name for p in ready)
            time.sleep(1)
        raise AssertionError(f"pods {selector} in {self.namespace} not ready within {timeout} s")

    def deployment(self, name, replicas, node, labels=None, wait=True):
        c = self.client
        labels = labels or {"app": name}
        self.apps.create_namespaced_deployment(
            self.namespace,
            c.V1Deployment(
                metadata=c.V1ObjectMeta(name=name, labels=labels),
                spec=c.V1DeploymentSpec(
                    replicas=replicas,
                    selector=c.V1LabelSelector(match_labels=labels),
                    template=self._template(labels, node),
                ),
            ),
        )
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        return self._wait(selector, replicas) if wait else []

    def make_ready_later(self, selector, seconds):
        pass  # the kubelet makes them ready

    def daemonset(self, name, node):
        c = self.client
        labels = {"app": name}
        self.apps.create_namespaced_daemon_set(
            self.namespace,
            c.V1DaemonSet(
                metadata=c.V1ObjectMeta(name=name),
                spec=c.V1DaemonSetSpec(
                    selector=c.V1LabelSelector(match_labels=labels), template=self._template(labels, node)
                ),
            ),
        )
        return self._wait(f"app={name}", 1)

    def pdb(self, name, selector, min_available):
        c = self.client
        labels = dict(term.split("=", 1) for term in selector.split(","))
        self.policy.create_namespaced_pod_disruption_budget(
            self.namespace,
            c.V1PodDisruptionBudget(
                metadata=c.V1ObjectMeta(name=name),
                spec=c.V1PodDisruptionBudgetSpec(
                    min_available=min_available, selector=c.V1LabelSelector(match_labels=labels)
                ),
            ),
        )
        deadline = time.monotonic() + 60  # the disruption controller must have counted the pods
        while time.monotonic() < deadline:
            pdb = self.policy.read_namespaced_pod_disruption_budget(name, self.namespace)
            if pdb.status and pdb.status.observed_generation:
                return
            time.sleep(0.5)

    def pods(self, selector=None, node=None):
        fields = f"spec.nodeName={node}" if node else None
        return sorted(
            p.metadata.name
            for p in self.core.list_namespaced_pod(self.namespace, label_selector=selector, field_selector=fields).items
            if not p.metadata.deletion_timestamp
        )

    def unschedulable(self, node):
        return bool(self.core.read_node(node).spec.unschedulable)

    def restarted_at(self, name):
        dep = self.apps.read_namespaced_deployment(name, self.namespace)
        return (dep.spec.template.metadata.annotations or {}).get("kubectl.kubernetes.io/restartedAt")

    def cleanup(self):
        for node in self.touched_nodes:
            try:
                self.core.patch_node(node, {"spec": {"unschedulable": None}})
            except Exception:  # noqa: BLE001 - cleanup goes on for the other nodes and the namespace
                pass
        try:
            self.core.delete_namespace(self.namespace)
        finally:
            self.api.close()


@pytest.fixture(autouse=True)
def english():
    """The tests read the runners' messages in English (the site's default language is Russian)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def in_english(function):
    """`function` for another thread (translation is per thread), run in English."""

    def wrapper(*args, **kwargs):
        from django.utils import translation

        with translation.override("en"):
            return function(*args, **kwargs)

    return wrapper


@pytest.fixture
def fake_api():
    """The fake API server alone (kubectl tests, which always use the fake)."""
    with FakeKubeApiServer(eviction_delay=0.2, rollout_seconds=1.5) as server:
        yield server


@pytest.fixture
def kube():
    if REAL_KUBECONFIG:
        env = RealKube(REAL_KUBECONFIG)
        try:
            yield env
        finally:
            env.cleanup()
        return
    with FakeKubeApiServer(eviction_delay=0.2, rollout_seconds=1.5) as server:
        yield FakeKube(server)


def fake_only(env, reason):
    if not env.is_fake:
        pytest.skip(reason)
