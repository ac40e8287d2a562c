"""`kubernetes`: node and workload operations through the official Python client (no kubectl).

Actions: cordon, uncordon, drain (cordon, then evict every pod on the node through the Eviction API,
skipping DaemonSet and mirror pods like `kubectl drain --ignore-daemonsets`, retrying evictions a
PodDisruptionBudget refuses, then waiting for the evicted pods to be gone), rollout_restart (the
restartedAt annotation `kubectl rollout restart` sets), wait_rollout (the checks of `kubectl rollout
status`), wait_pods_ready, list_pods, delete_pods. In a rehearsal every write goes with dryRun=All.
Waits and retries poll ctx.stop_reason() every POLL_SECONDS.
"""

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import urllib3
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from runbooks import kubeconfig

from . import register
from .base import AutomationError, Outcome, RunContext, Runner, Spec

Pod = Any  # the kubernetes client's V1Pod (the client ships no types)
Where = str | Callable[[], str]  # where a stopped run stood, or how to say it

POLL_SECONDS = 0.2  # stop_reason() is checked at least this often during waits and retries
WAIT_INTERVAL = 1.0  # between two reads of a rollout / pods while waiting
REQUEST_TIMEOUT = (5, 30)  # connect, read seconds of one API call
ACTIONS = (
    "cordon",
    "uncordon",
    "drain",
    "rollout_restart",
    "wait_rollout",
    "wait_pods_ready",
    "list_pods",
    "delete_pods",
)
RESOURCES = ("deployment", "statefulset", "daemonset")
KEYS = {
    "action",
    "node",
    "namespace",
    "name",
    "resource",
    "selector",
    "grace_period_seconds",
    "eviction_retry_seconds",
    "force",
}
REQUIRED = {
    "cordon": ("node",),
    "uncordon": ("node",),
    "drain": ("node",),
    "rollout_restart": ("namespace", "name"),
    "wait_rollout": ("namespace", "name"),
    "wait_pods_ready": ("namespace", "selector"),
    "list_pods": (),
    "delete_pods": ("namespace", "selector"),
}
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class Stop(Exception):
    """The run was cancelled or timed out (args[0]); args[1] says where it stood."""


class ApiFailure(Exception):
    pass


def api_message(exc: Exception) -> str:
    """The API's own message from an ApiException (its Status body), or the exception text."""
    body = getattr(exc, "body", None)
    if body:
        try:
            data = json.loads(body)
            message = data.get("message") or ""
            causes = [c.get("message") for c in (data.get("details") or {}).get("causes") or [] if c.get("message")]
            return "; ".join(filter(None, [message.rstrip("."), *causes])) or str(body)[:300]
        except (ValueError, AttributeError):
            return str(body)[:300]
    return str(getattr(exc, "reason", None) or exc)


def _pod_ready(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []) if pod.status)


