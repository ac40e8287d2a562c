from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """Okno's REST API v1 (/api/v1/, docs/api.md): the toolchain's way in (pipelines, scripts, chat bots)."""

    name = "api"
    verbose_name = _("API")
    default_auto_field = "django.db.models.BigAutoField"
