from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RunbooksConfig(AppConfig):
    name = "runbooks"
    verbose_name = _("Runbooks and automation")

    def ready(self):
        from changeplans import extensions as plan_page
        from changeplans.models import STATUS_CHOICES_BY_OBJECT
        from runbooks import pdf, runners, runs, versioning

        from .choices import RunStatus
        from .extensions import AutomationOnPlanPage

        runners.load()
        versioning.register()
        pdf.register()
        STATUS_CHOICES_BY_OBJECT["automationrun"] = RunStatus
        runs.connect()
        plan_page.register(AutomationOnPlanPage())
