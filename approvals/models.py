from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from changeplans.models import Plan

from .choices import ApprovalStatus, RowKind


class ApprovalRow(ConcurrentTransitionMixin, models.Model):
    """One row of the sign-off matrix ('лист согласования': п/п, Должность, ФИО, Статус)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="approval_rows")
    position = models.PositiveIntegerField(_("No."))
    kind = models.CharField(_("kind"), max_length=20, choices=RowKind.choices, default=RowKind.APPROVAL)
    job_title = models.CharField(_("position"), max_length=300, blank=True)
    person_name = models.CharField(_("full name"), max_length=200)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_rows")
    group = models.ForeignKey(Group, verbose_name=_("group"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text=_("For a duty group: any member may acknowledge."))
    status = FSMField(_("status"), default=ApprovalStatus.PENDING, choices=ApprovalStatus.choices, protected=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["plan", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "position"], name="approval_row_position_unique")]
        verbose_name = _("sign-off row")
        verbose_name_plural = _("sign-off matrix")

    def __str__(self):
        return f"{self.position}. {self.person_name}"

    @property
    def is_acknowledgement(self):
        return self.kind == RowKind.ACKNOWLEDGEMENT

    @transition(field=status, source=ApprovalStatus.PENDING, target=ApprovalStatus.APPROVED)
    def approve(self):
        pass

    @transition(field=status, source=ApprovalStatus.PENDING, target=ApprovalStatus.REJECTED)
    def reject(self):
        pass

    @transition(field=status, source=ApprovalStatus.NOT_ACKNOWLEDGED, target=ApprovalStatus.ACKNOWLEDGED)
    def acknowledge(self):
        pass

    @transition(field=status, source=[ApprovalStatus.APPROVED, ApprovalStatus.REJECTED], target=ApprovalStatus.PENDING)
    def reset(self):
        pass
