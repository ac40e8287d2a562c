"""The `http` runner against a real HTTP server in a thread."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.utils import translation

from runbooks import runners
from runbooks.runners.base import AutomationError, RunContext
from tests.waiting import FAILURE_DEADLINE_SECONDS


@pytest.fixture(autouse=True)
def listed():
    """Okno calls nothing unless listed (issue 11): these tests list the local server's address."""
    with override_settings(OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS=["127.0.0.1"]):
        yield


@pytest.fixture(autouse=True)
def english():
    """Runner messages are asserted in their English source text (the UI's Russian is checked in the web tests)."""
    with translation.override("en"):
        yield


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        if self.path == "/ok":
            self._send(200, "line one\nвторая строка\n".encode())
        elif self.path == "/fail":
            self._send(500, b"boom")
        elif self.path == "/redirect":
            self._send(302, b"", [("Location", "/ok")])
        elif self.path == "/big":
            self._send(200, b"".join(b"%06d\n" % i for i in range(20000)))  # 140 000 bytes
        elif self.path == "/slow":
            # Holds its answer until the test lets it go (`answer_slow`, set when the server stops); the
            # deadline only bounds a failure: a run still waiting then gets "late" and its test fails.
            self.server.answer_slow.wait(FAILURE_DEADLINE_SECONDS)
            self._send(200, b"late")
            self.server.answered.append(self.path)
        elif self.path == "/echo":
            self._send(201, body, [("Content-Type", self.headers.get("Content-Type", ""))])
        else:
            self._send(404, b"not found")

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.requests = []
    httpd.answer_slow = threading.Event()
    httpd.answered = []  # paths of the held answers sent
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.answer_slow.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def http():
    return runners.get("http")


def make_ctx(tmp_path, **kwargs):
    lines = []
    kwargs.setdefault("stop_reason", lambda: None)
    return RunContext(workdir=tmp_path, output=lines.append, **kwargs), lines


def test_registered(http):
    assert (http.kind, str(http.label)) == ("http", "HTTP request")


def test_200_succeeds_and_the_body_is_output(tmp_path, http, server):
    ctx, lines = make_ctx(tmp_path)
    outcome = http.run({"method": "GET", "url": f"{server.base}/ok", "headers": {"X-Okno": "1"}}, ctx)
    assert outcome.status == "succeeded"
    assert outcome.exit_code == 200
    assert lines == ["HTTP 200 OK", "line one", "вторая строка"]
    assert outcome.command == f"curl -sS -X GET -H 'X-Okno: 1' --max-time 10 {server.base}/ok"
    assert server.requests[0][2]["X-Okno"] == "1"


def test_500_fails(tmp_path, http, server):
    ctx, lines = make_ctx(tmp_path)
    outcome = http.run({"url": f"{server.base}/fail"}, ctx)
    assert outcome.status == "failed"
    assert outcome.summary == "Expected status 200, got 500."
    assert lines == ["HTTP 500 Internal Server Error", "boom"]


def test_expect_status_decides(tmp_path, http, server):
    ctx, _ = make_ctx(tmp_path)
    assert http.run({"url": f"{server.base}/fail", "expect_status": [500, 503]}, ctx).status == "succeeded"
    assert http.run({"url": f"{server.base}/missing", "expect_status": [200, 204]}, ctx).status == "failed"


def test_redirect_is_not_followed(tmp_path, http, server):
    ctx, lines = make_ctx(tmp_path)
    outcome = http.run({"url": f"{server.base}/redirect"}, ctx)
    assert outcome.status == "failed"
    assert lines == ["HTTP 302 Found", "Location: /ok"]
    assert [path for _, path, _, _ in server.requests] == ["/redirect"]


def test_json_post(tmp_path, http, server):
    ctx, lines = make_ctx(tmp_path)
    outcome = http.run(
        {"method": "POST", "url": f"{server.base}/echo", "json": {"node": "worker-1"}, "expect_status": [201]}, ctx
    )
    assert outcome.status == "succeeded"
    method, _, headers, body = server.requests[0]
    assert (method, json.loads(body), headers["Content-Type"]) == ("POST", {"node": "worker-1"}, "application/json")
    assert lines == ["HTTP 201 Created", '{"node": "worker-1"}']
    assert "--data-raw" in outcome.command


