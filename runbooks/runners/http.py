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

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common import outbound

from . import register
from .base import PLACEHOLDER, SECRET_PLACEHOLDER, AutomationError, Outcome, Runner

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAFE_METHODS = ("GET", "HEAD")
BODY_LIMIT = 64 * 1024
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 300.0
POLL_SECONDS = 0.1
SETTING = "OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS"


def _allowed():
    return settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS


def _method(spec):
    return str(spec.get("method") or "GET").upper()


def _expected(spec):
    return spec.get("expect_status") or [200]


@register
class HttpRunner(Runner):
    kind = "http"
    label = gettext_lazy("HTTP request")
    supports_dry_run = True  # only for a GET/HEAD marked safe_for_rehearsal; otherwise skipped

    def check(self, spec):
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
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise AutomationError(_("“headers” must map header names to text."))
        for name, value in headers.items():
            if any(ord(ch) < 32 for ch in name + value) or ":" in name:
                raise AutomationError(_("Header “%(name)s” is refused: it holds a line break or a control character.") % {"name": name[:50]})
        if spec.get("json") is not None and spec.get("body") is not None:
            raise AutomationError(_("Give either “json” or “body”, not both."))
        if spec.get("body") is not None and not isinstance(spec["body"], str):
            raise AutomationError(_("“body” must be text."))
        expected = _expected(spec)
        if not isinstance(expected, list) or not all(isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599 for code in expected):
            raise AutomationError(_("“expect_status” must be a list of HTTP status codes."))
        timeout = spec.get("timeout_seconds", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
            raise AutomationError(_("“timeout_seconds” must be a positive number of seconds, at most %(max)s.") % {"max": int(MAX_TIMEOUT)})
        if not isinstance(spec.get("safe_for_rehearsal", False), bool):
            raise AutomationError(_("“safe_for_rehearsal” must be true or false."))

    def describe(self, spec):
        return f"{_method(spec)} {spec.get('url', '')}"

    def command(self, spec):
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

    def run(self, spec, ctx):
        self.check(spec)
        method, url = _method(spec), spec["url"]
        command = self.command(spec)
        if ctx.dry_run and not (spec.get("safe_for_rehearsal") and method in SAFE_METHODS):
            return Outcome(status="skipped", summary=_("Not sent in a rehearsal: only a GET or HEAD request marked safe for rehearsal is sent."), command=command)
        try:
            # Resolved once here; the request goes to these checked addresses only (no second lookup).
            target = outbound.check_url(url, _allowed(), setting=SETTING)
        except outbound.OutboundRefused as exc:
            raise AutomationError(str(exc)) from None
        timeout = float(spec.get("timeout_seconds", DEFAULT_TIMEOUT))
        if ctx.timeout:
            timeout = min(timeout, float(ctx.timeout))
        result = {}
        body = None
        headers = dict(spec.get("headers") or {})
        if spec.get("json") is not None:
            body = json.dumps(spec["json"]).encode()
            headers.setdefault("Content-Type", "application/json")
        elif spec.get("body") is not None:
            body = spec["body"].encode()

        def call():
            try:
                result["response"] = outbound.send(target, method, headers=headers, body=body, timeout=timeout, max_body=BODY_LIMIT)
            except outbound.OutboundFailed as exc:
                result["error"] = exc

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(POLL_SECONDS)
            stopped = ctx.stop_reason()
            if stopped:
                # The request thread is left to its own timeout; nothing of it is recorded.
                return Outcome(status=stopped, command=command)
        if "error" in result:
            exc = result["error"]
            if exc.timed_out:
                ctx.output(_("No answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"})
                return Outcome(status="failed", summary=_("No answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"}, command=command)
            ctx.output(str(exc))
            return Outcome(status="failed", summary=_("The request failed: %(error)s") % {"error": str(exc)[:300]}, command=command)
        response = result["response"]
        status, location = response.status, response.headers.get("Location") or response.headers.get("location")
        ctx.output(f"HTTP {status} {response.reason or ''}".rstrip())
        if location:
            ctx.output(f"Location: {location}")
        for line in response.body[:BODY_LIMIT].decode("utf-8", errors="replace").splitlines():
            if line.strip():
                ctx.output(line.rstrip())
        if response.truncated:
            ctx.output(_("… the rest of the answer is not shown (over %(size)s KiB).") % {"size": BODY_LIMIT // 1024})
        if status in _expected(spec):
            return Outcome(status="succeeded", exit_code=status, summary=f"HTTP {status}", command=command)
        summary = _("Expected status %(expected)s, got %(status)s.") % {"expected": ", ".join(map(str, _expected(spec))), "status": status}
        return Outcome(status="failed", exit_code=status, summary=summary, command=command)
