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
        from .extension_conflicts import ConflictsOnPlanPage

        plan_page.register(ConflictsOnPlanPage())
        from .exceptions import refuse_frozen_submission
        from .extension_freezes import FreezesOnPlanPage

        plan_page.register(FreezesOnPlanPage())
        if refuse_frozen_submission not in approval_services.submit_hooks:
            approval_services.submit_hooks.append(refuse_frozen_submission)
        if refuse_blocking_conflicts not in approval_services.submit_hooks:
            approval_services.submit_hooks.append(refuse_blocking_conflicts)
        from .feeds import mask_tokens_in_access_logs

        mask_tokens_in_access_logs()
