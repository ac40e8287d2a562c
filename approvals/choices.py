from django.db import models
from django.utils.translation import gettext_lazy as _


class RowKind(models.TextChoices):
    APPROVAL = "approval", _("Approval")
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("IN REVIEW")
    APPROVED = "approved", _("APPROVED")
    REJECTED = "rejected", _("REJECTED")
    NOT_ACKNOWLEDGED = "not_acknowledged", _("NOT ACKNOWLEDGED")
    ACKNOWLEDGED = "acknowledged", _("ACKNOWLEDGED")
