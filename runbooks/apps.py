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
        self._register_standard_changes()

    def _register_standard_changes(self):
        from approvals import services as approvals_services
        from changeplans import extensions as plan_page
        from changeplans import versioning as plan_versioning

        from . import standard
        from .extensions import StandardOnPlanPage

        plan_page.register(StandardOnPlanPage())
        for registry, callback in (
            (approvals_services.submit_hooks, standard.on_submit),
            (approvals_services.on_plan_approved, standard.approve_standard_automation),
            (plan_versioning.on_new_version, standard.on_new_version),
        ):
            if callback not in registry:
                registry.append(callback)
