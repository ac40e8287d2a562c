from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChangePlansConfig(AppConfig):
    name = "changeplans"
    verbose_name = _("Work plans")

    def ready(self):
        from . import announcements  # noqa: F401  registers the sample context of the template admin
        from . import automation

        automation.connect()
        from . import overrun  # noqa: E402  overrun alerts: watches steps as they start and end

        overrun.connect()
