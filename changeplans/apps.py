from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChangePlansConfig(AppConfig):
    name = "changeplans"
    verbose_name = _("Work plans")

    def ready(self):
        from . import (
            announcements,  # noqa: F401  registers the sample context of the template admin
            banners,
        )

        banners.connect()  # the webhook machinery asks it for a service's signing secret

        from . import history, jira

        history.on_event_recorded.append(jira.after_event)  # a plan that ends comments on its Jira issue

        from django.db.backends.signals import connection_created

        from .people import register_sqlite_fold

        connection_created.connect(register_sqlite_fold, dispatch_uid="okno_sqlite_fold")  # people search on SQLite
