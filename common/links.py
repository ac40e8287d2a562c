"""Absolute links for e-mails, webhooks and announcements (read outside any request)."""

from django.conf import settings


def absolute_url(path: str) -> str:
    """OKNO_BASE_URL followed by `path` (which starts with "/")."""
    return settings.OKNO_BASE_URL.rstrip("/") + path
