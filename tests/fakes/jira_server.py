"""FakeJira: a FAKE Jira REST server for tests (docs/jira.md).

There is no Jira on these machines (it is not on PyPI, Debian or npm), so the Jira tests talk to this threaded
in-process HTTP server. It is NOT Jira: it keeps issues and their comments in memory and answers only the few
REST v2 endpoints Okno's client (the `jira` package) uses:

- GET  /rest/api/2/serverInfo
- GET  /rest/api/2/field
- GET  /rest/api/2/issue/<key>              (404 with Jira's error body for an unknown key)
- GET  /rest/api/2/issue/<key>/comment
- POST /rest/api/2/issue/<key>/comment

Every request is recorded (method, path, query, headers, body) so tests can check the Authorization header and
that nothing was called at all. A request without the expected Authorization answers 401, as Jira does.
`fail_next(n, status)` makes the next n requests answer `status` (e.g. 503) to test retries and a Jira that is down.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API = "/rest/api/2"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: Any


@dataclass
class FakeJira:
    """Start with `with FakeJira(token=…) as jira:`; `jira.url` is its base URL."""

    token: str = "fake-jira-token"
    user: str = ""  # set: basic auth user:token (Jira Cloud); empty: Bearer token (Data Center PAT)
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_issue(self, key: str, summary: str, status: str = "Open", category: str = "new") -> None:
        self.issues[key] = {
            "id": str(10000 + len(self.issues)),
            "key": key,
            "self": f"{self.url}{API}/issue/{key}",
            "fields": {
                "summary": summary,
                "status": {"name": status, "statusCategory": {"key": category, "name": category}},
            },
        }

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def expected_authorization(self) -> str:
        if self.user:
            return "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        return f"Bearer {self.token}"

    # --- the server ---

    def __enter__(self) -> FakeJira:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                with fake._lock:
                    fake.requests.append(
                        Recorded(
                            method,
                            parts.path,
                            parse_qs(parts.query),
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                        )
                    )
                    failure = fake._failures.pop(0) if fake._failures else None
                if failure is not None:
                    return self._answer(failure, {"errorMessages": ["FakeJira: failing on purpose"], "errors": {}})
                if self.headers.get("Authorization") != fake.expected_authorization():
                    return self._answer(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
                fake._route(self, method, parts.path, body)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="FakeJira", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _route(self, handler: Any, method: str, path: str, body: Any) -> None:
        if method == "GET" and path == f"{API}/serverInfo":
            return handler._answer(
                200,
                {"baseUrl": self.url, "version": "9.12.0", "versionNumbers": [9, 12, 0], "deploymentType": "Server"},
            )
        if method == "GET" and path == f"{API}/field":
            return handler._answer(200, [{"id": "summary", "name": "Summary", "clauseNames": ["summary"]}])
        if path.startswith(f"{API}/issue/"):
            rest = path[len(f"{API}/issue/") :].split("/")
            key = rest[0]
            issue = self.issues.get(key)
            if issue is None:
                return handler._answer(404, {"errorMessages": ["Issue Does Not Exist"], "errors": {}})
            if len(rest) == 1 and method == "GET":
                return handler._answer(200, issue)
            if rest[1:] == ["comment"] and method == "GET":
                comments = self.comments.get(key, [])
                return handler._answer(
                    200, {"startAt": 0, "maxResults": len(comments), "total": len(comments), "comments": comments}
                )
            if rest[1:] == ["comment"] and method == "POST":
                with self._lock:
                    comments = self.comments.setdefault(key, [])
                    comment = {
                        "id": str(20000 + len(comments)),
                        "self": f"{self.url}{API}/issue/{key}/comment/{20000 + len(comments)}",
                        "body": body.get("body", "") if isinstance(body, dict) else "",
                    }
                    comments.append(comment)
                return handler._answer(201, comment)
        return handler._answer(404, {"errorMessages": [f"FakeJira does not serve {method} {path}"], "errors": {}})

    def calls(self, method: str | None = None, path_end: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if (method is None or r.method == method) and r.path.endswith(path_end)]
