"""Public, read-only banner endpoints: the JSON state of a service's banner and the embeddable script.

No login: sites' visitors read them. Nothing here writes, so CSRF does not apply (csrf_exempt lets
a POST get its honest 405 instead of a CSRF 403). CORS is granted only to the origins listed in the
service's banner_origins: the exact origin is echoed, never "*", never with credentials.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from . import banners

READ_METHODS = ("GET", "HEAD", "OPTIONS")
SCRIPT = "okno/banner.js"
PREFLIGHT_MAX_AGE = 600  # seconds a browser may remember the preflight answer
ALLOWED_REQUEST_HEADERS = ("if-none-match", "if-modified-since", "cache-control")


def _not_allowed(request):
    response = JsonResponse(
        {"error": _("Method %(method)s is not allowed: this address is read-only.") % {"method": request.method}},
        status=405,
    )
    response["Allow"] = ", ".join(READ_METHODS)
    return response


def _etag(content):
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def _cors(request, response, origins):
    """Echo the request's Origin if the service lists it; responses differ by Origin either way."""
    patch_vary_headers(response, ["Origin"])
    origin = request.headers.get("Origin", "")
    if origin and origin.rstrip("/").lower() in origins:
        response["Access-Control-Allow-Origin"] = origin
    return response


def _preflight(request, origins):
    response = HttpResponse(status=204)
    response["Allow"] = ", ".join(READ_METHODS)
    _cors(request, response, origins)
    if "Access-Control-Allow-Origin" in response:
        response["Access-Control-Allow-Methods"] = ", ".join(READ_METHODS)
        requested = [
            h.strip().lower() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()
        ]
        allowed = [h for h in requested if h in ALLOWED_REQUEST_HEADERS]
        if allowed:
            response["Access-Control-Allow-Headers"] = ", ".join(allowed)
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    patch_vary_headers(response, ["Access-Control-Request-Method", "Access-Control-Request-Headers"])
    return response


@csrf_exempt
def banner_json(request, name):
    """GET /banners/<service name>.json: the service's banner now, cached, with CORS for its origins."""
    if request.method not in READ_METHODS:
        return _not_allowed(request)
    found = banners.state(name)
    if found is None:
        response = JsonResponse(
            {"error": _("No service is called %(name)s.") % {"name": name}, "service": name}, status=404
        )
        response["Cache-Control"] = f"public, max-age={settings.OKNO_BANNER_CACHE_SECONDS}"
        return response
    if request.method == "OPTIONS":
        return _preflight(request, found["origins"])
    content = json.dumps(found["data"], ensure_ascii=False, separators=(",", ":")).encode()
    response = HttpResponse(content, content_type="application/json; charset=utf-8")
    response["ETag"] = _etag(content)
    response["Cache-Control"] = f"public, max-age={settings.OKNO_BANNER_CACHE_SECONDS}"
    response["Access-Control-Expose-Headers"] = "ETag"
    response = get_conditional_response(request, etag=response["ETag"], response=response)
    return _cors(request, response, found["origins"])


@lru_cache(maxsize=4)
def _script(path, mtime):
    content = Path(path).read_bytes()
    return content, _etag(content)


def _script_source():
    path = finders.find(SCRIPT) or str(Path(settings.STATIC_ROOT) / SCRIPT)
    return _script(path, Path(path).stat().st_mtime_ns)


@csrf_exempt
def embed_js(request):
    """GET /banners/embed.js: the script sites embed (the source is static/okno/banner.js)."""
    if request.method not in READ_METHODS:
        return _not_allowed(request)
    content, etag = _script_source()
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Allow"] = ", ".join(READ_METHODS)
        return response
    response = HttpResponse(content, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={settings.OKNO_BANNER_SCRIPT_CACHE_SECONDS}"
    # Sites that isolate themselves (COEP: require-corp) may still load it.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return get_conditional_response(request, etag=etag, response=response)
