from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """Okno's REST API v1 (/api/v1/, docs/api.md): the toolchain's way in (pipelines, scripts, chat bots)."""

    name = "api"
    verbose_name = _("API")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.models import User
        from django.db.models.signals import pre_save

        from .service_accounts import keep_password_unusable

        # An invariant of the User row, whoever saves it: a service account never has a usable password.
        pre_save.connect(keep_password_unusable, sender=User, dispatch_uid="api.service_account_password")
