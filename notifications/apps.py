from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from . import actions, subscriptions  # noqa: F401  actions registers the built-in scheduled actions

        subscriptions.connect()
