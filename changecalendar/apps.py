from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChangeCalendarConfig(AppConfig):
    """The change calendar: windows, freezes, maintenance windows, conflicts, feeds, CAB agenda (docs/calendar.md)."""

    name = "changecalendar"
    verbose_name = _("Change calendar")
    default_auto_field = "django.db.models.BigAutoField"
