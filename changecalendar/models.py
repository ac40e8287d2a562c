from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from changeplans.models import Plan, Service, validate_timezone
from runbooks.models import Cluster

from .choices import FreezeScope


class Freeze(models.Model):
    """A change freeze ("мораторий на изменения"): no plan may work in it without an exception its owner signs."""

    title = models.CharField(_("title"), max_length=200)
    reason = models.TextField(_("reason"))
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    scope = models.CharField(_("applies to"), max_length=20, choices=FreezeScope.choices, default=FreezeScope.GLOBAL)
    service = models.ForeignKey(
        Service, verbose_name=_("service"), null=True, blank=True, on_delete=models.CASCADE, related_name="freezes"
    )
    cluster = models.ForeignKey(
        Cluster, verbose_name=_("cluster"), null=True, blank=True, on_delete=models.CASCADE, related_name="freezes"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_freezes",
        help_text=_("Signs every exception: a plan working in the freeze gets a sign-off row for the owner."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("change freeze")
        verbose_name_plural = _("change freezes")
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="freeze_period")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="freeze_ends_after_start"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope=FreezeScope.GLOBAL, service__isnull=True, cluster__isnull=True)
                    | models.Q(scope=FreezeScope.SERVICE, service__isnull=False, cluster__isnull=True)
                    | models.Q(scope=FreezeScope.CLUSTER, service__isnull=True, cluster__isnull=False)
                ),
                name="freeze_scope_target",
            ),
        ]

    def __str__(self):
        return self.title


class FreezeException(models.Model):
    """A plan's request to work in a freeze; its owner's sign-off row in the plan's matrix decides it."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="freeze_exceptions")
    freeze = models.ForeignKey(Freeze, on_delete=models.CASCADE, related_name="exceptions")
    reason = models.TextField(_("why the work cannot wait"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # The row added for the freeze's owner (approvals.ApprovalRow; by id: approvals sits below this app
    # but the row is deleted with the matrix, and the exception must survive a matrix rebuild to re-add it).
    approval_row_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "freeze"]
        constraints = [models.UniqueConstraint(fields=["plan", "freeze"], name="one_exception_per_plan_freeze")]
        verbose_name = _("freeze exception")
        verbose_name_plural = _("freeze exceptions")

    def __str__(self):
        return f"{self.plan} / {self.freeze}"


class MaintenanceWindow(models.Model):
    """When a service may be worked on ("вт/чт 20:00–02:00"): a plan outside gets a plan-check warning."""

    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    # ISO weekdays the window opens on (1 = Monday … 7 = Sunday); a window ending at or before its start
    # time ends the next day.
    weekdays = models.JSONField(_("days of the week"), default=list)
    starts = models.TimeField(_("opens at"))
    ends = models.TimeField(_("closes at"))
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[validate_timezone]
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["service", "id"]
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")

    def __str__(self):
        return f"{self.service}: {self.starts:%H:%M}–{self.ends:%H:%M}"


class CalendarFeed(models.Model):
    """A user's secret calendar address (ICS): the hash of its token; rotating makes a new token."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self):
        return str(self.user)
