from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChangeCalendarConfig(AppConfig):
    """The change calendar: windows, freezes, maintenance windows, conflicts, feeds, CAB agenda (docs/calendar.md)."""

    name = "changecalendar"
    verbose_name = _("Change calendar")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from approvals import services as approval_services
        from changeplans import extensions as plan_page

        from .conflicts import refuse_blocking_conflicts
        from .exceptions import refuse_frozen_submission
        from .extension_plan_checks import CalendarOnPlanPage

        # The conflicts, freezes and maintenance windows: placeholders the page fills after it loads.
        plan_page.register(CalendarOnPlanPage())
        if refuse_frozen_submission not in approval_services.submit_hooks:
            approval_services.submit_hooks.append(refuse_frozen_submission)
        if refuse_blocking_conflicts not in approval_services.submit_hooks:
            approval_services.submit_hooks.append(refuse_blocking_conflicts)
        from .feeds import mask_tokens_in_access_logs

        mask_tokens_in_access_logs()