def test_only_the_first_64_kib_of_the_body_is_output(tmp_path, http, server):
    ctx, lines = make_ctx(tmp_path)
    outcome = http.run({"url": f"{server.base}/big"}, ctx)
    assert outcome.status == "succeeded"
    assert lines[1] == "000000"
    assert lines[-1].startswith("… the rest of the answer is not shown")
    shown = lines[1:-1]
    assert len("\n".join(shown)) <= 64 * 1024
    assert len(shown) >= 64 * 1024 // 7 - 1


def test_host_not_on_the_allow_list_is_refused(tmp_path, http, server, settings):
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["hooks.example.com", ".internal.example"]
    ctx, _ = make_ctx(tmp_path)
    with pytest.raises(AutomationError, match="not on OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS"):
        http.run({"url": f"{server.base}/ok"}, ctx)
    with pytest.raises(AutomationError, match="not on OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS"):
        http.check({"url": "https://evil.example.com/x"})
    assert server.requests == []
    http.check({"url": "https://hooks.example.com/x"})
    http.check({"url": "https://api.internal.example/x"})
    http.check({"url": "https://{{ host }}/x"})  # decided at run time, after the parameter is filled
    settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    assert http.run({"url": f"{server.base}/ok"}, ctx).status == "succeeded"


def test_dry_run_skips_a_post(tmp_path, http, server):
    ctx, lines = make_ctx(tmp_path, dry_run=True)
    outcome = http.run({"method": "POST", "url": f"{server.base}/echo", "body": "x", "safe_for_rehearsal": True}, ctx)
    assert outcome.status == "skipped"
    assert server.requests == []
    assert lines == []


def test_dry_run_skips_a_get_not_marked_safe(tmp_path, http, server):
    ctx, _ = make_ctx(tmp_path, dry_run=True)
    assert http.run({"url": f"{server.base}/ok"}, ctx).status == "skipped"
    assert server.requests == []


def test_dry_run_sends_a_get_marked_safe(tmp_path, http, server):
    ctx, lines = make_ctx(tmp_path, dry_run=True)
    outcome = http.run({"url": f"{server.base}/ok", "safe_for_rehearsal": True}, ctx)
    assert outcome.status == "succeeded"
    assert lines[0] == "HTTP 200 OK"
    assert [method for method, *_ in server.requests] == ["GET"]


def test_timeout_fails(tmp_path, http, server):
    # Given a server that holds its answer
    ctx, lines = make_ctx(tmp_path)
    # When the request's own timeout passes first
    outcome = http.run({"url": f"{server.base}/slow", "timeout_seconds": 0.5}, ctx)
    # Then the run fails on the timeout while the answer is still held (not late, after it came)
    assert outcome.status == "failed"
    assert outcome.summary == "No answer within 0.5 s."
    assert lines == ["No answer within 0.5 s."]
    assert [path for _, path, _, _ in server.requests] == ["/slow"]
    assert server.answered == []


def test_cancel_returns_promptly(tmp_path, http, server):
    # Given a request the server has received and answers only when the test lets it
    ctx, lines = make_ctx(tmp_path, stop_reason=lambda: "cancelled" if server.requests else None)
    # When the run is cancelled meanwhile
    outcome = http.run({"url": f"{server.base}/slow"}, ctx)
    # Then it ends as cancelled without waiting for the answer (still held) or for the request's 10 s
    # timeout (which would have made it "failed"), and records nothing of the request
    assert outcome.status == "cancelled"
    assert server.answered == []
    assert lines == []


def test_connection_refused_fails(tmp_path, http):
    ctx, lines = make_ctx(tmp_path)
    outcome = http.run({"url": "http://127.0.0.1:1/x", "timeout_seconds": 2}, ctx)
    assert outcome.status == "failed"
    assert outcome.summary.startswith("The request failed:")


@pytest.mark.parametrize(
    "spec",
    [
        {"url": "ftp://example.com/x"},
        {"url": "file:///etc/passwd"},
        {"url": "{{ url }}"},
        {"url": "http:///nohost"},
        {"method": "TRACE", "url": "http://example.com"},
        {"url": "http://example.com", "headers": {"X": "a\r\nInjected: 1"}},
        {"url": "http://example.com", "json": {}, "body": "x"},
        {"url": "http://example.com", "expect_status": ["200"]},
        {"url": "http://example.com", "timeout_seconds": 0},
        {"url": "http://example.com", "timeout_seconds": 10000},
    ],
)
def test_malformed_specs_are_refused(http, spec):
    with pytest.raises(AutomationError):
        http.check(spec)


def test_describe(http):
    assert (
        http.describe({"method": "post", "url": "https://hooks.example.com/maintenance"})
        == "POST https://hooks.example.com/maintenance"
    )
