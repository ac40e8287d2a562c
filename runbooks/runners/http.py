"""`http`: one HTTP request (a webhook, a health check, a maintenance-mode switch).

The request goes through the outbound guard (common/outbound.py): only http/https; the host must be on
OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS (empty: nothing is called) and every address it resolves to is
checked (loopback, link-local, private... refused unless listed); the connection goes to the checked
address; redirects are never followed (a 3xx is an answer, checked against expect_status); the
environment's proxies and ~/.netrc credentials are not used. The status line and the first 64 KiB of the
body go to the output.
A rehearsal sends only a GET/HEAD the spec marks safe_for_rehearsal; anything else is skipped.
"""

import json
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common import outbound

from . import register
from .base import PLACEHOLDER, SECRET_PLACEHOLDER, AutomationError, Outcome, RunContext, Runner, Spec

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAFE_METHODS = ("GET", "HEAD")
BODY_LIMIT = 64 * 1024
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 300.0
POLL_SECONDS = 0.1
SETTING = "OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS"


def _allowed() -> list[str]:
    return settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS


def _method(spec: Spec) -> str:
    return str(spec.get("method") or "GET").upper()


def _expected(spec: Spec) -> list[int]:
    return spec.get("expect_status") or [200]


@register
class HttpRunner(Runner):
    kind = "http"
    label = gettext_lazy("HTTP request")
    supports_dry_run = True  # only for a GET/HEAD marked safe_for_rehearsal; otherwise skipped

    def check(self, spec: Spec) -> None:
        if not isinstance(spec, dict):
            raise AutomationError(_("The automation spec must be a mapping."))
        if _method(spec) not in METHODS:
            raise AutomationError(_("Unsupported HTTP method “%(method)s”.") % {"method": str(spec.get("method"))[:20]})
        url = spec.get("url")
        if not isinstance(url, str) or not url.strip():
            raise AutomationError(_("Give the URL to call."))
        if url.split(":", 1)[0].lower() not in ("http", "https"):
            raise AutomationError(_("Only http:// and https:// URLs are allowed."))
        netloc = url.split("//", 1)[-1].split("/", 1)[0]
        if not SECRET_PLACEHOLDER.search(netloc) and not PLACEHOLDER.search(netloc):
            # At save time: what the URL shows (scheme, listing, literal addresses, localhost). A host from a
            # parameter is checked once filled; at run time the name is resolved and every address checked.
            try:
                outbound.check_url(url, _allowed(), setting=SETTING, resolve=False)
            except outbound.OutboundRefused as exc:
                raise AutomationError(str(exc)) from None
        headers = spec.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise AutomationError(_("“headers” must map header names to text."))
        for name, value in headers.items():
            if any(ord(ch) < 32 for ch in name + value) or ":" in name:
                raise AutomationError(
                    _("Header “%(name)s” is refused: it holds a line break or a control character.")
                    % {"name": name[:50]}
                )
        if spec.get("json") is not None and spec.get("body") is not None:
            raise AutomationError(_("Give either “json” or “body”, not both."))
        if spec.get("body") is not None and not isinstance(spec["body"], str):
            raise AutomationError(_("“body” must be text."))
        expected = _expected(spec)
        if not isinstance(expected, list) or not all(
            isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599 for code in expected
        ):
            raise AutomationError(_("“expect_status” must be a list of HTTP status codes."))
        timeout = spec.get("timeout_seconds", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
            raise AutomationError(
                _("“timeout_seconds” must be a positive number of seconds, at most %(max)s.")
                % {"max": int(MAX_TIMEOUT)}
            )
        if not isinstance(spec.get("safe_for_rehearsal", False), bool):
            raise AutomationError(_("“safe_for_rehearsal” must be true or false."))

    def describe(self, spec: Spec) -> str:
        return f"{_method(spec)} {spec.get('url', '')}"

    def command(self, spec: Spec) -> str:
        """A curl command line doing the same request (the caller redacts secrets from it)."""
        argv = ["curl", "-sS", "-X", _method(spec)]
        for name, value in (spec.get("headers") or {}).items():
            argv += ["-H", f"{name}: {value}"]
        if spec.get("json") is not None:
            argv += ["-H", "Content-Type: application/json", "--data-raw", json.dumps(spec["json"], ensure_ascii=False)]
        elif spec.get("body") is not None:
            argv += ["--data-raw", spec["body"]]
        argv += ["--max-time", f"{float(spec.get('timeout_seconds', DEFAULT_TIMEOUT)):g}", spec["url"]]
        return shlex.join(argv)

    def run(self, spec: Spec, ctx: RunContext) -> Outcome:
        self.check(spec)
        method, command = _method(spec), self.command(spec)
        if ctx.dry_run and not (spec.get("safe_for_rehearsal") and method in SAFE_METHODS):
            return Outcome(
                status="skipped",
                summary=_("Not sent in a rehearsal: only a GET or HEAD request marked safe for rehearsal is sent."),
                command=command,
            )
        target = _checked_target(spec["url"])
        timeout = _timeout(spec, ctx)
        headers, body = _headers_and_body(spec)
        sent = _send_watched(
            ctx, lambda: outbound.send(target, method, headers=headers, body=body, timeout=timeout, max_body=BODY_LIMIT)
        )
        if sent.stopped:
            # The request thread is left to its own timeout; nothing of it is recorded.
            return Outcome(status=sent.stopped, command=command)
        if sent.error is not None:
            return _failure(sent.error, timeout, ctx, command)
        if sent.response is None:  # the request thread died of an unexpected error (threading prints it)
            raise RuntimeError("the HTTP request thread ended without an answer")
        _show(sent.response, ctx)
        return _verdict(sent.response.status, _expected(spec), command)


def _checked_target(url: str) -> outbound.Target:
    """The URL's target, its name resolved once here: the request goes to these checked addresses only."""
    try:
        return outbound.check_url(url, _allowed(), setting=SETTING)
    except outbound.OutboundRefused as exc:
        raise AutomationError(str(exc)) from None


def _timeout(spec: Spec, ctx: RunContext) -> float:
    """The spec's request timeout, never longer than the run's own."""
    timeout = float(spec.get("timeout_seconds", DEFAULT_TIMEOUT))
    return min(timeout, float(ctx.timeout)) if ctx.timeout else timeout


def _headers_and_body(spec: Spec) -> tuple[dict[str, str], bytes | None]:
    headers = dict(spec.get("headers") or {})
    if spec.get("json") is not None:
        headers.setdefault("Content-Type", "application/json")
        return headers, json.dumps(spec["json"]).encode()
    if spec.get("body") is not None:
        return headers, spec["body"].encode()
    return headers, None


@dataclass
class _Sent:
    """How a request ended: an answer, a failure, or the run stopped (cancelled, timed out) before it."""

    response: outbound.Response | None = None
    error: outbound.OutboundFailed | None = None
    stopped: str | None = None


def _send_watched(ctx: RunContext, send: Callable[[], outbound.Response]) -> _Sent:
    """Send in a thread, so that a cancel or the run's timeout ends the run without waiting for the answer."""
    sent = _Sent()

    def call() -> None:
        try:
            sent.response = send()
        except outbound.OutboundFailed as exc:
            sent.error = exc

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(POLL_SECONDS)
        stopped = ctx.stop_reason()
        if stopped:
            return _Sent(stopped=stopped)  # a fresh result: the thread may still write into `sent`
    return sent


def _failure(error: outbound.OutboundFailed, timeout: float, ctx: RunContext, command: str) -> Outcome:
    if error.timed_out:
        message = _("No answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"}
        ctx.output(message)
        return Outcome(status="failed", summary=message, command=command)
    ctx.output(str(error))
    return Outcome(
        status="failed", summary=_("The request failed: %(error)s") % {"error": str(error)[:300]}, command=command
    )


def _show(response: outbound.Response, ctx: RunContext) -> None:
    """The status line, a redirect's Location (never followed) and the first BODY_LIMIT bytes of the body."""
    location = response.headers.get("Location") or response.headers.get("location")
    ctx.output(f"HTTP {response.status} {response.reason or ''}".rstrip())
    if location:
        ctx.output(f"Location: {location}")
    for line in response.body[:BODY_LIMIT].decode("utf-8", errors="replace").splitlines():
        if line.strip():
            ctx.output(line.rstrip())
    if response.truncated:
        ctx.output(_("… the rest of the answer is not shown (over %(size)s KiB).") % {"size": BODY_LIMIT // 1024})


def _verdict(status: int, expected: list[int], command: str) -> Outcome:
    if status in expected:
        return Outcome(status="succeeded", exit_code=status, summary=f"HTTP {status}", command=command)
    summary = _("Expected status %(expected)s, got %(status)s.") % {
        "expected": ", ".join(map(str, expected)),
        "status": status,
    }
    return Outcome(status="failed", exit_code=status, summary=summary, command=command)
