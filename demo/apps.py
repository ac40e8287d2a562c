from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The seed plan and the demo runbooks (`manage.py load_demo`): depends on every other app, none on it."""

    name = "demo"
    verbose_name = _("Demo data")