def _ref(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


@register
class KubernetesRunner(Runner):
    kind = "kubernetes"
    label = gettext_lazy("Kubernetes API")
    supports_dry_run = True
    needs_cluster = True

    # ----- save-time check and description
    def check(self, spec: Spec) -> None:
        if not isinstance(spec, dict):
            raise AutomationError(_("Kubernetes automation must be a mapping."))
        action = spec.get("action")
        if action not in ACTIONS:
            raise AutomationError(
                _("Kubernetes action “%(action)s” is unknown; use one of: %(actions)s.")
                % {"action": action, "actions": ", ".join(ACTIONS)}
            )
        unknown = sorted(set(spec) - KEYS)
        if unknown:
            raise AutomationError(
                _("Kubernetes automation has unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)}
            )
        for key in REQUIRED[action]:
            if not str(spec.get(key) or "").strip():
                raise AutomationError(
                    _("Kubernetes action “%(action)s” needs “%(field)s”.") % {"action": action, "field": key}
                )
        if action == "list_pods" and not (spec.get("selector") or spec.get("node")):
            raise AutomationError(_("Kubernetes action “list_pods” needs a selector or a node."))
        if spec.get("resource", "deployment") not in RESOURCES:
            raise AutomationError(
                _("Kubernetes resource must be one of: %(resources)s.") % {"resources": ", ".join(RESOURCES)}
            )
        for key, minimum in (("grace_period_seconds", 0), ("eviction_retry_seconds", 1)):
            if key in spec and not (
                isinstance(spec[key], int) and not isinstance(spec[key], bool) and spec[key] >= minimum
            ):
                raise AutomationError(
                    _("“%(field)s” must be a whole number of at least %(min)s.") % {"field": key, "min": minimum}
                )

    def describe(self, spec: Spec) -> str:
        return self._command(spec, dry_run=False)

    def _command(self, spec: Spec, dry_run: bool, context: str = "") -> str:
        """The kubectl command that does the same thing, for people to read and re-type."""
        action = str(spec.get("action"))
        ns = f" -n {spec['namespace']}" if spec.get("namespace") else ""
        target = f"{spec.get('resource', 'deployment')}/{spec.get('name', '')}"
        grace = f" --grace-period={spec['grace_period_seconds']}" if "grace_period_seconds" in spec else ""
        line = {
            "cordon": f"kubectl cordon {spec.get('node')}",
            "uncordon": f"kubectl uncordon {spec.get('node')}",
            "drain": f"kubectl drain {spec.get('node')} --ignore-daemonsets --delete-emptydir-data"
            f"{' --force' if spec.get('force') else ''}{grace}",
            "rollout_restart": f"kubectl rollout restart {target}{ns}",
            "wait_rollout": f"kubectl rollout status {target}{ns}",
            "wait_pods_ready": f"kubectl wait pods -l {spec.get('selector')}{ns} --for=condition=Ready",
            "list_pods": "kubectl get pods -o wide"
            + (f" -l {spec['selector']}" if spec.get("selector") else "")
            + (f" --field-selector spec.nodeName={spec['node']}" if spec.get("node") else "")
            + (ns or " --all-namespaces"),
            "delete_pods": f"kubectl delete pods -l {spec.get('selector')}{ns}{grace} --wait=false",
        }.get(action, f"kubernetes: {action}")
        if context:
            line += f" --context {context}"
        if dry_run and action in ("cordon", "uncordon", "drain", "rollout_restart", "delete_pods"):
            line += " --dry-run=server"
        return line

    # ----- the run
    def run(self, spec: Spec, ctx: RunContext) -> Outcome:
        try:
            self.check(spec)
        except AutomationError as exc:
            ctx.output(str(exc))
            return Outcome(status="failed", summary=str(exc), command=f"kubernetes: {spec}")
        context = getattr(ctx.cluster, "context", "") or ""
        command = self._command(spec, ctx.dry_run, context)
        started = time.monotonic()
        try:
            client = kubeconfig.api_client(ctx.cluster, ctx.workdir)
        except AutomationError as exc:
            ctx.output(str(exc))
            return Outcome(status="failed", summary=str(exc), command=command)
        assert ctx.cluster is not None  # api_client refused a missing cluster above
        ctx.redactor.add(*kubeconfig.secret_values(kubeconfig.check_kubeconfig(ctx.cluster.kubeconfig)))
        from kubernetes import client as k8s
        from kubernetes.client.exceptions import ApiException

        job = _Job(k8s, client, spec, ctx, started)
        try:
            summary = getattr(job, spec["action"])()
            return Outcome(status="succeeded", exit_code=0, summary=summary, command=command)
        except Stop as stop:
            reason, where = stop.args
            ctx.output(where)
            return Outcome(status=reason, summary=where, command=command)
        except ApiException as exc:
            message = _("Kubernetes API error %(status)s: %(message)s") % {
                "status": exc.status,
                "message": api_message(exc),
            }
            ctx.output(message)
            return Outcome(status="failed", exit_code=1, summary=message, command=command)
        except ApiFailure as exc:
            ctx.output(str(exc))
            return Outcome(status="failed", exit_code=1, summary=str(exc), command=command)
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # connection refused, TLS, DNS
            message = _("Cannot reach the Kubernetes API: %(error)s") % {"error": str(exc)[:500]}
            ctx.output(message)
            return Outcome(status="failed", exit_code=1, summary=message, command=command)
        except ValueError as exc:  # the client could not read the answer (its models validate every field)
            message = _("Unexpected answer from the Kubernetes API: %(error)s") % {"error": str(exc)[:500]}
            ctx.output(message)
            return Outcome(status="failed", exit_code=1, summary=message, command=command)
        finally:
            client.close()


class _Job:
    """One action against one cluster; methods named after the actions return the summary."""

    def __init__(self, k8s: Any, client: Any, spec: Spec, ctx: RunContext, started: float) -> None:
        self.k8s, self.spec, self.ctx, self.started = k8s, spec, ctx, started
        self.core = k8s.CoreV1Api(client)
        self.apps = k8s.AppsV1Api(client)
        self.dry = {"dry_run": "All"} if ctx.dry_run else {}
        self.suffix = " (dry run)" if ctx.dry_run else ""

    # ----- stop handling
    def stop_reason(self) -> str | None:
        reason = self.ctx.stop_reason()
        if not reason and self.ctx.timeout and time.monotonic() - self.started > self.ctx.timeout:
            reason = "timed_out"
        return reason

    def check_stop(self, where: Where) -> None:
        reason = self.stop_reason()
        if reason:
            raise Stop(reason, where() if callable(where) else where)

    def sleep(self, seconds: float, where: Where) -> None:
        """Sleep, checking for cancel/timeout every POLL_SECONDS."""
        end = time.monotonic() + seconds
        while True:
            self.check_stop(where)
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(POLL_SECONDS, left))

    def stopped_message(self, what: str) -> str:
        reason = self.stop_reason()
        if reason == "cancelled":
            return _("Cancelled while %(what)s.") % {"what": what}
        return _("Timed out while %(what)s.") % {"what": what}

    # ----- nodes
    def _set_unschedulable(self, value: bool) -> None:
        node_name = self.spec["node"]
        node = self.core.read_node(node_name, _request_timeout=REQUEST_TIMEOUT)
        verb = _("cordoned") if value else _("uncordoned")
        if bool(node.spec.unschedulable) == value:
            self.ctx.output(_("node %(node)s already %(verb)s") % {"node": node_name, "verb": verb} + self.suffix)
            return
        self.core.patch_node(
            node_name, {"spec": {"unschedulable": value or None}}, _request_timeout=REQUEST_TIMEOUT, **self.dry
        )
        self.ctx.output(_("node %(node)s %(verb)s") % {"node": node_name, "verb": verb} + self.suffix)

    def cordon(self) -> str:
        self._set_unschedulable(True)
        return _("Node %(node)s cordoned.") % {"node": self.spec["node"]} + self.suffix

    def uncordon(self) -> str:
        self._set_unschedulable(False)
        return _("Node %(node)s uncordoned.") % {"node": self.spec["node"]} + self.suffix

    def drain(self) -> str:
        node = self.spec["node"]
        self._set_unschedulable(True)
        pods = self.core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={node}", _request_timeout=REQUEST_TIMEOUT
        ).items
        to_evict: list[Pod] = []
        skipped: list[str] = []
        unmanaged: list[str] = []
        for pod in pods:
            owners = pod.metadata.owner_references or []
            if any(o.kind == "DaemonSet" and o.controller for o in owners):
                skipped.append(_ref(pod))
            elif "kubernetes.io/config.mirror" in (pod.metadata.annotations or {}):
                skipped.append(_ref(pod))
            elif pod.metadata.deletion_timestamp:
                continue  # already going away
            else:
                if (
                    not any(o.controller for o in owners)
                    and pod.status
                    and pod.status.phase not in ("Succeeded", "Failed")
                ):
                    unmanaged.append(_ref(pod))
                to_evict.append(pod)
        if skipped:
            self.ctx.output(_("ignoring DaemonSet-managed and mirror pods: %(pods)s") % {"pods": ", ".join(skipped)})
        if unmanaged and not self.spec.get("force"):
            raise ApiFailure(
                _(
                    "Cannot drain node %(node)s: pods not managed by a controller would be lost: %(pods)s"
                    " (set “force”: true to evict them anyway)."
                )
                % {"node": node, "pods": ", ".join(unmanaged)}
            )
        retry = self.spec.get("eviction_retry_seconds", 5)
        pending = list(to_evict)
        evicted = []
        for pod in pending:
            self.ctx.output(_("evicting pod %(pod)s") % {"pod": _ref(pod)} + self.suffix)
        refused: dict[str, str] = {}  # pod ref → the PDB's message
        while pending:
            still: list[Pod] = []
            for pod in pending:
                self.check_stop(lambda: self._eviction_stopped(refused))
                message = self._evict(pod)
                if message is None:
                    evicted.append(pod)
                    refused.pop(_ref(pod), None)
                    if self.ctx.dry_run:
                        self.ctx.output(_("pod %(pod)s would be evicted") % {"pod": _ref(pod)} + self.suffix)
                elif self.ctx.dry_run:
                    raise ApiFailure(
                        _("Eviction of pod %(pod)s would be refused by a PodDisruptionBudget: %(message)s")
                        % {"pod": _ref(pod), "message": message}
                    )
                else:
                    refused[_ref(pod)] = message
                    self.ctx.output(
                        _(
                            "eviction of pod %(pod)s refused by PodDisruptionBudget (%(message)s),"
                            " retrying in %(seconds)s s"
                        )
                        % {"pod": _ref(pod), "message": message, "seconds": retry}
                    )
                    still.append(pod)
            pending = still
            if pending:
                self.sleep(retry, lambda: self._eviction_stopped(refused))
        if self.ctx.dry_run:
            return (
                _("Node %(node)s would be drained: %(count)s pods evicted.") % {"node": node, "count": len(evicted)}
                + self.suffix
            )
        self._wait_gone(evicted)
        self.ctx.output(_("node %(node)s drained") % {"node": node})
        return _("Node %(node)s drained: %(count)s pods evicted.") % {"node": node, "count": len(evicted)}

    def _eviction_stopped(self, refused: dict[str, str]) -> str:
        if not refused:
            return self.stopped_message(_("evicting pods"))
        details = "; ".join(
            _("%(pod)s: %(message)s") % {"pod": pod, "message": message} for pod, message in refused.items()
        )
        return (
            self.stopped_message(_("evicting pods"))
            + " "
            + _("Evictions refused by a PodDisruptionBudget: %(details)s") % {"details": details}
        )

    def _evict(self, pod: Pod) -> str | None:
        """None when the pod is evicted (or already gone), else the PDB's refusal message."""
        from kubernetes.client.exceptions import ApiException

        k8s = self.k8s
        options = {}
        if "grace_period_seconds" in self.spec:
            options["grace_period_seconds"] = self.spec["grace_period_seconds"]
        if self.ctx.dry_run:
            options["dry_run"] = ["All"]
        body = k8s.V1Eviction(
            api_version="policy/v1",
            kind="Eviction",
            metadata=k8s.V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace),
            delete_options=k8s.V1DeleteOptions(**options) if options else None,
        )
        try:
            self.core.create_namespaced_pod_eviction(
                pod.metadata.name, pod.metadata.namespace, body, _request_timeout=REQUEST_TIMEOUT, **self.dry
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            if exc.status == 429:
                return api_message(exc)
            raise
        return None

    def _wait_gone(self, pods: list[Pod]) -> None:
        from kubernetes.client.exceptions import ApiException

        waiting = {_ref(p): p for p in pods}
        while waiting:
            for ref, pod in list(waiting.items()):
                try:
                    current = self.core.read_namespaced_pod(
                        pod.metadata.name, pod.metadata.namespace, _request_timeout=REQUEST_TIMEOUT
                    )
                    gone = current.metadata.uid != pod.metadata.uid  # a StatefulSet pod came back under its name
                except ApiException as exc:
                    if exc.status != 404:
                        raise
                    gone = True
                if gone:
                    self.ctx.output(_("pod %(pod)s evicted") % {"pod": ref})
                    del waiting[ref]
            if waiting:
                self.sleep(
                    WAIT_INTERVAL,
                    lambda: self.stopped_message(
                        _("waiting for evicted pods to terminate: %(pods)s") % {"pods": ", ".join(waiting)}
                    ),
                )

    # ----- workloads
    def _read(self, resource: str, name: str, namespace: str) -> Any:
        reader = {
            "deployment": self.apps.read_namespaced_deployment,
            "statefulset": self.apps.read_namespaced_stateful_set,
            "daemonset": self.apps.read_namespaced_daemon_set,
        }[resource]
        return reader(name, namespace, _request_timeout=REQUEST_TIMEOUT)

    def rollout_restart(self) -> str:
        resource, name, namespace = self.spec.get("resource", "deployment"), self.spec["name"], self.spec["namespace"]
        patcher = {
            "deployment": self.apps.patch_namespaced_deployment,
            "statefulset": self.apps.patch_namespaced_stateful_set,
            "daemonset": self.apps.patch_namespaced_daemon_set,
        }[resource]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}
        patcher(name, namespace, body, _request_timeout=REQUEST_TIMEOUT, **self.dry)
        self.ctx.output(
            _("%(resource)s %(namespace)s/%(name)s restarted")
            % {"resource": resource, "namespace": namespace, "name": name}
            + self.suffix
        )
        return (
            _("%(resource)s %(namespace)s/%(name)s restarted.")
            % {"resource": resource, "namespace": namespace, "name": name}
            + self.suffix
        )

    def _rollout_state(self, resource: str, obj: Any) -> tuple[bool, str]:
        """(done, message) like `kubectl rollout status`; raises ApiFailure when it can never finish."""
        name, spec, status, meta = obj.metadata.name, obj.spec, obj.status, obj.metadata
        if resource == "deployment":
            if (meta.generation or 0) <= (status.observed_generation or 0):
                for cond in status.conditions or []:
                    if cond.type == "Progressing" and cond.reason == "ProgressDeadlineExceeded":
                        raise ApiFailure(_("deployment “%(name)s” exceeded its progress deadline") % {"name": name})
                replicas, updated = spec.replicas, status.updated_replicas or 0
                if replicas is not None and updated < replicas:
                    return (
                        False,
                        f'Waiting for deployment "{name}" rollout to finish: {updated} out of {replicas}'
                        " new replicas have been updated...",
                    )
                if (status.replicas or 0) > updated:
                    return (
                        False,
                        f'Waiting for deployment "{name}" rollout to finish:'
                        f" {(status.replicas or 0) - updated} old replicas are pending termination...",
                    )
                if (status.available_replicas or 0) < updated:
                    return (
                        False,
                        f'Waiting for deployment "{name}" rollout to finish:'
                        f" {status.available_replicas or 0} of {updated} updated replicas are available...",
                    )
                return True, f'deployment "{name}" successfully rolled out'
            return False, "Waiting for deployment spec update to be observed..."
        if resource == "statefulset":
            if spec.update_strategy and spec.update_strategy.type != "RollingUpdate":
                raise ApiFailure(_("rollout status is only available for the RollingUpdate strategy"))
            if not status.observed_generation or (meta.generation or 0) > status.observed_generation:
                return False, "Waiting for statefulset spec update to be observed..."
            if spec.replicas is not None and (status.ready_replicas or 0) < spec.replicas:
                return False, f"Waiting for {spec.replicas - (status.ready_replicas or 0)} pods to be ready..."
            rolling = spec.update_strategy and spec.update_strategy.rolling_update
            if rolling and rolling.partition and spec.replicas is not None:
                if (status.updated_replicas or 0) < spec.replicas - rolling.partition:
                    return (
                        False,
                        f"Waiting for partitioned roll out to finish: {status.updated_replicas or 0}"
                        f" out of {spec.replicas - rolling.partition} new pods have been updated...",
                    )
                return (
                    True,
                    f"partitioned roll out complete: {status.updated_replicas or 0} new pods have been updated...",
                )
            if status.update_revision != status.current_revision:
                return (
                    False,
                    f"waiting for statefulset rolling update to complete {status.updated_replicas or 0}"
                    f" pods at revision {status.update_revision}...",
                )
            return (
                True,
                f"statefulset rolling update complete {status.current_replicas or 0}"
                f" pods at revision {status.current_revision}...",
            )
        # daemonset
        if spec.update_strategy and spec.update_strategy.type != "RollingUpdate":
            raise ApiFailure(_("rollout status is only available for the RollingUpdate strategy"))
        if (meta.generation or 0) <= (status.observed_generation or 0):
            desired = status.desired_number_scheduled or 0
            if (status.updated_number_scheduled or 0) < desired:
                return (
                    False,
                    f'Waiting for daemon set "{name}" rollout to finish:'
                    f" {status.updated_number_scheduled or 0} out of {desired} new pods have been updated...",
                )
            if (status.number_available or 0) < desired:
                return (
                    False,
                    f'Waiting for daemon set "{name}" rollout to finish:'
                    f" {status.number_available or 0} of {desired} updated pods are available...",
                )
            return True, f'daemon set "{name}" successfully rolled out'
        return False, "Waiting for daemon set spec update to be observed..."

    def wait_rollout(self) -> str:
        resource, name, namespace = self.spec.get("resource", "deployment"), self.spec["name"], self.spec["namespace"]
        last = None
        while True:
            done, message = self._rollout_state(resource, self._read(resource, name, namespace))
            if message != last:
                self.ctx.output(message)
                last = message
            if done:
                return message
            # partial, not a lambda: the text is bound to this round's state (B023); the stop reason is read later.
            self.sleep(
                WAIT_INTERVAL,
                partial(
                    self.stopped_message,
                    _("waiting for the rollout of %(target)s: %(state)s")
                    % {"target": f"{resource}/{name}", "state": last},
                ),
            )

    def _pods(self) -> list[Pod]:
        selector, node, namespace = self.spec.get("selector") or None, self.spec.get("node"), self.spec.get("namespace")
        fields = f"spec.nodeName={node}" if node else None
        if namespace:
            return self.core.list_namespaced_pod(
                namespace, label_selector=selector, field_selector=fields, _request_timeout=REQUEST_TIMEOUT
            ).items
        return self.core.list_pod_for_all_namespaces(
            label_selector=selector, field_selector=fields, _request_timeout=REQUEST_TIMEOUT
        ).items

    def wait_pods_ready(self) -> str:
        last = None
        while True:
            pods = [p for p in self._pods() if not p.metadata.deletion_timestamp]
            ready = sum(1 for p in pods if _pod_ready(p))
            state = _("%(ready)s of %(total)s pods ready (%(selector)s)") % {
                "ready": ready,
                "total": len(pods),
                "selector": self.spec["selector"],
            }
            if state != last:
                self.ctx.output(state)
                last = state
            if pods and ready == len(pods):
                return state
            self.sleep(WAIT_INTERVAL, partial(self.stopped_message, _("waiting for pods: %(state)s") % {"state": last}))

    def list_pods(self) -> str:
        pods = self._pods()
        rows = [("NAMESPACE", "NAME", "READY", "STATUS", "NODE")]
        for pod in pods:
            statuses = pod.status.container_statuses or [] if pod.status else []
            ready = (
                f"{sum(1 for s in statuses if s.ready)}/{len(pod.spec.containers or [])}"
                if statuses
                else ("1/1" if _pod_ready(pod) else f"0/{len(pod.spec.containers or [])}")
            )
            phase = "Terminating" if pod.metadata.deletion_timestamp else (pod.status.phase if pod.status else "")
            rows.append((pod.metadata.namespace, pod.metadata.name, ready, phase or "", pod.spec.node_name or ""))
        widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
        for row in rows:
            self.ctx.output(
                "   ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )
        return _("%(count)s pods.") % {"count": len(pods)}

    def delete_pods(self) -> str:
        pods = self._pods()
        if not pods:
            self.ctx.output(_("no pods match %(selector)s") % {"selector": self.spec["selector"]})
        options = {}
        if "grace_period_seconds" in self.spec:
            options["grace_period_seconds"] = self.spec["grace_period_seconds"]
        for pod in pods:
            self.check_stop(lambda: self.stopped_message(_("deleting pods")))
            self.core.delete_namespaced_pod(
                pod.metadata.name, pod.metadata.namespace, _request_timeout=REQUEST_TIMEOUT, **options, **self.dry
            )
            self.ctx.output(_("pod %(pod)s deleted") % {"pod": _ref(pod)} + self.suffix)
        return _("%(count)s pods deleted.") % {"count": len(pods)} + self.suffix
