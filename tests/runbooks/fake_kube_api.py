"""FakeKubeApiServer: a FAKE Kubernetes API server for tests.

No Kubernetes API server can be installed on these machines (not on PyPI, Debian or npm), so the
runner tests talk to this in-process HTTP server. It is NOT Kubernetes: it keeps nodes, pods,
deployments and PodDisruptionBudgets in memory and implements only what the `kubernetes` and
`kubectl` runners use (docs/kubernetes-testing.md lists it). Every request is recorded
(method, path, query, content type, body) so tests can assert that dryRun=All was sent.

It serves HTTPS with a self-signed certificate made at start (the kubeconfig carries it as
certificate-authority-data): kubectl does not send a bearer token over plain HTTP.
"""

import base64
import copy
import ipaddress
import json
import ssl
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

PDB_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."


def _now():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge(target, patch):
    """Merge patch (RFC 7386); for the fields the runners patch it equals a strategic merge."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _match_labels(selector, labels):
    """Equality-based label selectors only: "a=b,c==d,e!=f", "key", "!key"."""
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _match_fields(selector, pod):
    for term in filter(None, (selector or "").split(",")):
        key, value = term.replace("==", "=").split("=", 1)
        if key == "spec.nodeName" and pod["spec"].get("nodeName", "") != value:
            return False
        if key == "metadata.namespace" and pod["metadata"]["namespace"] != value:
            return False
        if key == "metadata.name" and pod["metadata"]["name"] != value:
            return False
        if key == "status.phase" and pod["status"].get("phase") != value:
            return False
    return True


def _body_dry_run(body):
    """dryRun=All in a request body: DeleteOptions, an Eviction's deleteOptions, or a protobuf body."""
    if not isinstance(body, dict):
        return False
    return (
        body.get("dryRunAll") is True
        or body.get("dryRun") == ["All"]
        or (body.get("deleteOptions") or {}).get("dryRun") == ["All"]
    )


def _status(code, reason, message, details=None):
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure" if code >= 400 else "Success",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def _resource(name, kind, namespaced, verbs, short=()):
    return {
        "name": name,
        "singularName": "" if "/" in name else kind.lower(),
        "namespaced": namespaced,
        "kind": kind,
        "verbs": list(verbs),
        **({"shortNames": list(short)} if short else {}),
    }


RW = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
DISCOVERY = {
    "/api": {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    },
    "/apis": {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": "apps",
                "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
            },
            {
                "name": "policy",
                "versions": [{"groupVersion": "policy/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "policy/v1", "version": "v1"},
            },
        ],
    },
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            _resource("nodes", "Node", False, RW, ("no",)),
            _resource("pods", "Pod", True, RW, ("po",)),
            {
                **_resource("pods/eviction", "Eviction", True, ("create",)),
                "group": "policy",
                "version": "v1",
            },  # kubectl drain looks for this
            _resource("namespaces", "Namespace", False, RW, ("ns",)),
        ],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "apps/v1",
        "resources": [
            _resource("deployments", "Deployment", True, RW, ("deploy",)),
            _resource("daemonsets", "DaemonSet", True, ("get",), ("ds",)),
        ],
    },
    "/apis/policy/v1": {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "policy/v1",
        "resources": [
            _resource("poddisruptionbudgets", "PodDisruptionBudget", True, RW, ("pdb",)),
        ],
    },
}


_CERT = None


