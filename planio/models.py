"""An import in progress: the uploaded file or pasted text, what was read from it, the user's corrections.

Nothing of the plan exists until the owner confirms (planio.services.confirm); an unconfirmed import is
deleted after settings.OKNO_IMPORT_KEEP_HOURS.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from changeplans.models import Plan


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to be read")
    PARSING = "parsing", _("Being read")
    READY = "ready", _("Ready to check")
    FAILED = "failed", _("Could not be imported")
    CONFIRMED = "confirmed", _("Plan created")


class ImportSource(models.TextChoices):
    FILE = "file", _("File")
    PASTE = "paste", _("Pasted text")


class PlanImport(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="plan_imports"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    source = models.CharField(_("source"), max_length=10, choices=ImportSource.choices, default=ImportSource.FILE)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(_("content type"), max_length=200, blank=True)
    # The uploaded file's bytes; a paste's text (UTF-8), its clipboard HTML in `pasted_html`.
    data = models.BinaryField(_("content"))
    pasted_html = models.TextField(blank=True)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # An empty draft the plan is imported into; None: a new plan.
    into_plan = models.ForeignKey(
        Plan, verbose_name=_("into plan"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)  # percent
    error = models.TextField(_("error"), blank=True)
    # The language of the page the import was started from: messages written by the worker are in it.
    language = models.CharField(max_length=10, default=settings.LANGUAGE_CODE)
    document = models.JSONField(null=True, blank=True)  # planio.document.Document.to_json()
    overrides = models.JSONField(default=dict, blank=True)  # planio.parsed.Overrides.to_json()
    result = models.JSONField(null=True, blank=True)  # planio.parsed.ParsedPlan.to_json()
    plan = models.ForeignKey(
        Plan, verbose_name=_("created plan"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "created_at"])]
        verbose_name = _("plan import")
        verbose_name_plural = _("plan imports")

    def __str__(self) -> str:
        return f"{self.filename or self.get_source_display()} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        """Nothing more will happen to it by itself (the page stops polling)."""
        return self.status in (ImportStatus.READY, ImportStatus.FAILED, ImportStatus.CONFIRMED)
