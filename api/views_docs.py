"""The OpenAPI schema, Swagger UI and ReDoc (docs/api.md, "Interactive documentation").

Served from the project (drf-spectacular-sidecar's static files, no CDN) under the site's strict
Content-Security-Policy (`script-src 'self'`, no inline script): Swagger UI through drf-spectacular's split
view, which serves its start-up script as a separate file, and ReDoc through a template of Okno's that
starts it from the `<redoc>` element with no inline script and no web fonts from elsewhere.
The pages are for signed-in users (a browser without a session goes to the login page); the schema answers
a session or a token (401 without either), like every other endpoint.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from .permissions import TokenScope


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema (YAML by default, JSON with ?format=json or Accept: application/vnd.oai.openapi+json)."""

    permission_classes = [IsAuthenticated, TokenScope]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


swagger_ui = login_required(
    SpectacularSwaggerSplitView.as_view(url_name="api:schema", title="Okno API", permission_classes=[IsAuthenticated])
)
redoc = login_required(
    SpectacularRedocView.as_view(
        url_name="api:schema", title="Okno API", template_name="api/redoc.html", permission_classes=[IsAuthenticated]
    )
)
schema = SchemaView.as_view()
