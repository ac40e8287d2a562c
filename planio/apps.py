from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanIOConfig(AppConfig):
    name = "planio"
    verbose_name = _("Plan import and export")
