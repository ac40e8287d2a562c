from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Sign-off")

    def ready(self):
        from changeplans.models import STATUS_CHOICES_BY_OBJECT

        from .choices import ApprovalStatus

        STATUS_CHOICES_BY_OBJECT["approval"] = ApprovalStatus
        STATUS_CHOICES_BY_OBJECT["approvalrow"] = ApprovalStatus
        from changeplans import extensions as plan_page

        from . import notify
        from .extensions import SignoffOnPlanPage

        notify.connect()
        from . import emergency

        emergency.connect()
        from changeplans import versioning

        from .resets import signatures_to_reset

        if signatures_to_reset not in versioning.reset_counters:
            versioning.reset_counters.append(signatures_to_reset)
        from changeplans import services as plan_services

        from .waiting import clear

        if clear not in plan_services.on_plan_cancelling:
            plan_services.on_plan_cancelling.append(clear)
        plan_page.register(SignoffOnPlanPage())
