"""`Authorization: Bearer okno_…` for the API (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from .models import ApiToken
from .tokens import authenticate_token


class TokenAuthentication(BaseAuthentication):
    """A personal API token. Token requests need no CSRF token: no browser sends this header by itself."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours: the session may still authenticate
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Authorization header: expected “Bearer okno_…” with no spaces in the token.")
            )
        try:
            plaintext = parts[1].decode("ascii")
        except UnicodeDecodeError:
            plaintext = ""
        token = authenticate_token(plaintext)
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is invalid, expired or revoked."))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Present on every 401, so that DRF answers 401 (not 403) to a request without credentials.
        return f'{self.keyword} realm="api"'


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema's name for TokenAuthentication (drf-spectacular)."""

    target_class = "api.authentication.TokenAuthentication"
    name = "oknoToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "okno_<prefix>_<secret>"}
