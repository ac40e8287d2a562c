"""`http`: one HTTP request (a webhook, a health check, a maintenance-mode switch).

Only http/https; redirects are never followed (a 3xx is an answer, checked against expect_status); the
host must be on OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS when that list is set; the environment's proxies and
~/.netrc credentials are not used. The status line and the first 64 KiB of the body go to the output.
A rehearsal sends only a GET/HEAD the spec marks safe_for_rehearsal; anything else is skipped.
"""

import json
import shlex
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import register
from .base import PLACEHOLDER, AutomationError, Outcome, Runner

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAFE_METHODS = ("GET", "HEAD")
BODY_LIMIT = 64 * 1024
DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 300.0
POLL_SECONDS = 0.1


def host_allowed(host, allowed):
    """`allowed` empty: any host. Otherwise an exact name, or ".example.com" for the domain and its subdomains."""
    if not allowed:
        return True
    host = (host or "").lower().rstrip(".")
    for entry in allowed:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if host == entry.lstrip(".") or (entry.startswith(".") and host.endswith(entry)):
            return True
    return False


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
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme not in ("http", "https"):
            raise AutomationError(_("Only http:// and https:// URLs are allowed."))
        host = urlsplit(url).hostname
        if not host:
            raise AutomationError(_("The URL has no host."))
        if not PLACEHOLDER.search(host) and not host_allowed(host, settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS):
            raise AutomationError(_("Host “%(host)s” is not on the list of hosts automation may call.") % {"host": host})
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
        import requests

        self.check(spec)
        method, url = _method(spec), spec["url"]
        command = self.command(spec)
        host = urlsplit(url).hostname
        if not host_allowed(host, settings.OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS):
            raise AutomationError(_("Host “%(host)s” is not on the list of hosts automation may call.") % {"host": host})
        if ctx.dry_run and not (spec.get("safe_for_rehearsal") and method in SAFE_METHODS):
            return Outcome(status="skipped", summary=_("Not sent in a rehearsal: only a GET or HEAD request marked safe for rehearsal is sent."), command=command)
        timeout = float(spec.get("timeout_seconds", DEFAULT_TIMEOUT))
        if ctx.timeout:
            timeout = min(timeout, float(ctx.timeout))
        result = {}

        def send():
            session = requests.Session()
            session.trust_env = False  # no proxies or ~/.netrc credentials from the worker's environment
            try:
                kwargs = {"headers": spec.get("headers") or {}, "timeout": timeout, "allow_redirects": False, "stream": True}
                if spec.get("json") is not None:
                    kwargs["json"] = spec["json"]
                elif spec.get("body") is not None:
                    kwargs["data"] = spec["body"].encode()
                with session.request(method, url, **kwargs) as response:
                    body = b""
                    deadline = time.monotonic() + timeout
                    if method != "HEAD":
                        for chunk in response.iter_content(8192):
                            body += chunk
                            if len(body) > BODY_LIMIT or time.monotonic() > deadline:
                                break
                    result["response"] = (response.status_code, response.reason, response.headers.get("Location"), body)
            except requests.RequestException as exc:
                result["error"] = exc
            finally:
                session.close()

        worker = threading.Thread(target=send, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(POLL_SECONDS)
            stopped = ctx.stop_reason()
            if stopped:
                # The request thread is left to its own timeout; nothing of it is recorded.
                return Outcome(status=stopped, command=command)
        if "error" in result:
            exc = result["error"]
            if isinstance(exc, requests.Timeout):
                ctx.output(_("No answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"})
                return Outcome(status="failed", summary=_("No answer within %(seconds)s s.") % {"seconds": f"{timeout:g}"}, command=command)
            ctx.output(f"{type(exc).__name__}: {exc}")
            return Outcome(status="failed", summary=_("The request failed: %(error)s") % {"error": str(exc)[:300]}, command=command)
        status, reason, location, body = result["response"]
        ctx.output(f"HTTP {status} {reason or ''}".rstrip())
        if location:
            ctx.output(f"Location: {location}")
        truncated = len(body) > BODY_LIMIT
        for line in body[:BODY_LIMIT].decode("utf-8", errors="replace").splitlines():
            if line.strip():
                ctx.output(line.rstrip())
        if truncated:
            ctx.output(_("… the rest of the answer is not shown (over %(size)s KiB).") % {"size": BODY_LIMIT // 1024})
        if status in _expected(spec):
            return Outcome(status="succeeded", exit_code=status, summary=f"HTTP {status}", command=command)
        summary = _("Expected status %(expected)s, got %(status)s.") % {"expected": ", ".join(map(str, _expected(spec))), "status": status}
        return Outcome(status="failed", exit_code=status, summary=summary, command=command)
