"""HTMX response helpers every app's views use."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import reswap, trigger_client_event

TOAST_EVENT = "okno:toast"  # static/okno/okno.js shows it as a Bootstrap toast


def toast(response: HttpResponse, text: object, level: str = "success") -> HttpResponse:
    """`response` with a toast for the page (HX-Trigger); `level` is a Bootstrap colour: success, info, danger…"""
    return trigger_client_event(response, TOAST_EVENT, {"text": str(text), "level": level})


def forbidden(request: HttpRequest, reason: object) -> HttpResponse:
    """403 with the reason: a toast for HTMX (nothing swapped); otherwise PermissionDenied (the error page)."""
    if getattr(request, "htmx", False):
        return toast(reswap(HttpResponse(status=403), "none"), reason, "danger")
    raise PermissionDenied(reason)
