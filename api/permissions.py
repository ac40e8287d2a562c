"""Permission classes of the API (docs/api.md)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .choices import TokenScope as Scope
from .models import ApiToken


class TokenScope(BasePermission):
    """A read-only token reads: any unsafe method is refused. Session requests are not concerned."""

    message = _("This token is read-only: create a token with the “read and write” scope to change data.")

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or request.method in SAFE_METHODS:
            return True
        return token.scope == Scope.WRITE
