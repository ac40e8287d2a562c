"""OpenID Connect settings for mozilla-django-oidc, made from OKNO_OIDC_* and the issuer's discovery document.

mozilla-django-oidc reads OIDC_* Django settings; Okno's views and backend answer those names from here
instead (`setting`), so an administrator sets only the issuer, the client and the claims (docs/sso.md).
The endpoints are looked up when a sign-in needs them, never at start-up: Okno starts while the provider is down.
"""

import threading
import time
from typing import Any

import requests
from django.conf import settings
from mozilla_django_oidc.utils import import_from_settings

_lock = threading.Lock()
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or does not describe the configured issuer."""


def enabled() -> bool:
    return bool(settings.OKNO_OIDC_ISSUER)


def discovery() -> dict[str, Any]:
    """The issuer's /.well-known/openid-configuration, cached for OKNO_OIDC_DISCOVERY_CACHE_SECONDS."""
    issuer = settings.OKNO_OIDC_ISSUER
    now = time.monotonic()
    with _lock:
        cached = _discovered.get(issuer)
        if cached and now - cached[0] < settings.OKNO_OIDC_DISCOVERY_CACHE_SECONDS:
            return cached[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OKNO_OIDC_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"cannot read {url}: {error}") from error
    # OpenID Connect Discovery 1.0, 4.3: the document must name exactly the issuer it was fetched for.
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ProviderUnavailable(f"{url} names the issuer {document.get('issuer')!r}, not {issuer!r}")
    with _lock:
        _discovered[issuer] = (now, document)
    return document


def forget_discovery() -> None:
    with _lock:
        _discovered.clear()


_ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


def setting(name: str, *default: Any) -> Any:
    """What mozilla-django-oidc's `get_settings(name)` answers for Okno."""
    if name in _ENDPOINTS:
        value = discovery().get(_ENDPOINTS[name])
        if not value:
            raise ProviderUnavailable(f"the provider's discovery document has no {_ENDPOINTS[name]}")
        return value
    fixed = {
        "OIDC_RP_CLIENT_ID": settings.OKNO_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.OKNO_OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": settings.OKNO_OIDC_SCOPES,
        "OIDC_RP_SIGN_ALGO": settings.OKNO_OIDC_SIGN_ALGO,
        "OIDC_RP_IDP_SIGN_KEY": None,  # keys come from the provider's JWKS (jwks_uri), so they may rotate
        "OIDC_TIMEOUT": settings.OKNO_OIDC_TIMEOUT_SECONDS,
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_TOKEN_USE_BASIC_AUTH": True,  # client_secret_basic, every provider's default
        "OIDC_STORE_ID_TOKEN": True,  # the id_token_hint of the provider's logout
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_CREATE_USER": True,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso:oidc_callback",
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_VERIFY_KID": True,
    }
    if name in fixed:
        return fixed[name]
    return import_from_settings(name, *default)


def button_label() -> str:
    from django.utils.translation import gettext

    return settings.OKNO_OIDC_BUTTON_LABEL or gettext("Sign in with SSO")
