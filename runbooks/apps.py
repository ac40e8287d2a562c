from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RunbooksConfig(AppConfig):
    name = "runbooks"
    verbose_name = _("Runbooks and automation")

    def ready(self):
        from changeplans import extensions as plan_page
        from changeplans import services as plan_services
        from changeplans.models import STATUS_CHOICES_BY_OBJECT
        from runbooks import pdf, runners, runs, services, versioning

        from .choices import PlanEventState, RunStatus
        from .extensions import AutomationOnPlanPage, RunbookOnPlanPage

        runners.load()
        versioning.register()
        pdf.register()
        STATUS_CHOICES_BY_OBJECT["automationrun"] = RunStatus
        STATUS_CHOICES_BY_OBJECT["runbook"] = PlanEventState
        runs.connect()
        plan_page.register(AutomationOnPlanPage())
        plan_page.register(RunbookOnPlanPage())
        if services.copy_automation not in plan_services.on_plan_copied:
            plan_services.on_plan_copied.append(services.copy_automation)
