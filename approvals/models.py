from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from changeplans.models import Plan, PlanVersion

from .choices import ApprovalStatus, RowKind

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ApprovalRow(ConcurrentTransitionMixin, models.Model):
    """One row of the sign-off matrix ('лист согласования': п/п, Должность, ФИО, Статус)."""

    # Not stored: what one user may do with the row, set by approvals.selectors before a page shows it.
    mine: bool
    can_sign: bool
    can_acknowledge: bool
    refusal: str | None
    for_principal: "User | None"
    # Set for the matrix builder: the picker's value ("user:5") and why the row cannot be asked yet.
    who_key: str
    problem: str | None

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="approval_rows")
    position = models.PositiveIntegerField(_("No."))
    kind = models.CharField(_("kind"), max_length=20, choices=RowKind.choices, default=RowKind.APPROVAL)
    job_title = models.CharField(_("position"), max_length=300, blank=True)
    person_name = models.CharField(_("full name"), max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approval_rows",
    )
    group = models.ForeignKey(
        Group,
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("For a duty group: any member may acknowledge."),
    )
    stage = models.PositiveIntegerField(
        _("stage"),
        default=1,
        help_text=_(
            "Sequential sign-off: a stage opens when the previous one is complete. One stage = all in parallel."
        ),
    )
    status = FSMField(_("status"), default=ApprovalStatus.PENDING, choices=ApprovalStatus.choices, protected=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("on behalf of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.ForeignKey(
        PlanVersion, verbose_name=_("version signed"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(_("comment"), blank=True)
    # Kept by approvals.waiting.sync in every sign-off service: the plan is in review and the row is asked now.
    waiting = models.BooleanField(_("waiting for a decision"), default=False, editable=False)

    class Meta:
        ordering = ["plan", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "position"], name="approval_row_position_unique")]
        # The badge and the inbox: the waiting rows of a person or a group, whatever the history holds.
        indexes = [
            models.Index(fields=["user", "plan"], condition=models.Q(waiting=True), name="approval_row_waiting_user"),
            models.Index(fields=["group", "plan"], condition=models.Q(waiting=True), name="approval_row_waiting_group"),
        ]
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

    @transition(field=status, source=ApprovalStatus.ACKNOWLEDGED, target=ApprovalStatus.NOT_ACKNOWLEDGED)
    def reset_acknowledgement(self):
        pass

    @property
    def is_decided(self):
        return self.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.ACKNOWLEDGED)


class Delegation(models.Model):
    """A deputy signs for a principal over a date range ("за Кочетова В.Н. — Иванов П.С.")."""

    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("principal"),
        on_delete=models.CASCADE,
        related_name="delegations_given",
    )
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("deputy"), on_delete=models.CASCADE, related_name="delegations_taken"
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="delegation_dates_ordered"
            )
        ]

    def __str__(self):
        return f"{self.deputy} → {self.principal} ({self.starts_on:%d.%m.%Y}–{self.ends_on:%d.%m.%Y})"


class MatrixTemplate(models.Model):
    """A reusable sign-off matrix, e.g. the seed's nine approvers and the duty officer for PROD Kubernetes work."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sign-off matrix template")
        verbose_name_plural = _("sign-off matrix templates")

    def __str__(self):
        return self.name


class MatrixTemplateRow(models.Model):
    template = models.ForeignKey(MatrixTemplate, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField(_("No."))
    stage = models.PositiveIntegerField(_("stage"), default=1)
    kind = models.CharField(_("kind"), max_length=20, choices=RowKind.choices, default=RowKind.APPROVAL)
    job_title = models.CharField(_("position"), max_length=300, blank=True)
    person_name = models.CharField(_("full name"), max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    group = models.ForeignKey(
        Group, verbose_name=_("group"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["template", "position"]
        verbose_name = _("template row")
        verbose_name_plural = _("template rows")

    def __str__(self):
        return f"{self.position}. {self.person_name}"