def _certificate():
    """(cert PEM, key PEM) for 127.0.0.1, made once per process (EC key: fast)."""
    global _CERT
    if _CERT is None:
        from datetime import timedelta

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "okno-fake-kube-api")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        _CERT = (
            cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    return _CERT


class FakeKubeApiServer:
    """In-memory fake of the few Kubernetes API endpoints the runners call. Use as a context manager
    or call start()/stop(). `eviction_delay` seconds: how long an evicted pod lingers (terminating)
    before it disappears; `rollout_seconds`: how long a restarted deployment takes to roll out."""

    def __init__(self, token=None, eviction_delay=0.0, rollout_seconds=0.5):
        self.token = token or f"okno-fake-token-{uuid.uuid4().hex}"
        self.eviction_delay = eviction_delay
        self.rollout_seconds = rollout_seconds
        self.lock = threading.RLock()
        self.nodes, self.pods, self.deployments = {}, {}, {}
        self.pdbs = []  # {"namespace", "name", "selector", "min_available"}
        self.requests = []  # {"method", "path", "query", "content_type", "body"}
        self.server = None
        self.thread = None

    # ----- lifecycle
    def start(self):
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        cert, key = _certificate()
        with tempfile.TemporaryDirectory() as tmp:
            with open(f"{tmp}/cert.pem", "wb") as handle:
                handle.write(cert)
            with open(f"{tmp}/key.pem", "wb") as handle:
                handle.write(key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(f"{tmp}/cert.pem", f"{tmp}/key.pem")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, context="okno-fake"):
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": context,
                "clusters": [
                    {
                        "name": "okno-fake",
                        "cluster": {
                            "server": self.url,
                            "certificate-authority-data": base64.b64encode(_certificate()[0]).decode(),
                        },
                    }
                ],
                "users": [{"name": "okno-fake-user", "user": {"token": self.token}}],
                "contexts": [
                    {
                        "name": context,
                        "context": {"cluster": "okno-fake", "user": "okno-fake-user", "namespace": "default"},
                    }
                ],
            },
            sort_keys=False,
        )

    # ----- state helpers for tests
    def add_node(self, name, labels=None, unschedulable=False):
        with self.lock:
            self.nodes[name] = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "uid": str(uuid.uuid4()),
                    "resourceVersion": "1",
                    "creationTimestamp": _now(),
                    "labels": {"kubernetes.io/hostname": name, **(labels or {})},
                },
                "spec": {"unschedulable": True} if unschedulable else {},
                "status": {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "nodeInfo": {
                        "architecture": "amd64",
                        "bootID": "fake",
                        "containerRuntimeVersion": "containerd://2.0.0",
                        "kernelVersion": "6.1.0",
                        "kubeProxyVersion": "v1.31.0",
                        "kubeletVersion": "v1.31.0",
                        "machineID": "fake",
                        "operatingSystem": "linux",
                        "osImage": "Okno fake",
                        "systemUUID": "fake",
                    },
                },
            }
        return self.nodes[name]

    def add_pod(self, namespace, name, node, labels=None, owner_kind="ReplicaSet", ready=True, mirror=False):
        metadata = {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "1",
            "creationTimestamp": _now(),
            "labels": dict(labels or {}),
        }
        if owner_kind:
            metadata["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": owner_kind,
                    "name": f"{name}-owner",
                    "uid": str(uuid.uuid4()),
                    "controller": True,
                }
            ]
        if mirror:
            metadata["annotations"] = {"kubernetes.io/config.mirror": "x"}
        with self.lock:
            self.pods[(namespace, name)] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": metadata,
                "spec": {"nodeName": node, "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]},
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                },
            }
        return self.pods[(namespace, name)]

    def set_pod_ready(self, namespace, name, ready=True, after=0.0):
        def apply():
            with self.lock:
                pod = self.pods.get((namespace, name))
                if pod:
                    pod["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]

        threading.Timer(after, apply).start() if after else apply()

    def add_deployment(self, namespace, name, replicas=2, labels=None):
        labels = labels or {"app": name}
        with self.lock:
            self.deployments[(namespace, name)] = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": str(uuid.uuid4()),
                    "generation": 1,
                    "resourceVersion": "1",
                    "creationTimestamp": _now(),
                    "labels": dict(labels),
                },
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": dict(labels)},
                    "template": {
                        "metadata": {"labels": dict(labels)},
                        "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]},
                    },
                },
                "_rollout_done_at": 0.0,
            }
        return self.deployments[(namespace, name)]

    def add_pdb(self, namespace, name, selector, min_available):
        with self.lock:
            self.pdbs.append(
                {"namespace": namespace, "name": name, "selector": selector, "min_available": min_available}
            )

    def requests_where(self, method=None, path_contains=""):
        with self.lock:
            return [
                r for r in self.requests if (method is None or r["method"] == method) and path_contains in r["path"]
            ]

    @staticmethod
    def sent_dry_run(request):
        """Whether a recorded request asked for dryRun=All (query, or DeleteOptions in the body as kubectl does)."""
        return request["query"].get("dryRun") == "All" or _body_dry_run(request["body"])

    def mutating_requests(self):
        return [r for r in self.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]

    # ----- derived state
    def _deployment_view(self, dep):
        dep = copy.deepcopy(dep)
        done_at = dep.pop("_rollout_done_at")
        replicas = dep["spec"].get("replicas", 1)
        generation = dep["metadata"]["generation"]
        if time.monotonic() >= done_at:
            dep["status"] = {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
            }
        else:  # rolling: the new spec is observed, not all replicas are updated yet
            dep["status"] = {
                "observedGeneration": generation,
                "replicas": replicas + 1,
                "updatedReplicas": max(replicas - 1, 0),
                "readyReplicas": replicas,
                "availableReplicas": replicas,
            }
        return dep

    def _pod_healthy(self, pod):
        if pod["metadata"].get("deletionTimestamp"):
            return False
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod["status"].get("conditions", []))

    def _pdb_object(self, pdb):
        healthy = sum(
            1
            for p in self.pods.values()
            if p["metadata"]["namespace"] == pdb["namespace"]
            and _match_labels(pdb["selector"], p["metadata"].get("labels", {}))
            and self._pod_healthy(p)
        )
        return {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {
                "name": pdb["name"],
                "namespace": pdb["namespace"],
                "creationTimestamp": "2025-01-01T00:00:00Z",
            },
            "spec": {
                "minAvailable": pdb["min_available"],
                "selector": {"matchLabels": dict(t.split("=", 1) for t in pdb["selector"].split(",") if "=" in t)},
            },
            "status": {
                "currentHealthy": healthy,
                "desiredHealthy": pdb["min_available"],
                "disruptionsAllowed": max(0, healthy - pdb["min_available"]),
                "expectedPods": healthy,
            },
        }

    def _evict(self, namespace, name, dry_run):
        with self.lock:
            pod = self.pods.get((namespace, name))
            if pod is None:
                return 404, _status(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
            labels = pod["metadata"].get("labels", {})
            for pdb in self.pdbs:
                if pdb["namespace"] != namespace or not _match_labels(pdb["selector"], labels):
                    continue
                healthy = sum(
                    1
                    for p in self.pods.values()
                    if p["metadata"]["namespace"] == namespace
                    and _match_labels(pdb["selector"], p["metadata"].get("labels", {}))
                    and self._pod_healthy(p)
                )
                if healthy - 1 < pdb["min_available"]:
                    cause = (
                        f"The disruption budget {pdb['name']} needs {pdb['min_available']} healthy pods "
                        f"and has {healthy} currently"
                    )
                    return 429, _status(
                        429,
                        "TooManyRequests",
                        PDB_MESSAGE,
                        {"causes": [{"reason": "DisruptionBudget", "message": cause}]},
                    )
            if dry_run:
                return 201, _status(201, "", "", None) | {"status": "Success"}
            pod["metadata"]["deletionTimestamp"] = _now()
        self._remove_later(namespace, name, pod["metadata"]["uid"])
        return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def _remove_later(self, namespace, name, uid):
        def remove():
            with self.lock:
                pod = self.pods.get((namespace, name))
                if pod and pod["metadata"]["uid"] == uid:
                    del self.pods[(namespace, name)]

        threading.Timer(self.eviction_delay, remove).start() if self.eviction_delay else remove()

    # ----- request dispatch (returns code, body)
    def handle(self, method, path, query, body, headers):
        parts = [p for p in path.split("/") if p]
        dry_run = query.get("dryRun") == ["All"] or _body_dry_run(body)
        if path in ("/version", "/version/"):
            return 200, {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0-okno-fake",
                "gitCommit": "fake",
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.23",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if method == "GET" and path.rstrip("/") in DISCOVERY:
            return 200, DISCOVERY[path.rstrip("/")]
        with self.lock:
            # core/v1
            if parts[:2] == ["api", "v1"]:
                rest = parts[2:]
                if rest == ["nodes"] and method == "GET":
                    items = [
                        n
                        for n in self.nodes.values()
                        if _match_labels(query.get("labelSelector", [""])[0], n["metadata"].get("labels", {}))
                    ]
                    return 200, {
                        "kind": "NodeList",
                        "apiVersion": "v1",
                        "metadata": {"resourceVersion": "1"},
                        "items": copy.deepcopy(items),
                    }
                if len(rest) == 2 and rest[0] == "nodes":
                    node = self.nodes.get(rest[1])
                    if node is None:
                        return 404, _status(
                            404, "NotFound", f'nodes "{rest[1]}" not found', {"name": rest[1], "kind": "nodes"}
                        )
                    if method == "GET":
                        return 200, copy.deepcopy(node)
                    if method == "PATCH":
                        if not isinstance(body, dict):
                            return 415, _status(
                                415, "UnsupportedMediaType", "the fake accepts merge and strategic merge patches only"
                            )
                        patched = _merge(copy.deepcopy(node), body)
                        if not dry_run:
                            patched["metadata"]["resourceVersion"] = str(int(node["metadata"]["resourceVersion"]) + 1)
                            self.nodes[rest[1]] = patched
                        return 200, copy.deepcopy(patched)
                if rest == ["pods"] and method == "GET":
                    return 200, self._pod_list(None, query)
                if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] == "pods":
                    namespace = rest[1]
                    if len(rest) == 3 and method == "GET":
                        return 200, self._pod_list(namespace, query)
                    if len(rest) >= 4:
                        name = rest[3]
                        if len(rest) == 5 and rest[4] == "eviction" and method == "POST":
                            return self._evict(namespace, name, dry_run)
                        pod = self.pods.get((namespace, name))
                        if pod is None:
                            return 404, _status(
                                404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"}
                            )
                        if method == "GET":
                            return 200, copy.deepcopy(pod)
                        if method == "DELETE":
                            if not dry_run:
                                pod["metadata"]["deletionTimestamp"] = _now()
                                self._remove_later(namespace, name, pod["metadata"]["uid"])
                            return 200, copy.deepcopy(pod)
            # policy/v1 poddisruptionbudgets: list, all namespaces or one (the node-maintenance runbook's first check)
            if (
                parts[:3] == ["apis", "policy", "v1"]
                and method == "GET"
                and (parts[3:] == ["poddisruptionbudgets"] or (len(parts) == 6 and parts[5] == "poddisruptionbudgets"))
            ):
                namespace = parts[4] if len(parts) == 6 else None
                with self.lock:
                    items = [self._pdb_object(pdb) for pdb in self.pdbs if namespace in (None, pdb["namespace"])]
                return 200, {
                    "kind": "PodDisruptionBudgetList",
                    "apiVersion": "policy/v1",
                    "metadata": {"resourceVersion": "1"},
                    "items": items,
                }
            # apps/v1 daemonsets: only GET, of the owners of DaemonSet pods (kubectl drain checks they exist)
            if parts[:3] == ["apis", "apps", "v1"] and len(parts) == 7 and parts[5] == "daemonsets" and method == "GET":
                for pod in self.pods.values():
                    for ref in pod["metadata"].get("ownerReferences", []):
                        if (
                            pod["metadata"]["namespace"] == parts[4]
                            and ref["kind"] == "DaemonSet"
                            and ref["name"] == parts[6]
                        ):
                            return 200, {
                                "apiVersion": "apps/v1",
                                "kind": "DaemonSet",
                                "metadata": {"name": ref["name"], "namespace": parts[4], "uid": ref["uid"]},
                                "spec": {},
                                "status": {},
                            }
                return 404, _status(
                    404,
                    "NotFound",
                    f'daemonsets.apps "{parts[6]}" not found',
                    {"name": parts[6], "group": "apps", "kind": "daemonsets"},
                )
            # apps/v1 deployments
            if (
                parts[:3] == ["apis", "apps", "v1"]
                and len(parts) == 7
                and parts[3] == "namespaces"
                and parts[5] == "deployments"
            ):
                key = (parts[4], parts[6])
                dep = self.deployments.get(key)
                if dep is None:
                    return 404, _status(
                        404,
                        "NotFound",
                        f'deployments.apps "{parts[6]}" not found',
                        {"name": parts[6], "group": "apps", "kind": "deployments"},
                    )
                if method == "GET":
                    return 200, self._deployment_view(dep)
                if method == "PATCH" and isinstance(body, dict):
                    patched = _merge(copy.deepcopy(dep), body)
                    if patched["spec"] != dep["spec"]:
                        patched["metadata"]["generation"] += 1
                        patched["_rollout_done_at"] = time.monotonic() + self.rollout_seconds
                    if not dry_run:
                        self.deployments[key] = patched
                    return 200, self._deployment_view(patched)
        return 404, _status(404, "NotFound", f"the fake API server does not implement {method} {path}")

    def _pod_list(self, namespace, query):
        labels = query.get("labelSelector", [""])[0]
        fields = query.get("fieldSelector", [""])[0]
        items = [
            p
            for p in self.pods.values()
            if (namespace is None or p["metadata"]["namespace"] == namespace)
            and _match_labels(labels, p["metadata"].get("labels", {}))
            and _match_fields(fields, p)
        ]
        items.sort(key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))
        return {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "1"},
            "items": copy.deepcopy(items),
        }


class _Handler(BaseHTTPRequestHandler):
    fake = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _serve(self):
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if "protobuf" in self.headers.get("Content-Type", ""):
            # kubectl sends evictions and delete options as protobuf: the fake reads from them only
            # DeleteOptions.dryRun == ["All"] (field 5, a string of 3 bytes: 0x2a 0x03 "All").
            body = {"_protobuf": True, "dryRunAll": b"\x2a\x03All" in raw}
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        query = parse_qs(split.query)
        fake = self.fake
        with fake.lock:
            fake.requests.append(
                {
                    "method": self.command,
                    "path": split.path,
                    "query": {k: v[0] if len(v) == 1 else v for k, v in query.items()},
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": body,
                }
            )
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            code, payload = 401, _status(401, "Unauthorized", "Unauthorized")
        else:
            try:
                code, payload = fake.handle(self.command, split.path, query, body, self.headers)
            except Exception as exc:  # noqa: BLE001 - a bug in the fake: say so instead of hanging the client
                code, payload = 500, _status(500, "InternalError", f"fake API server error: {exc!r}")
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve
